import RecurCore
import RecurLayers
import RecurModels
import RecurTestSupport
import Foundation
import XCTest

/// Finite-difference checks of the whole text encoder-decoder: every
/// parameter tensor, on an evenly spread subset of its elements.
final class Seq2SeqGradTests: XCTestCase {
    // Vocabulary 7 (0 pad, 1 bos, 2 eos, 3…6), T_src 4, T_tgt 3 (with EOS), B 2, uneven lengths.
    static let sources = [[3, 4, 5, 6], [6, 3]]
    static let targets = [[4, 5], [3]]

    struct Problem {
        let model: Seq2Seq
        let store: ParameterStore
        var sources: SourceBatch = .tokens(Seq2SeqGradTests.sources)

        init(_ config: Seq2SeqConfig, seed: UInt64, weightScale: Float = 2.5) throws {
            model = try Seq2Seq(config: config)
            store = ParameterStore(model.layout)
            var rng = RNG(seed: seed)
            model.initialize(store, rng: &rng)
            // Larger weights than PyTorch's defaults, so the gradients that
            // reach the encoder stand above the Float loss's rounding noise.
            Kernels.scale(store.values.count, weightScale, store.values.data)
        }

        /// In training (dropout on), every call draws the same masks from seed 0.
        var training = false

        func loss(labelSmoothing: Float = 0) -> Double {
            var rng = RNG(seed: 0)
            return Double(try! model.trainStep(store, sources: sources, targets: Seq2SeqGradTests.targets,
                                               training: training, labelSmoothing: labelSmoothing, backward: false,
                                               rng: &rng).loss)
        }

        func gradients(labelSmoothing: Float = 0) throws {
            store.zeroGrads()
            var rng = RNG(seed: 0)
            _ = try model.trainStep(store, sources: sources, targets: Seq2SeqGradTests.targets,
                                    training: training, labelSmoothing: labelSmoothing, rng: &rng)
        }

        /// Checks every tensor; returns the names checked.
        @discardableResult
        func checkAll(labelSmoothing: Float = 0, eps: Float = 1e-2, tolerance: Double = 3e-3, file: StaticString = #filePath,
                      line: UInt = #line) throws -> [String] {
            try checkEveryParameterGradient(store, eps: eps, tolerance: tolerance,
                                            gradients: { try gradients(labelSmoothing: labelSmoothing) },
                                            loss: { loss(labelSmoothing: labelSmoothing) }, file: file, line: line)
        }
    }

    static func config(_ cell: Seq2SeqConfig.Cell, _ attention: Seq2SeqConfig.AttentionKind, bidirectional: Bool,
                       layers: Int = 1, inputFeeding: Bool = true, tied: Bool = false, hidden: Int = 6,
                       embedding: Int = 5) -> Seq2SeqConfig {
        Seq2SeqConfig(sourceVocabularySize: 7, targetVocabularySize: 7, embeddingSize: embedding, hiddenSize: hidden,
                      encoderLayers: layers, bidirectionalEncoder: bidirectional, cell: cell, attention: attention,
                      inputFeeding: inputFeeding, tiedOutputEmbeddings: tied)
    }

    func testLSTMAdditiveInputFeeding() throws {
        let names = try Problem(Self.config(.lstm, .additive, bidirectional: true, layers: 2), seed: 1, weightScale: 1.5).checkAll()
        for expected in ["encoder.embedding.weight", "encoder.rnn.weight_ih_l0", "encoder.rnn.weight_hh_l1_reverse",
                         "bridge.weight", "bridge_cell.bias", "decoder.embedding.weight", "decoder.rnn.weight_ih_l0",
                         "decoder.attention.query_layer.weight", "decoder.attention.key_layer.weight",
                         "decoder.attention.energy_layer.weight", "decoder.combine.weight", "decoder.output.weight",
                         "decoder.output.bias"] {
            XCTAssertTrue(names.contains(expected), "missing parameter \(expected) in \(names)")
        }
    }

    /// One LSTM layer with general attention: larger encoder gradients than
    /// the additive case above, so its encoder and bridge_cell are checked tightly.
    func testLSTMGeneralInputFeeding() throws {
        let names = try Problem(Self.config(.lstm, .general, bidirectional: true), seed: 7).checkAll()
        XCTAssertTrue(names.contains("bridge_cell.weight"))
    }

    /// Dropout between encoder layers and on the attentional vector: with
    /// the same masks in every call, the gradient still matches the loss.
    func testDropoutInTraining() throws {
        var cfg = Self.config(.gru, .general, bidirectional: true, layers: 2)
        cfg.dropout = 0.3
        var p = try Problem(cfg, seed: 8)
        p.training = true
        // The 1/(1-p) mask scale makes the loss more curved: a smaller step.
        try p.checkAll(eps: 4e-3)
        // The masks are really applied: training and inference losses differ.
        p.training = false
        let inference = p.loss()
        p.training = true
        XCTAssertNotEqual(p.loss(), inference)
    }

