import ArgumentParser
import Foundation
import RecurCore
import RecurTraining

/// `recur score`: the metrics of RecurTraining on files of lines.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score hypotheses against references: BLEU, chrF (sacrebleu), WER, CER (jiwer), caption BLEU, CIDEr-D (COCO).",
        discussion: """
        References and hypotheses are UTF-8 files with one segment a line; line i of every \
        --ref file is a reference of line i of --hyp. `-` reads one of them from stdin. \
        BLEU and chrF print sacrebleu's text line and signature (its version field reads \
        recur-<version>+sacrebleu-<release the code is tested against>).
        """,
        subcommands: [ScoreBLEU.self, ScoreChrF.self, ScoreWER.self, ScoreCER.self,
                      ScoreCaptionBLEU.self, ScoreCIDEr.self]
    )
}

/// The inputs every `recur score` subcommand reads.
struct ScoreFiles: ParsableArguments {
    @Option(name: .customLong("ref"), help: ArgumentHelp("A reference file (repeat for several references).", valueName: "file"))
    var references: [String] = []

    @Option(name: .customLong("hyp"), help: ArgumentHelp("The hypothesis file, `-` for stdin.", valueName: "file"))
    var hypothesis: String

    @Flag(help: "Print one JSON object instead of the text line.")
    var json = false

    func validate() throws {
        guard !references.isEmpty else { throw ValidationError("give at least one --ref file") }
        guard (references + [hypothesis]).filter({ $0 == "-" }).count <= 1 else {
            throw ValidationError("only one input can be `-` (stdin)")
        }
    }

    /// The hypotheses and, per segment, their references. Lines are split on
    /// "\n" only; with `rstrip`, trailing whitespace (and a "\r") is removed as
    /// sacrebleu's command line does (WER/CER and caption metrics strip or
    /// split on whitespace themselves). Throws naming the files when the line
    /// counts differ.
    func read(rstrip: Bool) throws -> (hypotheses: [String], references: [[String]]) {
        let hyps = try Self.lines(hypothesis, rstrip: rstrip)
        var streams: [[String]] = []
        for r in references {
            let lines = try Self.lines(r, rstrip: rstrip)
            guard lines.count == hyps.count else {
                throw RecurError(.format, "reference file \(Self.name(r)) has \(lines.count) lines but hypothesis file \(Self.name(hypothesis)) has \(hyps.count) lines")
            }
            streams.append(lines)
        }
        return (hyps, hyps.indices.map { i in streams.map { $0[i] } })
    }

    static func name(_ path: String) -> String { path == "-" ? "<stdin>" : path }

    static func lines(_ path: String, rstrip: Bool) throws -> [String] {
        let data: Data
        if path == "-" {
            if isatty(0) != 0 { printError("reading lines from stdin; end with Ctrl-D (or give a file instead of -)") }
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"
                throw RecurError(.io, reason, file: path)
            }
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RecurError(.format, "not valid UTF-8 text", file: name(path))
        }
        // Split the scalars, not the Characters: "\r\n" is one Character in Swift.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .map { String(String.UnicodeScalarView($0)) }
        if lines.last == "" { lines.removeLast() }
        return rstrip ? lines.map { PythonText.rstrip($0) } : lines
    }
}

/// Prints `object` as one line of JSON (keys sorted) on stdout.
func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// sacrebleu's JSON record: name, score (rounded to `width`), signature, and
/// each signature field on its own.
func sacrebleuJSON(name: String, score: Double, width: Int, signature: String, verbose: String?) -> [String: Any] {
    var d: [String: Any] = ["name": name, "score": Double(String(format: "%.\(width)f", score)) ?? score,
                            "signature": signature]
    if let verbose { d["verbose_score"] = verbose }
    for field in signature.split(separator: "|") {
        let kv = field.split(separator: ":", maxSplits: 1).map(String.init)
        if kv.count == 2 { d[kv[0]] = kv[1] }
    }
    return d
}

