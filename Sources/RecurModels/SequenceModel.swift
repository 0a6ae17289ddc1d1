import RecurCore

/// The sources of one batch, as a model's encoder reads them.
public enum SourceBatch {
    /// A language model's batch: `count` generations with no source.
    case none(count: Int)
    /// Token ids (without BOS/EOS), one sequence per example, each ≥ 1 token.
    case tokens([[Int]])
    /// Feature frames, one tensor `(T_i, F)` per example (speech frames,
    /// image grid cells), each with T_i ≥ 1.
    case features([Tensor])

    /// How many examples the batch holds.
    public var count: Int {
        switch self {
        case .none(let n): return n
        case .tokens(let s): return s.count
        case .features(let f): return f.count
        }
    }
}

/// The loss of one batch.
public struct ModelLoss: Sendable {
    /// Mean cross-entropy per target token (with label smoothing if asked).
    public let loss: Float
    /// Target tokens counted (EOS included, padding excluded).
    public let tokens: Int
    /// Σ -log p(target) without smoothing, for perplexity and bits per character.
    public let negativeLogLikelihood: Double

    public init(loss: Float, tokens: Int, negativeLogLikelihood: Double) {
        self.loss = loss
        self.tokens = tokens
        self.negativeLogLikelihood = negativeLogLikelihood
    }
}

/// What the training loop needs of any model (encoder-decoder, language
/// model, classifier): its parameter layout, an initialisation, and a
/// teacher-forced loss whose backward ADDS every parameter gradient to
/// `store.grads` (the caller zeroes them first).
public protocol SequenceModel: AnyObject {
    var layout: ParameterLayout { get }
    /// Initialises every parameter from `rng` (PyTorch's defaults unless the layer says otherwise).
    func initialize(_ store: ParameterStore, rng: inout RNG)
    /// `targets[b]`: the target token ids of example b without BOS/EOS (for a
    /// classifier: one class id). Dropout draws from `rng` when `training`.
    func loss(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool,
              labelSmoothing: Float, backward: Bool, rng: inout RNG) throws -> ModelLoss
    /// `loss` with scheduled sampling (Bengio et al. 2015) at rate `scheduledSampling` in [0, 1]:
    /// with that probability a decoder input is the model's previous prediction instead of the
    /// reference (training only). A rate of 0 is exactly `loss`. The default implementation
    /// (models without a decoder fed with targets) throws for a rate > 0.
    func loss(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool,
              labelSmoothing: Float, scheduledSampling: Float, backward: Bool, rng: inout RNG) throws -> ModelLoss
}

extension SequenceModel {
    public func loss(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool,
                     labelSmoothing: Float, scheduledSampling: Float, backward: Bool, rng: inout RNG) throws -> ModelLoss {
        guard scheduledSampling == 0 else {
            throw RecurError(.value, "scheduled sampling (rate \(scheduledSampling)) is supported by the encoder-decoder "
                             + "(Seq2Seq) only, not by \(type(of: self)); set training.scheduled_sampling to 0")
        }
        return try loss(store, sources: sources, targets: targets, training: training, labelSmoothing: labelSmoothing,
                        backward: backward, rng: &rng)
    }
}
