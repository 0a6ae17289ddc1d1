import RecurCore
import RecurLayers
import RecurModels
import RecurTestSupport
import Foundation
import XCTest

/// The speech (pyramidal) and image encoders inside the whole model:
/// gradient checks, padding independence, and decoding equal to training.
final class Seq2SeqModalityTests: XCTestCase {
    typealias Problem = Seq2SeqGradTests.Problem

    /// Frames of 5, 2 and 1 steps (odd, even, length 1), F = 3.
    static func frames(seed: UInt64) -> [Tensor] {
        var rng = RNG(seed: seed)
        return [5, 2, 1].map { n in
            let t = Tensor(zeros: [n, 3])
            for i in 0..<t.count { t.data[i] = rng.uniform(-1, 1) }
            return t
        }
    }

    /// Four images of 5 cells (a 2×2 grid and the whole image), F = 4.
    static func cells(seed: UInt64) -> [Tensor] {
        var rng = RNG(seed: seed)
        return (0..<2).map { _ in
            let t = Tensor(zeros: [5, 4])
            for i in 0..<t.count { t.data[i] = rng.uniform(0, 1) }
            return t
        }
    }

    static let targets3 = [[4, 5], [3], [6, 6, 3]]

    static func speech(_ cell: Seq2SeqConfig.Cell, layers: Int, pyramid: Int, bidirectional: Bool = true,
                       attention: Seq2SeqConfig.AttentionKind = .additive, features: Int = 3,
                       frameStack: Int = 1) -> Seq2SeqConfig {
        Seq2SeqConfig(sourceVocabularySize: 1, targetVocabularySize: 7, embeddingSize: 5, hiddenSize: 4,
                      encoderLayers: layers, bidirectionalEncoder: bidirectional, cell: cell, attention: attention,
                      source: .speech, inputFeatureSize: features, pyramidLayers: pyramid, frameStack: frameStack)
    }

    static func image(_ cell: Seq2SeqConfig.Cell, rnn: Bool) -> Seq2SeqConfig {
        Seq2SeqConfig(sourceVocabularySize: 1, targetVocabularySize: 7, embeddingSize: 5, hiddenSize: 4,
                      bidirectionalEncoder: true, cell: cell, attention: .general,
                      source: .image, inputFeatureSize: 4, imageRNN: rnn)
    }

    func problem(_ cfg: Seq2SeqConfig, _ sources: SourceBatch, seed: UInt64, scale: Float = 2) throws -> Problem {
        var p = try Problem(cfg, seed: seed, weightScale: scale)
        p.sources = sources
        return p
    }

    func check(_ p: Problem, targets: [[Int]], eps: Float = 1e-2, tolerance: Double = 3e-3) throws -> [String] {
        // Problem.checkAll uses the text targets; these tests have their own.
        func loss() -> Double {
            var rng = RNG(seed: 0)
            return Double(try! p.model.trainStep(p.store, sources: p.sources, targets: targets, training: p.training,
                                                 backward: false, rng: &rng).loss)
        }
        return try checkEveryParameterGradient(p.store, eps: eps, tolerance: tolerance, gradients: {
            p.store.zeroGrads()
            var rng = RNG(seed: 0)
            _ = try p.model.trainStep(p.store, sources: p.sources, targets: targets, training: p.training, rng: &rng)
        }, loss: loss)
    }

    func testSpeechPyramidLSTM() throws {
        let p = try problem(Self.speech(.lstm, layers: 3, pyramid: 2), .features(Self.frames(seed: 1)), seed: 11)
        let names = try check(p, targets: Self.targets3)
        for n in ["encoder.layers.0.weight_ih_l0", "encoder.layers.1.weight_ih_l0_reverse", "encoder.layers.2.weight_hh_l0",
                  "bridge_cell.weight"] {
            XCTAssertTrue(names.contains(n), "missing \(n) in \(names)")
        }
        // Layers 1 and 2 read joined pairs: 2·K inputs.
        XCTAssertEqual(p.store.value("encoder.layers.1.weight_ih_l0")!.shape, [16, 16])
        XCTAssertEqual(p.store.value("encoder.layers.0.weight_ih_l0")!.shape, [16, 3])
    }

