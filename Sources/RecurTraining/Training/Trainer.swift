// The generic training loop: any SequenceModel, any TrainingData.
//
// One step:
//   batch ← BatchStream (BucketBatcher from the seed and the epoch, the cursor
//           saved in the state); sources and targets from the data, which may
//           draw augmentation from the training RNG
//   gradients ← model.loss(training: true, backward: true, rng: training RNG),
//           the batch cut into one shard per thread (DataParallel), left as
//           the shards' parts and summed where read (GradientSum)
//   divergence guard: a non-finite loss or gradient norm rolls back (below)
//   clip the global gradient norm → learning rate from the schedule → optimizer step
// then, as due: a log line (and a JSON line), validation (every
// `validate_every` steps, or per epoch; and once at the end), a best
// checkpoint when the figure improves, a periodic checkpoint (and rotation),
// the stopping rules (max_steps, max_epochs, max_minutes, early stopping).
//
// Resume is bit-identical: every random draw comes from the one training RNG
// in the state (in a fixed order: augmentation of the batch, then the model's
// dropout), the batch order from (seed, epoch, cursor), the learning rate
// from (step, plateau state, lrScale) and the optimizer from its step count
// plus the moments the caller restores with the weights. Only a stop on
// `max_minutes` depends on the clock.
//
// Weight averaging (`ema` > 0, Marian's exponential smoothing): after every
// optimizer step avg ← d·avg + (1 − d)·weights, d = min(ema, (1 + n)/(10 + n))
// with n the optimizer steps so far (the average follows the weights closely
// at first). Validation and every checkpoint see the average (the store's
// values are swapped with it for the call); `trainingWeights` then holds the
// weights being trained, which checkpoints keep for `--resume`.
//
// Divergence guard: the trainer keeps an in-memory copy of the values and
// optimizer moments (and the state) taken at the start and at every periodic
// checkpoint, i.e. what the last checkpoint file holds. A non-finite loss or
// gradient norm restores that copy, halves `lrScale` (every later rate is
// multiplied by it), logs one line and trains on from there; after
// `maxRollbacks` rollbacks it gives up with an error. The copy costs three
// more buffers of the parameter count (values, moment1, moment2; 12 bytes per
// parameter).
import Foundation
import RecurCore
import RecurLayers
import RecurModels

/// The examples a trainer draws batches from.
public protocol TrainingData {
    /// The number of training examples.
    var count: Int { get }
    /// The lengths of example `i` (for bucketing and the token budget).
    func lengths(_ i: Int) -> Lengths
    /// The batch of examples `indices`; `rng` for augmentation (drawn only when augmenting).
    func batch(_ indices: [Int], rng: inout RNG) throws -> (sources: SourceBatch, targets: [[Int]])
}

/// How progress is shown.
public enum ProgressStyle: String, Sendable, Codable {
    /// `line` when stderr is a terminal, `plain` otherwise.
    case auto
    /// One line on stderr rewritten in place (and log lines for events).
    case line
    /// A log line every `log_every` steps.
    case plain
}

/// A request to stop training early, safe to set from any thread (a SIGINT
/// handler): the trainer finishes the step in progress, validates, writes the
/// final checkpoint and returns with `StopReason.interrupted`.
public final class TrainingInterruption: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private var handling = false
    private var seenSignals: Int32 = 0
    private var log: (@Sendable (String) -> Void)?

    public init() {}

    /// Makes Ctrl-C (SIGINT) request a graceful stop: the first one requests
    /// it (and `log`s a line the next time the flag is read, from the
    /// trainer's thread); a second one exits at once (status 130).
    /// `stopHandlingInterrupts()` gives SIGINT its default action back.
    ///
    /// A plain `sigaction` handler that only counts (async-signal-safe):
    /// a dispatch signal source does not see SIGINT when the process was
    /// started with it ignored (a background job of a non-interactive shell).
    public func handleInterrupts(log: @escaping @Sendable (String) -> Void) {
        lock.lock(); defer { lock.unlock() }
        guard !handling else { return }
        handling = true
        self.log = log
        sigintCount.pointee = 0
        seenSignals = 0
        signal(SIGINT) { _ in
            sigintCount.pointee &+= 1
            if sigintCount.pointee >= 2 {
                _ = write(2, sigintQuitMessage, strlen(sigintQuitMessage))
                _exit(130)
            }
        }
    }

    /// Undoes `handleInterrupts`.
    public func stopHandlingInterrupts() {
        lock.lock(); defer { lock.unlock() }
        guard handling else { return }
        handling = false
        signal(SIGINT, SIG_DFL)
    }

    public func request() {
        lock.lock(); requested = true; lock.unlock()
    }

    public var isRequested: Bool {
        lock.lock()
        var line: String? = nil
        if handling && sigintCount.pointee > seenSignals {
            seenSignals = sigintCount.pointee
            if !requested {
                requested = true
                line = "interrupt: stopping after this step (validation and a final checkpoint follow); Ctrl-C again quits at once"
            }
        }
        let r = requested, log = self.log
        lock.unlock()
        if let line { log?(line) }
        return r
    }
}

