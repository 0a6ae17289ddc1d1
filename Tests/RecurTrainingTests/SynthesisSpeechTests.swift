import Foundation
import RecurCore
import RecurFrontends
import RecurTestSupport
import RecurTraining
import XCTest

/// The espeak-ng corpus and the joined-digits corpus.
final class SynthesisSpeechTests: XCTestCase {
    var tmp: String!

    override func setUpWithError() throws {
        tmp = NSTemporaryDirectory() + "recur-speech-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: tmp)
    }

    func espeak() throws -> EspeakSynthesizer {
        guard EspeakSynthesizer.locate("espeak-ng") != nil else { throw XCTSkip("espeak-ng is not installed (make deps installs it)") }
        return try EspeakSynthesizer()
    }

    func write(_ text: String, _ name: String) throws -> String {
        let p = tmp + "/" + name
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    // MARK: espeak-ng

    func testSpeakWritesReadableWAVsAndAManifest() throws {
        let synth = try espeak()
        let text = try write("I want to go home.\n---\n-5 degrees\tis cold\n", "lines.txt")
        var o = SpeechCorpusOptions()
        o.seed = 3
        o.snrDB = ValueRange(20, 30)
        o.gainDB = ValueRange(-6, 0)
        o.limit = 3
        let reports = ReportLog()
        let out = tmp + "/corpus"
        let s = try SpeechCorpus.write(textFile: text, options: o, to: out, command: "test", espeak: synth, report: reports.add)
        XCTAssertEqual(s.lines, 3)
        XCTAssertEqual(s.written, 2)
        XCTAssertEqual(s.skipped, 1)
        // The unsayable line is named once on the report, not thrown.
        XCTAssertEqual(reports.lines.count, 1, "\(reports.lines)")
        XCTAssertTrue(reports.lines[0].hasPrefix("line 2 "), reports.lines[0])

        let r = try SpeechManifest.read(out + "/transcripts.tsv")
        XCTAssertEqual(r.examples.map(\.target), ["I want to go home.", "-5 degrees is cold"])
        let voice = try FileNamePattern("{index}_{voice}_{variant}.wav")
        for e in r.examples {
            let info = try AudioFile.info(e.source)
            XCTAssertEqual(info.encoding, "Signed 16 bit PCM")
            XCTAssertEqual(info.sampleRate, 16000)
            XCTAssertEqual(info.channels, 1)
            XCTAssertGreaterThan(info.seconds, 0.4)
            let fields = try XCTUnwrap(voice.match(e.source))
            XCTAssertTrue(o.voices.contains(fields["voice"]!), e.source)
            XCTAssertTrue(o.variants.contains(fields["variant"]!), e.source)
        }
        let header = try String(contentsOfFile: out + "/transcripts.tsv", encoding: .utf8).split(separator: "\n")[0]
        XCTAssertEqual(header, "path\ttranscript\tvoice\tvariant\trate\tpitch\tgain_db\tsnr_db\tline")
    }

    func testPlanIsSeededAndVariesVoicesWithinALine() {
        var o = SpeechCorpusOptions()
        o.takesPerLine = 4
        o.seed = 9
        let lines = [(1, "one"), (2, "two"), (3, "three")]
        let a = SpeechCorpus.plan(lines, options: o), b = SpeechCorpus.plan(lines, options: o)
        XCTAssertEqual(a, b)
        o.seed = 10
        XCTAssertNotEqual(a, SpeechCorpus.plan(lines, options: o))
        XCTAssertEqual(a.count, 12)
        for k in 0..<3 {
            let takes = a[(4 * k)..<(4 * k + 4)]
            XCTAssertEqual(Set(takes.map(\.voice)).count, 4)
            XCTAssertTrue(takes.allSatisfy { $0.line == k + 1 && (140...195).contains($0.rate) && (30...70).contains($0.pitch) })
        }
    }

    func testLevelAndNoise() {
        var rng = RNG(seed: 1)
        let clean = (0..<16000).map { _ in 0.2 * sin(Float(rng.uniform(0, 6.28))) }
        var x = clean
        SpeechCorpus.applyLevelAndNoise(&x, gainDB: -6.0206, snrDB: nil, seed: 1)
        XCTAssertEqual(x[10], clean[10] / 2, accuracy: 1e-5)
        var y = clean
        SpeechCorpus.applyLevelAndNoise(&y, gainDB: nil, snrDB: 20, seed: 1)
        func rms(_ v: [Float]) -> Double { (v.reduce(0.0) { $0 + Double($1 * $1) } / Double(v.count)).squareRoot() }
        let noise = zip(y, clean).map { $0 - $1 }
        XCTAssertEqual(rms(noise) / rms(clean), 0.1, accuracy: 0.005)
        var loud = clean.map { $0 * 10 }
        SpeechCorpus.applyLevelAndNoise(&loud, gainDB: nil, snrDB: nil, seed: 1)
        XCTAssertLessThanOrEqual(loud.map(abs).max()!, 0.99 + 1e-6)
    }

    func testMissingTextFileAndUnknownVariantAreClearErrors() throws {
        XCTAssertThrowsError(try SpeechCorpus.write(textFile: tmp + "/none.txt", options: SpeechCorpusOptions(), to: tmp + "/o",
                                                    command: "test", report: { _ in })) { e in
            XCTAssertEqual((e as? RecurError)?.file, self.tmp + "/none.txt")
        }
        let synth = try espeak()
        XCTAssertThrowsError(try synth.checkVariant("no-such-variant")) { XCTAssertTrue("\($0)".contains("no-such-variant")) }
        XCTAssertThrowsError(try synth.checkVoice("xx-nosuch")) { XCTAssertTrue("\($0)".contains("xx-nosuch")) }
        // An output folder that cannot be made: its parent is a file.
        let text = try write("hello\n", "one.txt")
        let blocker = try write("x", "blocker")
        XCTAssertThrowsError(try SpeechCorpus.write(textFile: text, options: SpeechCorpusOptions(), to: blocker + "/out",
                                                    command: "test", espeak: synth, report: { _ in })) { e in
            XCTAssertEqual((e as? RecurError)?.kind, .io)
            XCTAssertTrue("\(e)".contains("not a folder"), "\(e)")
        }
    }

    // MARK: joined digits

    /// A tiny FSDD look-alike: speakers ann (8 kHz) and bob (16 kHz, resampled
    /// on the way), digits 0-9, indices 0-1, each clip a tone whose length
    /// names its digit.
    func makeFakeFSDD() throws -> String {
        let dir = tmp + "/fsdd/recordings"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (speaker, rate) in [("ann", 8000), ("bob", 16000)] {
            for d in 0..<10 {
                for i in 0..<2 {
                    let n = rate * (100 + 10 * d) / 1000
                    let x = (0..<n).map { 0.3 * sin(Float($0) * 0.3 + Float(i)) }
                    try AudioFile.write(x, sampleRate: rate, to: "\(dir)/\(d)_\(speaker)_\(i).wav")
                }
            }
        }
        _ = try write("not a recording", "fsdd/recordings/README.md")
        return tmp + "/fsdd"
    }

    func testDigitSequencesJoinClipsOfOneSpeaker() throws {
        let fsdd = try makeFakeFSDD()
        var o = DigitCorpusOptions(count: 8)
        o.seed = 4
        o.minDigits = 2
        o.maxDigits = 4
        let out = tmp + "/digits"
        let s = try DigitCorpus.write(fsdd: fsdd, options: o, to: out, command: "test")
        XCTAssertEqual(s.speakers, ["ann", "bob"])
        let rows = try String(contentsOfFile: out + "/transcripts.tsv", encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(rows.count, 8)
        let manifest = try SpeechManifest.read(out + "/transcripts.tsv")
        XCTAssertEqual(manifest.examples.count, 8)
        let pattern = try FileNamePattern("{digit}_{speaker}_{index}.wav")
        var speakers = Set<String>()
        for (row, e) in zip(rows, manifest.examples) {
            let (speaker, digits, clips) = (row[2], row[3], row[4].split(separator: ",").map(String.init))
            speakers.insert(speaker)
            XCTAssertEqual(e.target, digits.map { DigitCorpus.words[Int(String($0))!] }.joined(separator: " "))
            XCTAssertTrue((2...4).contains(digits.count))
            XCTAssertEqual(pattern.match(e.source)?["speaker"], speaker)
            XCTAssertEqual(pattern.match(e.source)?["digit"], digits)
            // Every clip is the right digit of the same speaker.
            var clipSamples = 0
            for (clip, d) in zip(clips, digits) {
                let f = try XCTUnwrap(pattern.match(clip))
                XCTAssertEqual(f["speaker"], speaker)
                XCTAssertEqual(f["digit"], String(d))
                clipSamples += try AudioFile.read(fsdd + "/recordings/" + clip, sampleRate: 8000).count
            }
            // Its length is the clips plus silences of 100-300 ms (half at the ends).
            let info = try AudioFile.info(e.source)
            XCTAssertEqual(info.sampleRate, 8000)
            XCTAssertEqual(info.encoding, "Signed 16 bit PCM")
            let silence = info.frames - clipSamples
            let gaps = Double(digits.count - 1) + 1  // two half gaps at the ends
            XCTAssertGreaterThanOrEqual(Double(silence), gaps * 800 - 4)
            XCTAssertLessThanOrEqual(Double(silence), gaps * 2400 + 4)
        }
        XCTAssertEqual(speakers, ["ann", "bob"])

        // Same seed, same bytes; the speaker and index filters hold.
        let again = tmp + "/digits2"
        try DigitCorpus.write(fsdd: fsdd, options: o, to: again, command: "test")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/transcripts.tsv")),
                       try Data(contentsOf: URL(fileURLWithPath: again + "/transcripts.tsv")))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: manifest.examples[0].source)),
                       try Data(contentsOf: URL(fileURLWithPath: again + "/" + rows[0][0])))
        o.speakers = ["bob"]
        o.indices = ValueRange(1, 1)
        o.count = 3
        try DigitCorpus.write(fsdd: fsdd, options: o, to: tmp + "/bob", command: "test")
        let bob = try String(contentsOfFile: tmp + "/bob/transcripts.tsv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(bob.count, 3)
        // Other clips in use, other digit strings under the same seed.
        XCTAssertNotEqual(bob.map { $0.split(separator: "\t")[3] }, rows[0..<3].map { Substring($0[3]) })
        for row in bob {
            let f = row.split(separator: "\t")
            XCTAssertEqual(f[2], "bob")
            XCTAssertTrue(f[4].split(separator: ",").allSatisfy { $0.hasSuffix("_bob_1.wav") }, String(f[4]))
        }
        o.speakers = ["carol"]
        XCTAssertThrowsError(try DigitCorpus.write(fsdd: fsdd, options: o, to: tmp + "/c", command: "test")) {
            XCTAssertTrue("\($0)".contains("carol"))
        }
    }

    func testDigitsFromRealFSDD() throws {
        guard let root = RecurBinary.sharedData else { throw XCTSkip("../shared/data is not beside the checkout") }
        var o = DigitCorpusOptions(count: 3)
        o.speakers = ["theo"]
        o.indices = ValueRange(5, 49)
        let out = tmp + "/real"
        try DigitCorpus.write(fsdd: root.appendingPathComponent("fsdd").path, options: o, to: out, command: "test")
        let r = try SpeechManifest.read(out + "/transcripts.tsv")
        XCTAssertEqual(r.examples.count, 3)
        for e in r.examples {
            XCTAssertTrue(e.source.contains("_theo_"))
            let words = e.target.split(separator: " ")
            XCTAssertTrue((2...5).contains(words.count))
            XCTAssertTrue(words.allSatisfy { DigitCorpus.words.contains(String($0)) })
            let info = try AudioFile.info(e.source)
            XCTAssertEqual(info.sampleRate, 8000)
            XCTAssertGreaterThan(info.seconds, 0.3)
        }
        let readme = try String(contentsOfFile: out + "/README.txt", encoding: .utf8)
        XCTAssertTrue(readme.contains("CC BY-SA 4.0"))
    }
}

/// Collects report lines from a `@Sendable` callback.
final class ReportLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var lines: [String] { lock.withLock { stored } }
    var add: @Sendable (String) -> Void { { line in self.lock.withLock { self.stored.append(line) } } }
}
