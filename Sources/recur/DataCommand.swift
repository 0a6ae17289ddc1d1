import ArgumentParser
import Foundation
import RecurCore
import RecurTraining

/// `recur data`: corpora the project makes itself.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Generate corpora: shape scenes with captions, espeak-ng speech, joined FSDD digits.",
        subcommands: [DataShapes.self, DataSpeak.self, DataDigits.self]
    )
}

/// The command line as typed, for README.txt.
private func typedCommand() -> String {
    "recur " + SynthesisOutput.commandLine(Array(CommandLine.arguments.dropFirst()))
}

/// Runs `body`, turning library errors into one line on stderr and exit status 1.
private func runReporting(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as RecurError {
        printError(e.description)
        throw ExitCode(e.kind == .usage ? 2 : 1)
    }
}

/// Splits a comma-separated list, dropping empty items.
private func commaList(_ s: String) -> [String] {
    s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

private func range(_ s: String?, _ name: String) throws -> ValueRange? {
    guard let s else { return nil }
    do { return try ValueRange(parsing: s, name: name) } catch let e as RecurError { throw ValidationError(e.reason) }
}

/// `recur data shapes`.
struct DataShapes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shapes",
        abstract: "Generate PNG scenes of coloured shapes with reference captions.",
        discussion: """
        Writes DIR/images/NNNNN.png, DIR/captions.tsv (image<TAB>caption, several lines per image, \
        the canonical caption first: objects left to right or top to bottom), DIR/README.txt and, with \
        --hold-out, DIR/heldout/NNNNN.png and DIR/heldout.tsv with scenes that each show a held-out \
        colour+shape combination (never in images/). Scene i depends only on the seed and i.
        """
    )

    @Option(help: "Number of training scenes.") var count: Int
    @Option(help: "Output folder (created if needed).") var out: String
    @Option(help: "Seed of every random choice.") var seed: UInt64 = 1
    @Option(help: "Picture side in pixels.") var size = 64
    @Option(parsing: .singleValue, help: "Keep a colour+shape combination out of training, e.g. \"purple triangle\" (repeatable).")
    var holdOut: [String] = []
    @Option(help: "Held-out scenes to write (default: a tenth of --count).") var heldoutCount: Int?
    @Option(help: "Shapes to use, comma-separated (default: circle,square,triangle,diamond,cross; star also exists).")
    var shapes: String?
    @Option(help: "Colours to use, comma-separated (default: red,green,blue,yellow,purple,orange).") var colours: String?
    @Option(help: "Objects per scene, a range within 1-3 (scenes of one, two and three objects come 25:40:35).")
    var objects = "1-3"
    @Option(help: "Standard deviation of the pixel noise in 0-255 levels.") var noise: Float = 3
    @Option(help: "Pictures drawn and written at once.") var jobs = 1

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count)") }
        guard noise >= 0, noise <= 64 else { throw ValidationError("--noise must be 0…64 levels, got \(noise)") }
    }

    func run() throws {
        var o = ShapeCorpusOptions(count: count)
        o.seed = seed
        o.scene.size = size
        o.scene.noise = noise
        o.heldOutCount = heldoutCount
        o.jobs = jobs
        let counts = try range(objects, "--objects")!
        guard counts.lower >= 1, counts.upper <= 3, counts.lower == counts.lower.rounded(), counts.upper == counts.upper.rounded() else {
            throw ValidationError("--objects must be whole numbers within 1-3, got \(objects)")
        }
        for k in 0..<3 where !(counts.lower...counts.upper).contains(Double(k + 1)) { o.scene.objectCountWeights[k] = 0 }
        if let shapes {
            o.scene.shapes = try commaList(shapes).map { name in
                guard let k = ShapeKind(rawValue: name) else {
                    throw ValidationError("unknown shape \"\(name)\" (shapes: \(ShapeKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return k
            }
        }
        if let colours {
            o.scene.colours = try commaList(colours).map { name in
                guard let c = ShapeColour(rawValue: name) else {
                    throw ValidationError("unknown colour \"\(name)\" (colours: \(ShapeColour.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return c
            }
        }
        o.holdOut = try holdOut.map { spec in
            do { return try ShapeCombination(parsing: spec) } catch let e as RecurError { throw ValidationError(e.reason) }
        }
        try runReporting {
            let start = Date()
            let s = try ShapeCorpus.write(o, to: out, command: typedCommand())
            var line = "\(s.scenes) scenes, \(s.captions) captions"
            if s.heldOutScenes > 0 { line += "; \(s.heldOutScenes) held-out scenes, \(s.heldOutCaptions) captions" }
            printError(line + String(format: " in %@ (%.1f s)", out, Date().timeIntervalSince(start)))
        }
    }
}

/// `recur data speak`.
struct DataSpeak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speak",
        abstract: "Synthesise a speech corpus from text lines with espeak-ng.",
        discussion: """
        Speaks each line of TEXTFILE --count-per-line times with voices, variants, rates and pitches \
        drawn from the seed, optionally changing the level and adding white noise. Writes \
        DIR/wav/{index}_{voice}_{variant}.wav (16-bit mono), DIR/transcripts.tsv (path, transcript, \
        voice, variant, rate, pitch, gain_db, snr_db, line) and DIR/README.txt. Lines espeak-ng \
        cannot say are named on stderr and left out.
        """
    )

    @Argument(help: "Text file, one utterance per line.") var textFile: String
    @Option(help: "Output folder (created if needed).") var out: String
    @Option(help: "espeak-ng voices, comma-separated (default: en-gb,en-us,en-gb-scotland,en-gb-x-gbclan,en-gb-x-rp,en-gb-x-gbcwmd,en-029,en-us-nyc).")
    var voices: String?
    @Option(help: "Variants from espeak-ng-data/voices/!v, comma-separated; none = the voice's own (default: none,m1-m7,f1-f5,klatt,klatt2,klatt3).")
    var variants: String?
    @Option(help: "Takes of each line, each by another voice+variant.") var countPerLine = 1
    @Option(help: "Seed of every random choice.") var seed: UInt64 = 1
    @Option(help: "Add white noise at this signal-to-noise ratio in dB (a number or a range a-b).") var noise: String?
    @Option(parsing: .unconditional, help: "Change the level by this many dB (a number or a range, e.g. -12-0).") var gainDb: String?
    @Option(help: "Speaking rate range, words per minute.") var rateRange = "140-195"
    @Option(help: "Pitch range, 0-99.") var pitchRange = "30-70"
    @Option(help: "Output sample rate (0: espeak-ng's 22050).") var sampleRate = 16000
    @Option(help: "Use only this tab-separated field (1-based) of each line, e.g. 1 for the English side of pairs.tsv.")
    var field: Int?
    @Option(help: "Skip lines of more words.") var maxWords: Int?
    @Flag(help: "Speak each distinct line once.") var unique = false
    @Option(help: "Use at most this many lines (after the other filters).") var limit: Int?
    @Option(help: "espeak-ng processes at once.") var jobs = 1
    @Option(help: "The espeak-ng executable.") var espeak = "espeak-ng"

    func run() throws {
        var o = SpeechCorpusOptions()
        o.seed = seed
        if let voices { o.voices = commaList(voices) }
        if let variants { o.variants = commaList(variants) }
        o.takesPerLine = countPerLine
        o.rate = try range(rateRange, "--rate-range")!
        o.pitch = try range(pitchRange, "--pitch-range")!
        o.gainDB = try range(gainDb, "--gain-db")
        o.snrDB = try range(noise, "--noise")
        o.sampleRate = sampleRate
        o.field = field
        o.maxWords = maxWords
        o.unique = unique
        o.limit = limit
        o.jobs = jobs
        o.executable = espeak
        try runReporting {
            let start = Date()
            let s = try SpeechCorpus.write(textFile: textFile, options: o, to: out, command: typedCommand(),
                                           report: { printError($0) })
            printError(String(format: "%d lines, %d recordings (%.1f s of audio), %d skipped, in %@ (%.1f s)",
                              s.lines, s.written, s.seconds, s.skipped, out, Date().timeIntervalSince(start)))
        }
    }
}

/// `recur data digits`.
struct DataDigits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digits",
        abstract: "Join FSDD spoken-digit clips of one speaker into digit sequences.",
        discussion: """
        Writes DIR/wav/{digits}_{speaker}_{index}.wav, DIR/transcripts.tsv (path, transcript as words \
        like "three one four", speaker, digits, clips) and DIR/README.txt (with FSDD's CC BY-SA 4.0 \
        attribution). Use --speakers and --indices to keep validation speakers or recordings out.
        """
    )

    @Option(help: "The FSDD folder (or its recordings/ folder).") var fsdd: String
    @Option(help: "Output folder (created if needed).") var out: String
    @Option(help: "Number of sequences.") var count: Int
    @Option(help: "Fewest digits in a sequence.") var minDigits = 2
    @Option(help: "Most digits in a sequence.") var maxDigits = 5
    @Option(help: "Speakers to use, comma-separated (default: all).") var speakers: String?
    @Option(help: "FSDD recording indices to use, a range such as 5-49 (default: all).") var indices: String?
    @Option(help: "Seed of every random choice.") var seed: UInt64 = 1
    @Option(help: "Silence between clips in milliseconds, a range a-b.") var silenceMs = "100-300"
    @Option(help: "Output sample rate.") var sampleRate = 8000
    @Option(help: "Sequences made at once.") var jobs = 1

    func run() throws {
        var o = DigitCorpusOptions(count: count)
        o.seed = seed
        o.minDigits = minDigits
        o.maxDigits = maxDigits
        o.speakers = speakers.map(commaList)
        o.indices = try range(indices, "--indices")
        o.silenceMS = try range(silenceMs, "--silence-ms")!
        o.sampleRate = sampleRate
        o.jobs = jobs
        try runReporting {
            let start = Date()
            let s = try DigitCorpus.write(fsdd: fsdd, options: o, to: out, command: typedCommand())
            printError(String(format: "%d sequences (%.1f s of audio) from %@ in %@ (%.1f s)", s.sequences, s.seconds,
                              s.speakers.joined(separator: ", "), out, Date().timeIntervalSince(start)))
        }
    }
}