/// SIGINTs seen since `handleInterrupts` (written by the signal handler only).
nonisolated(unsafe) private let sigintCount: UnsafeMutablePointer<Int32> = {
    let p = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    p.pointee = 0
    return p
}()
nonisolated(unsafe) private let sigintQuitMessage: UnsafeMutablePointer<CChar> =
    strdup("interrupted again: quitting without a final checkpoint\n")!

/// Everything the loop needs from a recipe.
public struct TrainingOptions: Sendable, Equatable {
    public var seed: UInt64
    public var optimizer: Recipe.OptimizerSection
    public var schedule: Recipe.ScheduleSection
    public var batching: BatchingOptions
    public var maxSteps: Int?
    public var maxEpochs: Int?
    public var maxMinutes: Double?
    /// Global gradient-norm clip (0: none).
    public var clip: Double
    public var labelSmoothing: Double
    /// Weight averaging's decay in [0, 1) (0: off); see the file comment.
    public var ema: Double
    /// Scheduled sampling's final rate, in [0, 1) (0: teacher forcing only); see `scheduledSamplingRate(step:)`.
    public var scheduledSampling: Double
    /// Steps over which the scheduled-sampling rate rises linearly from 0 to `scheduledSampling` (0: the full rate from the start).
    public var scheduledSamplingRamp: Int
    /// Steps between validations (0: at the end of each epoch).
    public var validateEvery: Int
    /// Steps between periodic checkpoints (0: at the end of each epoch).
    public var checkpointEvery: Int
    public var keepLast: Int
    /// Scheduled validations without improvement before stopping (0: never).
    public var patience: Int
    public var logEvery: Int
    /// Rollbacks before the divergence guard gives up.
    public var maxRollbacks = 5
    public var progress: ProgressStyle = .auto
    /// Where log.jsonl and loss.png go and old checkpoints are deleted (nil: nowhere).
    public var runDirectory: RunDirectory?
    /// `Recipe.trainingHash`, stored in the state.
    public var recipeHash = ""

    /// The options of `recipe` (run directory: its `output`).
    public init(recipe: Recipe) {
        let t = recipe.training
        seed = recipe.seed
        optimizer = recipe.optimizer
        schedule = recipe.schedule
        batching = BatchingOptions(tokenBudget: t.batchTokens, maxSentences: t.maxSentences, cost: t.batchCost,
                                   bucketWidth: t.bucketWidth, shuffle: true, seed: recipe.seed)
        maxSteps = t.maxSteps
        maxEpochs = t.maxEpochs
        maxMinutes = t.maxMinutes
        clip = t.clip
        labelSmoothing = t.labelSmoothing
        ema = t.ema
        scheduledSampling = t.scheduledSampling
        scheduledSamplingRamp = t.scheduledSamplingRamp
        validateEvery = t.validateEvery
        checkpointEvery = t.checkpointEvery
        keepLast = t.keepLast
        patience = t.patience
        logEvery = t.logEvery
        runDirectory = RunDirectory(recipe.output)
        recipeHash = recipe.trainingHash
    }

    /// Options with the defaults of `Recipe.defaultsYAML` and no run directory.
    public init(seed: UInt64 = 1) {
        // The built-in defaults always parse.
        let r = try! Recipe.parse("task: translate\n", file: "<defaults>")
        self.init(recipe: r)
        self.seed = seed
        batching.seed = seed
        runDirectory = nil
        recipeHash = ""
    }

