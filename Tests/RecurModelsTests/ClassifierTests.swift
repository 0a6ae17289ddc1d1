import RecurCore
import RecurLayers
import RecurModels
import RecurTestSupport
import Foundation
import XCTest

/// The sequence classifier: whole-model gradient checks for every pooling and
/// both inputs, pooling over valid steps only, and learning a toy rule.
final class ClassifierTests: XCTestCase {
    // Vocabulary 8 (0 pad, 3…7 words); uneven lengths; 3 classes.
    static let tokens: [[Int]] = [[3, 4, 5, 6, 7], [7, 3], [5], [6, 6, 4]]
    static let labels: [[Int]] = [[0], [2], [1], [2]]
    static let featureSize = 3

    static func features(seed: UInt64) -> [Tensor] {
        var rng = RNG(seed: seed)
        return tokens.map { randomTensor([$0.count, featureSize], &rng) }
    }

    static func config(_ input: ClassifierConfig.Input, _ cell: Seq2SeqConfig.Cell, _ pooling: ClassifierConfig.Pooling,
                       bidirectional: Bool, layers: Int = 1, dropout: Float = 0) -> ClassifierConfig {
        ClassifierConfig(input: input, inputFeatureSize: featureSize, vocabularySize: 8, embeddingSize: 4, hiddenSize: 5,
                         layers: layers, bidirectional: bidirectional, cell: cell, pooling: pooling, classes: 3,
                         dropout: dropout)
    }

    struct Problem {
        let model: Classifier
        let store: ParameterStore
        let sources: SourceBatch
        var training = false

        init(_ config: ClassifierConfig, seed: UInt64, weightScale: Float = 2) throws {
            model = try Classifier(config: config)
            store = ParameterStore(model.layout)
            var rng = RNG(seed: seed)
            model.initialize(store, rng: &rng)
            Kernels.scale(store.values.count, weightScale, store.values.data)
            sources = config.input == .text ? .tokens(ClassifierTests.tokens) : .features(ClassifierTests.features(seed: seed))
        }

        func run(backward: Bool) throws -> ModelLoss {
            var rng = RNG(seed: 0)
            return try model.loss(store, sources: sources, targets: ClassifierTests.labels, training: training,
                                  labelSmoothing: 0, backward: backward, rng: &rng)
        }

        @discardableResult
        func checkAll(eps: Float = 1e-2, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
            try checkEveryParameterGradient(store, eps: eps, gradients: {
                store.zeroGrads()
                _ = try run(backward: true)
            }, loss: { Double(try! run(backward: false).loss) }, file: file, line: line)
        }
    }

    func testGradientsTextBiLSTMMeanTwoLayers() throws {
        let names = try Problem(Self.config(.text, .lstm, .mean, bidirectional: true, layers: 2), seed: 1).checkAll()
        for expected in ["encoder.embedding.weight", "encoder.rnn.weight_ih_l0", "encoder.rnn.weight_hh_l1_reverse",
                         "head.weight", "head.bias"] {
            XCTAssertTrue(names.contains(expected), "missing \(expected) in \(names)")
        }
    }

    func testGradientsTextGRUMax() throws {
        try Problem(Self.config(.text, .gru, .max, bidirectional: false), seed: 2).checkAll()
    }

    func testGradientsTextBiGRUMaxTwoLayers() throws {
        try Problem(Self.config(.text, .gru, .max, bidirectional: true, layers: 2), seed: 3).checkAll()
    }

    func testGradientsFeaturesBiLSTMLastTwoLayers() throws {
        let names = try Problem(Self.config(.features, .lstm, .last, bidirectional: true, layers: 2), seed: 4).checkAll()
        XCTAssertFalse(names.contains("encoder.embedding.weight"))
    }

    func testGradientsFeaturesGRULastWithDropout() throws {
        var p = try Problem(Self.config(.features, .gru, .last, bidirectional: false, layers: 2, dropout: 0.3), seed: 5)
        p.training = true
        try p.checkAll(eps: 4e-3)
        let trainingLoss = try p.run(backward: false).loss
        p.training = false
        XCTAssertNotEqual(try p.run(backward: false).loss, trainingLoss)
    }

    func testGradientsFeaturesLSTMMean() throws {
        try Problem(Self.config(.features, .lstm, .mean, bidirectional: false), seed: 6).checkAll()
    }

    /// The check must be able to fail: a 1 % slip in one gradient is caught.
    func testCheckCatchesAWrongGradient() throws {
        let p = try Problem(Self.config(.text, .lstm, .mean, bidirectional: true), seed: 7)
        p.store.zeroGrads()
        _ = try p.run(backward: true)
        let name = "encoder.rnn.weight_ih_l0_reverse"
        let g = p.store.grad(name)!
        Kernels.scale(g.count, 1.01, g.data)
        let r = gradCheck(name, values: p.store.value(name)!, analytic: g, maxElements: 12) {
            Double(try! p.run(backward: false).loss)
        }
        XCTAssertGreaterThan(r.maxError, 3e-3, "\(r)")
    }

