import RecurCore
@testable import RecurLayers
import RecurTestSupport
import XCTest

/// Finite-difference gradient checks of RNN, LSTM and GRU: every parameter,
/// the input and every initial state, on small shapes (T = 1, B = 1, uneven
/// lengths, 2 layers, both directions). The loss weights every output and
/// final state with random weights, so every gradient path is exercised.
/// Float forward, eps 1e-2, error relative to the tensor's largest gradient:
/// correct backwards land below 4e-4 (most below 2e-4), the tolerance is 2e-3.
final class RecurrentGradTests: XCTestCase {
    func testRNNTanhOneLayer() {
        RecurrentProblem(.rnnTanh, T: 4, B: 3, seed: 1).checkAll()
    }

    func testRNNTanhLengthOneBatchOne() {
        RecurrentProblem(.rnnTanh, T: 1, B: 1, seed: 2).checkAll()
    }

    func testRNNReluTwoLayersBidirectionalUneven() {
        RecurrentProblem(.rnnRelu, T: 4, B: 3, layers: 2, bidirectional: true, lengths: [4, 2, 3], seed: 30)
            .checkAll(eps: 3e-3)  // a smaller step: fewer units cross relu's kink
    }

    func testRNNTanhBidirectionalUneven() {
        RecurrentProblem(.rnnTanh, T: 3, B: 2, bidirectional: true, lengths: [1, 3], seed: 4).checkAll()
    }

    func testLSTMOneLayer() {
        RecurrentProblem(.lstm, T: 4, B: 2, seed: 5).checkAll()
    }

    func testLSTMLengthOneBatchOne() {
        RecurrentProblem(.lstm, T: 1, B: 1, seed: 6).checkAll()
    }

    func testLSTMUnevenLengths() {
        RecurrentProblem(.lstm, T: 4, B: 3, lengths: [2, 4, 3], seed: 7).checkAll()
    }

    func testLSTMTwoLayersBidirectionalUneven() {
        RecurrentProblem(.lstm, T: 4, B: 3, layers: 2, bidirectional: true, lengths: [4, 1, 3], seed: 8).checkAll()
    }

    func testGRUOneLayer() {
        RecurrentProblem(.gru, T: 4, B: 2, seed: 9).checkAll()
    }

    func testGRULengthOneBatchOne() {
        RecurrentProblem(.gru, T: 1, B: 1, seed: 10).checkAll()
    }

    func testGRUTwoLayersBidirectionalUneven() {
        RecurrentProblem(.gru, T: 4, B: 3, layers: 2, bidirectional: true, lengths: [3, 4, 1], seed: 11).checkAll()
    }

    /// H = 11 is not a multiple of 8: the SIMD tail goes through the padded lane.
    func testOddHiddenSize() {
        RecurrentProblem(.lstm, T: 3, B: 2, I: 5, H: 11, bidirectional: true, lengths: [3, 2], seed: 12).checkAll()
        RecurrentProblem(.gru, T: 3, B: 2, I: 5, H: 11, seed: 13).checkAll()
    }

    /// With inter-layer dropout in training (the same seeded masks on every
    /// call), the gradient still matches the loss.
    func testDropoutBetweenLayers() {
        RecurrentProblem(.lstm, T: 3, B: 2, layers: 2, dropout: 0.4, seed: 14).checkAll()
    }

    /// The check must catch a wrong backward: scaling one parameter's
    /// gradient by 1.01 (as a one-line slip would) is caught.
    func testToleranceCatchesAWrongGradient() {
        let p = RecurrentProblem(.lstm, T: 3, B: 2, seed: 15)
        _ = p.gradients()
        let name = "rnn.weight_hh_l0"
        let g = p.store.grad(name)!
        Kernels.scale(g.count, 1.01, g.data)
        let r = gradCheck(name, values: p.store.value(name)!, analytic: g, loss: p.loss)
        XCTAssertGreaterThan(r.maxError, 2e-3, "a 1 % error must fail the check: \(r)")
    }
}