    /// The schedule's factor as a function of the step (warmup included; not plateau, not lrScale).
    public var stepSchedule: LearningRateSchedule {
        let w = schedule.warmup
        let after: LearningRateSchedule
        switch schedule.name {
        case .constant, .plateau: after = .constant
        case .inverseSqrt: after = .inverseSquareRoot(warmupSteps: max(w, 1))
        case .step: after = .stepDecay(stepSize: max(schedule.decaySteps, 1), gamma: schedule.gamma)
        case .exponential:
            after = .exponentialDecay(gamma: Foundation.pow(schedule.gamma, 1 / Double(max(schedule.decaySteps, 1))))
        }
        return w > 0 ? .warmupThen(steps: w, startFactor: 1 / Double(w), then: after) : after
    }

    /// The rate of optimizer step `step` (0-based): the base rate (or the
    /// plateau schedule's), times the step schedule, not below `min_lr`
    /// (nor the base when that is smaller) once warmup is over, times the
    /// divergence guard's `lrScale`.
    public func learningRate(step: Int, plateauRate: Double?, lrScale: Double) -> Double {
        let base = plateauRate ?? optimizer.lr
        var rate = base * stepSchedule.factor(at: step)
        if step >= schedule.warmup { rate = max(rate, min(schedule.minLR, base)) }
        if plateauRate != nil { rate = max(rate, min(schedule.minLR, optimizer.lr)) }
        return rate * lrScale
    }

    /// The scheduled-sampling rate of optimizer step `step` (0-based):
    /// `scheduledSampling` · min(1, step / `scheduledSamplingRamp`), or the full rate without a ramp.
    public func scheduledSamplingRate(step: Int) -> Float {
        guard scheduledSampling > 0 else { return 0 }
        guard scheduledSamplingRamp > 0 else { return Float(scheduledSampling) }
        return Float(scheduledSampling * min(1, Double(max(step, 0)) / Double(scheduledSamplingRamp)))
    }

    /// A fresh optimizer as the recipe names it.
    public func makeOptimizer() throws -> any Optimizer {
        let o = optimizer
        switch o.name {
        case .adam:
            return Adam(learningRate: Float(o.lr), beta1: Float(o.beta1), beta2: Float(o.beta2), epsilon: Float(o.eps),
                        weightDecay: Float(o.weightDecay))
        case .adamw:
            return Adam.adamW(learningRate: Float(o.lr), beta1: Float(o.beta1), beta2: Float(o.beta2), epsilon: Float(o.eps),
                              weightDecay: Float(o.weightDecay))
        case .sgd:
            return try SGD(learningRate: Float(o.lr), momentum: Float(o.momentum), weightDecay: Float(o.weightDecay),
                           nesterov: o.nesterov)
        }
    }
}

/// Trains a model (see the file comment).
///
///     let trainer = try Trainer(model: model, store: store, options: TrainingOptions(recipe: recipe),
///                               data: train, validate: { store in ... }, save: { kind, state in ... })
///     if let saved { trainer.resume(from: saved) }   // weights and moments restored into `store` by the caller
///     let summary = try trainer.run()
public final class Trainer {
    public let model: any SequenceModel
    public let store: ParameterStore
    public let options: TrainingOptions
    public let data: any TrainingData
    /// The state now (after `run`, the final one).
    public private(set) var state: TrainingState
    /// Set it (from any thread) to stop after the current step.
    public let interruption = TrainingInterruption()

    private let validateBody: (ParameterStore) throws -> ValidationResult
    private let save: (CheckpointKind, TrainingState) throws -> Void
    private let log: (String) -> Void
    private let progressSink: (String) -> Void
    private let clock: () -> Double
    private var optimizer: any Optimizer
    /// Batches cut into one shard per thread (made when `run` starts, from `Threads.count`).
    private var parallel: DataParallel?
    private let batcher: BucketBatcher
    private var stream: BatchStream
    private let style: ProgressStyle
    private var snapshotStore: ParameterStore?
    private var snapshotState: TrainingState?
    private var snapshotAverage: Tensor?
    /// The averaged weights (`options.ema` > 0; made when `run` starts unless `resume` gave them).
    public private(set) var averaged: Tensor?
    /// Whether `store.values` holds the average now (and `averaged` the trained weights).
    private var swapped = false
    private var jsonl: FileHandle?
    private var lastValidation: ValidationResult?
    // Running figures for the log and the progress line.
    private var window = Window()
    private var display = Window()
    private var lastDraw = -Double.infinity
    private var progressShown = false
    private var sessionStart = 0.0
    private var sessionStartStep = 0
    private var sessionStartElapsed = 0.0

