import RecurCore
import RecurLayers
import RecurModels
import RecurTestSupport
import Foundation
import XCTest

/// The recurrent language model: whole-model gradient checks, the decoding
/// path against the training path, truncated BPTT, padding.
final class LanguageModelTests: XCTestCase {
    // Vocabulary 8 (0 pad, 1 bos, 2 eos, 3…7); uneven lengths, one empty text (EOS only).
    static let texts = [[3, 4, 5, 6, 7], [7, 3], []]

    static func config(_ cell: Seq2SeqConfig.Cell, layers: Int = 2, tied: Bool = false, embedding: Int = 5,
                       hidden: Int = 6, dropout: Float = 0) -> LanguageModelConfig {
        LanguageModelConfig(vocabularySize: 8, embeddingSize: tied ? hidden : embedding, hiddenSize: hidden,
                            layers: layers, cell: cell, dropout: dropout, tiedOutputEmbeddings: tied)
    }

    struct Problem {
        let model: LanguageModel
        let store: ParameterStore
        var training = false
        var labelSmoothing: Float = 0

        init(_ config: LanguageModelConfig, seed: UInt64, weightScale: Float = 2) throws {
            model = try LanguageModel(config: config)
            store = ParameterStore(model.layout)
            var rng = RNG(seed: seed)
            model.initialize(store, rng: &rng)
            // Larger weights than PyTorch's defaults, so the gradients reaching
            // the first layer stand above the Float loss's rounding noise.
            Kernels.scale(store.values.count, weightScale, store.values.data)
        }

        /// In training (dropout on), every call draws the same masks from seed 0.
        func run(backward: Bool) throws -> ModelLoss {
            var rng = RNG(seed: 0)
            return try model.loss(store, sources: .none(count: LanguageModelTests.texts.count),
                                  targets: LanguageModelTests.texts, training: training,
                                  labelSmoothing: labelSmoothing, backward: backward, rng: &rng)
        }

        @discardableResult
        func checkAll(eps: Float = 1e-2, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
            try checkEveryParameterGradient(store, eps: eps, gradients: {
                store.zeroGrads()
                _ = try run(backward: true)
            }, loss: { Double(try! run(backward: false).loss) }, file: file, line: line)
        }
    }

    func testGradientsLSTMTwoLayersTied() throws {
        let names = try Problem(Self.config(.lstm, tied: true), seed: 1).checkAll()
        XCTAssertEqual(names, ["embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
                               "rnn.bias_hh_l0", "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1",
                               "rnn.bias_hh_l1", "output.bias"])
    }

    func testGradientsGRUTwoLayersUntiedWithLabelSmoothing() throws {
        var p = try Problem(Self.config(.gru), seed: 2)
        p.labelSmoothing = 0.1
        let names = try p.checkAll()
        XCTAssertTrue(names.contains("output.weight"))
    }

    func testGradientsLSTMOneLayer() throws {
        try Problem(Self.config(.lstm, layers: 1), seed: 3).checkAll()
    }

    /// Dropout between the layers and before the output: with the same masks
    /// in every call the gradient still matches, and the masks do change the loss.
    func testGradientsWithDropoutInTraining() throws {
        var p = try Problem(Self.config(.gru, dropout: 0.3), seed: 4)
        p.training = true
        try p.checkAll(eps: 4e-3)
        let trainingLoss = try p.run(backward: false).loss
        p.training = false
        XCTAssertNotEqual(try p.run(backward: false).loss, trainingLoss)
    }

    /// Truncated BPTT: with a carried-in state, every parameter gradient is right.
    func testGradientsWithCarriedState() throws {
        for cell in Seq2SeqConfig.Cell.allCases {
            let p = try Problem(Self.config(cell), seed: 5)
            var rng = RNG(seed: 9)
            let state = p.model.initialState(rows: 2)
            rng.fillUniform(state.h, -0.8, 0.8)
            if let c = state.c { rng.fillUniform(c, -0.8, 0.8) }
            let inputs = [[3, 4, 5, 6], [7, 3]], targets = [[4, 5, 6, 7], [3, 5]]
            func run(_ backward: Bool) throws -> Float {
                var r = RNG(seed: 0)
                return try p.model.lossWithState(p.store, inputs: inputs, targets: targets, state: state, training: false,
                                                 backward: backward, rng: &r).loss.loss
            }
            try checkEveryParameterGradient(p.store, gradients: {
                p.store.zeroGrads()
                _ = try run(true)
            }, loss: { Double(try! run(false)) })
        }
    }