struct ScoreBLEU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bleu",
        abstract: "Corpus BLEU as sacrebleu's default (13a tokens, exp smoothing), or per line with --sentence.")

    @OptionGroup var files: ScoreFiles
    @Flag(help: "Lowercase before scoring (signature case:lc).") var lowercase = false
    @Option(help: "Tokenization: 13a (default) or none.") var tokenize = "13a"
    @Flag(help: "Print sacrebleu's sentence BLEU of each line (effective order on) instead of corpus BLEU.")
    var sentence = false
    @Option(help: "Decimals printed.") var width = 1

    func run() throws {
        guard let tok = BLEU.Tokenization(rawValue: tokenize) else {
            throw RecurError(.usage, "--tokenize must be 13a or none, got \(tokenize)")
        }
        guard (0...10).contains(width) else { throw RecurError(.usage, "--width must be 0...10, got \(width)") }
        let (hyps, refs) = try files.read(rstrip: true)
        var bleu = BLEU(lowercase: lowercase, tokenization: tok)
        if sentence {
            bleu.effectiveOrder = true
            for (h, r) in zip(hyps, refs) {
                let s = try bleu.sentenceScore(hypothesis: h, references: r)
                if files.json {
                    try printJSON(sacrebleuJSON(name: "BLEU", score: s.score, width: width, signature: s.signature, verbose: s.verbose))
                } else {
                    print(String(format: "%.\(width)f", s.score))
                }
            }
            return
        }
        let s = try bleu.corpusScore(hypotheses: hyps, references: refs)
        if files.json {
            try printJSON(sacrebleuJSON(name: "BLEU", score: s.score, width: width, signature: s.signature, verbose: s.verbose))
        } else {
            print(s.formatted(width: width))
        }
    }
}

struct ScoreChrF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chrf",
        abstract: "Corpus chrF as sacrebleu's CHRF (character order 6, beta 2); --word-order 2 gives chrF++.")

    @OptionGroup var files: ScoreFiles
    @Option(help: "Character n-gram order.") var charOrder = 6
    @Option(help: "Word n-gram order (2: chrF++).") var wordOrder = 0
    @Option(help: "Beta: the weight of recall.") var beta = 2
    @Flag(help: "Lowercase before scoring.") var lowercase = false
    @Flag(help: "Print the chrF of each line instead of the corpus score.") var sentence = false
    @Option(help: "Decimals printed.") var width = 1

    func run() throws {
        guard charOrder >= 1, wordOrder >= 0, beta >= 0 else {
            throw RecurError(.usage, "--char-order must be at least 1, --word-order and --beta at least 0")
        }
        guard (0...10).contains(width) else { throw RecurError(.usage, "--width must be 0...10, got \(width)") }
        let (hyps, refs) = try files.read(rstrip: true)
        let chrf = ChrF(charOrder: charOrder, wordOrder: wordOrder, beta: beta, lowercase: lowercase)
        let scores = sentence
            ? try zip(hyps, refs).map { try chrf.sentenceScore(hypothesis: $0, references: $1) }
            : [try chrf.corpusScore(hypotheses: hyps, references: refs)]
        for s in scores {
            if files.json {
                try printJSON(sacrebleuJSON(name: s.name, score: s.score, width: width, signature: s.signature, verbose: nil))
            } else {
                print(sentence ? String(format: "%.\(width)f", s.score) : s.formatted(width: width))
            }
        }
    }
}

/// WER and CER share everything but the unit.
struct ErrorRateCommand {
    let name: String
    let unit: String

    func run(_ files: ScoreFiles, _ compute: ([String], [String]) throws -> ErrorRateResult) throws {
        guard files.references.count == 1 else {
            throw RecurError(.usage, "\(name) takes exactly one --ref file (jiwer has one reference per line)")
        }
        let (hyps, refs) = try files.read(rstrip: false)
        let r = try compute(refs.map { $0[0] }, hyps)
        if files.json {
            try printJSON(["name": name, "score": r.rate, "hits": r.hits, "substitutions": r.substitutions,
                           "deletions": r.deletions, "insertions": r.insertions,
                           "reference_\(unit)s": r.referenceLength, "hypothesis_\(unit)s": r.hypothesisLength,
                           "signature": "transform:jiwer-default|version:recur-\(RecurVersion.version)+jiwer-\(MetricSignature.jiwerVersion)"])
        } else {
            print(String(format: "\(name) = %.4f (substitutions %d, deletions %d, insertions %d, hits %d, reference \(unit)s %d)",
                         r.rate, r.substitutions, r.deletions, r.insertions, r.hits, r.referenceLength))
        }
    }
}