    /// Figures over a run of steps: the negative log-likelihood per target
    /// token (no label smoothing, so it compares with the validation loss)
    /// and the objective the optimizer saw (with smoothing).
    private struct Window {
        var nllSum = 0.0, objectiveSum = 0.0, tokens = 0, steps = 0, start = 0.0
        mutating func add(_ l: ModelLoss) {
            let t = Double(l.tokens)
            nllSum += l.negativeLogLikelihood.isFinite ? l.negativeLogLikelihood : Double(l.loss) * t
            objectiveSum += Double(l.loss) * t
            tokens += l.tokens
            steps += 1
        }
        var mean: Double { tokens > 0 ? nllSum / Double(tokens) : .nan }
        var objective: Double { tokens > 0 ? objectiveSum / Double(tokens) : .nan }
    }

    /// - Parameters:
    ///   - validate: computes the validation loss and metric on `store`'s weights (must not change them).
    ///   - save: writes a checkpoint of `kind` (weights, moments and the state's `jsonString()`),
    ///     at `options.runDirectory?.path(for: kind)` when there is one.
    ///   - log: receives each log line (no newline); stderr by default.
    ///   - progress: receives the raw text of the rewritten progress line (with `\r`); stderr by default.
    ///   - clock: seconds from any fixed origin (monotonic by default).
    public init(model: any SequenceModel, store: ParameterStore, options: TrainingOptions, data: any TrainingData,
                validate: @escaping (ParameterStore) throws -> ValidationResult,
                save: @escaping (CheckpointKind, TrainingState) throws -> Void,
                log: @escaping (String) -> Void = { Trainer.writeStderr($0 + "\n") },
                progress: @escaping (String) -> Void = { Trainer.writeStderr($0) },
                clock: @escaping () -> Double = Trainer.monotonicSeconds) throws {
        guard store.layout == model.layout else {
            throw RecurError(.shape, "the parameter store does not have the model's layout")
        }
        guard data.count > 0 else { throw RecurError(.value, "no training examples") }
        self.model = model
        self.store = store
        self.options = options
        self.data = data
        self.validateBody = validate
        self.save = save
        self.log = log
        self.progressSink = progress
        self.clock = clock
        optimizer = try options.makeOptimizer()
        batcher = try BucketBatcher(lengths: (0..<data.count).map(data.lengths), options: options.batching)
        stream = try BatchStream(batcher)
        state = TrainingState(seed: options.seed, recipeHash: options.recipeHash)
        if options.schedule.name == .plateau {
            state.plateau = try ReduceLROnPlateau(learningRate: options.optimizer.lr, factor: options.schedule.plateauFactor,
                                                  patience: options.schedule.plateauPatience, minLR: min(options.schedule.minLR, options.optimizer.lr))
        }
        switch options.progress {
        case .auto: style = isatty(2) != 0 ? .line : .plain
        default: style = options.progress
        }
    }

    /// The weights being trained while `store.values` holds their average:
    /// set only during a `save` call of a run with weight averaging (the
    /// checkpoint keeps them for `--resume`); nil otherwise.
    public var trainingWeights: Tensor? { swapped ? averaged : nil }

    /// Continues from a saved state; the caller has restored the weights
    /// and the optimizer moments into `store` (the model file holds them)
    /// and passes the averaged weights of a run with weight averaging
    /// (nil: the average starts again from the weights).
    public func resume(from saved: TrainingState, averaged: Tensor? = nil) throws {
        if options.ema > 0 {
            if let averaged {
                guard averaged.count == store.values.count else {
                    throw RecurError(.shape, "the averaged weights hold \(averaged.count) numbers, the model \(store.values.count)")
                }
                self.averaged = averaged.copy()
            } else {
                emit("note: the checkpoint holds no averaged weights; the average (training.ema) starts from its weights")
            }
        }
        stream = try BatchStream(batcher, cursor: saved.cursor)
        state = saved
        optimizer.stepCount = saved.optimizerStepCount
        if options.schedule.name == .plateau && state.plateau == nil {
            state.plateau = try ReduceLROnPlateau(learningRate: options.optimizer.lr, factor: options.schedule.plateauFactor,
                                                  patience: options.schedule.plateauPatience, minLR: min(options.schedule.minLR, options.optimizer.lr))
        } else if options.schedule.name != .plateau {
            state.plateau = nil
        }
        if !options.recipeHash.isEmpty && !saved.recipeHash.isEmpty && options.recipeHash != saved.recipeHash {
            emit("note: the recipe differs from the one this checkpoint was trained with in settings that change training; the continuation will not match an uninterrupted run")
        }
        state.recipeHash = options.recipeHash.isEmpty ? saved.recipeHash : options.recipeHash
    }

