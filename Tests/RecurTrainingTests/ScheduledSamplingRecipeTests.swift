import Foundation
import RecurCore
import RecurModels
@testable import RecurTraining
import XCTest

/// `training.scheduled_sampling` and `training.scheduled_sampling_ramp`: parsing, defaults,
/// validation and the rate the trainer uses per step.
final class ScheduledSamplingRecipeTests: XCTestCase {
    private func parse(_ text: String, overrides: [String] = []) throws -> Recipe {
        try Recipe.parse(text, file: "recipes/x.yaml", overrides: overrides)
    }

    private func error(_ body: () throws -> Recipe) -> String {
        do {
            _ = try body()
            XCTFail("expected an error")
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testParsesAndRampsTheRate() throws {
        let defaults = try parse("task: translate\n")
        XCTAssertEqual(defaults.training.scheduledSampling, 0)
        XCTAssertEqual(defaults.training.scheduledSamplingRamp, 0)
        XCTAssertEqual(TrainingOptions(recipe: defaults).scheduledSamplingRate(step: 100), 0)

        let r = try parse("task: translate\ntraining:\n  scheduled_sampling: 0.25\n  scheduled_sampling_ramp: 4000\n")
        XCTAssertEqual(r.training.scheduledSampling, 0.25)
        XCTAssertEqual(r.training.scheduledSamplingRamp, 4000)
        XCTAssertEqual(r.provenance["training.scheduled_sampling"], .recipe)
        XCTAssertNotEqual(r.trainingHash, defaults.trainingHash)
        let o = TrainingOptions(recipe: r)
        XCTAssertEqual(o.scheduledSamplingRate(step: 0), 0)
        XCTAssertEqual(o.scheduledSamplingRate(step: 2000), 0.125, accuracy: 1e-7)
        XCTAssertEqual(o.scheduledSamplingRate(step: 4000), 0.25)
        XCTAssertEqual(o.scheduledSamplingRate(step: 90000), 0.25)

        let noRamp = TrainingOptions(recipe: try parse("task: caption\n", overrides: ["training.scheduled_sampling=0.1"]))
        XCTAssertEqual(noRamp.scheduledSamplingRate(step: 0), 0.1, accuracy: 1e-7)

        // Round trip through the written recipe.
        let back = try parse(try r.encodeYAML())
        XCTAssertEqual(back.training.scheduledSampling, 0.25)
        XCTAssertEqual(back.training.scheduledSamplingRamp, 4000)
    }

    func testRefusesBadValuesAndTasksWithoutADecoder() {
        let high = error { try parse("task: translate\ntraining: {scheduled_sampling: 1.0}\n") }
        XCTAssertTrue(high.contains("training.scheduled_sampling must be in [0, 1)"), high)
        let negative = error { try parse("task: transcribe\ntraining: {scheduled_sampling: -0.5}\n") }
        XCTAssertTrue(negative.contains("training.scheduled_sampling must be in [0, 1)"), negative)
        let ramp = error { try parse("task: translate\ntraining: {scheduled_sampling_ramp: -1}\n") }
        XCTAssertTrue(ramp.contains("training.scheduled_sampling_ramp must be ≥ 0"), ramp)
        for task in ["generate", "classify"] {
            let m = error { try parse("task: \(task)\ntraining: {scheduled_sampling: 0.2}\n") }
            XCTAssertTrue(m.contains("training.scheduled_sampling") && m.contains("encoder-decoder") && m.contains(task), m)
        }
        XCTAssertNoThrow(try parse("task: generate\ntraining: {scheduled_sampling: 0}\n"))
    }
}

/// A copy task for the trainer: the target is the source (ids 4..<10).
private struct SampledCopyData: TrainingData {
    let pairs: [[Int]]
    /// A language model's batches: no sources.
    var noSources = false

    init(count: Int, seed: UInt64) {
        var rng = RNG(seed: seed)
        pairs = (0..<count).map { _ in (0..<(2 + rng.int(below: 3))).map { _ in 4 + rng.int(below: 6) } }
    }

    var count: Int { pairs.count }
    func lengths(_ i: Int) -> Lengths { Lengths(source: pairs[i].count, target: pairs[i].count + 1) }
    func batch(_ indices: [Int], rng: inout RNG) throws -> (sources: SourceBatch, targets: [[Int]]) {
        (noSources ? .none(count: indices.count) : .tokens(indices.map { pairs[$0] }), indices.map { pairs[$0] })
    }
}

/// Passes every call to a Seq2Seq and records the scheduled-sampling rate it was given.
private final class RateRecorder: SequenceModel, @unchecked Sendable {
    let inner: Seq2Seq
    private let lock = NSLock()
    private(set) var rates: [Float] = []

    init(_ inner: Seq2Seq) { self.inner = inner }
    var layout: ParameterLayout { inner.layout }
    func initialize(_ store: ParameterStore, rng: inout RNG) { inner.initialize(store, rng: &rng) }
    func loss(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool, labelSmoothing: Float,
              backward: Bool, rng: inout RNG) throws -> ModelLoss {
        try loss(store, sources: sources, targets: targets, training: training, labelSmoothing: labelSmoothing,
                 scheduledSampling: 0, backward: backward, rng: &rng)
    }
    func loss(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool, labelSmoothing: Float,
              scheduledSampling: Float, backward: Bool, rng: inout RNG) throws -> ModelLoss {
        if training { lock.withLock { rates.append(scheduledSampling) } }
        return try inner.loss(store, sources: sources, targets: targets, training: training, labelSmoothing: labelSmoothing,
                              scheduledSampling: scheduledSampling, backward: backward, rng: &rng)
    }
}

final class ScheduledSamplingTrainerTests: XCTestCase {
    /// The trainer gives the model (through DataParallel's shards) the ramped rate of each step,
    /// and a model without scheduled sampling refuses a rate.
    func testTrainerPassesTheRampedRate() throws {
        let model = RateRecorder(try Seq2Seq(config: Seq2SeqConfig(
            sourceVocabularySize: 10, targetVocabularySize: 10, embeddingSize: 8, hiddenSize: 8, cell: .gru, dropout: 0.1)))
        let store = ParameterStore(model.layout)
        var rng = RNG(seed: 11)
        model.initialize(store, rng: &rng)
        var o = TrainingOptions(seed: 5)
        o.batching.tokenBudget = 30
        o.batching.maxSentences = 6
        o.maxSteps = 6
        o.maxEpochs = nil
        o.validateEvery = 1000
        o.checkpointEvery = 1000
        o.progress = .plain
        o.scheduledSampling = 0.3
        o.scheduledSamplingRamp = 4
        let trainer = try Trainer(model: model, store: store, options: o, data: SampledCopyData(count: 24, seed: 7),
                                  validate: { _ in ValidationResult(loss: 1, tokens: 1) }, save: { _, _ in }, log: { _ in })
        _ = try trainer.run()
        let expected: [Float] = [0, 0.075, 0.15, 0.225, 0.3]
        let seen = Array(Set(model.rates)).sorted()
        XCTAssertEqual(seen.count, expected.count, "\(seen)")
        for (a, b) in zip(seen, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertGreaterThanOrEqual(model.rates.count, 6)

        let lm = try LanguageModel(config: LanguageModelConfig(vocabularySize: 10, embeddingSize: 4, hiddenSize: 6))
        let lmStore = ParameterStore(lm.layout)
        lm.initialize(lmStore, rng: &rng)
        var lmData = SampledCopyData(count: 24, seed: 7)
        lmData.noSources = true
        o.maxSteps = 1
        let lmTrainer = try Trainer(model: lm, store: lmStore, options: o, data: lmData,
                                    validate: { _ in ValidationResult(loss: 1, tokens: 1) }, save: { _, _ in }, log: { _ in })
        XCTAssertNoThrow(try lmTrainer.run(), "step 0 of a ramp has rate 0")
        o.scheduledSamplingRamp = 0
        let lmTrainerFull = try Trainer(model: lm, store: lmStore, options: o, data: lmData,
                                        validate: { _ in ValidationResult(loss: 1, tokens: 1) }, save: { _, _ in }, log: { _ in })
        XCTAssertThrowsError(try lmTrainerFull.run()) { e in
            XCTAssertTrue("\(e)".contains("scheduled sampling"), "\(e)")
        }
    }
}
