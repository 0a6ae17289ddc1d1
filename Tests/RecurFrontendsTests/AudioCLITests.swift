import Foundation
import RecurCore
import RecurFrontends
import RecurTestSupport
import XCTest

/// `recur features audio` end to end through the built binary.
final class AudioCLITests: XCTestCase {
    func testGoodAndBadFiles() throws {
        guard RecurBinary.url != nil else { throw XCTSkip("recur binary not built") }
        let dir = try AudioFixtures.tempDir(self)
        let good = AudioFixtures.path("audio_sig_speech.wav")
        let bad = dir.appendingPathComponent("notes.wav").path
        try Data("not audio\n".utf8).write(to: URL(fileURLWithPath: bad))
        let outDir = dir.appendingPathComponent("feats").path
        let r = try RecurBinary.run(["features", "audio", good, bad, "--out-dir", outDir, "--threads", "1"])
        XCTAssertNotEqual(r.status, 0)
        // Output for the good file, matching the library.
        let npy = outDir + "/audio_sig_speech.npy"
        let got = try NPY.read(npy)
        let want = try AudioFrontend(preset: .recur).compute(file: good)
        XCTAssertEqual(got.shape, want.shape)
        XCTAssertLessThan(maxAbsDiff(got.array, want.array), 1e-5)
        XCTAssertTrue(r.stdout.contains(good) && r.stdout.contains("\(want.shape[0])x80"), r.stdout)
        // One error line naming the bad file, plus the summary.
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.hasPrefix(bad + ": ") }.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("not audio"), r.stderr)
        XCTAssertFalse(r.stderr.contains(good), r.stderr)
    }

    func testOutPngPresetAndMels() throws {
        guard RecurBinary.url != nil else { throw XCTSkip("recur binary not built") }
        let dir = try AudioFixtures.tempDir(self)
        let out = dir.appendingPathComponent("k.npy").path, png = dir.appendingPathComponent("k.png").path
        let r = try RecurBinary.run(["features", "audio", AudioFixtures.path("audio_sig_sine.wav"), "--preset", "kaldi",
                                     "--n-mels", "40", "--out", out, "--png", png])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try NPY.read(out).shape, [23, 40])
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: png)).prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        let s = try RecurBinary.run(["features", "audio", "--signature", "--preset", "torchaudio"])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(s.stdout.contains("n_mels=128") && s.stdout.contains("sample_rate=16000"), s.stdout)
        // Global CMVN statistics written by one run and used by the next.
        let stats = dir.appendingPathComponent("cmvn.json").path
        let w = try RecurBinary.run(["features", "audio", AudioFixtures.path("audio_sig_speech.wav"), "--out-dir", dir.path,
                                     "--write-cmvn-stats", stats])
        XCTAssertEqual(w.status, 0, w.stderr)
        XCTAssertEqual(try CMVNStats.load(stats).dimension, 80)
        let g = try RecurBinary.run(["features", "audio", AudioFixtures.path("audio_sig_speech.wav"), "--out", out, "--cmvn-stats", stats])
        XCTAssertEqual(g.status, 0, g.stderr)
        let u = try RecurBinary.run(["features", "audio", "a.wav", "b.wav", "--out", out])
        XCTAssertNotEqual(u.status, 0)
        XCTAssertTrue(u.stderr.contains("--out-dir"), u.stderr)
    }
}
