import Foundation
import RecurCore
@testable import RecurFrontends
import RecurTestSupport
import XCTest

/// Blocks, streaming, post-processing steps, augmentation and signatures.
final class AudioFeatureTests: XCTestCase {
    func speech() throws -> Tensor { try AudioFile.read(AudioFixtures.path("audio_sig_speech.wav")).samples }

    func testBlocksAndPiecesGiveTheSameFrames() throws {
        let x = try speech()
        for preset in AudioPreset.allCases where preset != .librosa {
            let whole = try AudioFrontend(preset: preset).compute(x)
            let small = try AudioFrontend(preset: preset)
            small.blockFrames = 3
            let s = AudioFeatureStream(small)
            var i = 0, step = 1
            while i < x.count {
                let k = min(step, x.count - i)
                s.push(x.data + i, count: k)
                i += k
                step = step * 3 + 1
            }
            let pieces = s.finish()
            XCTAssertEqual(pieces.shape, whole.shape, "\(preset)")
            XCTAssertLessThan(maxAbsDiff(pieces.array, whole.array), 1e-5, "\(preset)")
        }
    }

    func testFileStreamingEqualsMemory() throws {
        // A 22.05 kHz file featurized at 16 kHz: streaming decode + streaming resample
        // against reading everything, resampling once and featurizing once.
        let path = AudioFixtures.path("audio_sig_speech22k.wav")
        let f = try AudioFrontend(preset: .recur)
        f.blockFrames = 7
        let streamed = try f.compute(file: path)
        let x = try AudioFile.read(path, sampleRate: 16000)
        let whole = try AudioFrontend(preset: .recur).compute(x)
        XCTAssertEqual(streamed.shape, whole.shape)
        XCTAssertLessThan(maxAbsDiff(streamed.array, whole.array), 1e-4)
    }

    func testFrameCounts() throws {
        var c = AudioConfig()
        c.framing = .center
        XCTAssertEqual(try AudioFrontend(c).frameCount(samples: 16000), 101)
        c.framing = .noCenter
        XCTAssertEqual(try AudioFrontend(c).frameCount(samples: 16000), 98)
        XCTAssertEqual(try AudioFrontend(c).frameCount(samples: 399), 0)
        let k = try AudioFrontend(preset: .kaldi)
        XCTAssertEqual(k.frameCount(samples: 16000), 98)
        // Very short input with reflect padding (shorter than the pad) still works.
        let y = try AudioFrontend(preset: .recur).compute(Tensor(shape: [50], repeating: 0.1), stage: .logMel)
        XCTAssertEqual(y.shape, [1, 80])
        XCTAssertTrue(y.array.allSatisfy { $0.isFinite })
    }

    func testUtteranceCMVN() throws {
        var c = AudioPreset.recur.config()
        c.cmvn = .utterance(variance: true)
        let y = try AudioFrontend(c).compute(try speech())
        let T = y.shape[0]
        for d in [0, 40, 79] {
            var m = 0.0, v = 0.0
            for t in 0..<T { m += Double(y[t, d]) }
            m /= Double(T)
            for t in 0..<T { v += pow(Double(y[t, d]) - m, 2) }
            XCTAssertEqual(m, 0, accuracy: 1e-5)
            XCTAssertEqual(v / Double(T), 1, accuracy: 1e-3)
        }
    }

    func testGlobalCMVNFromStoredStats() throws {
        let dir = try AudioFixtures.tempDir(self)
        var c = AudioPreset.recur.config()
        c.cmvn = .none
        let raw = try AudioFrontend(c).compute(try speech())
        var stats = CMVNStats(dimension: 80)
        stats.accumulate(raw)
        let p = dir.appendingPathComponent("cmvn.json").path
        try stats.save(p)
        XCTAssertEqual(try CMVNStats.load(p), stats)
        c.cmvn = .global(statsPath: p)
        let g = try AudioFrontend(c).compute(try speech())
        c.cmvn = .utterance(variance: true)
        let u = try AudioFrontend(c).compute(try speech())
        // Stats from this one utterance: global = per-utterance.
        XCTAssertLessThan(maxAbsDiff(g.array, u.array), 1e-3)
        // Wrong dimension and broken files are clear errors.
        c.nMels = 40
        c.cmvn = .global(statsPath: p)
        XCTAssertThrowsError(try AudioFrontend(c)) { XCTAssertTrue("\($0)".contains("dimension 80"), "\($0)") }
        try Data("{".utf8).write(to: URL(fileURLWithPath: p))
        XCTAssertThrowsError(try CMVNStats.load(p)) { XCTAssertTrue("\($0)".hasPrefix(p), "\($0)") }
    }

    func testDeltasOfARamp() {
        // c[t] = 2t: the delta is 2 inside, smaller at the replicated edges.
        let x = Tensor(shape: [6, 1], (0..<6).map { Float(2 * $0) })
        let d = Deltas.delta(x)
        XCTAssertEqual(d.array[2], 2, accuracy: 1e-6)
        XCTAssertEqual(d.array[3], 2, accuracy: 1e-6)
        XCTAssertEqual(d.array[0], Float(1 * 2 + 2 * 4) / 10, accuracy: 1e-6)
        XCTAssertEqual(Deltas.append(x, order: 2).shape, [6, 3])
    }

    func testTrimmingDropsLeadingAndTrailingSilence() throws {
        var c = AudioPreset.recur.config()
        c.trimSilenceDB = 40
        c.cmvn = .none
        let tone = AudioFixtures.sine(500, rate: 16000, n: 8000, amp: 0.3)
        let padded = [Float](repeating: 0, count: 8000) + tone + [Float](repeating: 0, count: 16000)
        let y = try AudioFrontend(c).compute(Tensor(shape: [padded.count], padded))
        // 0.5 s of tone is 50 frames; window overlap at the edges adds up to 2·(n_fft/2)/hop ≈ 3 frames each side.
        XCTAssertGreaterThanOrEqual(y.shape[0], 50)
        XCTAssertLessThanOrEqual(y.shape[0], 56)
    }

