// Writes a speech corpus synthesised with espeak-ng (`recur data speak`).
//
// Each text line is spoken `takesPerLine` times, each take by a different
// voice+variant when there are enough, at a speaking rate and pitch drawn
// from the seeded generator; optionally the level is changed (gain in dB) and
// white noise is added at a signal-to-noise ratio drawn from a range. Output:
//
//   wav/00000_en-us_m3.wav …   {index}_{voice}_{variant}.wav ("none": no variant),
//                              16-bit mono PCM at `sampleRate` (16 kHz by default)
//   transcripts.tsv            header path, transcript, voice, variant, rate, pitch,
//                              gain_db, snr_db, line (`SpeechManifest` reads path and
//                              transcript; the others let training hold voices out)
//   README.txt                 the command and seed
//
// All random draws are made up front in item order, and each item's noise
// comes from its own seed, so the bytes do not depend on --jobs. Lines that
// espeak-ng cannot say (it fails, or makes no sound) are reported through
// `report` and left out; their item numbers stay unused.
import Foundation
import RecurCore
import RecurFrontends

/// Settings of a synthesised speech corpus.
public struct SpeechCorpusOptions: Sendable {
    public var seed: UInt64 = 1
    /// Base voices (`espeak-ng -v`).
    public var voices: [String] = EspeakSynthesizer.defaultVoices
    /// Variants; "none" means the voice's own sound.
    public var variants: [String] = EspeakSynthesizer.defaultVariants
    /// Takes per line.
    public var takesPerLine = 1
    /// Words per minute (espeak's default is 175).
    public var rate = ValueRange(140, 195)
    /// espeak pitch, 0…99 (default 50).
    public var pitch = ValueRange(30, 70)
    /// Level change in dB (nil: none).
    public var gainDB: ValueRange?
    /// Signal-to-noise ratio of added white noise in dB (nil: no noise).
    public var snrDB: ValueRange?
    /// Output sample rate (0: espeak's own 22 050 Hz).
    public var sampleRate = 16000
    /// Use this tab-separated field (1-based) of each line.
    public var field: Int?
    /// Skip lines with more words than this.
    public var maxWords: Int?
    /// Speak each distinct line once.
    public var unique = false
    /// Use at most this many lines (after the filters above).
    public var limit: Int?
    /// espeak-ng processes running at once.
    public var jobs = 1
    /// The espeak-ng executable (a name on PATH or a path).
    public var executable = "espeak-ng"

    public init() {}

    public func validate() throws {
        guard takesPerLine >= 1 else { throw RecurError(.usage, "--count-per-line must be at least 1, got \(takesPerLine)") }
        guard !voices.isEmpty else { throw RecurError(.usage, "--voices is empty") }
        guard !variants.isEmpty else { throw RecurError(.usage, "--variants is empty") }
        guard rate.lower >= 80, rate.upper <= 450 else { throw RecurError(.usage, "--rate-range must lie within 80-450 words per minute, got \(rate)") }
        guard pitch.lower >= 0, pitch.upper <= 99 else { throw RecurError(.usage, "--pitch-range must lie within 0-99, got \(pitch)") }
        if let g = gainDB, g.lower < -60 || g.upper > 30 { throw RecurError(.usage, "--gain-db must lie within -60…30 dB, got \(g)") }
        if let s = snrDB, s.lower < -10 || s.upper > 100 { throw RecurError(.usage, "--noise must lie within -10…100 dB SNR, got \(s)") }
        guard sampleRate == 0 || (sampleRate >= 8000 && sampleRate <= 48000) else {
            throw RecurError(.usage, "--sample-rate must be 0 (keep 22050) or 8000…48000, got \(sampleRate)")
        }
        if let f = field, f < 1 { throw RecurError(.usage, "--field is 1-based, got \(f)") }
        if let m = maxWords, m < 1 { throw RecurError(.usage, "--max-words must be at least 1") }
        if let l = limit, l < 1 { throw RecurError(.usage, "--limit must be at least 1") }
        guard jobs >= 1 else { throw RecurError(.usage, "--jobs must be at least 1, got \(jobs)") }
    }
}

/// One planned recording.
public struct SpeechTake: Sendable, Equatable {
    public var index: Int
    /// The text line (1-based line number in the text file).
    public var line: Int
    public var text: String
    public var voice: EspeakVoice
    public var rate: Int
    public var pitch: Int
    public var gainDB: Double?
    public var snrDB: Double?
    public var noiseSeed: UInt64

    /// `{index}_{voice}_{variant}.wav`.
    public func fileName(width: Int) -> String {
        let n = String(index)
        return String(repeating: "0", count: max(0, width - n.count)) + n + "_\(voice.voice)_\(voice.variant ?? "none").wav"
    }
}

