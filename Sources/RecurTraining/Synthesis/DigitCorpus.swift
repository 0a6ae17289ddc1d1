// Sequences of spoken digits joined from FSDD clips of one speaker (`recur data digits`).
//
// FSDD's recordings are `{digit}_{speaker}_{index}.wav` (8 kHz mono). Each
// sequence picks one speaker, a length in [minDigits, maxDigits], digits and
// one clip per digit at random (seeded; sequence i depends only on the seed,
// i, and the speakers and indices in use), then joins the clips with silences
// drawn from `silenceMS` (half that before the first and after the last), with
// 5 ms fades at each clip's edges so the joins do not click. Clips at another rate are resampled. Output:
//
//   wav/314_jackson_00000.wav …   {digits}_{speaker}_{index}.wav, the same
//                                 pattern as FSDD's names, so a split by the
//                                 {speaker} field works on both
//   transcripts.tsv               header path, transcript ("three one four"),
//                                 speaker, digits, clips (the FSDD files used)
//   README.txt                    the command, the seed and FSDD's licence
import Foundation
import RecurCore
import RecurFrontends

/// Settings of a joined-digits corpus.
public struct DigitCorpusOptions: Sendable {
    public var count: Int
    public var seed: UInt64 = 1
    public var minDigits = 2
    public var maxDigits = 5
    /// Speakers to use (nil: all in the folder).
    public var speakers: [String]?
    /// FSDD recording indices to use (nil: all), e.g. 5-49 for FSDD's proposed training part.
    public var indices: ValueRange?
    /// Silence between clips, milliseconds.
    public var silenceMS = ValueRange(100, 300)
    /// Output sample rate (FSDD's own is 8000).
    public var sampleRate = 8000
    public var jobs = 1

    public init(count: Int) {
        self.count = count
    }

    public func validate() throws {
        guard count >= 1 else { throw RecurError(.usage, "--count must be at least 1, got \(count)") }
        guard minDigits >= 1, maxDigits >= minDigits, maxDigits <= 50 else {
            throw RecurError(.usage, "need 1 ≤ --min-digits ≤ --max-digits ≤ 50, got \(minDigits) and \(maxDigits)")
        }
        guard silenceMS.lower >= 0, silenceMS.upper <= 10000 else { throw RecurError(.usage, "--silence-ms must lie within 0-10000, got \(silenceMS)") }
        guard sampleRate >= 4000, sampleRate <= 48000 else { throw RecurError(.usage, "--sample-rate must be 4000…48000, got \(sampleRate)") }
        if let s = speakers, s.isEmpty { throw RecurError(.usage, "--speakers is empty") }
        guard jobs >= 1 else { throw RecurError(.usage, "--jobs must be at least 1, got \(jobs)") }
    }
}

/// One FSDD recording.
public struct DigitClip: Sendable, Hashable {
    public var digit: Int
    public var speaker: String
    public var index: Int
    public var path: String
}

/// What a digits corpus run wrote.
public struct DigitCorpusSummary: Sendable {
    public var sequences: Int
    public var speakers: [String]
    public var seconds: Double
}

/// Builds joined-digit corpora.
public enum DigitCorpus {
    public static let words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