    func testGRUDot() throws {
        let names = try Problem(Self.config(.gru, .dot, bidirectional: false), seed: 2).checkAll()
        XCTAssertFalse(names.contains("bridge_cell.weight"))
        XCTAssertFalse(names.contains { $0.hasPrefix("decoder.attention.") }, "dot attention has no parameters")
    }

    func testGRUGeneralTiedNoFeedingWithLabelSmoothing() throws {
        let names = try Problem(Self.config(.gru, .general, bidirectional: true, inputFeeding: false, tied: true,
                                            embedding: 6), seed: 3).checkAll(labelSmoothing: 0.1)
        XCTAssertFalse(names.contains("decoder.output.weight"), "tied: the output uses decoder.embedding.weight")
    }

    /// The check must be able to fail: a 1 % slip in one gradient is caught.
    func testCheckCatchesAWrongGradient() throws {
        let p = try Problem(Self.config(.lstm, .additive, bidirectional: true), seed: 4)
        try p.gradients()
        let name = "decoder.combine.weight"
        let g = p.store.grad(name)!
        Kernels.scale(g.count, 1.01, g.data)
        let r = gradCheck(name, values: p.store.value(name)!, analytic: g, maxElements: 12) { p.loss() }
        XCTAssertGreaterThan(r.maxError, 3e-3, "\(r)")
    }

    /// The decoding path (encode + decodeStep, teacher-forced) gives the
    /// same token log-probabilities as the training path.
    func testDecodeStepsMatchTrainingLoss() throws {
        for cfg in [Self.config(.lstm, .additive, bidirectional: true, layers: 2),
                    Self.config(.gru, .dot, bidirectional: false),
                    Self.config(.gru, .general, bidirectional: true, inputFeeding: false, tied: true, embedding: 6)] {
            let p = try Problem(cfg, seed: 5)
            let enc = try p.model.encode(p.store, sources: Self.sources)
            var nll = 0.0, tokens = 0
            for (s, y) in Self.targets.enumerated() {
                var state = try p.model.initialState(enc, sources: [s])
                var feed = cfg.bos
                for next in y + [cfg.eos] {
                    let out = try p.model.decodeStep(p.store, enc, state, tokens: [feed])
                    nll -= Double(out.logProbs.data[next])
                    tokens += 1
                    state = out.state
                    feed = next
                }
            }
            XCTAssertEqual(nll / Double(tokens), p.loss(), accuracy: 1e-5)
        }
    }

    /// Padding leaks nothing: the batch's summed loss equals the sum of each
    /// pair's loss computed alone (source mask, packed encoder, ignore index).
    func testBatchEqualsPairsAlone() throws {
        for cfg in [Self.config(.lstm, .additive, bidirectional: true, layers: 2),
                    Self.config(.gru, .general, bidirectional: true)] {
            let p = try Problem(cfg, seed: 9)
            var rng = RNG(seed: 0)
            let batch = try p.model.trainStep(p.store, sources: Self.sources, targets: Self.targets, training: false,
                                              backward: false, rng: &rng)
            var alone = 0.0, tokens = 0
            for (s, y) in zip(Self.sources, Self.targets) {
                let l = try p.model.trainStep(p.store, sources: [s], targets: [y], training: false, backward: false, rng: &rng)
                alone += l.negativeLogLikelihood
                tokens += l.tokens
            }
            XCTAssertEqual(batch.tokens, tokens)
            XCTAssertEqual(batch.negativeLogLikelihood, alone, accuracy: 1e-5 * alone)
        }
    }

    func testConfigErrors() {
        XCTAssertThrowsError(try Seq2Seq(config: Self.config(.gru, .dot, bidirectional: true)))
        XCTAssertThrowsError(try Seq2Seq(config: Self.config(.gru, .additive, bidirectional: true, tied: true)))
        let cfg = Self.config(.lstm, .additive, bidirectional: true)
        let data = try! JSONEncoder().encode(cfg)
        XCTAssertEqual(try JSONDecoder().decode(Seq2SeqConfig.self, from: data), cfg)
    }

    func testBadInputIsRefused() throws {
        let p = try Problem(Self.config(.gru, .dot, bidirectional: false), seed: 6)
        var rng = RNG(seed: 0)
        XCTAssertThrowsError(try p.model.trainStep(p.store, sources: [[3, 9]], targets: [[3]], rng: &rng))
        XCTAssertThrowsError(try p.model.trainStep(p.store, sources: [[]], targets: [[3]], rng: &rng))
        XCTAssertThrowsError(try p.model.trainStep(p.store, sources: [[3]], targets: [[3], [4]], rng: &rng))
    }
}