    // MARK: The loop

    /// Trains until a stopping rule fires; returns what happened.
    public func run() throws -> TrainingSummary {
        if let dir = options.runDirectory {
            try dir.create()
            jsonl = try Self.openForAppend(dir.logPath)
        }
        defer { try? jsonl?.close(); jsonl = nil }
        sessionStart = clock()
        sessionStartStep = state.step
        sessionStartElapsed = state.elapsedSeconds
        window = Window(start: sessionStart)
        display = Window(start: sessionStart)
        emit(state.step == 0
             ? "training on \(data.count) examples, \(stream.batchesInEpoch) batches in epoch 1, \(store.parameterCount) parameters"
             : "resuming at step \(state.step) (epoch \(String(format: "%.2f", fractionalEpoch())), data position \(state.cursor))")
        if options.ema > 0 && averaged == nil { averaged = store.values.copy() }
        takeSnapshot()
        if parallel?.ways != Threads.count { parallel = DataParallel(layout: store.layout, ways: Threads.count) }

        var stop = limitReached()
        while stop == nil {
            let batch = stream.next()
            let (sources, targets) = try data.batch(batch.indices, rng: &state.rng)
            // The shards' gradients are summed where they are read: by the norm, then by the update.
            let (l, shardGradient) = try parallel!.lossAndGradient(
                model, store, sources: sources, targets: targets, training: true,
                labelSmoothing: Float(options.labelSmoothing),
                scheduledSampling: options.scheduledSamplingRate(step: state.step), backward: true, rng: &state.rng)
            var gradient = shardGradient!
            let norm = options.clip > 0 ? GradientClipping.clipGlobalNorm(&gradient, maxNorm: Float(options.clip))
                : Float(gradient.sumOfSquares().squareRoot())
            guard l.loss.isFinite && norm.isFinite else {
                gradient.discard()
                try rollBack(reason: !l.loss.isFinite ? "the loss is \(l.loss)" : "the gradient norm is \(norm)")
                continue
            }
            let lr = options.learningRate(step: state.step, plateauRate: state.plateau?.learningRate, lrScale: state.lrScale)
            optimizer.learningRate = Float(lr)
            optimizer.step(store, gradient: gradient)
            updateAverage()
            state.step += 1
            state.cursor = stream.cursor
            state.optimizerStepCount = optimizer.stepCount
            state.learningRate = lr
            state.trainedTokens += l.tokens
            if batch.endsEpoch { state.epoch = batch.epoch + 1 }
            state.elapsedSeconds = sessionStartElapsed + (clock() - sessionStart)
            window.add(l)
            display.add(l)

            if state.step % options.logEvery == 0 { logTraining(gradNorm: Double(norm)) }
            if style == .line { drawProgress(force: false) }

            let pauseStart = clock()
            stop = limitReached()
            let validateDue = options.validateEvery > 0 ? state.step % options.validateEvery == 0 : batch.endsEpoch
            if validateDue, try validate(scheduled: true) { stop = .earlyStopping }
            if stop != nil, state.validations.last?.step != state.step {
                _ = try validate(scheduled: false)
            }
            let checkpointDue = options.checkpointEvery > 0 ? state.step % options.checkpointEvery == 0 : batch.endsEpoch
            if checkpointDue {
                try checkpoint(.periodic(step: state.step))
                if let dir = options.runDirectory { try dir.rotate(keepLast: options.keepLast) }
                takeSnapshot()
            }
            // Validation and checkpoints do not count against the training speed.
            let paused = clock() - pauseStart
            window.start += paused
            display.start += paused
        }
        // A run resumed past its limits still validates once.
        if state.validations.last?.step != state.step && state.step > 0 { _ = try validate(scheduled: false) }
        if window.steps > 0 { logTraining(gradNorm: nil) }
        try checkpoint(.final)
        clearProgress()
        if let dir = options.runDirectory {
            do { try LossPlot.write(state, to: dir.lossPlotPath) } catch { emit("warning: \(error)") }
        }
        let reason = stop!
        writeJSON([("event", .string("end")), ("step", JSONValue(state.step)), ("reason", .string(reason.rawValue)),
                   ("elapsed", JSONValue(state.elapsedSeconds))])
        var summary = TrainingSummary(stopReason: reason, steps: state.step, epochs: fractionalEpoch(),
                                      elapsedSeconds: state.elapsedSeconds, trainLoss: state.trainCurve.last?.loss,
                                      lastValidation: lastValidation, bestMetric: state.bestMetric, bestStep: state.bestStep,
                                      metricName: lastValidation?.figureName, rollbacks: state.rollbacks)
        if summary.metricName == nil, let v = state.validations.last { summary.metricName = v.metric != nil ? v.metricName : "loss" }
        emit("stopped at step \(state.step) (\(reason.text)) after \(ProgressText.duration(state.elapsedSeconds))"
             + (state.bestMetric.map { ", best \(summary.metricName ?? "figure") \(Self.format($0)) at step \(state.bestStep ?? 0)" } ?? ""))
        return summary
    }

