import RecurCore
import RecurLayers
import RecurModels
import RecurTestSupport
import XCTest

/// A batch cut into shards on two threads gives the whole batch's loss and
/// gradient (mean over every target token), for every kind of model.
final class DataParallelTests: XCTestCase {
    func testShardsAreContiguousNonEmptyAndBalanced() {
        XCTAssertEqual(DataParallel.shards(costs: [1, 1, 1, 1], ways: 2), [0..<2, 2..<4])
        XCTAssertEqual(DataParallel.shards(costs: [10, 1, 1, 1], ways: 2), [0..<1, 1..<4])
        XCTAssertEqual(DataParallel.shards(costs: [1, 1, 1, 10], ways: 2), [0..<3, 3..<4])
        XCTAssertEqual(DataParallel.shards(costs: [5], ways: 2), [0..<1])
        XCTAssertEqual(DataParallel.shards(costs: [1, 9], ways: 4), [0..<1, 1..<2])
        XCTAssertEqual(DataParallel.shards(costs: [3, 3, 3, 3, 3, 3], ways: 3), [0..<2, 2..<4, 4..<6])
        XCTAssertEqual(DataParallel.shards(costs: [2, 2, 2], ways: 1), [0..<3])
    }

    /// `model.loss` on the whole batch vs two shards on two threads; the parallel store's gradients
    /// start as garbage (they are set, not added) and the call is made twice (replicas reused).
    func check(_ model: any SequenceModel, sources: SourceBatch, targets: [[Int]], file: StaticString = #filePath,
               line: UInt = #line) throws {
        let whole = ParameterStore(model.layout)
        var rng = RNG(seed: 3)
        model.initialize(whole, rng: &rng)
        let sharded = ParameterStore(model.layout)
        try sharded.copy(from: whole)
        var r1 = RNG(seed: 0), r2 = RNG(seed: 0)
        let expected = try model.loss(whole, sources: sources, targets: targets, training: false, labelSmoothing: 0.1,
                                      backward: true, rng: &r1)
        let saved = Threads.count
        Threads.set(2)
        defer { Threads.set(saved) }
        let parallel = DataParallel(layout: model.layout, ways: 2)
        for round in 0..<2 {
            for i in 0..<sharded.grads.count { sharded.grads.data[i] = Float(i % 7) }
            let got = try parallel.loss(model, sharded, sources: sources, targets: targets, training: false,
                                        labelSmoothing: 0.1, backward: true, rng: &r2)
            XCTAssertEqual(got.tokens, expected.tokens, "round \(round)", file: file, line: line)
            XCTAssertEqual(got.loss, expected.loss, accuracy: 1e-5 * max(1, abs(expected.loss)), "round \(round)", file: file, line: line)
            XCTAssertEqual(got.negativeLogLikelihood, expected.negativeLogLikelihood, accuracy: 1e-4, file: file, line: line)
            let diff = maxAbsDiff(sharded.grads.array, whole.grads.array)
            var scale: Float = 0
            for i in 0..<whole.grads.count { scale = max(scale, abs(whole.grads.data[i])) }
            XCTAssertGreaterThan(scale, 0, file: file, line: line)
            XCTAssertLessThan(diff, 1e-5 * max(1, scale), "round \(round): gradients differ by \(diff)", file: file, line: line)
        }
    }

    func testSeq2SeqTextSpeechAndImage() throws {
        let text = try Seq2Seq(config: Seq2SeqConfig(sourceVocabularySize: 9, targetVocabularySize: 7, embeddingSize: 5,
                                                     hiddenSize: 4, bidirectionalEncoder: true, cell: .lstm))
        try check(text, sources: .tokens([[3, 4, 5], [6], [7, 8, 3, 4], [5, 5]]), targets: [[4, 5], [3], [6, 6, 3], []])
        let speech = try Seq2Seq(config: Seq2SeqModalityTests.speech(.gru, layers: 2, pyramid: 1))
        try check(speech, sources: .features(Seq2SeqModalityTests.frames(seed: 1)), targets: Seq2SeqModalityTests.targets3)
        let image = try Seq2Seq(config: Seq2SeqModalityTests.image(.lstm, rnn: true))
        try check(image, sources: .features(Seq2SeqModalityTests.cells(seed: 2) + Seq2SeqModalityTests.cells(seed: 3)),
                  targets: [[4], [5, 6], [3, 3, 3], []])
    }

    func testLanguageModelAndClassifier() throws {
        let lm = try LanguageModel(config: LanguageModelConfig(vocabularySize: 8, embeddingSize: 4, hiddenSize: 6))
        try check(lm, sources: .none(count: 3), targets: [[4, 5, 6], [3], [7, 7, 4, 5]])
        let classifier = try Classifier(config: ClassifierTests.config(.text, .gru, .mean, bidirectional: true))
        try check(classifier, sources: .tokens(ClassifierTests.tokens), targets: ClassifierTests.tokens.indices.map { [$0 % 3] })
    }

