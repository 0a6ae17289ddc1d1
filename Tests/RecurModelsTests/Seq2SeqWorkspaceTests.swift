import RecurCore
import RecurLayers
import RecurModels
import RecurTestSupport
import XCTest

/// trainStep reuses its buffers across calls (a workspace per model) and writes
/// dlogits over the logits: neither may change what a call computes.
final class Seq2SeqWorkspaceTests: XCTestCase {
    typealias Problem = Seq2SeqGradTests.Problem

    /// The loss of a backward call equals the loss of a forward-only call
    /// (the in-place gradient must not disturb the loss it reports).
    func testLossWithAndWithoutBackwardAgree() throws {
        for cfg in [Seq2SeqGradTests.config(.gru, .additive, bidirectional: false),
                    Seq2SeqGradTests.config(.lstm, .general, bidirectional: true)] {
            let p = try Problem(cfg, seed: 21)
            var rng = RNG(seed: 0)
            let forwardOnly = try p.model.trainStep(p.store, sources: Seq2SeqGradTests.sources, targets: Seq2SeqGradTests.targets,
                                                    training: false, backward: false, rng: &rng)
            let withBackward = try p.model.trainStep(p.store, sources: Seq2SeqGradTests.sources, targets: Seq2SeqGradTests.targets,
                                                     training: false, rng: &rng)
            XCTAssertEqual(forwardOnly.loss, withBackward.loss)
            XCTAssertEqual(forwardOnly.negativeLogLikelihood, withBackward.negativeLogLikelihood)
        }
    }

    /// Batches of other shapes in between leave no trace: the same batch gives
    /// bit-identical gradients on a used model and on a fresh one.
    func testReusedBuffersGiveTheSameGradients() throws {
        let cfg = Seq2SeqGradTests.config(.lstm, .additive, bidirectional: true)
        let used = try Problem(cfg, seed: 22), fresh = try Problem(cfg, seed: 22)
        var rng = RNG(seed: 1)
        // A longer and wider batch, then a shorter one, through the used model.
        _ = try used.model.trainStep(used.store, sources: [[3, 4, 5, 6, 3, 4], [5], [6, 6, 6]],
                                     targets: [[3, 4, 5, 6, 5], [4], []], training: false, rng: &rng)
        _ = try used.model.trainStep(used.store, sources: [[4]], targets: [[5]], training: false, rng: &rng)
        for p in [used, fresh] {
            p.store.zeroGrads()
            var r = RNG(seed: 2)
            _ = try p.model.trainStep(p.store, sources: Seq2SeqGradTests.sources, targets: Seq2SeqGradTests.targets,
                                      training: false, rng: &r)
        }
        XCTAssertEqual(used.store.grads.array, fresh.store.grads.array)
    }

    /// decodeStep attends for all rows in one call: rows on different sources
    /// (of different lengths) give what each row gives alone.
    func testBatchedDecodeStepEqualsRowsAlone() throws {
        for cfg in [Seq2SeqGradTests.config(.gru, .additive, bidirectional: false),
                    Seq2SeqGradTests.config(.lstm, .dot, bidirectional: false),
                    Seq2SeqGradTests.config(.gru, .general, bidirectional: true)] {
            let p = try Problem(cfg, seed: 23)
            let enc = try p.model.encode(p.store, sources: [[3, 4, 5, 6], [6], [5, 3]])
            let rows = [2, 0, 1, 0], tokens = [4, 5, 6, 3]
            var state = try p.model.initialState(enc, sources: rows)
            var together = try p.model.decodeStep(p.store, enc, state, tokens: tokens)
            state = together.state
            together = try p.model.decodeStep(p.store, enc, state, tokens: [3, 3, 4, 4])
            XCTAssertEqual(together.attention.shape, [4, 4])
            for (i, s) in rows.enumerated() {
                var alone = try p.model.decodeStep(p.store, enc, try p.model.initialState(enc, sources: [s]), tokens: [tokens[i]])
                alone = try p.model.decodeStep(p.store, enc, alone.state, tokens: [[3, 3, 4, 4][i]])
                let V = cfg.targetVocabularySize, n = enc.lengths[s]
                for v in 0..<V {
                    XCTAssertEqual(together.logProbs.data[i * V + v], alone.logProbs.data[v], accuracy: 1e-5)
                }
                for j in 0..<4 {
                    XCTAssertEqual(together.attention.data[i * 4 + j], j < n ? alone.attention.data[j] : 0, accuracy: 1e-6)
                }
            }
        }
    }
}
