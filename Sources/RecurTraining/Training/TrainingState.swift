// Everything besides the weights and the optimizer moments that a resumed
// run needs to continue bit for bit: the step, the data cursor, the training
// RNG, the optimizer's step count, the schedule's state, the early-stopping
// and divergence-guard counters, and the history that the log and the loss
// curve are drawn from. Saved in checkpoints as JSON text
// (`jsonString()`, read back with `TrainingState(jsonString:)`).
import Foundation
import RecurCore
import RecurLayers
import RecurModels

/// What one validation found.
public struct ValidationResult: Codable, Equatable, Sendable {
    /// Mean cross-entropy per target token on the validation set.
    public var loss: Double
    /// Target tokens counted.
    public var tokens: Int
    /// The task metric's name (`bleu`, `wer`, ...; `loss` when none).
    public var metricName: String
    /// The metric, when one was computed (early stopping falls back to the loss otherwise).
    public var metric: Double?
    public var higherIsBetter: Bool
    /// The metric's signature (sacrebleu's for BLEU), kept with the best figure.
    public var signature: String?
    /// A few decoded examples to print ("source => hypothesis (reference)").
    public var samples: [String]

    public init(loss: Double, tokens: Int, metricName: String = "loss", metric: Double? = nil,
                higherIsBetter: Bool = false, signature: String? = nil, samples: [String] = []) {
        self.loss = loss
        self.tokens = tokens
        self.metricName = metricName
        self.metric = metric
        self.higherIsBetter = higherIsBetter
        self.signature = signature
        self.samples = samples
    }

    /// The figure early stopping and best tracking follow: the metric, or the loss.
    public var figure: Double { metric ?? loss }
    /// Whether `figure` improves with a larger value.
    public var figureHigherIsBetter: Bool { metric != nil ? higherIsBetter : false }
    /// The figure's name.
    public var figureName: String { metric != nil ? metricName : "loss" }
}

/// A validation in the run's history.
public struct ValidationRecord: Codable, Equatable, Sendable {
    public var step: Int
    /// Fractional epoch (2.5: half-way through the third epoch).
    public var epoch: Double
    public var loss: Double
    public var metricName: String
    public var metric: Double?
    public var signature: String?
    /// True when this validation was on the `validate_every` grid (false:
    /// the extra one at the end of a run, which feeds neither the plateau
    /// schedule nor the early-stopping counter, so a run continued after it
    /// trains the same bits as one that never stopped).
    public var scheduled: Bool
}

/// A point of the training-loss curve: the mean negative log-likelihood per
/// target token (without label smoothing, like the validation loss) over the
/// steps since the previous point.
public struct LossPoint: Codable, Equatable, Sendable {
    public var step: Int
    public var loss: Double
}

/// The trainer's state (see the file comment).
public struct TrainingState: Codable, Equatable, Sendable {
    /// The state's format version.
    public var version = 1
    /// Optimizer updates completed.
    public var step = 0
    /// Epochs completed.
    public var epoch = 0
    /// The next batch to train on.
    public var cursor = DataCursor()
    /// The training RNG: dropout and augmentation draw from it, in a fixed order.
    public var rng: RNG
    /// The optimizer's own count (Adam's bias correction).
    public var optimizerStepCount = 0
    /// The rate the last step used.
    public var learningRate = 0.0
    /// The plateau schedule's state (schedule `plateau` only).
    public var plateau: ReduceLROnPlateau?
    /// The best validation figure (metric, or loss when no metric) and its step.
    public var bestMetric: Double?
    public var bestStep: Int?
    /// Scheduled validations in a row without a better figure (early stopping).
    public var badValidations = 0
    /// The divergence guard's factor on every learning rate (halved per rollback).
    public var lrScale = 1.0
    /// Rollbacks so far.
    public var rollbacks = 0
    /// Every validation so far.
    public var validations: [ValidationRecord] = []
    /// The training-loss curve (one point per `log_every` steps).
    public var trainCurve: [LossPoint] = []
    /// Target tokens trained on.
    public var trainedTokens = 0
    /// Training seconds over all sessions (for `max_minutes`).
    public var elapsedSeconds = 0.0
    /// `Recipe.trainingHash` of the recipe that trained it.
    public var recipeHash: String

    /// The state of a run that has not started: the training RNG comes from `seed`.
    public init(seed: UInt64, recipeHash: String = "") {
        rng = RNG(seed: ValidationSplit.mix(seed ^ 0x7472_6169_6E5F_726E))  // "train_rn"
        self.recipeHash = recipeHash
    }

    /// The state as compact JSON (non-finite numbers as the strings "inf", "-inf", "nan").
    public func jsonString() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return String(decoding: try e.encode(self), as: UTF8.self)
        } catch {
            throw RecurError(.value, "cannot encode the training state: \(error)")
        }
    }

    /// Reads a state written by `jsonString()`.
    public init(jsonString text: String) throws {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            self = try d.decode(TrainingState.self, from: Data(text.utf8))
        } catch {
            throw RecurError(.format, "the training state is not readable: \(error)")
        }
        guard version == 1 else {
            throw RecurError(.unsupported, "training state version \(version) is newer than this program reads (1)")
        }
    }

    /// The last validation, if any.
    public var lastValidation: ValidationRecord? { validations.last }
}

/// Why a run ended.
public enum StopReason: String, Codable, Sendable {
    case maxSteps = "max_steps"
    case maxEpochs = "max_epochs"
    case maxMinutes = "max_minutes"
    case earlyStopping = "early_stopping"
    /// `Trainer.interruption` was requested (Ctrl-C).
    case interrupted

    public var text: String {
        switch self {
        case .maxSteps: return "reached max_steps"
        case .maxEpochs: return "reached max_epochs"
        case .maxMinutes: return "reached max_minutes"
        case .earlyStopping: return "early stopping (no better validation for `patience` validations)"
        case .interrupted: return "interrupted"
        }
    }
}

/// What `Trainer.run()` reports at the end.
public struct TrainingSummary: Codable, Sendable {
    public var stopReason: StopReason
    public var steps: Int
    public var epochs: Double
    public var elapsedSeconds: Double
    /// The last point of the training-loss curve.
    public var trainLoss: Double?
    public var lastValidation: ValidationResult?
    public var bestMetric: Double?
    public var bestStep: Int?
    /// The name of the figure `bestMetric` is (`bleu`, `loss`, ...).
    public var metricName: String?
    public var rollbacks: Int
}