    /// The stopping rule that fires now, if any (early stopping is decided by validation).
    private func limitReached() -> StopReason? {
        if let m = options.maxSteps, state.step >= m { return .maxSteps }
        if let m = options.maxEpochs, state.epoch >= m { return .maxEpochs }
        if let m = options.maxMinutes, state.elapsedSeconds >= m * 60 { return .maxMinutes }
        if interruption.isRequested { return .interrupted }
        return nil
    }

    /// Epochs as a fraction (2.5: half-way through the third).
    private func fractionalEpoch() -> Double {
        let n = max(stream.batchesInEpoch, 1)
        return Double(state.cursor.epoch) + Double(state.cursor.position) / Double(n)
    }

    // MARK: Validation and checkpoints

    /// Validates; returns true when early stopping fires.
    private func validate(scheduled: Bool) throws -> Bool {
        clearProgress()
        let r = try withAveragedWeights { try validateBody(store) }
        lastValidation = r
        let improved = r.figure.isFinite && (state.bestMetric.map { r.figureHigherIsBetter ? r.figure > $0 : r.figure < $0 } ?? true)
        if improved {
            state.bestMetric = r.figure
            state.bestStep = state.step
        }
        var stopNow = false
        if scheduled {
            state.badValidations = improved ? 0 : state.badValidations + 1
            if var p = state.plateau {
                let before = p.learningRate
                p.update(metric: r.loss.isFinite ? r.loss : .infinity)
                state.plateau = p
                if p.learningRate < before {
                    emit("step \(state.step): validation loss has not improved for \(options.schedule.plateauPatience + 1) validations; learning rate × \(Self.format(options.schedule.plateauFactor)) (base now \(Self.format(p.learningRate)))")
                }
            }
            stopNow = options.patience > 0 && state.badValidations >= options.patience
        }
        state.validations.append(ValidationRecord(step: state.step, epoch: fractionalEpoch(), loss: r.loss, metricName: r.metricName,
                                                  metric: r.metric, signature: r.signature, scheduled: scheduled))
        var line = "step \(state.step): validation loss \(Self.format(r.loss))"
        if let m = r.metric { line += ", \(r.metricName) \(Self.format(m))" }
        if improved { line += " (best)" } else if let b = state.bestMetric {
            line += " (best \(Self.format(b)) at step \(state.bestStep ?? 0)"
            line += scheduled && options.patience > 0 ? ", \(state.badValidations)/\(options.patience) without improvement)" : ")"
        }
        emit(line)
        for s in r.samples.prefix(3) { emit("  " + s) }
        var fields: [(String, JSONValue)] = [("event", .string("valid")), ("step", JSONValue(state.step)),
                                             ("epoch", JSONValue(fractionalEpoch())), ("loss", JSONValue(r.loss)),
                                             ("tokens", JSONValue(r.tokens)), ("metric_name", .string(r.metricName))]
        fields.append(("metric", r.metric.map { JSONValue($0) } ?? .null))
        fields.append(("best", .bool(improved)))
        fields.append(("scheduled", .bool(scheduled)))
        if let s = r.signature { fields.append(("signature", .string(s))) }
        writeJSON(fields)
        if improved { try checkpoint(.best) }
        if stopNow {
            emit("early stopping: no better \(r.figureName) for \(options.patience) validations (best \(Self.format(state.bestMetric ?? .nan)) at step \(state.bestStep ?? 0))")
        }
        return stopNow
    }

