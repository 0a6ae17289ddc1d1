import Foundation
import RecurCore
import RecurFrontends
import RecurTestSupport
import XCTest

/// libsoxr resampling: frequency, amplitude, length rule, streaming = one-shot.
final class AudioResampleTests: XCTestCase {
    /// Amplitude and frequency of a sine by least squares at the known
    /// frequency's neighbourhood: the frequency is the DFT peak, refined by
    /// parabolic interpolation of log magnitudes.
    func measure(_ x: [Float], rate: Double) -> (freq: Double, amp: Double) {
        let n = x.count
        let w = WindowKind.hann.coefficients(n, periodic: true)
        let (re, im) = FFT.rfft(zip(x, w).map { $0 * $1 })
        let mag = (0..<re.count).map { Double((re[$0] * re[$0] + im[$0] * im[$0]).squareRoot()) }
        let k = (1..<(mag.count - 1)).max { mag[$0] < mag[$1] }!
        let a = log(mag[k - 1]), b = log(mag[k]), c = log(mag[k + 1])
        let delta = 0.5 * (a - c) / (a - 2 * b + c)
        var rms = 0.0
        for v in x { rms += Double(v * v) }
        return ((Double(k) + delta) * rate / Double(n), (2 * rms / Double(n)).squareRoot())
    }

    func testSineUpAndDownKeepsFrequencyAndAmplitude() throws {
        // 8 kHz → 16 kHz → 8 kHz. Tolerances: frequency within 0.5 Hz, amplitude
        // within 0.1 % (libsoxr HQ pass band is flat to far better than that), and
        // the round trip within 1e-3 of the original away from the edges.
        let x = AudioFixtures.sine(1000, rate: 8000, n: 8000, amp: 0.5)
        let up = try Resampler.resample(Tensor(shape: [x.count], x), from: 8000, to: 16000)
        XCTAssertEqual(up.count, 16000)
        let m16 = measure(Array(up.array[1000..<15000]), rate: 16000)
        XCTAssertEqual(m16.freq, 1000, accuracy: 0.5)
        XCTAssertEqual(m16.amp, 0.5, accuracy: 5e-4)
        let back = try Resampler.resample(up, from: 16000, to: 8000)
        XCTAssertEqual(back.count, 8000)
        let m8 = measure(Array(back.array[500..<7500]), rate: 8000)
        XCTAssertEqual(m8.freq, 1000, accuracy: 0.5)
        XCTAssertEqual(m8.amp, 0.5, accuracy: 5e-4)
        XCTAssertLessThan(maxAbsDiff(back.array[500..<7500], x[500..<7500]), 1e-3)
    }

    func testLengthRule() throws {
        for (n, a, b) in [(1, 8000.0, 16000.0), (7, 16000.0, 8000.0), (1000, 44100.0, 16000.0), (22050, 22050.0, 16000.0),
                          (12345, 16000.0, 44100.0), (999, 48000.0, 16000.0)] {
            let want = Int((Double(n) * b / a + 0.5).rounded(.down))
            XCTAssertEqual(Resampler.outputLength(n, from: a, to: b), want)
            let y = try Resampler.resample(Tensor(zeros: [n]), from: a, to: b)
            XCTAssertEqual(y.count, want, "\(n) samples \(a) → \(b)")
        }
    }

    func testStreamingEqualsOneShot() throws {
        var rng = RNG(seed: 5)
        let x = randomTensor([10007], &rng)
        let whole = try Resampler.resample(x, from: 22050, to: 16000)
        let r = try Resampler(from: 22050, to: 16000)
        var out: [Float] = []
        var i = 0
        for piece in [1, 13, 500, 4096, 3000, 10000] where i < x.count {
            let k = min(piece, x.count - i)
            try r.process(x.data + i, count: k) { p, m in out += UnsafeBufferPointer(start: p, count: m) }
            i += k
        }
        try r.finish { p, m in out += UnsafeBufferPointer(start: p, count: m) }
        XCTAssertEqual(out.count, whole.count)
        XCTAssertLessThan(maxAbsDiff(out, whole.array), 1e-6)
    }

    func testSpeedPerturbation() throws {
        let x = Tensor(shape: [16000], AudioFixtures.sine(400, rate: 16000, n: 16000))
        let fast = try Resampler.speed(x, factor: 1.1, sampleRate: 16000)
        XCTAssertEqual(fast.count, Int((16000 / 1.1 + 0.5).rounded(.down)))
        XCTAssertEqual(measure(Array(fast.array[1000..<13000]), rate: 16000).freq, 440, accuracy: 1)
        var a = RNG(seed: 9), b = RNG(seed: 9)
        let (y1, f1) = try SpecAugment.perturbSpeed(x, sampleRate: 16000, rng: &a)
        let (y2, f2) = try SpecAugment.perturbSpeed(x, sampleRate: 16000, rng: &b)
        XCTAssertEqual(f1, f2)
        XCTAssertEqual(y1.array, y2.array)
        XCTAssertThrowsError(try Resampler(from: 0, to: 16000))
    }
}