    /// Pooling reads each example's own steps only: an example's prediction
    /// is the same alone and in a batch padded to a longer example, for every
    /// pooling, both inputs and both directions.
    func testPaddingChangesNothing() throws {
        var checked = 0
        for input in ClassifierConfig.Input.allCases {
            for pooling in ClassifierConfig.Pooling.allCases {
                for bidirectional in [false, true] {
                    let cfg = Self.config(input, .lstm, pooling, bidirectional: bidirectional, layers: 2)
                    let p = try Problem(cfg, seed: 8)
                    let batch = try p.model.predict(p.store, sources: p.sources)
                    for b in 0..<Self.tokens.count {
                        let alone: SourceBatch
                        switch p.sources {
                        case .tokens(let s): alone = .tokens([s[b]])
                        case .features(let f): alone = .features([f[b]])
                        case .none: fatalError()
                        }
                        let single = try p.model.predict(p.store, sources: alone)[0]
                        XCTAssertLessThan(maxAbsDiff(single, batch[b]), 1e-5, "\(input) \(pooling) bi \(bidirectional) example \(b)")
                        XCTAssertEqual(Double(batch[b].map { exp($0) }.reduce(0, +)), 1, accuracy: 1e-5)
                        checked += 1
                    }
                }
            }
        }
        XCTAssertEqual(checked, 2 * 3 * 2 * Self.tokens.count)
    }

    /// A toy rule (class 1 when token 5 appears, else 0) on generated data is
    /// learnt to 100 % training accuracy within a fixed number of Adam steps.
    func testLearnsWhetherATokenAppears() throws {
        var data = RNG(seed: 21)
        var sources: [[Int]] = [], labels: [[Int]] = []
        for i in 0..<32 {
            var s = (0..<(2 + data.int(below: 6))).map { _ in [3, 4, 6, 7, 8, 9][data.int(below: 6)] }
            if i % 2 == 0 { s[data.int(below: s.count)] = 5 }
            sources.append(s)
            labels.append([s.contains(5) ? 1 : 0])
        }
        let cfg = ClassifierConfig(input: .text, vocabularySize: 10, embeddingSize: 8, hiddenSize: 12, bidirectional: true,
                                   cell: .gru, pooling: .max, classes: 2)
        let model = try Classifier(config: cfg)
        let store = ParameterStore(model.layout)
        var rng = RNG(seed: 3)
        model.initialize(store, rng: &rng)
        var adam = Adam(learningRate: 0.02)
        func accuracy() throws -> Double {
            let lp = try model.predict(store, sources: .tokens(sources))
            let right = zip(lp, labels).filter { ($0.0[1] > $0.0[0] ? 1 : 0) == $0.1[0] }.count
            return Double(right) / Double(labels.count)
        }
        XCTAssertLessThan(try accuracy(), 1, "an untrained model must not already be right everywhere")
        var learntAt: Int?, first: Float = 0, last: Float = 0
        for step in 1...200 {
            store.zeroGrads()
            let l = try model.loss(store, sources: .tokens(sources), targets: labels, training: true, labelSmoothing: 0,
                                   backward: true, rng: &rng)
            if step == 1 { first = l.loss }
            last = l.loss
            adam.step(store)
            if step % 10 == 0, try accuracy() == 1 { learntAt = step; break }
        }
        XCTAssertNotNil(learntAt, "training accuracy still below 100 % after 200 steps (loss \(first) → \(last))")
        print("toy rule learnt at step \(learntAt ?? -1), loss \(first) → \(last)")
    }

    func testConfigAndModelConfig() throws {
        XCTAssertThrowsError(try Classifier(config: ClassifierConfig(input: .features, inputFeatureSize: 0, hiddenSize: 4, classes: 2)))
        XCTAssertThrowsError(try Classifier(config: ClassifierConfig(input: .text, vocabularySize: 5, embeddingSize: 0,
                                                                     hiddenSize: 4, classes: 2)))
        XCTAssertThrowsError(try Classifier(config: ClassifierConfig(input: .text, vocabularySize: 5, embeddingSize: 3,
                                                                     hiddenSize: 4, classes: 1)))
        let cfg = ModelConfig(classifier: Self.config(.features, .gru, .max, bidirectional: true))
        let decoded = try JSONDecoder().decode(ModelConfig.self, from: JSONEncoder().encode(cfg))
        XCTAssertEqual(decoded, cfg)
        XCTAssertEqual(decoded.kind, .classifier)
        XCTAssertTrue(try decoded.makeModel() is Classifier)
        var broken = cfg
        broken.classifier = nil
        XCTAssertThrowsError(try broken.makeModel())
    }

    func testBadInputIsRefused() throws {
        let text = try Problem(Self.config(.text, .gru, .mean, bidirectional: true), seed: 9)
        let frames = try Problem(Self.config(.features, .gru, .mean, bidirectional: true), seed: 9)
        var rng = RNG(seed: 0)
        func loss(_ p: Problem, _ s: SourceBatch, _ t: [[Int]]) throws -> ModelLoss {
            try p.model.loss(p.store, sources: s, targets: t, training: false, labelSmoothing: 0, backward: false, rng: &rng)
        }
        XCTAssertThrowsError(try loss(text, .tokens([[3, 8]]), [[0]]))          // token outside V
        XCTAssertThrowsError(try loss(text, .tokens([[]]), [[0]]))              // empty source
        XCTAssertThrowsError(try loss(text, .tokens([[3]]), [[3]]))             // class outside C
        XCTAssertThrowsError(try loss(text, .tokens([[3]]), [[0, 1]]))          // two classes
        XCTAssertThrowsError(try loss(text, .tokens([[3], [4]]), [[0]]))        // count mismatch
        XCTAssertThrowsError(try loss(text, .features([Tensor(zeros: [2, 3])]), [[0]]))  // wrong kind
        XCTAssertThrowsError(try loss(frames, .features([Tensor(zeros: [2, 4])]), [[0]]))  // wrong width
        XCTAssertThrowsError(try loss(frames, .none(count: 1), [[0]]))
    }
}