    private func checkpoint(_ kind: CheckpointKind) throws {
        state.elapsedSeconds = sessionStartElapsed + (clock() - sessionStart)
        try withAveragedWeights { try save(kind, state) }
    }

    // MARK: Weight averaging

    /// avg ← d·avg + (1 − d)·weights after optimizer step n (see the file comment).
    private func updateAverage() {
        guard let avg = averaged else { return }
        let n = Double(optimizer.stepCount)
        let d = Float(min(options.ema, (1 + n) / (10 + n)))
        let a = avg.data, w = store.values.data
        parallelFor(avg.count, minChunk: 1 << 16) { range in
            var lo = range.lowerBound
            while lo < range.upperBound {
                let k = min(1 << 14, range.upperBound - lo)
                Kernels.scale(k, d, a + lo)
                Kernels.addScaled(k, 1 - d, w + lo, a + lo)
                lo += k
            }
        }
    }

    /// Runs `body` with the averaged weights in `store.values` (and the trained
    /// ones in `averaged`), swapping back afterwards; just `body` without averaging.
    private func withAveragedWeights<T>(_ body: () throws -> T) rethrows -> T {
        guard let avg = averaged, !swapped else { return try body() }
        Self.swapContents(avg, store.values)
        swapped = true
        defer { Self.swapContents(avg, store.values); swapped = false }
        return try body()
    }

    private static func swapContents(_ x: Tensor, _ y: Tensor) {
        let a = x.data, b = y.data
        parallelFor(x.count, minChunk: 1 << 16) { range in
            for i in range { let t = a[i]; a[i] = b[i]; b[i] = t }
        }
    }

    // MARK: Divergence guard

    private func takeSnapshot() {
        if snapshotStore == nil { snapshotStore = ParameterStore(store.layout) }
        // Same layout by construction.
        try! snapshotStore!.copy(from: store, includingOptimizerState: true)
        snapshotAverage = averaged?.copy()
        snapshotState = state
    }

    private func rollBack(reason: String) throws {
        guard let snapshotStore, let snap = snapshotState else { throw RecurError(.value, "training diverged: \(reason)") }
        let failedStep = state.step + 1
        state.rollbacks += 1
        guard state.rollbacks <= options.maxRollbacks else {
            clearProgress()
            throw RecurError(.value, "training diverged: \(reason) at step \(failedStep), after \(options.maxRollbacks) rollbacks with the learning rate halved each time (now × \(Self.format(state.lrScale))); lower optimizer.lr, set training.clip, or check the data")
        }
        try store.copy(from: snapshotStore, includingOptimizerState: true)
        if let avg = averaged, let snap = snapshotAverage { avg.data.update(from: snap.data, count: avg.count) }
        store.zeroGrads()
        var restored = snap
        restored.lrScale = state.lrScale * 0.5
        restored.rollbacks = state.rollbacks
        restored.bestMetric = state.bestMetric
        restored.bestStep = state.bestStep
        restored.badValidations = state.badValidations
        restored.elapsedSeconds = state.elapsedSeconds
        restored.trainCurve = state.trainCurve.filter { $0.step <= snap.step }
        restored.validations = state.validations.filter { $0.step <= snap.step }
        state = restored
        stream = try BatchStream(batcher, cursor: state.cursor)
        optimizer.stepCount = state.optimizerStepCount
        window = Window(start: clock())
        display = Window(start: clock())
        snapshotState = state
        clearProgress()
        let lrNow = options.learningRate(step: state.step, plateauRate: state.plateau?.learningRate, lrScale: state.lrScale)
        emit("step \(failedStep): \(reason); rolled back to step \(state.step), learning rate halved (× \(Self.format(state.lrScale)), now \(Self.format(lrNow))), rollback \(state.rollbacks) of at most \(options.maxRollbacks)")
        writeJSON([("event", .string("rollback")), ("step", JSONValue(failedStep)), ("to_step", JSONValue(state.step)),
                   ("reason", .string(reason)), ("lr_scale", JSONValue(state.lrScale)), ("rollbacks", JSONValue(state.rollbacks))])
    }

    // MARK: Progress and logs

