import RecurCore
import RecurLayers
import RecurTestSupport
import XCTest

final class SoftmaxCrossEntropyTests: XCTestCase {
    func testGradientCheck() throws {
        var rng = RNG(seed: 9)
        let targets = [2, 0, 4, 1, 0, 3]
        let cases: [SoftmaxCrossEntropy] = [
            SoftmaxCrossEntropy(),
            SoftmaxCrossEntropy(labelSmoothing: 0.1),
            SoftmaxCrossEntropy(ignoreIndex: 0),
            SoftmaxCrossEntropy(ignoreIndex: 0, labelSmoothing: 0.3),
            SoftmaxCrossEntropy(ignoreIndex: 0, labelSmoothing: 0.3, reduction: .sum),
        ]
        for ce in cases {
            let logits = randomTensor([6, 5], &rng, -3, 3)
            let r = try ce(logits, targets: targets)
            let loss = { Double(try! ce(logits, targets: targets, gradient: false).loss) }
            assertGradient(gradCheck("\(ce)", values: logits, analytic: r.dlogits!, eps: 1e-2, loss: loss))
            if ce.ignoreIndex == 0 {
                for row in [1, 4] { XCTAssertEqual(r.dlogits![row].array, [0, 0, 0, 0, 0]) }
                XCTAssertEqual(r.count, 4)
            }
        }
        // One row, one class.
        let one = Tensor(shape: [1, 1], [0.3])
        let r = try SoftmaxCrossEntropy(labelSmoothing: 0.2)(one, targets: [0])
        XCTAssertEqual(r.loss, 0, accuracy: 1e-7)
        XCTAssertEqual(r.dlogits![0, 0], 0, accuracy: 1e-7)
    }

    func testMatchesPyTorch() throws {
        let f = try LayerFixture.load("cross_entropy")
        let logits = try f.floats("logits"), targets = try f.ints("targets")
        let cases: [(String, SoftmaxCrossEntropy)] = [
            ("plain", SoftmaxCrossEntropy()),
            ("smooth", SoftmaxCrossEntropy(labelSmoothing: 0.1)),
            ("ignore", SoftmaxCrossEntropy(ignoreIndex: 0)),
            ("smooth_ignore", SoftmaxCrossEntropy(ignoreIndex: 0, labelSmoothing: 0.2)),
            ("smooth_ignore_sum", SoftmaxCrossEntropy(ignoreIndex: 0, labelSmoothing: 0.2, reduction: .sum)),
        ]
        for (name, ce) in cases {
            let r = try ce(logits, targets: targets)
            assertMatches(Tensor(shape: [1], [r.loss]), try f.floats(name + ".loss"), name + " loss")
            assertMatches(r.dlogits!, try f.floats(name + ".dlogits"), name + " dlogits")
        }
    }

    func testNLLAndEdgeCases() throws {
        let logits = Tensor(shape: [2, 3], [1, 2, 3, 0, 0, 0])
        let r = try SoftmaxCrossEntropy(ignoreIndex: -100, labelSmoothing: 0.5)(logits, targets: [2, -100])
        let lse = log(exp(1.0) + exp(2.0) + exp(3.0))
        XCTAssertEqual(r.negativeLogLikelihood, lse - 3, accuracy: 1e-6)
        XCTAssertEqual(r.count, 1)
        // Every row ignored: loss 0 and zero gradient, no NaN.
        let all = try SoftmaxCrossEntropy(ignoreIndex: 0)(logits, targets: [0, 0])
        XCTAssertEqual(all.loss, 0)
        XCTAssertEqual(all.dlogits!.array, [Float](repeating: 0, count: 6))
        // Large logits stay finite.
        let big = Tensor(shape: [1, 3], [1000, -1000, 0])
        let rb = try SoftmaxCrossEntropy()(big, targets: [1])
        XCTAssertEqual(rb.loss, 2000, accuracy: 1e-2)
        XCTAssertFalse(rb.dlogits!.buffer.contains { !$0.isFinite })
        XCTAssertThrowsError(try SoftmaxCrossEntropy()(logits, targets: [3, 0]))
        XCTAssertThrowsError(try SoftmaxCrossEntropy()(logits, targets: [1]))
    }
}

final class SoftmaxCrossEntropyThreadingTests: XCTestCase {
    /// Rows split over threads give the same loss and gradient as rows one at a time.
    func testRowsSplitOverThreadsMatchOneByOne() throws {
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(2)
        var rng = RNG(seed: 21)
        let (n, v) = (64, 512)
        let logits = randomTensor([n, v], &rng, -4, 4)
        let targets = (0..<n).map { $0 % 5 == 0 ? 0 : rng.int(below: v) }
        let ce = SoftmaxCrossEntropy(ignoreIndex: 0, labelSmoothing: 0.1, reduction: .sum)
        let all = try ce(logits, targets: targets)
        var total = 0.0
        for r in 0..<n {
            let one = try ce(logits.slice(r..<(r + 1)), targets: [targets[r]])
            total += Double(one.loss)
            XCTAssertEqual(one.dlogits!.array, all.dlogits![r].array)
        }
        XCTAssertEqual(Double(all.loss), total, accuracy: 1e-4 * abs(total))
    }
}
