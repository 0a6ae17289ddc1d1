import Foundation
import RecurCore
@testable import RecurLayers
import RecurTestSupport
import XCTest

/// A recurrent layer with random weights, inputs, initial states and loss
/// weights, for the recurrent tests: loss = Σ output·W1 + Σ hN·W2 + Σ cN·W3.
final class RecurrentProblem {
    let layer: RecurrentStack
    let store: ParameterStore
    let x: Tensor, h0: Tensor, c0: Tensor?
    let w1: Tensor, w2: Tensor, w3: Tensor?
    let lengths: [Int]?
    let dropoutSeed: UInt64?

    init(_ kind: RecurrentKind, T: Int, B: Int, I: Int = 3, H: Int = 4, layers: Int = 1, bidirectional: Bool = false,
         lengths: [Int]? = nil, dropout: Float = 0, seed: UInt64 = 1) {
        var layout = ParameterLayout()
        let cfg = RecurrentConfig(kind: kind, inputSize: I, hiddenSize: H, numLayers: layers,
                                  bidirectional: bidirectional, dropout: dropout)
        layer = RecurrentStack(&layout, prefix: "rnn.", config: cfg)
        store = ParameterStore(layout)
        var rng = RNG(seed: seed)
        for name in layout.names { rng.fillUniform(store.value(name)!, -0.7, 0.7) }
        let LD = layers * cfg.directions
        x = randomTensor([T, B, I], &rng)
        h0 = randomTensor([LD, B, H], &rng, -0.5, 0.5)
        c0 = kind.hasCellState ? randomTensor([LD, B, H], &rng, -0.5, 0.5) : nil
        w1 = randomTensor([T, B, cfg.outputSize], &rng)
        w2 = randomTensor([LD, B, H], &rng)
        w3 = kind.hasCellState ? randomTensor([LD, B, H], &rng) : nil
        self.lengths = lengths
        dropoutSeed = dropout > 0 ? seed &+ 100 : nil
    }

    func run() -> (RecurrentOutput, RecurrentCache) {
        if let dropoutSeed {
            var rng = RNG(seed: dropoutSeed)  // the same masks on every call
            return layer.forward(store, x, h0: h0, c0: c0, lengths: lengths, training: true, rng: &rng)
        }
        return layer.forward(store, x, h0: h0, c0: c0, lengths: lengths)
    }

    func loss() -> Double {
        let (out, _) = run()
        var l = projectionLoss(out.output, w1) + projectionLoss(out.hN, w2)
        if let cN = out.cN, let w3 { l += projectionLoss(cN, w3) }
        return l
    }

    /// Zeroes the store's gradients, runs forward and backward, and returns
    /// copies of dx, dh0 and dc0 (parameter gradients are in the store).
    func gradients() -> (dx: Tensor, dh0: Tensor, dc0: Tensor?) {
        store.zeroGrads()
        let (_, cache) = run()
        let g = layer.backward(store, cache, dOutput: w1, dhN: w2, dcN: w3)
        return (g.dx.copy(), g.dh0.copy(), g.dc0?.copy())
    }

    /// Finite-difference checks of every parameter, x, h0 and c0.
    func checkAll(tolerance: Double = 2e-3, eps: Float = 1e-2, file: StaticString = #filePath, line: UInt = #line) {
        let g = gradients()
        var results: [GradCheckResult] = []
        for name in store.layout.names {
            results.append(gradCheck(name, values: store.value(name)!, analytic: store.grad(name)!, eps: eps, loss: loss))
        }
        results.append(gradCheck("x", values: x, analytic: g.dx, eps: eps, loss: loss))
        results.append(gradCheck("h0", values: h0, analytic: g.dh0, eps: eps, loss: loss))
        if let c0, let dc0 = g.dc0 { results.append(gradCheck("c0", values: c0, analytic: dc0, eps: eps, loss: loss)) }
        if ProcessInfo.processInfo.environment["RECUR_GRADCHECK_VERBOSE"] != nil {
            print("gradcheck \(layer.config.kind) worst: \(results.map(\.maxError).max() ?? 0)")
        }
        for r in results {
            XCTAssertLessThan(r.maxError, tolerance, "\(layer.config.kind): \(r)", file: file, line: line)
        }
    }
}

/// Fails unless every |a - e| ≤ atol + rtol·|e|.
func assertClose(_ actual: UnsafeBufferPointer<Float>, _ expected: UnsafeBufferPointer<Float>, rtol: Float = 1e-5,
                 atol: Float = 1e-6, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): sizes differ", file: file, line: line)
    XCTAssertTrue(allClose(actual, expected, rtol: rtol, atol: atol),
                  "\(what): max |diff| \(maxAbsDiff(actual, expected))", file: file, line: line)
}

func assertClose(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-5, atol: Float = 1e-6, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    assertClose(UnsafeBufferPointer(actual.buffer), UnsafeBufferPointer(expected.buffer), rtol: rtol, atol: atol,
                what, file: file, line: line)
}

func assertClose(_ actual: Tensor, _ expected: [Float], rtol: Float = 1e-5, atol: Float = 1e-6, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    expected.withUnsafeBufferPointer {
        assertClose(UnsafeBufferPointer(actual.buffer), $0, rtol: rtol, atol: atol, what, file: file, line: line)
    }
}