    private func logTraining(gradNorm: Double?) {
        let now = clock()
        let mean = window.mean
        let seconds = max(now - window.start, 1e-9)
        let tokensPerSecond = Double(window.tokens) / seconds
        if mean.isFinite { state.trainCurve.append(LossPoint(step: state.step, loss: mean)) }
        if style == .plain {
            var line = "step \(state.step)  epoch \(String(format: "%.2f", fractionalEpoch()))  loss \(String(format: "%.4f", mean))"
            line += "  \(Int(tokensPerSecond.rounded())) tok/s  lr \(String(format: "%.2e", state.learningRate))"
            line += "  elapsed \(ProgressText.duration(state.elapsedSeconds))"
            if let eta = eta() { line += "  ETA \(ProgressText.duration(eta))" }
            emit(line)
        }
        var fields: [(String, JSONValue)] = [("event", .string("train")), ("step", JSONValue(state.step)),
                                             ("epoch", JSONValue(fractionalEpoch())), ("loss", JSONValue(mean)),
                                             ("objective", JSONValue(window.objective)), ("tokens", JSONValue(window.tokens)),
                                             ("tokens_per_second", JSONValue(tokensPerSecond)),
                                             ("lr", JSONValue(state.learningRate))]
        if let g = gradNorm { fields.append(("grad_norm", JSONValue(g))) }
        fields.append(("elapsed", JSONValue(state.elapsedSeconds)))
        writeJSON(fields)
        window = Window(start: now)
    }

    /// Seconds left until the nearest limit, at this session's pace.
    private func eta() -> Double? {
        let steps = state.step - sessionStartStep
        let spent = clock() - sessionStart
        guard steps > 0, spent > 0 else { return nil }
        let perStep = spent / Double(steps)
        var best: Double?
        func consider(_ s: Double) { best = min(best ?? s, s) }
        if let m = options.maxSteps { consider(Double(max(m - state.step, 0)) * perStep) }
        if let m = options.maxEpochs {
            let n = stream.batchesInEpoch
            let left = max(0, (m - state.cursor.epoch - 1) * n + (n - state.cursor.position))
            consider(Double(left) * perStep)
        }
        if let m = options.maxMinutes { consider(max(0, m * 60 - state.elapsedSeconds)) }
        return best
    }

    private func drawProgress(force: Bool) {
        let now = clock()
        guard force || now - lastDraw >= 0.2 else { return }
        lastDraw = now
        let seconds = max(now - display.start, 1e-9)
        var s = "step \(state.step) | epoch \(String(format: "%.2f", fractionalEpoch())) | loss \(String(format: "%.4f", display.mean))"
        s += " | \(Int((Double(display.tokens) / seconds).rounded())) tok/s | lr \(String(format: "%.2e", state.learningRate))"
        if let eta = eta() { s += " | ETA \(ProgressText.duration(eta))" }
        progressSink("\r" + s + "\u{1B}[K")
        progressShown = true
        // The running mean covers roughly the last 100 steps.
        if display.steps >= 100 { display = Window(start: now) }
    }

    private func clearProgress() {
        if progressShown { progressSink("\r\u{1B}[K"); progressShown = false }
    }

    private func emit(_ line: String) {
        clearProgress()
        log(line)
    }

    private func writeJSON(_ fields: [(String, JSONValue)]) {
        guard let jsonl else { return }
        let text = JSONValue.object(JSONObject(fields)).compactText + "\n"
        jsonl.write(Data(text.utf8))
    }

    private static func openForAppend(_ path: String) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw RecurError(.io, "cannot create the training log", file: path)
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw RecurError(.io, "cannot open the training log", file: path) }
        h.seekToEndOfFile()
        return h
    }

    static func format(_ v: Double) -> String {
        if !v.isFinite { return "\(v)" }
        if v != 0 && (abs(v) < 1e-3 || abs(v) >= 1e5) { return String(format: "%.3e", v) }
        return String(format: "%.4f", v)
    }

    /// Seconds from a fixed origin (CLOCK_MONOTONIC).
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Writes to stderr unbuffered.
    public static func writeStderr(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// Durations as text.
enum ProgressText {
    /// `m:ss`, or `h:mm:ss` from an hour on.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let t = Int(seconds.rounded(.up))
        let h = t / 3600, m = t / 60 % 60, sec = t % 60
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return h > 0 ? "\(h):\(two(m)):\(two(sec))" : "\(m):\(two(sec))"
    }
}
