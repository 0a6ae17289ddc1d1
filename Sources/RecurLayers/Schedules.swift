import Foundation
import RecurCore

// Learning-rate schedules. A step schedule is a pure function of the step
// index (0 for the first optimizer step, i.e. PyTorch's `last_epoch` after
// as many `scheduler.step()` calls), giving a factor on the base rate:
//
//   constant                 1
//   linearWarmup(W, s)       s + (1-s)·min(e, W)/W            (torch LinearLR, end_factor 1, total_iters W)
//   inverseSquareRoot(W)     √(W / max(e+1, W))               (1 for the first W steps, then ∝ 1/√step)
//   stepDecay(k, γ)          γ^⌊e/k⌋                          (torch StepLR)
//   exponentialDecay(γ)      γ^e                              (torch ExponentialLR)
//   warmupThen(W, s, d)      linearWarmup(W, s) for e < W, then d at e - W
//                            (torch SequentialLR([LinearLR, d], milestones=[W]))
//
// ReduceLROnPlateau is stateful: it follows a validation metric (mode "min")
// exactly as torch.optim.lr_scheduler.ReduceLROnPlateau does.

/// A learning-rate factor as a function of the step.
public indirect enum LearningRateSchedule: Sendable, Equatable, Codable {
    case constant
    case linearWarmup(steps: Int, startFactor: Double)
    case inverseSquareRoot(warmupSteps: Int)
    case stepDecay(stepSize: Int, gamma: Double)
    case exponentialDecay(gamma: Double)
    case warmupThen(steps: Int, startFactor: Double, then: LearningRateSchedule)

    /// The factor on the base rate at step `step` (≥ 0).
    public func factor(at step: Int) -> Double {
        let e = max(step, 0)
        switch self {
        case .constant:
            return 1
        case let .linearWarmup(w, s):
            guard w > 0 else { return 1 }
            return s + (1 - s) * Double(min(e, w)) / Double(w)
        case let .inverseSquareRoot(w):
            let w = max(w, 1)
            return (Double(w) / Double(max(e + 1, w))).squareRoot()
        case let .stepDecay(k, gamma):
            return Foundation.pow(gamma, Double(e / max(k, 1)))
        case let .exponentialDecay(gamma):
            return Foundation.pow(gamma, Double(e))
        case let .warmupThen(w, s, then):
            return e < w ? LearningRateSchedule.linearWarmup(steps: w, startFactor: s).factor(at: e)
                         : then.factor(at: e - w)
        }
    }

    /// base · factor(at: step)
    public func learningRate(base: Float, step: Int) -> Float { Float(Double(base) * factor(at: step)) }
}

/// torch.optim.lr_scheduler.ReduceLROnPlateau in mode "min": after more than
/// `patience` evaluations without an improvement beyond `threshold`, the rate
/// is multiplied by `factor` (not below `minLR`), then `cooldown`
/// evaluations pass before bad ones count again.
/// Codable, so its whole state (best, counters, rate) goes into a checkpoint.
public struct ReduceLROnPlateau: Sendable, Equatable, Codable {
    public enum ThresholdMode: String, Sendable, Codable { case relative, absolute }

    public var factor: Double
    public var patience: Int
    public var threshold: Double
    public var thresholdMode: ThresholdMode
    public var cooldown: Int
    public var minLR: Double
    /// Changes smaller than this are ignored (torch's eps).
    public var eps: Double

    /// The current rate.
    public private(set) var learningRate: Double
    public private(set) var best = Double.infinity
    public private(set) var badEvaluations = 0
    public private(set) var cooldownCounter = 0
    /// Evaluations seen so far.
    public private(set) var evaluations = 0

    public init(learningRate: Double, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
                thresholdMode: ThresholdMode = .relative, cooldown: Int = 0, minLR: Double = 0, eps: Double = 1e-8) throws {
        guard factor >= 0 && factor < 1 else {
            throw RecurError(.value, "ReduceLROnPlateau: factor must be in [0, 1), got \(factor)")
        }
        guard patience >= 0 && cooldown >= 0 else {
            throw RecurError(.value, "ReduceLROnPlateau: patience and cooldown must be ≥ 0")
        }
        self.learningRate = learningRate
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.minLR = minLR
        self.eps = eps
    }

    private func isBetter(_ a: Double) -> Bool {
        switch thresholdMode {
        case .relative: return a < best * (1 - threshold)
        case .absolute: return a < best - threshold
        }
    }

    /// Takes one validation metric (lower is better); returns the rate to use next.
    @discardableResult
    public mutating func update(metric: Double) -> Double {
        evaluations += 1
        if isBetter(metric) {
            best = metric
            badEvaluations = 0
        } else {
            badEvaluations += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            badEvaluations = 0
        }
        if badEvaluations > patience {
            let newLR = max(learningRate * factor, minLR)
            if learningRate - newLR > eps { learningRate = newLR }
            cooldownCounter = cooldown
            badEvaluations = 0
        }
        return learningRate
    }
}