    func testSpeechPyramidGRUUnidirectionalDot() throws {
        let p = try problem(Self.speech(.gru, layers: 2, pyramid: 1, bidirectional: false, attention: .dot),
                            .features(Self.frames(seed: 2)), seed: 12)
        _ = try check(p, targets: Self.targets3)
    }

    func testSpeechDropoutBetweenLayers() throws {
        var cfg = Self.speech(.gru, layers: 2, pyramid: 1)
        cfg.dropout = 0.3
        var p = try problem(cfg, .features(Self.frames(seed: 3)), seed: 13)
        p.training = true
        _ = try check(p, targets: Self.targets3, eps: 4e-3)
    }

    func testSpeechFrameStackGradients() throws {
        let p = try problem(Self.speech(.gru, layers: 2, pyramid: 1, frameStack: 3), .features(Self.frames(seed: 9)), seed: 19)
        _ = try check(p, targets: Self.targets3)
        // The first layer reads 3 frames of 3 values a step.
        XCTAssertEqual(p.store.value("encoder.layers.0.weight_ih_l0")!.shape, [12, 9])
        XCTAssertEqual(try p.model.encode(p.store, sources: p.sources).lengths, [1, 1, 1], "5 → 2 → 1, 2 → 1 → 1, 1 → 1 → 1")
    }

    /// Stacking k frames is the same model as one reading the frames joined by hand (k·F values a
    /// step, zeros past the end), with the same weights: same loss and gradients.
    func testFrameStackIsFramesJoinedByHand() throws {
        let k = 3, F = 3
        let stacked = try problem(Self.speech(.lstm, layers: 3, pyramid: 2, frameStack: k), .features(Self.frames(seed: 10)), seed: 20)
        let frames = Self.frames(seed: 10)
        let joined = frames.map { f -> Tensor in
            let n = f.shape[0], steps = (n + k - 1) / k
            let t = Tensor(zeros: [steps, k * F])
            t.data.update(from: f.data, count: n * F)   // row-major: frame j of step s sits at (s·k + j)·F
            return t
        }
        let byHand = try problem(Self.speech(.lstm, layers: 3, pyramid: 2, features: k * F), .features(joined), seed: 21)
        try byHand.store.copy(from: stacked.store)
        XCTAssertEqual(try stacked.model.encode(stacked.store, sources: stacked.sources).lengths,
                       try byHand.model.encode(byHand.store, sources: byHand.sources).lengths)
        var r1 = RNG(seed: 0), r2 = RNG(seed: 0)
        stacked.store.zeroGrads(); byHand.store.zeroGrads()
        let a = try stacked.model.trainStep(stacked.store, sources: stacked.sources, targets: Self.targets3, training: false, rng: &r1)
        let b = try byHand.model.trainStep(byHand.store, sources: byHand.sources, targets: Self.targets3, training: false, rng: &r2)
        XCTAssertEqual(a.loss, b.loss)
        XCTAssertEqual(maxAbsDiff(stacked.store.grads.array, byHand.store.grads.array), 0)
        XCTAssertGreaterThan(maxAbsDiff(stacked.store.grads.array, [Float](repeating: 0, count: stacked.store.grads.count)), 0)
    }

