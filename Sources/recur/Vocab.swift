import ArgumentParser
import Foundation
import RecurCore
import RecurFrontends
import RecurModels
import RecurPipelines

/// `recur vocab`: build and inspect vocabularies.
struct VocabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocab",
        abstract: "Build vocabularies (char, word, BPE) from corpora.",
        subcommands: [VocabBuild.self, VocabInfo.self, VocabExtract.self]
    )
}

/// `recur vocab build`: counts pieces in corpora and writes a vocabulary.
struct VocabBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build a vocabulary from text corpora (one sentence per line).",
        discussion: """
        Writes NAME.vocab (one piece per line, line number − 1 = id, <pad> <s> </s> <unk> first) and, \
        for BPE, NAME.merges beside it, both atomically. char: one piece per Unicode scalar (▁ for a space); \
        word: words and punctuation marks, ▁ marking a space before; bpe: merges learned inside those words, \
        the most frequent pair first, ties to the pair whose pieces come first in UTF-8 byte order. \
        Pieces (BPE: alphabet scalars and merged pairs) seen fewer than --min-freq times are left out. \
        Prints the vocabulary's path, kind, size and content hash.
        """
    )

    @Option(help: "char, word or bpe.") var kind: TokenizerKind
    @Option(help: "Most pieces in the vocabulary, the 4 specials included (0: no limit).") var size = 8000
    @Option(help: "Least count for a piece to be kept (BPE: alphabet scalars and merged pairs).") var minFreq = 1
    @Argument(help: "Corpus text files (- for stdin).") var corpora: [String] = []
    @Option(help: "Where to write the vocabulary, e.g. vocab/NAME.vocab.") var out: String
    @Option(help: "Use only this tab-separated field (1-based) of each line, e.g. 2 for the French side of eng-fra pairs.") var field: Int?
    @OptionGroup var text: TextOptions

    func validate() throws {
        guard !corpora.isEmpty else { throw ValidationError("give at least one corpus file") }
        guard size == 0 || size > Vocabulary.specials.count else { throw ValidationError("--size must be 0 (no limit) or more than 4, got \(size)") }
        guard minFreq >= 1 else { throw ValidationError("--min-freq must be at least 1") }
        if let field, field < 1 { throw ValidationError("--field is 1-based, got \(field)") }
    }

    func run() throws {
        var builder = VocabularyBuilder(kind: kind, maxSize: size, minFrequency: minFreq)
        let normalizer = text.normalizer
        var lines = 0
        for corpus in corpora {
            let reader = try TextLineReader(path: corpus, replaceInvalid: text.replaceInvalid)
            while let line = try reader.next() {
                var s = line
                if let field {
                    let parts = line.utf8.split(separator: 0x09, omittingEmptySubsequences: false)
                    guard field <= parts.count else {
                        throw RecurError(.format, "line \(reader.lineNumber) has \(parts.count) tab-separated field(s), --field is \(field)", file: reader.name)
                    }
                    s = String(decoding: parts[field - 1], as: UTF8.self)
                }
                builder.add(normalized: normalizer.normalize(s))
                lines += 1
            }
            if reader.replacedLines > 0 {
                printError("\(reader.name): replaced invalid UTF-8 in \(reader.replacedLines) line(s)")
            }
        }
        let vocab = builder.build()
        try vocab.write(to: out)
        printError("\(lines) lines read; \(vocab.count) pieces\(kind == .bpe ? ", \(vocab.merges.count) merges" : "")")
        writeLine("\(out)\t\(vocab.kind.rawValue)\t\(vocab.count)\t\(vocab.hash)")
    }
}

/// `recur vocab info`: kind, size and content hash of vocabularies.
struct VocabInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print each vocabulary's path, kind, size and content hash."
    )

    @Argument(help: "Vocabulary files.") var vocabs: [String] = []

    func run() throws {
        var failed = 0
        for v in vocabs {
            do {
                let vocab = try Vocabulary.load(v)
                writeLine("\(v)\t\(vocab.kind.rawValue)\t\(vocab.count)\t\(vocab.hash)")
            } catch {
                printError("\(error)")
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode.failure }
    }
}

/// `recur vocab extract`: a model file's vocabularies as vocabulary files.
struct VocabExtract: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Write the vocabularies stored in model files as vocabulary files.",
        discussion: """
        For each MODEL (a file, or a shipped model's name), writes OUT_DIR/NAME.source.vocab and \
        OUT_DIR/NAME.target.vocab (the sides it has; BPE merges beside them as .merges), NAME being \
        the file name without .safetensors, each atomically and byte for byte as the model holds it \
        (same content hash). Prints each file's path, kind, size and hash. `recur tokenize --vocab` \
        then tokenizes exactly as the model does (with --lowercase when the model's normalizer \
        lowercases, as `recur inspect` shows).
        """
    )

    @Argument(help: "Model files or shipped model names.") var models: [String] = []
    @Option(name: .customLong("out-dir"), help: "Folder to write the vocabularies into (made if missing).") var outDir: String

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("give at least one model") }
    }

    func run() throws {
        var failed = 0
        for name in models {
            do {
                let path = try ModelLocator.resolve(explicit: name, defaultName: name)
                let loaded = try ModelFile.read(path)
                var base = (path as NSString).lastPathComponent
                if base.hasSuffix(".safetensors") { base = String(base.dropLast(".safetensors".count)) }
                do {
                    try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
                } catch {
                    throw RecurError(.io, "cannot make the folder", file: outDir)
                }
                for (role, vocab) in [("source", loaded.description.sourceVocabulary), ("target", loaded.description.targetVocabulary)] {
                    guard let vocab else { continue }
                    let out = (outDir as NSString).appendingPathComponent("\(base).\(role).vocab")
                    try vocab.write(to: out)
                    writeLine("\(out)\t\(vocab.kind.rawValue)\t\(vocab.count)\t\(vocab.hash)")
                }
            } catch {
                printError("\(error)")
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode.failure }
    }
}
