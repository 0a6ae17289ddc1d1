import RecurCore
import RecurLayers
import XCTest

/// End-to-end learning: embedding → 2-layer LSTM → linear head, trained with
/// cross-entropy and Adam, must memorise one batch of a delayed-copy task
/// (output at step t is the input at step t-3). This proves the pieces fit
/// together and learn; it is not sensitive to every backward error (one
/// batch can be memorised even with truncated backpropagation through time),
/// which is what the finite-difference checks and PyTorch parity are for.
final class OverfitTests: XCTestCase {
    func testTwoLayerLSTMLearnsToCopyOneBatch() throws {
        let V = 8, E = 16, H = 32, T = 12, B = 4, delay = 3
        var layout = ParameterLayout()
        let embedding = Embedding(&layout, prefix: "embedding.", vocabularySize: V, embeddingSize: E, paddingIndex: nil)
        let lstm = LSTM(&layout, prefix: "rnn.", inputSize: E, hiddenSize: H, numLayers: 2)
        let head = Linear(&layout, prefix: "head.", inFeatures: H, outFeatures: V)
        let store = ParameterStore(layout)
        var rng = RNG(seed: 2024)
        embedding.initialize(store, rng: &rng)
        lstm.initialize(store, rng: &rng)
        head.initialize(store, rng: &rng)

        // Inputs (T, B) time-major; targets shifted by `delay` steps, the first ones ignored.
        var inputs = [Int](repeating: 0, count: T * B)
        for i in 0..<(T * B) { inputs[i] = rng.int(below: V) }
        var targets = [Int](repeating: -1, count: T * B)
        for t in delay..<T { for b in 0..<B { targets[t * B + b] = inputs[(t - delay) * B + b] } }
        let ce = SoftmaxCrossEntropy(ignoreIndex: -1)
        var adam = Adam(learningRate: 0.01)

        var first: Float = 0, last: Float = 0
        for step in 0..<300 {
            store.zeroGrads()
            let x = try embedding.forward(store, ids: inputs).reshaped([T, B, E])
            let (out, cache) = lstm.forward(store, x)
            let flat = out.output.reshaped([T * B, H])
            let logits = head.forward(store, flat)
            let result = try ce(logits, targets: targets)
            if step == 0 { first = result.loss }
            last = result.loss
            let dFlat = head.backward(store, x: flat, dy: result.dlogits!)!
            let grads = lstm.backward(store, cache, dOutput: dFlat.reshaped([T, B, H]))
            try embedding.backward(store, ids: inputs, dy: grads.dx.reshaped([T * B, E]))
            adam.step(store)
        }
        XCTAssertGreaterThan(first, 1.5, "starts near log(8) ≈ 2.08")
        XCTAssertLessThan(last, 0.05, "loss after 300 Adam steps: \(last)")
    }
}