/// What a speech corpus run wrote.
public struct SpeechCorpusSummary: Sendable {
    public var lines: Int
    public var written: Int
    public var skipped: Int
    public var seconds: Double
}

/// Plans and writes espeak-ng corpora.
public enum SpeechCorpus {
    /// The usable lines of `path` as (line number, text), after --field, --max-words, --unique and --limit.
    public static func lines(_ path: String, options o: SpeechCorpusOptions, report: (String) -> Void) throws -> [(Int, String)] {
        let read = try PlainText.readLines(path, options: ReadOptions(badLines: .skip, maxReported: 3))
        for b in read.report.firstBad { report("\(b): skipped") }
        if read.report.badLines > read.report.firstBad.count {
            report("\(path): \(read.report.badLines - read.report.firstBad.count) more lines skipped (invalid UTF-8)")
        }
        var out: [(Int, String)] = []
        var seen = Set<String>()
        for e in read.examples {
            var text = e.target
            if let f = o.field {
                let parts = text.split(separator: "\t", omittingEmptySubsequences: false)
                guard f <= parts.count else {
                    report("\(path):\(e.line): no field \(f) (the line has \(parts.count)): skipped")
                    continue
                }
                text = String(parts[f - 1])
            }
            text = SynthesisOutput.tsvField(text)
            if text.isEmpty { continue }
            if let m = o.maxWords, text.split(separator: " ").count > m { continue }
            if o.unique {
                if seen.contains(text) { continue }
                seen.insert(text)
            }
            out.append((e.line, text))
            if let l = o.limit, out.count >= l { break }
        }
        return out
    }

    /// Draws voice, variant, rate, pitch, gain and noise for every take, in order.
    public static func plan(_ lines: [(Int, String)], options o: SpeechCorpusOptions) -> [SpeechTake] {
        var rng = RNG(seed: o.seed)
        let combos = o.voices.flatMap { v in o.variants.map { EspeakVoice(v, variant: $0 == "none" ? nil : $0) } }
        var takes: [SpeechTake] = []
        for (line, text) in lines {
            // Distinct voice+variant combinations for the takes of one line while they last.
            var pool = combos
            for _ in 0..<o.takesPerLine {
                if pool.isEmpty { pool = combos }
                let voice = pool.remove(at: rng.int(below: pool.count))
                let rate = o.rate.drawInt(&rng)
                let pitch = o.pitch.drawInt(&rng)
                let gain = o.gainDB.map { ($0.draw(&rng) * 10).rounded() / 10 }
                let snr = o.snrDB.map { ($0.draw(&rng) * 10).rounded() / 10 }
                takes.append(SpeechTake(index: takes.count, line: line, text: text, voice: voice, rate: rate, pitch: pitch,
                                        gainDB: gain, snrDB: snr, noiseSeed: SynthesisSeed.item(o.seed, stream: 3, index: takes.count)))
            }
        }
        return takes
    }

    /// Synthesises the lines of `textFile` into `directory`. `report` gets one
    /// line per take or line skipped. Throws on bad settings, a missing text
    /// file, an unwritable folder, or when espeak-ng is missing.
    @discardableResult
    public static func write(textFile: String, options o: SpeechCorpusOptions, to directory: String, command: String,
                             espeak: EspeakSynthesizer? = nil, report: @escaping @Sendable (String) -> Void) throws -> SpeechCorpusSummary {
        try o.validate()
        let lines = try self.lines(textFile, options: o, report: report)
        try SynthesisOutput.prepareDirectory(directory)
        let synth = try espeak ?? EspeakSynthesizer(executable: o.executable)
        for v in o.voices { try synth.checkVoice(v) }
        for v in o.variants where v != "none" { try synth.checkVariant(v) }
        let wavDir = directory + "/wav"
        try SynthesisOutput.prepareDirectory(wavDir)
        let takes = plan(lines, options: o)
        let width = max(5, String(max(0, takes.count - 1)).count)
        let lock = NSLock()
        nonisolated(unsafe) var rows = [String?](repeating: nil, count: takes.count)
        nonisolated(unsafe) var seconds = [Double](repeating: 0, count: takes.count)
        try synthesisParallel(takes.count, jobs: o.jobs) { i in
            let t = takes[i]
            let name = t.fileName(width: width)
            guard let dur = try render(t, synth: synth, options: o, to: wavDir + "/" + name, report: report) else { return }
            let row = ["wav/" + name, t.text, t.voice.voice, t.voice.variant ?? "none", String(t.rate), String(t.pitch),
                       t.gainDB.map { String($0) } ?? "none", t.snrDB.map { String($0) } ?? "none", String(t.line)]
            lock.lock()
            rows[i] = row.joined(separator: "\t")
            seconds[i] = dur
            lock.unlock()
        }
        let written = rows.compactMap { $0 }
        let header = "path\ttranscript\tvoice\tvariant\trate\tpitch\tgain_db\tsnr_db\tline"
        try AtomicFile.write(([header] + written).joined(separator: "\n") + "\n", to: directory + "/transcripts.tsv")
        try AtomicFile.write(readme(o, command: command, textFile: textFile), to: directory + "/README.txt")
        return SpeechCorpusSummary(lines: lines.count, written: written.count, skipped: takes.count - written.count,
                                   seconds: seconds.reduce(0, +))
    }