    /// A small language model and two stores holding the same initial values (seed 5).
    func twinLanguageModelStores() throws -> (LanguageModel, ParameterStore, ParameterStore) {
        let lm = try LanguageModel(config: LanguageModelConfig(vocabularySize: 8, embeddingSize: 4, hiddenSize: 6))
        let a = ParameterStore(lm.layout), b = ParameterStore(lm.layout)
        var rng = RNG(seed: 5)
        lm.initialize(a, rng: &rng)
        try b.copy(from: a)
        return (lm, a, b)
    }

    /// One shard (one thread, or a batch of one) is exactly the model's own call.
    func testOneShardIsTheModelsOwnCall() throws {
        let (lm, a, b) = try twinLanguageModelStores()
        var r1 = RNG(seed: 9), r2 = RNG(seed: 9)
        let x = try lm.loss(a, sources: .none(count: 1), targets: [[4, 5]], training: true, labelSmoothing: 0, backward: true, rng: &r1)
        let y = try DataParallel(layout: lm.layout, ways: 2).loss(lm, b, sources: .none(count: 1), targets: [[4, 5]],
                                                                  training: true, labelSmoothing: 0, backward: true, rng: &r2)
        XCTAssertEqual(x.loss, y.loss)
        XCTAssertEqual(maxAbsDiff(a.grads.array, b.grads.array), 0)
        XCTAssertEqual(r1, r2)
    }

    /// `lossAndGradient` leaves the gradient in the shards' parts: summed, it is the batch's
    /// gradient; one dropped unused is zeroed by the next call (the next gradient is not
    /// doubled by the old shard's part).
    func testGradientLeftInPartsIsTheBatchGradientAndAnUnusedOneIsDropped() throws {
        let (lm, whole, sharded) = try twinLanguageModelStores()
        let targets = [[4, 5, 6], [3], [7, 7, 4, 5], [6, 6]]
        var r1 = RNG(seed: 0), r2 = RNG(seed: 0)
        _ = try lm.loss(whole, sources: .none(count: 4), targets: targets, training: false, labelSmoothing: 0,
                        backward: true, rng: &r1)
        let saved = Threads.count
        Threads.set(2)
        defer { Threads.set(saved) }
        let parallel = DataParallel(layout: lm.layout, ways: 2)
        func call() throws -> GradientSum {
            try parallel.lossAndGradient(lm, sharded, sources: .none(count: 4), targets: targets, training: false,
                                         labelSmoothing: 0, backward: true, rng: &r2).1!
        }
        let g = try call()
        XCTAssertEqual(g.parts.count, 2)
        XCTAssertGreaterThan(maxAbsDiff(sharded.grads.array, whole.grads.array), 1e-4)  // one shard's part only
        g.materialize()
        XCTAssertLessThan(maxAbsDiff(sharded.grads.array, whole.grads.array), 1e-6)
        _ = try call()   // dropped
        _ = try parallel.loss(lm, sharded, sources: .none(count: 4), targets: targets, training: false,
                              labelSmoothing: 0, backward: true, rng: &r2)
        XCTAssertLessThan(maxAbsDiff(sharded.grads.array, whole.grads.array), 1e-6)
    }

    /// Adam consuming the parts leaves the store's gradient zero and the next call skips zeroing
    /// it: training so gives, to the bit, the weights of summing first (`loss`) and stepping,
    /// also when a step in between materializes the sum instead (the store then holds a
    /// gradient, which the next call must zero).
    func testAdamZeroingTheStoreGivesTheSameTraining() throws {
        let (lm, plain, fused) = try twinLanguageModelStores()
        let batches = [[[4, 5, 6], [3], [7, 7, 4, 5], [6, 6]], [[5], [6, 7, 3], [4, 4]], [[3, 3, 3, 3], [7, 6]],
                       [[6, 5, 4], [3, 7]]]
        let saved = Threads.count
        Threads.set(2)
        defer { Threads.set(saved) }
        let pp = DataParallel(layout: lm.layout, ways: 2), pf = DataParallel(layout: lm.layout, ways: 2)
        var adamP = Adam(learningRate: 0.01), adamF = adamP
        var rP = RNG(seed: 4), rF = RNG(seed: 4)
        for (k, targets) in batches.enumerated() {
            _ = try pp.loss(lm, plain, sources: .none(count: targets.count), targets: targets, training: true,
                            labelSmoothing: 0, backward: true, rng: &rP)
            adamP.step(plain)
            let g = try pf.lossAndGradient(lm, fused, sources: .none(count: targets.count), targets: targets,
                                           training: true, labelSmoothing: 0, backward: true, rng: &rF).1!
            if k == 2 {
                g.materialize()
                adamF.step(fused)
                XCTAssertFalse(g.token.storeZeroed)
            } else {
                adamF.step(fused, gradient: g)
                XCTAssertTrue(g.token.storeZeroed, "batch \(k)")
                XCTAssertEqual(fused.grads.array.map { abs($0) }.max(), 0, "batch \(k)")
            }
            XCTAssertEqual(plain.values.array.map(\.bitPattern), fused.values.array.map(\.bitPattern), "batch \(k)")
        }
    }
}