    /// The check must be able to fail: a 1 % slip in one gradient is caught.
    func testCheckCatchesAWrongGradient() throws {
        let p = try Problem(Self.config(.lstm), seed: 6)
        p.store.zeroGrads()
        _ = try p.run(backward: true)
        let name = "rnn.weight_hh_l0"
        let g = p.store.grad(name)!
        Kernels.scale(g.count, 1.01, g.data)
        let r = gradCheck(name, values: p.store.value(name)!, analytic: g, maxElements: 12) {
            Double(try! p.run(backward: false).loss)
        }
        XCTAssertGreaterThan(r.maxError, 3e-3, "\(r)")
    }

    /// Stepping one token at a time (the decoding path) gives the per-token
    /// log-probabilities of the whole-sequence path, and their mean is the loss.
    func testDecodeStepsMatchTeacherForcedLogProbs() throws {
        for cfg in [Self.config(.lstm, tied: true), Self.config(.gru, layers: 1), Self.config(.gru, layers: 3)] {
            let p = try Problem(cfg, seed: 7)
            let whole = try p.model.tokenLogProbabilities(p.store, targets: Self.texts)
            var nll = 0.0, count = 0
            for (b, y) in Self.texts.enumerated() {
                XCTAssertEqual(whole[b].count, y.count + 1)
                var state = p.model.initialState(rows: 1)
                let ws = p.model.makeStepWorkspace(rows: 1)
                for (t, (feed, next)) in zip([cfg.bos] + y, y + [cfg.eos]).enumerated() {
                    let out = try p.model.decodeStep(p.store, state, tokens: [feed], workspace: ws)
                    XCTAssertEqual(out.logProbs.data[next], whole[b][t], accuracy: 1e-5, "text \(b) step \(t)")
                    nll -= Double(out.logProbs.data[next])
                    count += 1
                    state = out.state
                }
            }
            let loss = try p.run(backward: false)
            XCTAssertEqual(loss.tokens, count)
            XCTAssertEqual(Double(loss.loss), nll / Double(count), accuracy: 1e-5)
        }
    }

    /// Decoding rows together equals decoding each alone; `select` moves rows.
    func testBatchedStepsAndSelect() throws {
        let p = try Problem(Self.config(.lstm), seed: 8)
        let s0 = p.model.initialState(rows: 3)
        let a = try p.model.decodeStep(p.store, s0, tokens: [1, 1, 1])
        let b = try p.model.decodeStep(p.store, a.state, tokens: [3, 4, 5])
        let picked = try p.model.select(b.state, rows: [2, 0, 2])
        XCTAssertEqual(picked.rows, 3)
        let next = try p.model.decodeStep(p.store, picked, tokens: [6, 6, 6])
        var alone = try p.model.decodeStep(p.store, p.model.initialState(rows: 1), tokens: [1]).state
        alone = try p.model.decodeStep(p.store, alone, tokens: [5]).state
        let single = try p.model.decodeStep(p.store, alone, tokens: [6])
        for v in 0..<8 {
            XCTAssertEqual(next.logProbs[0, v], single.logProbs[0, v], accuracy: 1e-6)
            XCTAssertEqual(next.logProbs[2, v], single.logProbs[0, v], accuracy: 1e-6)
        }
        XCTAssertThrowsError(try p.model.select(b.state, rows: [3]))
        XCTAssertThrowsError(try p.model.decodeStep(p.store, s0, tokens: [1]))
        XCTAssertThrowsError(try p.model.decodeStep(p.store, s0, tokens: [1, 1, 1], workspace: p.model.makeStepWorkspace(rows: 2)))
    }

