import Foundation
import RecurCore
@testable import RecurFrontends
import RecurTestSupport
import XCTest

/// FFTW against the naive DFT, and the analytic properties of the STFT.
final class AudioFFTTests: XCTestCase {
    func testFFTWMatchesNaiveDFT() {
        var rng = RNG(seed: 11)
        for n in [16, 37, 400, 512] {
            let x = (0..<n).map { _ in rng.uniform(-1, 1) }
            let fast = FFT.rfft(x)
            let slow = NaiveDFT.rdft(x)
            var err = 0.0, mag = 0.0
            for k in 0...(n / 2) {
                err = max(err, abs(Double(fast.re[k]) - slow.re[k]), abs(Double(fast.im[k]) - slow.im[k]))
                mag = max(mag, abs(slow.re[k]), abs(slow.im[k]))
            }
            XCTAssertLessThan(err, 2e-5 * max(1, mag), "n=\(n)")
        }
    }

    func testParsevalHolds() {
        // Σ x² = (1/n)·(|X0|² + 2·Σ_{0<k<n/2} |Xk|² + |X_{n/2}|²) for even n.
        var rng = RNG(seed: 12)
        let n = 400
        let x = (0..<n).map { _ in rng.uniform(-1, 1) }
        let (re, im) = FFT.rfft(x)
        var time = 0.0, freq = 0.0
        for v in x { time += Double(v * v) }
        for k in 0...(n / 2) {
            let p = Double(re[k] * re[k] + im[k] * im[k])
            freq += (k == 0 || k == n / 2) ? p : 2 * p
        }
        XCTAssertEqual(freq / Double(n), time, accuracy: 1e-5 * time)
    }

    func testSinePeaksInItsBin() throws {
        for (nFFT, sr) in [(400, 16000), (512, 16000), (2048, 22050)] {
            var c = AudioConfig()
            c.sampleRate = sr; c.nFFT = nFFT; c.winLength = nFFT; c.hop = nFFT / 4
            let f = try AudioFrontend(c)
            let x = Tensor(shape: [sr / 2], AudioFixtures.sine(440, rate: Double(sr), n: sr / 2))
            let p = f.compute(x, stage: .power)
            XCTAssertEqual(p.shape, [1 + (sr / 2) / (nFFT / 4), nFFT / 2 + 1])
            let row = p[p.shape[0] / 2]
            let peak = (0..<row.count).max { row.data[$0] < row.data[$1] }!
            XCTAssertEqual(peak, Int((440.0 * Double(nFFT) / Double(sr)).rounded()), "n_fft \(nFFT) at \(sr) Hz")
        }
    }

    func testSTFTFrameMatchesNaiveDFTOfWindowedFrame() throws {
        // One interior frame of the STFT against the naive DFT of the same windowed samples.
        let c = AudioPreset.recur.config()
        let f = try AudioFrontend(c)
        var rng = RNG(seed: 13)
        let x = randomTensor([3200], &rng)
        let p = f.compute(x, stage: .power)
        let t = 7, start = t * c.hop - c.nFFT / 2
        let frame = (0..<c.nFFT).map { x.data[start + $0] * f.window[$0] }
        let ref = NaiveDFT.rdft(frame)
        for k in 0..<c.bins {
            let want = ref.re[k] * ref.re[k] + ref.im[k] * ref.im[k]
            XCTAssertEqual(Double(p[t, k]), want, accuracy: 1e-4 * max(1, want))
        }
    }

    func testWindowsArePeriodicOrSymmetric() {
        let h = WindowKind.hann.coefficients(8, periodic: true)
        XCTAssertEqual(h[0], 0); XCTAssertEqual(h[4], 1, accuracy: 1e-7); XCTAssertEqual(h[2], h[6], accuracy: 1e-7)
        let s = WindowKind.hann.coefficients(9, periodic: false)
        XCTAssertEqual(s[0], 0); XCTAssertEqual(s[8], 0, accuracy: 1e-7); XCTAssertEqual(s[4], 1)
        XCTAssertEqual(WindowKind.hamming.coefficients(8, periodic: true)[0], 0.08, accuracy: 1e-7)
        let p = WindowKind.povey.coefficients(9, periodic: false)
        XCTAssertEqual(p[2], Float(pow(0.5 - 0.5 * cos(2 * Double.pi * 2 / 8), 0.85)), accuracy: 1e-7)
        XCTAssertEqual(WindowKind.rectangular.coefficients(5, periodic: true), [1, 1, 1, 1, 1])
    }

    func testConcurrentPlanningIsSafe() {
        // Unguarded concurrent FFTW planning crashes; the cache serializes it.
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let f = RealFFT(size: 64 + i * 3)
            f.input[0] = 1
            f.execute()
            precondition(abs(f.output[0] - 1) < 1e-6)
        }
    }

    func testMelScalesRoundTripAndKnownValues() {
        for s in [MelScale.htk, .slaney, .kaldi] {
            for hz in [0.0, 300, 1000, 4000, 8000] {
                XCTAssertEqual(Mel.hz(Mel.mel(hz, s), s), hz, accuracy: 1e-6 * max(1, hz))
            }
        }
        XCTAssertEqual(Mel.mel(1000, .slaney), 15, accuracy: 1e-12)
        XCTAssertEqual(Mel.mel(1000, .htk), 999.9855, accuracy: 1e-3)
    }

    func testDCTIsOrthonormal() {
        let d = Mel.dctMatrix(8, 8)
        for i in 0..<8 {
            for j in 0..<8 {
                var s: Float = 0
                for k in 0..<8 { s += d[i, k] * d[j, k] }
                XCTAssertEqual(s, i == j ? 1 : 0, accuracy: 1e-5)
            }
        }
    }
}