    func testFrameStackIsForSpeechOnly() throws {
        XCTAssertThrowsError(try Seq2Seq(config: Self.speech(.gru, layers: 2, pyramid: 1, frameStack: 0)))
        var text = Seq2SeqConfig(sourceVocabularySize: 9, targetVocabularySize: 7, embeddingSize: 5, hiddenSize: 4)
        text.frameStack = 2
        XCTAssertThrowsError(try Seq2Seq(config: text)) { XCTAssertTrue("\($0)".contains("frame stacking"), "\($0)") }
        // A config saved before the key existed reads as 1; a stacked one keeps its k.
        var dict = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(Self.speech(.gru, layers: 2, pyramid: 1,
                                                                                                frameStack: 2))) as! [String: Any]
        XCTAssertEqual(dict.removeValue(forKey: "frameStack") as? Int, 2)
        let old = try JSONSerialization.data(withJSONObject: dict)
        XCTAssertEqual(try JSONDecoder().decode(Seq2SeqConfig.self, from: old).frameStack, 1)
        let k3 = Self.speech(.gru, layers: 2, pyramid: 1, frameStack: 3)
        XCTAssertEqual(try JSONDecoder().decode(Seq2SeqConfig.self, from: try JSONEncoder().encode(k3)), k3)
    }

    func testImageProjectionOnly() throws {
        let p = try problem(Self.image(.lstm, rnn: false), .features(Self.cells(seed: 4)), seed: 14)
        let names = try check(p, targets: [[4, 5], [3]])
        XCTAssertTrue(names.contains("encoder.projection.weight"))
        XCTAssertFalse(names.contains { $0.hasPrefix("encoder.rnn.") })
    }

    func testImageWithRNN() throws {
        let p = try problem(Self.image(.gru, rnn: true), .features(Self.cells(seed: 5)), seed: 15)
        let names = try check(p, targets: [[4, 5], [3]])
        XCTAssertTrue(names.contains("encoder.rnn.weight_hh_l0_reverse"))
    }

    /// A wrong pair join would show here: the joined gradient of a joined tensor is the tensor.
    func testPyramidLengthsAndPadding() throws {
        let cfg = Self.speech(.lstm, layers: 3, pyramid: 2)
        let p = try problem(cfg, .features(Self.frames(seed: 6)), seed: 16)
        let enc = try p.model.encode(p.store, sources: p.sources)
        XCTAssertEqual(enc.lengths, [2, 1, 1], "5 → 3 → 2, 2 → 1 → 1, 1 → 1 → 1")
        // Padding leaks nothing: the batch's NLL equals the sum of each utterance alone.
        var rng = RNG(seed: 0)
        let frames = Self.frames(seed: 6)
        let batch = try p.model.trainStep(p.store, sources: .features(frames), targets: Self.targets3, training: false,
                                          backward: false, rng: &rng)
        var alone = 0.0
        for (f, y) in zip(frames, Self.targets3) {
            alone += try p.model.trainStep(p.store, sources: .features([f]), targets: [y], training: false,
                                           backward: false, rng: &rng).negativeLogLikelihood
        }
        XCTAssertEqual(batch.negativeLogLikelihood, alone, accuracy: 1e-5 * alone)
    }

    func testDecodeStepsMatchTrainingLoss() throws {
        for (cfg, sources, targets) in [
            (Self.speech(.lstm, layers: 3, pyramid: 2), SourceBatch.features(Self.frames(seed: 7)), Self.targets3),
            (Self.image(.gru, rnn: true), SourceBatch.features(Self.cells(seed: 8)), [[4, 5], [3]]),
        ] {
            let p = try problem(cfg, sources, seed: 17, scale: 1)
            let enc = try p.model.encode(p.store, sources: sources)
            var nll = 0.0, tokens = 0
            for (s, y) in targets.enumerated() {
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
            var rng = RNG(seed: 0)
            let l = try p.model.trainStep(p.store, sources: sources, targets: targets, training: false, backward: false, rng: &rng)
            XCTAssertEqual(nll / Double(tokens), Double(l.loss), accuracy: 1e-5)
        }
    }

    func testConfigAndInputErrors() throws {
        XCTAssertThrowsError(try Seq2Seq(config: Self.speech(.gru, layers: 2, pyramid: 2)), "pyramid must be < layers")
        var cfg = Self.speech(.gru, layers: 2, pyramid: 1)
        cfg.inputFeatureSize = 0
        XCTAssertThrowsError(try Seq2Seq(config: cfg))
        let p = try problem(Self.speech(.gru, layers: 2, pyramid: 1), .features(Self.frames(seed: 9)), seed: 18)
        var rng = RNG(seed: 0)
        XCTAssertThrowsError(try p.model.trainStep(p.store, sources: .tokens([[3]]), targets: [[3]], rng: &rng))
        XCTAssertThrowsError(try p.model.trainStep(p.store, sources: .features([Tensor(zeros: [4, 2])]), targets: [[3]], rng: &rng))
        let img = try problem(Self.image(.lstm, rnn: false), .features([]), seed: 19)
        XCTAssertThrowsError(try img.model.trainStep(img.store, sources: .features([Tensor(zeros: [5, 4]), Tensor(zeros: [4, 4])]),
                                                     targets: [[3], [3]], rng: &rng), "images of a batch differ in cells")
        let data = try JSONEncoder().encode(Self.speech(.lstm, layers: 3, pyramid: 2))
        XCTAssertEqual(try JSONDecoder().decode(Seq2SeqConfig.self, from: data), Self.speech(.lstm, layers: 3, pyramid: 2))
    }
}