    /// Speaks one take into `path`: its duration in seconds, or nil (reported) when espeak-ng could not say it.
    static func render(_ t: SpeechTake, synth: EspeakSynthesizer, options o: SpeechCorpusOptions, to path: String,
                       report: (String) -> Void) throws -> Double? {
        let dir = (path as NSString).deletingLastPathComponent
        let raw = dir + "/.raw-\(t.index)-\(getpid()).wav"
        defer { unlink(raw) }
        let preview = t.text.count > 60 ? String(t.text.prefix(57)) + "..." : t.text
        if let complaint = try synth.speak(t.text, voice: t.voice, rate: t.rate, pitch: t.pitch, to: raw) {
            report("line \(t.line) (\(t.voice)): espeak-ng cannot say \"\(preview)\": \(complaint); skipped")
            return nil
        }
        var (x, rate): (Tensor, Int)
        do {
            (x, rate) = try AudioFile.read(raw)
        } catch {
            report("line \(t.line) (\(t.voice)): espeak-ng's output is unreadable (\(error)); skipped")
            return nil
        }
        var peak: Float = 0
        for i in 0..<x.count { peak = max(peak, abs(x.data[i])) }
        if x.count == 0 || peak < 1e-3 {
            report("line \(t.line) (\(t.voice)): espeak-ng made no sound for \"\(preview)\"; skipped")
            return nil
        }
        if o.sampleRate != 0 && o.sampleRate != rate {
            x = try Resampler.resample(x, from: Double(rate), to: Double(o.sampleRate))
            rate = o.sampleRate
        }
        var samples = x.array
        SpeechCorpus.applyLevelAndNoise(&samples, gainDB: t.gainDB, snrDB: t.snrDB, seed: t.noiseSeed)
        try AudioFile.write(samples, sampleRate: rate, encoding: .pcm16, to: path)
        return Double(samples.count) / Double(rate)
    }

    /// Scales `x` by `gainDB`, adds white noise at `snrDB` below the signal's RMS,
    /// and scales down if the peak would clip (above 0.99).
    public static func applyLevelAndNoise(_ x: inout [Float], gainDB: Double?, snrDB: Double?, seed: UInt64) {
        if let g = gainDB {
            let k = Float(pow(10, g / 20))
            for i in x.indices { x[i] *= k }
        }
        if let snr = snrDB, !x.isEmpty {
            var energy = 0.0
            for v in x { energy += Double(v) * Double(v) }
            let rms = (energy / Double(x.count)).squareRoot()
            let sd = Float(rms / pow(10, snr / 20))
            var rng = RNG(seed: seed)
            for i in x.indices { x[i] += sd * rng.normal() }
        }
        var peak: Float = 0
        for v in x { peak = max(peak, abs(v)) }
        if peak > 0.99 {
            let k = 0.99 / peak
            for i in x.indices { x[i] *= k }
        }
    }

    static func readme(_ o: SpeechCorpusOptions, command: String, textFile: String) -> String {
        """
        Speech synthesised with espeak-ng by Recur.

        Made by:   \(command)
        Seed:      \(o.seed)
        Recur:     \(RecurVersion.version)
        Text:      \(textFile) (its licence applies to the transcripts)
        Voices:    \(o.voices.joined(separator: ", "))
        Variants:  \(o.variants.joined(separator: ", "))
        Rate:      \(o.rate) words per minute; pitch \(o.pitch)
        Level:     \(o.gainDB.map { "\($0) dB" } ?? "unchanged"); noise: \(o.snrDB.map { "white, SNR \($0) dB" } ?? "none")
        Audio:     16-bit mono WAV at \(o.sampleRate == 0 ? 22050 : o.sampleRate) Hz in wav/, named {index}_{voice}_{variant}.wav
        Manifest:  transcripts.tsv (path, transcript, voice, variant, rate, pitch, gain_db, snr_db, line)

        """
    }
}
