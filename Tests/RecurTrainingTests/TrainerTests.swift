import Foundation
import RecurCore
import RecurFrontends
import RecurLayers
import RecurModels
@testable import RecurTraining
import XCTest

/// A toy copy task: the target is the source (ids 4..<10).
private struct CopyData: TrainingData {
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

/// Wraps a model and breaks it on chosen calls: a NaN loss, or an infinite gradient.
private final class Faulty: SequenceModel {
    let inner: Seq2Seq
    var calls = 0
    var nanLossAt: Set<Int> = []
    var infiniteGradientFrom = Int.max
    /// Reported as the negative log-likelihood per token (the loss stays the model's).
    var nllPerToken: Double?

    init(_ inner: Seq2Seq) { self.inner = inner }
    var layout: ParameterLayout { inner.layout }
    func initialize(_ store: ParameterStore, rng: inout RNG) { inner.initialize(store, rng: &rng) }
    func loss(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool, labelSmoothing: Float,
              backward: Bool, rng: inout RNG) throws -> ModelLoss {
        let l = try inner.loss(store, sources: sources, targets: targets, training: training, labelSmoothing: labelSmoothing,
                               backward: backward, rng: &rng)
        guard training else { return l }
        calls += 1
        if nanLossAt.contains(calls) { return ModelLoss(loss: .nan, tokens: l.tokens, negativeLogLikelihood: .nan) }
        if calls >= infiniteGradientFrom { store.grads.data[0] = .infinity }
        if let n = nllPerToken { return ModelLoss(loss: l.loss, tokens: l.tokens, negativeLogLikelihood: n * Double(l.tokens)) }
        return l
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

final class TrainerTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func makeModel(dropout: Float = 0.3) throws -> Seq2Seq {
        try Seq2Seq(config: Seq2SeqConfig(sourceVocabularySize: 10, targetVocabularySize: 10, embeddingSize: 8, hiddenSize: 8,
                                          bidirectionalEncoder: true, cell: .gru, dropout: dropout))
    }

    private func makeStore(_ model: any SequenceModel, seed: UInt64 = 11) -> ParameterStore {
        let store = ParameterStore(model.layout)
        var rng = RNG(seed: seed)
        model.initialize(store, rng: &rng)
        return store
    }

    private func options(maxSteps: Int?, _ edit: (inout TrainingOptions) -> Void = { _ in }) -> TrainingOptions {
        var o = TrainingOptions(seed: 5)
        o.optimizer.lr = 0.02
        o.batching.tokenBudget = 30
        o.batching.maxSentences = 6
        o.maxSteps = maxSteps
        o.maxEpochs = nil
        o.validateEvery = 1000
        o.checkpointEvery = 1000
        o.logEvery = 5
        o.patience = 0
        o.labelSmoothing = 0.1
        o.progress = .plain
        edit(&o)
        return o
    }

    /// Mean validation loss per token over the whole data (no dropout).
    private func validationLoss(_ model: any SequenceModel, _ data: CopyData, _ store: ParameterStore) throws -> ValidationResult {
        var rng = RNG(seed: 0)
        let l = try model.loss(store, sources: .tokens(data.pairs), targets: data.pairs, training: false, labelSmoothing: 0,
                               backward: false, rng: &rng)
        return ValidationResult(loss: Double(l.loss), tokens: l.tokens)
    }

    private func bits(_ t: Tensor) -> [UInt32] { (0..<t.count).map { t.data[$0].bitPattern } }

    private func assertSameBits(_ a: Tensor, _ b: Tensor, _ what: String, line: UInt = #line) {
        let x = bits(a), y = bits(b)
        let differing = zip(x, y).filter { $0 != $1 }.count
        XCTAssertTrue(x.count == y.count && differing == 0, "\(what): \(differing) of \(x.count) floats differ", line: line)
    }

    func testLossFallsAndFilesAreWritten() throws {
        let model = try makeModel()
        let data = CopyData(count: 24, seed: 1)
        let store = makeStore(model)
        let before = try validationLoss(model, data, store).loss
        let run = RunDirectory(dir.appendingPathComponent("run").path)
        var saved: [CheckpointKind] = []
        var lines: [String] = []
        let o = options(maxSteps: 60) {
            $0.checkpointEvery = 10
            $0.keepLast = 2
            $0.validateEvery = 20
            $0.runDirectory = run
        }
        let trainer = try Trainer(model: model, store: store, options: o, data: data,
                                  validate: { try self.validationLoss(model, data, $0) },
                                  save: { kind, state in
                                      saved.append(kind)
                                      try AtomicFile.write(try state.jsonString(), to: run.path(for: kind))
                                  },
                                  log: { lines.append($0) })
        let summary = try trainer.run()
        let after = try validationLoss(model, data, store).loss
        XCTAssertLessThan(after, 0.8 * before, "validation loss \(before) → \(after)")
        XCTAssertEqual(summary.stopReason, .maxSteps)
        XCTAssertEqual(summary.steps, 60)
        XCTAssertEqual(trainer.state.validations.map(\.step), [20, 40, 60])
        XCTAssertEqual(trainer.state.trainCurve.count, 12)
        XCTAssertTrue(lines.contains { $0.hasPrefix("step 5  epoch ") && $0.contains("tok/s") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("step 20: validation loss") }, "\(lines)")

        // Periodic checkpoints every 10 steps, the last two kept; best and final apart.
        XCTAssertEqual(saved.filter { if case .periodic = $0 { return true } else { return false } }.count, 6)
        XCTAssertEqual(saved.last, .final)
        XCTAssertTrue(saved.contains(.best))
        XCTAssertEqual(run.checkpoints().map(\.step), [50, 60])
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.bestPath))
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.finalPath))
        let finalState = try TrainingState(jsonString: try String(contentsOfFile: run.finalPath, encoding: .utf8))
        XCTAssertEqual(finalState, trainer.state)

        // log.jsonl: one object a line, train and validation events.
        let log = try String(contentsOfFile: run.logPath, encoding: .utf8).split(separator: "\n")
        let events = try log.map { try JSONValue.parse(String($0)).objectValue?["event"]?.stringValue ?? "?" }
        XCTAssertEqual(events.filter { $0 == "train" }.count, 12)
        XCTAssertEqual(events.filter { $0 == "valid" }.count, 3)
        XCTAssertEqual(events.last, "end")

        // loss.png: a valid PNG of the plot's size.
        let png = try PNGReader().readRGB8(path: run.lossPlotPath)
        XCTAssertEqual(png.width, 640)
        XCTAssertEqual(png.height, 400)
    }

    func testWeightAveragingFollowsItsFormulaAndIsWhatValidationAndCheckpointsSee() throws {
        let model = try makeModel(dropout: 0)
        let data = CopyData(count: 24, seed: 1)
        // The trained weights after each of 6 steps: runs of 0…6 steps from the same start (same batches).
        var trained: [[Float]] = []
        for k in 0...6 {
            let store = makeStore(model)
            let t = try Trainer(model: model, store: store, options: options(maxSteps: k), data: data,
                                validate: { try self.validationLoss(model, data, $0) }, save: { _, _ in }, log: { _ in })
            _ = try t.run()
            XCTAssertNil(t.averaged, "no averaging without training.ema")
            trained.append(Array(UnsafeBufferPointer(start: store.values.data, count: store.values.count)))
        }
        // avg_0 = w_0; avg_n = d_n·avg_{n-1} + (1 − d_n)·w_n, d_n = min(0.9, (1 + n)/(10 + n)).
        var expected = trained[0].map(Double.init)
        for n in 1...6 {
            let d = min(0.9, Double(1 + n) / Double(10 + n))
            expected = zip(expected, trained[n]).map { d * $0 + (1 - d) * Double($1) }
        }

        let store = makeStore(model)
        var validated: [Float] = [], savedValues: [Float] = [], savedTraining: [Float]? = nil
        var trainer: Trainer!
        trainer = try Trainer(model: model, store: store, options: options(maxSteps: 6) { $0.ema = 0.9 }, data: data,
                              validate: { s in
                                  validated = Array(UnsafeBufferPointer(start: s.values.data, count: s.values.count))
                                  return try self.validationLoss(model, data, s)
                              },
                              save: { kind, _ in
                                  guard kind == .final else { return }
                                  savedValues = Array(UnsafeBufferPointer(start: store.values.data, count: store.values.count))
                                  savedTraining = trainer.trainingWeights.map { Array(UnsafeBufferPointer(start: $0.data, count: $0.count)) }
                              }, log: { _ in })
        _ = try trainer.run()
        let avg = try XCTUnwrap(trainer.averaged)
        let got = Array(UnsafeBufferPointer(start: avg.data, count: avg.count))
        let worst = zip(got, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 1e-6, "averaged weights differ from the formula by up to \(worst)")
        // The trained weights are those of a run without averaging, and away from the average.
        XCTAssertEqual(Array(UnsafeBufferPointer(start: store.values.data, count: store.values.count)), trained[6])
        XCTAssertGreaterThan(zip(trained[6], got).map { abs($0 - $1) }.max() ?? 0, 1e-4)
        // Validation and the saved model see the average; the save also gets the trained weights.
        XCTAssertEqual(validated, got)
        XCTAssertEqual(savedValues, got)
        XCTAssertEqual(savedTraining, trained[6])
        XCTAssertNil(trainer.trainingWeights, "outside a save call")
    }

    func testStopsAfterMaxEpochs() throws {
        let model = try makeModel(dropout: 0)
        let data = CopyData(count: 12, seed: 2)
        let store = makeStore(model)
        let trainer = try Trainer(model: model, store: store, options: options(maxSteps: nil) { $0.maxEpochs = 2 }, data: data,
                                  validate: { try self.validationLoss(model, data, $0) }, save: { _, _ in }, log: { _ in })
        let perEpoch = try BatchStream(BucketBatcher(lengths: (0..<12).map(data.lengths), options: trainer.options.batching)).batchesInEpoch
        let summary = try trainer.run()
        XCTAssertEqual(summary.stopReason, .maxEpochs)
        XCTAssertEqual(summary.steps, 2 * perEpoch)
        XCTAssertEqual(trainer.state.epoch, 2)

        // A wall-clock limit (the clock moves one second per reading).
        var now = 0.0
        let timed = try Trainer(model: model, store: store, options: options(maxSteps: 1000) { $0.maxMinutes = 0.1 }, data: data,
                                validate: { try self.validationLoss(model, data, $0) }, save: { _, _ in }, log: { _ in },
                                clock: { now += 1; return now })
        let s = try timed.run()
        XCTAssertEqual(s.stopReason, .maxMinutes)
        XCTAssertGreaterThanOrEqual(s.elapsedSeconds, 6)
        XCTAssertLessThan(s.steps, 10)
    }

    /// 2N steps straight equal N steps, a save (store copy, state through
    /// JSON), a fresh trainer resumed, and N more: bit for bit, with dropout,
    /// warmup and a plateau schedule that validations feed.
    func testResumeIsBitIdentical() throws {
        let data = CopyData(count: 20, seed: 3)
        let n = 6
        func opts(_ maxSteps: Int) -> TrainingOptions {
            options(maxSteps: maxSteps) {
                $0.validateEvery = 4
                $0.checkpointEvery = 4
                $0.schedule.name = .plateau
                $0.schedule.plateauPatience = 0
                $0.schedule.warmup = 3
            }
        }
        var scriptedLoss = 10.0
        let validate: (ParameterStore) throws -> ValidationResult = { _ in
            // A figure that alternates so the plateau schedule lowers the rate.
            scriptedLoss = scriptedLoss == 10 ? 11 : 10
            return ValidationResult(loss: scriptedLoss, tokens: 1)
        }

        // Straight: 2N steps; keep what the periodic checkpoint at step 4 saved.
        let modelA = try makeModel()
        let storeA = makeStore(modelA)
        var atFour: (ParameterStore, String)?
        let a = try Trainer(model: modelA, store: storeA, options: opts(2 * n), data: data, validate: validate,
                            save: { kind, state in
                                if kind == .periodic(step: 4) {
                                    let copy = ParameterStore(storeA.layout)
                                    try copy.copy(from: storeA, includingOptimizerState: true)
                                    atFour = (copy, try state.jsonString())
                                }
                            }, log: { _ in })
        scriptedLoss = 11  // validations at steps 4, 8, 12 see 10, 11 (worse: the rate drops), 10
        _ = try a.run()
        XCTAssertLessThan(a.state.plateau!.learningRate, 0.02, "the plateau schedule took part")

        // Interrupted: N steps, saved, then a fresh trainer resumes for N more.
        func resumed(from saved: (ParameterStore, String)) throws -> (ParameterStore, TrainingState) {
            let model = try makeModel()
            let store = ParameterStore(model.layout)
            try store.copy(from: saved.0, includingOptimizerState: true)
            let t = try Trainer(model: model, store: store, options: opts(2 * n), data: data, validate: validate,
                                save: { _, _ in }, log: { _ in })
            try t.resume(from: try TrainingState(jsonString: saved.1))
            _ = try t.run()
            return (store, t.state)
        }
        let modelB = try makeModel()
        let storeB = makeStore(modelB)
        scriptedLoss = 11
        let b = try Trainer(model: modelB, store: storeB, options: opts(n), data: data, validate: validate,
                            save: { _, _ in }, log: { _ in })
        _ = try b.run()
        XCTAssertEqual(b.state.step, n)
        XCTAssertEqual(b.state.validations.last?.scheduled, false, "the end-of-run validation is off the grid")
        let savedB = ParameterStore(storeB.layout)
        try savedB.copy(from: storeB, includingOptimizerState: true)
        scriptedLoss = 10  // so the resumed run's validation at step 8 sees 11, as the straight run's did
        let (storeC, stateC) = try resumed(from: (savedB, try b.state.jsonString()))
        XCTAssertEqual(stateC.step, 2 * n)
        assertSameBits(storeC.values, storeA.values, "values")
        assertSameBits(storeC.moment1, storeA.moment1, "moment1")
        assertSameBits(storeC.moment2, storeA.moment2, "moment2")
        XCTAssertEqual(stateC.rng, a.state.rng)
        XCTAssertEqual(stateC.cursor, a.state.cursor)
        XCTAssertEqual(stateC.plateau, a.state.plateau)

        // From the periodic checkpoint at step 4.
        scriptedLoss = 10
        let (storeD, stateD) = try resumed(from: try XCTUnwrap(atFour))
        XCTAssertEqual(stateD.step, 2 * n)
        assertSameBits(storeD.values, storeA.values, "values from step 4")
        assertSameBits(storeD.moment2, storeA.moment2, "moment2 from step 4")

        // And training did change the weights (the comparison is not vacuous).
        let fresh = makeStore(try makeModel())
        XCTAssertTrue(bits(fresh.values) != bits(storeA.values))
    }

    func testDivergenceGuardRollsBackAndHalvesTheRate() throws {
        // One thread: the faulty model counts its calls, one per step (two threads would cut each batch in two).
        let threads = Threads.count
        Threads.set(1)
        defer { Threads.set(threads) }
        let data = CopyData(count: 20, seed: 4)
        let model = Faulty(try makeModel())
        model.nanLossAt = [8]
        let store = makeStore(model)
        var lines: [String] = []
        let t = try Trainer(model: model, store: store, options: options(maxSteps: 12) { $0.checkpointEvery = 5 }, data: data,
                            validate: { try self.validationLoss(model, data, $0) }, save: { _, _ in }, log: { lines.append($0) })
        let summary = try t.run()
        XCTAssertEqual(summary.steps, 12)
        XCTAssertEqual(summary.rollbacks, 1)
        XCTAssertEqual(t.state.lrScale, 0.5)
        XCTAssertEqual(t.state.learningRate, 0.01, accuracy: 1e-9)
        XCTAssertEqual(model.calls, 12 + 1 + 2, "steps 6 and 7 were trained again after the rollback to step 5")
        let line = try XCTUnwrap(lines.first { $0.contains("rolled back") }, "\(lines)")
        XCTAssertTrue(line.hasPrefix("step 8: the loss is nan; rolled back to step 5, learning rate halved"), line)
        XCTAssertTrue((0..<store.values.count).allSatisfy { store.values.data[$0].isFinite })

        // A model that keeps failing: the guard gives up with a clear error after 5 rollbacks.
        let broken = Faulty(try makeModel())
        broken.infiniteGradientFrom = 3
        let storeB = makeStore(broken)
        var brokenLines: [String] = []
        let tb = try Trainer(model: broken, store: storeB, options: options(maxSteps: 50), data: data,
                             validate: { try self.validationLoss(broken, data, $0) }, save: { _, _ in },
                             log: { brokenLines.append($0) })
        XCTAssertThrowsError(try tb.run()) { e in
            XCTAssertTrue("\(e)".contains("training diverged: the gradient norm is inf"), "\(e)")
            XCTAssertTrue("\(e)".contains("after 5 rollbacks"), "\(e)")
        }
        XCTAssertEqual(brokenLines.filter { $0.contains("rolled back to step 0") }.count, 5)
    }

    func testEarlyStoppingAndBestTracking() throws {
        let data = CopyData(count: 12, seed: 5)
        let model = try makeModel(dropout: 0)
        let store = makeStore(model)
        let figures = [20.0, 25.0, 24.0, 23.0, 30.0, 31.0, 32.0]  // BLEU-like: higher is better
        var i = 0
        var saved: [(CheckpointKind, Int)] = []
        let t = try Trainer(model: model, store: store,
                            options: options(maxSteps: 100) { $0.validateEvery = 2; $0.patience = 2 }, data: data,
                            validate: { _ in
                                defer { i += 1 }
                                return ValidationResult(loss: 1, tokens: 1, metricName: "bleu", metric: figures[i], higherIsBetter: true)
                            },
                            save: { kind, state in saved.append((kind, state.step)) }, log: { _ in })
        let summary = try t.run()
        XCTAssertEqual(summary.stopReason, .earlyStopping)
        XCTAssertEqual(summary.steps, 8, "25 at step 4 is best; 24 and 23 make two without improvement")
        XCTAssertEqual(summary.bestMetric, 25)
        XCTAssertEqual(summary.bestStep, 4)
        XCTAssertEqual(summary.metricName, "bleu")
        XCTAssertEqual(saved.filter { $0.0 == .best }.map(\.1), [2, 4])
        XCTAssertEqual(saved.last?.0, .final)
        XCTAssertEqual(t.state.validations.count, 4, "no extra validation at the end: step 8 was validated")
    }

    func testProgressLineOnATerminalAndInterruption() throws {
        let data = CopyData(count: 12, seed: 6)
        let model = try makeModel(dropout: 0)
        let store = makeStore(model)
        var now = 0.0
        var drawn: [String] = []
        var lines: [String] = []
        var flag: TrainingInterruption?
        let t = try Trainer(model: model, store: store,
                            options: options(maxSteps: 40) { $0.progress = .line; $0.checkpointEvery = 3 }, data: data,
                            validate: { try self.validationLoss(model, data, $0) },
                            save: { kind, _ in if kind == .periodic(step: 6) { flag?.request() } },
                            log: { lines.append($0) }, progress: { drawn.append($0) },
                            clock: { now += 0.125; return now })
        flag = t.interruption
        let summary = try t.run()
        XCTAssertEqual(summary.stopReason, .interrupted)
        XCTAssertEqual(summary.steps, 7, "the step after the request finishes, then the run ends")
        XCTAssertEqual(t.state.validations.map(\.step), [7])
        let line = try XCTUnwrap(drawn.first { $0.hasPrefix("\rstep ") }, "\(drawn)")
        XCTAssertTrue(line.contains(" | loss ") && line.contains("tok/s") && line.contains(" | ETA "), line)
        XCTAssertEqual(drawn.last, "\r\u{1B}[K", "the line is erased at the end")
        XCTAssertFalse(lines.contains { $0.hasPrefix("step 5  epoch") }, "no plain log lines on a terminal")
        XCTAssertTrue(lines.contains { $0.hasPrefix("step 7: validation loss") }, "\(lines)")
        XCTAssertTrue(lines.last?.contains("(interrupted)") ?? false, "\(lines)")
    }

    func testLogsTheUnsmoothedLoss() throws {
        let data = CopyData(count: 12, seed: 7)
        let model = Faulty(try makeModel())
        model.nllPerToken = 1.5
        let store = makeStore(model)
        let t = try Trainer(model: model, store: store, options: options(maxSteps: 10) { $0.labelSmoothing = 0.2 }, data: data,
                            validate: { _ in ValidationResult(loss: 1, tokens: 1) }, save: { _, _ in }, log: { _ in })
        _ = try t.run()
        XCTAssertEqual(t.state.trainCurve.map(\.step), [5, 10])
        for p in t.state.trainCurve { XCTAssertEqual(p.loss, 1.5, accuracy: 1e-12) }
    }

    func testCtrlCRequestsAStop() throws {
        let flag = TrainingInterruption()
        let said = TrainingInterruption()  // set by the log line, to see it was written
        flag.handleInterrupts { line in if line.hasPrefix("interrupt: stopping") { said.request() } }
        defer { flag.stopHandlingInterrupts() }
        XCTAssertFalse(flag.isRequested)
        raise(SIGINT)
        let deadline = Date().addingTimeInterval(5)
        while !(flag.isRequested && said.isRequested) && Date() < deadline { usleep(1000) }
        XCTAssertTrue(flag.isRequested)
        XCTAssertTrue(said.isRequested)
    }

    func testRunDirectoryRotation() throws {
        let run = RunDirectory(dir.path)
        XCTAssertNil(run.latestCheckpoint())
        for name in ["checkpoint-5.safetensors", "checkpoint-100.safetensors", "checkpoint-20.safetensors",
                     "checkpoint-10.safetensors", "best.safetensors", "model.safetensors", "checkpoint-x.safetensors"] {
            try "x".write(toFile: dir.appendingPathComponent(name).path, atomically: false, encoding: .utf8)
        }
        XCTAssertEqual(run.checkpoints().map(\.step), [5, 10, 20, 100])
        XCTAssertEqual(run.latestCheckpoint(), run.checkpointPath(step: 100))
        let deleted = try run.rotate(keepLast: 2)
        XCTAssertEqual(deleted.count, 2)
        XCTAssertEqual(run.checkpoints().map(\.step), [20, 100])
        for kept in ["best.safetensors", "model.safetensors", "checkpoint-x.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(kept).path), kept)
        }
        XCTAssertEqual(run.path(for: .periodic(step: 7)), dir.appendingPathComponent("checkpoint-7.safetensors").path)
    }

    func testLossPlotIsAPNGWithCurvesAndLabels() throws {
        var state = TrainingState(seed: 1)
        state.trainCurve = (1...50).map { LossPoint(step: $0 * 10, loss: 5 / Double($0) + 0.5) }
        state.validations = [ValidationRecord(step: 250, epoch: 1, loss: 1.2, metricName: "loss", metric: nil, signature: nil, scheduled: true),
                             ValidationRecord(step: 500, epoch: 2, loss: 0.9, metricName: "loss", metric: nil, signature: nil, scheduled: true)]
        let path = dir.appendingPathComponent("loss.png").path
        try LossPlot.write(state, to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)).prefix(8))
        XCTAssertEqual(bytes, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let image = try PNGReader().readRGB8(path: path)
        var blue = 0, orange = 0, dark = 0
        for p in stride(from: 0, to: image.pixels.count, by: 3) {
            let (r, g, b) = (image.pixels[p], image.pixels[p + 1], image.pixels[p + 2])
            if (r, g, b) == (31, 119, 180) { blue += 1 }
            if (r, g, b) == (230, 110, 20) { orange += 1 }
            if (r, g, b) == (40, 40, 40) { dark += 1 }
        }
        XCTAssertGreaterThan(blue, 500)
        XCTAssertGreaterThan(orange, 50)
        XCTAssertGreaterThan(dark, 1000, "axes and tick labels")
        XCTAssertEqual(LossPlot.ticks(0, 500), [0, 100, 200, 300, 400, 500])
        XCTAssertEqual(LossPlot.tickLabel(20_000, integer: true), "20K")
        XCTAssertEqual(LossPlot.tickLabel(1.25, integer: false), "1.25")
        // Nothing finite to draw still gives a picture.
        XCTAssertEqual(LossPlot.render(train: [(1, .nan)], valid: [], width: 100, height: 80).count, 100 * 80 * 3)
    }

    func testStateJSONKeepsNonFiniteNumbers() throws {
        var s = TrainingState(seed: 9, recipeHash: "abc")
        s.bestMetric = .infinity
        s.plateau = try ReduceLROnPlateau(learningRate: 0.1)
        s.validations = [ValidationRecord(step: 1, epoch: 0.5, loss: .nan, metricName: "bleu", metric: 3, signature: "sig", scheduled: true)]
        let text = try s.jsonString()
        XCTAssertNoThrow(try JSONValue.parse(text), "strict JSON, as the model file checks it")
        let back = try TrainingState(jsonString: text)
        XCTAssertEqual(back.bestMetric, .infinity)
        XCTAssertTrue(back.validations[0].loss.isNaN)
        XCTAssertEqual(back.plateau, s.plateau)
        XCTAssertEqual(back.rng, s.rng)
        XCTAssertThrowsError(try TrainingState(jsonString: "{}"))
    }

    /// The trainer gives the model (through DataParallel's shards) the ramped scheduled-sampling
    /// rate of each step, and a model without scheduled sampling refuses a rate.
    func testTrainerPassesTheRampedSamplingRate() throws {
        let model = RateRecorder(try makeModel(dropout: 0.1))
        let store = makeStore(model)
        var o = options(maxSteps: 6) {
            $0.scheduledSampling = 0.3
            $0.scheduledSamplingRamp = 4
        }
        let trainer = try Trainer(model: model, store: store, options: o, data: CopyData(count: 24, seed: 7),
                                  validate: { _ in ValidationResult(loss: 1, tokens: 1) }, save: { _, _ in }, log: { _ in })
        _ = try trainer.run()
        let expected: [Float] = [0, 0.075, 0.15, 0.225, 0.3]
        let seen = Array(Set(model.rates)).sorted()
        XCTAssertEqual(seen.count, expected.count, "\(seen)")
        for (a, b) in zip(seen, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertGreaterThanOrEqual(model.rates.count, 6)

        let lm = try LanguageModel(config: LanguageModelConfig(vocabularySize: 10, embeddingSize: 4, hiddenSize: 6))
        let lmStore = makeStore(lm)
        var lmData = CopyData(count: 24, seed: 7)
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