    /// Truncated BPTT: one long text cut in chunks, the state carried from one
    /// chunk to the next, gives the same negative log-likelihood as one chunk.
    func testChunksWithCarriedStateEqualOneChunk() throws {
        for cell in Seq2SeqConfig.Cell.allCases {
            let p = try Problem(Self.config(cell), seed: 10)
            let stream = [1, 3, 4, 5, 6, 7, 3, 4, 6, 5, 7, 3, 2]
            let rowA = Array(stream.dropLast()), rowB = Array(stream.dropFirst())
            // Two rows: the stream, and the stream shifted by three (uneven lengths in the last chunk).
            let inputs = [rowA, Array(rowA.dropFirst(3))], targets = [rowB, Array(rowB.dropFirst(3))]
            var rng = RNG(seed: 0)
            let whole = try p.model.lossWithState(p.store, inputs: inputs, targets: targets, state: nil, training: false,
                                                  backward: false, rng: &rng)
            var state: LanguageModelState? = nil
            var nll = 0.0, tokens = 0
            for start in stride(from: 0, to: rowA.count, by: 5) {
                func cut(_ s: [Int]) -> [Int] { Array(s[min(start, s.count)..<min(start + 5, s.count)]) }
                let (l, next) = try p.model.lossWithState(p.store, inputs: inputs.map(cut), targets: targets.map(cut),
                                                          state: state, training: false, backward: false, rng: &rng)
                nll += l.negativeLogLikelihood
                tokens += l.tokens
                state = next
            }
            XCTAssertEqual(tokens, whole.loss.tokens)
            XCTAssertEqual(nll, whole.loss.negativeLogLikelihood, accuracy: 1e-5 * nll)
            // The final states agree too (row 1 ended in an earlier chunk).
            XCTAssertLessThan(maxAbsDiff(state!.h.array, whole.state.h.array), 1e-5)
            if let c = state!.c, let wc = whole.state.c { XCTAssertLessThan(maxAbsDiff(c.array, wc.array), 1e-5) }
        }
    }

    /// Padding leaks nothing: the batch's summed NLL equals each text's alone.
    func testBatchEqualsTextsAlone() throws {
        let p = try Problem(Self.config(.gru), seed: 11)
        var rng = RNG(seed: 0)
        let batch = try p.model.trainStep(p.store, targets: Self.texts, training: false, backward: false, rng: &rng)
        var alone = 0.0, tokens = 0
        for y in Self.texts {
            let l = try p.model.trainStep(p.store, targets: [y], training: false, backward: false, rng: &rng)
            alone += l.negativeLogLikelihood
            tokens += l.tokens
        }
        XCTAssertEqual(batch.tokens, tokens)
        XCTAssertEqual(batch.negativeLogLikelihood, alone, accuracy: 1e-5 * alone)
    }

    func testConfigAndModelConfig() throws {
        XCTAssertThrowsError(try LanguageModel(config: LanguageModelConfig(vocabularySize: 8, embeddingSize: 4, hiddenSize: 6,
                                                                          tiedOutputEmbeddings: true)))
        XCTAssertThrowsError(try LanguageModel(config: LanguageModelConfig(vocabularySize: 8, embeddingSize: 4, hiddenSize: 6,
                                                                          layers: 0)))
        XCTAssertThrowsError(try LanguageModel(config: LanguageModelConfig(vocabularySize: 2, embeddingSize: 4, hiddenSize: 6)))
        let cfg = ModelConfig(languageModel: Self.config(.gru, tied: true))
        let decoded = try JSONDecoder().decode(ModelConfig.self, from: JSONEncoder().encode(cfg))
        XCTAssertEqual(decoded, cfg)
        XCTAssertEqual(decoded.kind, .languageModel)
        let model = try decoded.makeModel()
        XCTAssertTrue(model is LanguageModel)
        XCTAssertEqual(model.layout, try LanguageModel(config: Self.config(.gru, tied: true)).layout)
        var broken = cfg
        broken.languageModel = nil
        XCTAssertThrowsError(try broken.makeModel())
    }

    func testBadInputIsRefused() throws {
        let p = try Problem(Self.config(.gru), seed: 12)
        var rng = RNG(seed: 0)
        XCTAssertThrowsError(try p.model.trainStep(p.store, targets: [[3, 8]], rng: &rng))   // outside V
        XCTAssertThrowsError(try p.model.trainStep(p.store, targets: [[3, 0]], rng: &rng))   // padding id
        XCTAssertThrowsError(try p.model.trainStep(p.store, targets: [], rng: &rng))
        XCTAssertThrowsError(try p.model.loss(p.store, sources: .tokens([[3]]), targets: [[3]], training: false,
                                              labelSmoothing: 0, backward: false, rng: &rng))
        XCTAssertThrowsError(try p.model.loss(p.store, sources: .none(count: 2), targets: [[3]], training: false,
                                              labelSmoothing: 0, backward: false, rng: &rng))
        XCTAssertThrowsError(try p.model.lossWithState(p.store, inputs: [[3, 4]], targets: [[4]], state: nil, rng: &rng))
        XCTAssertThrowsError(try p.model.lossWithState(p.store, inputs: [[3]], targets: [[4]],
                                                       state: p.model.initialState(rows: 2), rng: &rng))
        XCTAssertThrowsError(try p.model.lossWithState(p.store, inputs: [[]], targets: [[]], state: nil, rng: &rng))
    }
}