    /// The recordings in `directory` (FSDD's folder or its `recordings/`), by speaker and digit.
    public static func clips(_ directory: String) throws -> [DigitClip] {
        var dir = directory
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir + "/recordings", isDirectory: &isDir), isDir.boolValue {
            dir += "/recordings"
        }
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw RecurError(.io, "no such folder", file: directory)
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        } catch {
            throw RecurError(.io, "cannot list the folder: \(SynthesisOutput.reason(error))", file: dir)
        }
        let pattern = try FileNamePattern("{digit}_{speaker}_{index}.wav")
        var out: [DigitClip] = []
        for name in names where !name.hasPrefix(".") {
            guard let f = pattern.match(name), let d = Int(f["digit"]!), (0...9).contains(d),
                  let i = Int(f["index"]!), let s = f["speaker"] else { continue }
            out.append(DigitClip(digit: d, speaker: s, index: i, path: dir + "/" + name))
        }
        guard !out.isEmpty else {
            throw RecurError(.format, "no {digit}_{speaker}_{index}.wav recordings (FSDD's layout) in the folder", file: dir)
        }
        return out
    }

    /// One planned sequence: the speaker, the clips in order and the silences (samples at the output rate).
    public struct Plan: Sendable {
        public var speaker: String
        public var clips: [DigitClip]
        /// clips.count + 1 silences: before the first clip, between clips, after the last.
        public var silences: [Int]
        public var transcript: String { clips.map { DigitCorpus.words[$0.digit] }.joined(separator: " ") }
        public var digits: String { clips.map { String($0.digit) }.joined() }
    }

    /// Sequence `index`, drawn from `table` (speaker → digit → clips, speakers sorted).
    /// `stream` is `stream(of: table)`.
    static func plan(_ o: DigitCorpusOptions, table: [(String, [[DigitClip]])], stream: UInt64, index: Int) -> Plan {
        var rng = RNG(seed: SynthesisSeed.item(o.seed, stream: stream, index: index))
        let (speaker, byDigit) = table[rng.int(below: table.count)]
        let available = (0..<10).filter { !byDigit[$0].isEmpty }
        let n = o.minDigits + rng.int(below: o.maxDigits - o.minDigits + 1)
        var clips: [DigitClip] = []
        for _ in 0..<n {
            let d = available[rng.int(below: available.count)]
            clips.append(byDigit[d][rng.int(below: byDigit[d].count)])
        }
        var silences: [Int] = []
        for k in 0...n {
            let ms = o.silenceMS.draw(&rng) * (k == 0 || k == n ? 0.5 : 1)
            silences.append(Int((ms * Double(o.sampleRate) / 1000).rounded()))
        }
        return Plan(speaker: speaker, clips: clips, silences: silences)
    }

    /// The random stream of a clip table: an FNV-1a hash of the speakers and
    /// the recording indices in use, so that a training set and a validation
    /// set made with the same seed from different speakers or indices do not
    /// share their digit strings.
    static func stream(of table: [(String, [[DigitClip]])]) -> UInt64 {
        var key: UInt64 = 0xCBF2_9CE4_8422_2325
        for (speaker, byDigit) in table {
            let text = speaker + ":" + byDigit.map { $0.map { String($0.index) }.joined(separator: ",") }.joined(separator: ";") + "|"
            for b in text.utf8 { key = (key ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        return key
    }

    /// The joined waveform of `plan` at `sampleRate`.
    public static func join(_ plan: Plan, sampleRate: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: plan.silences[0])
        for (k, clip) in plan.clips.enumerated() {
            let x = try AudioFile.read(clip.path, sampleRate: sampleRate)
            var samples = x.array
            let fade = min(samples.count / 2, sampleRate / 200)
            if fade > 1 {
                for i in 0..<fade {
                    let g = Float(0.5 - 0.5 * cos(Double.pi * Double(i) / Double(fade)))
                    samples[i] *= g
                    samples[samples.count - 1 - i] *= g
                }
            }
            out += samples
            out += [Float](repeating: 0, count: plan.silences[k + 1])
        }
        return out
    }

    /// Writes the corpus into `directory`.
    @discardableResult
    public static func write(fsdd: String, options o: DigitCorpusOptions, to directory: String, command: String) throws -> DigitCorpusSummary {
        try o.validate()
        var all = try clips(fsdd)
        if let r = o.indices {
            all = all.filter { Double($0.index) >= r.lower && Double($0.index) <= r.upper }
        }
        let present = Set(all.map(\.speaker))
        if let wanted = o.speakers {
            let missing = wanted.filter { !present.contains($0) }
            guard missing.isEmpty else {
                throw RecurError(.usage, "no recordings of speaker(s) \(missing.joined(separator: ", ")) (there are: \(present.sorted().joined(separator: ", ")))", file: fsdd)
            }
            let keep = Set(wanted)
            all = all.filter { keep.contains($0.speaker) }
        }
        guard !all.isEmpty else { throw RecurError(.usage, "no recordings left after --speakers and --indices", file: fsdd) }
        var table: [(String, [[DigitClip]])] = []
        for s in Set(all.map(\.speaker)).sorted() {
            var byDigit = [[DigitClip]](repeating: [], count: 10)
            for c in all where c.speaker == s { byDigit[c.digit].append(c) }
            for d in 0..<10 { byDigit[d].sort { $0.index < $1.index } }
            table.append((s, byDigit))
        }
        try SynthesisOutput.prepareDirectory(directory)
        let wavDir = directory + "/wav"
        try SynthesisOutput.prepareDirectory(wavDir)
        let width = max(5, String(o.count - 1).count)
        let lock = NSLock()
        nonisolated(unsafe) var rows = [String](repeating: "", count: o.count)
        nonisolated(unsafe) var seconds = 0.0
        let frozen = table
        let stream = stream(of: table)
        try synthesisParallel(o.count, jobs: o.jobs) { i in
            let p = plan(o, table: frozen, stream: stream, index: i)
            let samples = try join(p, sampleRate: o.sampleRate)
            let n = String(i)
            let name = "\(p.digits)_\(p.speaker)_" + String(repeating: "0", count: max(0, width - n.count)) + n + ".wav"
            try AudioFile.write(samples, sampleRate: o.sampleRate, encoding: .pcm16, to: wavDir + "/" + name)
            let clipNames = p.clips.map { ($0.path as NSString).lastPathComponent }.joined(separator: ",")
            lock.lock()
            rows[i] = ["wav/" + name, p.transcript, p.speaker, p.digits, clipNames].joined(separator: "\t")
            seconds += Double(samples.count) / Double(o.sampleRate)
            lock.unlock()
        }
        try AtomicFile.write((["path\ttranscript\tspeaker\tdigits\tclips"] + rows).joined(separator: "\n") + "\n",
                             to: directory + "/transcripts.tsv")
        try AtomicFile.write(readme(o, command: command, fsdd: fsdd, speakers: table.map(\.0)), to: directory + "/README.txt")
        return DigitCorpusSummary(sequences: o.count, speakers: table.map(\.0), seconds: seconds)
    }

    static func readme(_ o: DigitCorpusOptions, command: String, fsdd: String, speakers: [String]) -> String {
        """
        Spoken digit sequences joined from Free Spoken Digit Dataset clips by Recur.

        Made by:   \(command)
        Seed:      \(o.seed)
        Recur:     \(RecurVersion.version)
        Source:    \(fsdd)
        Speakers:  \(speakers.joined(separator: ", ")) (one speaker per sequence)
        Indices:   \(o.indices.map(\.description) ?? "all")
        Digits:    \(o.minDigits)-\(o.maxDigits) per sequence; silences \(o.silenceMS) ms between clips (half before and after)
        Audio:     16-bit mono WAV at \(o.sampleRate) Hz in wav/, named {digits}_{speaker}_{index}.wav
        Manifest:  transcripts.tsv (path, transcript, speaker, digits, clips)

        Licence: the recordings are from the Free Spoken Digit Dataset by Zohar Jackson and
        FSDD contributors, https://github.com/Jakobovski/free-spoken-digit-dataset, under
        CC BY-SA 4.0; these joined files are an adaptation and carry the same licence.

        """
    }
}
