import RecurCore
import RecurLayers
import RecurTestSupport
import XCTest

final class DropoutTests: XCTestCase {
    func testInferenceIsIdentity() {
        var rng = RNG(seed: 3)
        let x = randomTensor([4, 5], &rng)
        let before = rng
        let (y, mask) = Dropout(p: 0.5).forward(x, training: false, rng: &rng)
        XCTAssertNil(mask)
        XCTAssertEqual(y.array, x.array)
        XCTAssertEqual(rng, before, "no draws at inference")
        XCTAssertEqual(Dropout(p: 0.5).backward(x, mask: nil).array, x.array)
        XCTAssertNil(Dropout(p: 0).forward(x, training: true, rng: &rng).mask)
    }

    func testInvertedScalingAndRate() {
        var rng = RNG(seed: 11)
        let x = Tensor(shape: [100, 100], repeating: 1)
        let (y, mask) = Dropout(p: 0.3).forward(x, training: true, rng: &rng)
        let kept = y.buffer.filter { $0 != 0 }
        for v in kept { XCTAssertEqual(v, 1 / 0.7, accuracy: 1e-6) }
        XCTAssertEqual(Double(kept.count) / 10_000, 0.7, accuracy: 0.02)
        // Expectation preserved.
        XCTAssertEqual(Double(Kernels.sum(y.count, y.data)) / 10_000, 1, accuracy: 0.03)
        // Backward: dx = dy ⊙ mask.
        var r2 = RNG(seed: 5)
        let dy = randomTensor([100, 100], &r2)
        let dx = Dropout(p: 0.3).backward(dy, mask: mask)
        for i in stride(from: 0, to: dy.count, by: 97) { XCTAssertEqual(dx.data[i], dy.data[i] * mask!.data[i]) }
    }

    func testSameSeedSameMask() {
        var a = RNG(seed: 42), b = RNG(seed: 42), c = RNG(seed: 43)
        let d = Dropout(p: 0.5)
        let m1 = d.makeMask([8, 8], rng: &a), m2 = d.makeMask([8, 8], rng: &b), m3 = d.makeMask([8, 8], rng: &c)
        XCTAssertEqual(m1.array, m2.array)
        XCTAssertNotEqual(m1.array, m3.array)
        XCTAssertEqual(Dropout(p: 1).makeMask([3], rng: &a).array, [0, 0, 0])
    }
}