    func testLevelNormalisation() throws {
        var c = AudioPreset.recur.config()
        c.cmvn = .none
        c.level = .peak(0.9)
        let quiet = Tensor(shape: [8000], AudioFixtures.sine(440, rate: 16000, n: 8000, amp: 0.01))
        let loud = Tensor(shape: [8000], AudioFixtures.sine(440, rate: 16000, n: 8000, amp: 0.5))
        let f = try AudioFrontend(c)
        XCTAssertLessThan(maxAbsDiff(f.compute(quiet).array, f.compute(loud).array), 1e-3)
        c.level = .rms(dBFS: -20)
        let g = try AudioFrontend(c)
        XCTAssertLessThan(maxAbsDiff(g.compute(quiet).array, g.compute(loud).array), 1e-3)
        XCTAssertEqual(LevelStats(peak: 0, sumSquares: 0, count: 10).gain(.rms(dBFS: -20)), 1)  // silence stays silence
    }

    func testDitherIsSeededAndThreadIndependent() throws {
        var c = AudioPreset.kaldi.config()
        c.dither = 1e-3
        c.ditherSeed = 42
        // Eight copies: about 320 frames, two 256-frame sub-blocks, so two threads split the work.
        let one = try speech()
        let x = Tensor(shape: [8 * one.count], Array((0..<8).map { _ in one.array }.joined()))
        let before = Threads.count
        defer { Threads.set(before) }
        Threads.set(1)
        let a = try AudioFrontend(c).compute(x)
        Threads.set(2)
        let b = try AudioFrontend(c).compute(x)
        XCTAssertEqual(a.array, b.array)
        c.ditherSeed = 43
        let d = try AudioFrontend(c).compute(x)
        XCTAssertNotEqual(a.array, d.array)
    }

    func testSpecAugmentIsSeededAndMasks() {
        var rng = RNG(seed: 1)
        let x = randomTensor([100, 80], &rng, 1, 2)
        var o = SpecAugment.Options()
        o.fillValue = 0
        var r1 = RNG(seed: 7), r2 = RNG(seed: 7)
        let a = x.copy(), b = x.copy()
        let m = SpecAugment.apply(a, o, rng: &r1)
        SpecAugment.apply(b, o, rng: &r2)
        XCTAssertEqual(a.array, b.array)
        XCTAssertEqual(m.frequency.count, 2)
        XCTAssertEqual(m.time.count, 2)
        var zeros = 0
        for v in a.array where v == 0 { zeros += 1 }
        var expected = Set<Int>()
        for (f0, w) in m.frequency { for t in 0..<100 { for f in f0..<(f0 + w) { expected.insert(t * 80 + f) } } }
        for (t0, w) in m.time { for t in t0..<(t0 + w) { for f in 0..<80 { expected.insert(t * 80 + f) } } }
        XCTAssertEqual(zeros, expected.count)
        for (t0, w) in m.time { XCTAssertLessThanOrEqual(w, 20); XCTAssertLessThanOrEqual(t0 + w, 100) }
    }

    func testSignature() throws {
        let sig = try AudioFrontend(preset: .recur).signature
        XCTAssertEqual(sig.dictionary["sample_rate"], "16000")
        XCTAssertEqual(sig.dictionary["n_mels"], "80")
        XCTAssertEqual(sig.dictionary["window"], "hann-periodic")
        XCTAssertEqual(sig.dictionary["cmvn"], "utterance")
        XCTAssertEqual(try FrontendSignature(short: sig.short), sig)
        XCTAssertNoThrow(try sig.check(sig))
        let other = try AudioFrontend(preset: .recur, nMels: 40).signature
        XCTAssertEqual(sig.differences(other), ["n_mels"])
        XCTAssertThrowsError(try sig.check(other, model: "m.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("m.safetensors: ") && "\(e)".contains("n_mels: model 80, features 40"), "\(e)")
        }
        // Every preset has its own signature.
        let all = Set(try AudioPreset.allCases.map { try AudioFrontend(preset: $0).signature.short })
        XCTAssertEqual(all.count, 4)
    }

    func testBadConfigurationIsRefused() {
        var c = AudioConfig()
        c.winLength = 500
        XCTAssertThrowsError(try AudioFrontend(c)) { XCTAssertTrue("\($0)".contains("win_length"), "\($0)") }
        c = AudioConfig(); c.fMax = 9000
        XCTAssertThrowsError(try AudioFrontend(c))
        c = AudioConfig(); c.power = 3
        XCTAssertThrowsError(try AudioFrontend(c))
    }

    func testSpectrogramPicture() throws {
        let dir = try AudioFixtures.tempDir(self)
        // Rising energy with the band index: the top row (high bands) must be the brightest.
        let x = Tensor(shape: [4, 3], [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
        let (w, h, rgb) = SpectrogramImage.rgb(x, scale: 1)
        XCTAssertEqual([w, h], [4, 3])
        XCTAssertGreaterThan(Int(rgb[0]) + Int(rgb[1]), Int(rgb[(2 * w) * 3]) + Int(rgb[(2 * w) * 3 + 1]))
        let p = dir.appendingPathComponent("s.png").path
        try SpectrogramImage.write(x, to: p)
        let head = try Data(contentsOf: URL(fileURLWithPath: p)).prefix(8)
        XCTAssertEqual([UInt8](head), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }
}