struct ScoreWER: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wer",
        abstract: "Word error rate as jiwer (default transform: collapse whitespace runs, strip, split on spaces; case and punctuation kept).")

    @OptionGroup var files: ScoreFiles

    func run() throws {
        try ErrorRateCommand(name: "WER", unit: "word").run(files) { try ErrorRate.wer(references: $0, hypotheses: $1) }
    }
}

struct ScoreCER: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cer",
        abstract: "Character error rate as jiwer (default transform: strip; every code point, spaces included, is a unit).")

    @OptionGroup var files: ScoreFiles

    func run() throws {
        try ErrorRateCommand(name: "CER", unit: "character").run(files) { try ErrorRate.cer(references: $0, hypotheses: $1) }
    }
}

/// What the caption metrics share: the files, and how captions are tokenized.
struct CaptionScoreOptions: ParsableArguments {
    static let discussion = "Captions are lowercased and tokenized as the COCO evaluation's PTB tokenizer does (a Swift approximation; --tokenize none takes them as tokenized). Empty reference lines are skipped."

    @OptionGroup var files: ScoreFiles
    @Option(help: "coco: lowercase and tokenize as the COCO evaluation's PTB tokenizer (approximated); none: split on whitespace only.")
    var tokenize = "coco"

    /// Caption inputs, tokenized as asked (`coco`: `CaptionMetrics.cocoTokenize`,
    /// `none`: as given). Empty reference lines are skipped, so images may have
    /// different numbers of references; each needs at least one.
    func inputs() throws -> ([String], [[String]]) {
        let prepare: (String) -> String
        switch tokenize {
        case "coco": prepare = CaptionMetrics.cocoTokenize
        case "none": prepare = { $0 }
        default: throw RecurError(.usage, "--tokenize must be coco or none, got \(tokenize)")
        }
        let (rawHyps, rawRefs) = try files.read(rstrip: false)
        let hyps = rawHyps.map(prepare)
        let kept = rawRefs.map { $0.map(prepare).filter { !PythonText.split($0).isEmpty } }
        if let i = kept.firstIndex(where: { $0.isEmpty }) {
            throw RecurError(.value, "line \(i + 1) has no non-empty reference in \(files.references.joined(separator: ", "))")
        }
        return (hyps, kept)
    }
}

struct ScoreCaptionBLEU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption-bleu",
        abstract: "BLEU-1..4 as the COCO caption evaluation (pycocoevalcap) on tokenized captions.",
        discussion: CaptionScoreOptions.discussion)

    @OptionGroup var caption: CaptionScoreOptions

    func run() throws {
        let (hyps, refs) = try caption.inputs()
        let s = try CaptionMetrics.bleu(hypotheses: hyps, references: refs)
        if caption.files.json {
            try printJSON(["name": "caption-BLEU", "bleu": s.bleu, "hypothesis_length": s.hypothesisLength,
                           "reference_length": s.referenceLength,
                           "signature": "version:recur-\(RecurVersion.version)+pycocoevalcap-\(MetricSignature.pycocoevalcapVersion)"])
        } else {
            let parts = s.bleu.enumerated().map { String(format: "BLEU-%d = %.4f", $0.offset + 1, $0.element) }
            print(parts.joined(separator: "  ") + " (hyp_len = \(s.hypothesisLength) ref_len = \(s.referenceLength))")
        }
    }
}

struct ScoreCIDEr: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cider",
        abstract: "CIDEr-D as the COCO caption evaluation (pycocoevalcap: n 4, sigma 6, x10, idf from the references).",
        discussion: CaptionScoreOptions.discussion)

    @OptionGroup var caption: CaptionScoreOptions

    func run() throws {
        let (hyps, refs) = try caption.inputs()
        let s = try CaptionMetrics.ciderD(hypotheses: hyps, references: refs)
        if caption.files.json {
            try printJSON(["name": "CIDEr-D", "score": s.score, "per_image": s.perImage,
                           "signature": "n:4|sigma:6|version:recur-\(RecurVersion.version)+pycocoevalcap-\(MetricSignature.pycocoevalcapVersion)"])
        } else {
            print(String(format: "CIDEr-D = %.4f", s.score))
        }
    }
}
