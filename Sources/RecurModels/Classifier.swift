import Foundation
import RecurCore
import RecurLayers

// A sequence classifier (many-to-one): encoder + pooling over the valid steps + linear head.
//
//   input text:     B token sequences → padded (T, B) → encoder.embedding (V, E) → x (T, B, E)
//   input features: B frame tensors (T_b, F) → zero-padded x (T, B, F), read by the RNN directly
//   encoder.rnn: L stacked (bi)LSTM/GRU layers, H per direction, packed by lengths → out (T, B, K = D·H)
//   pooling per example b over its own steps t < len_b (padding never reaches it):
//     mean: p_b = (1/len_b) Σ_t out[t, b]
//     max:  p_b[k] = max_t out[t, b, k]   (the first maximal step gets the gradient)
//     last: p_b = the top layer's final states [forward h at len_b - 1; reverse h at 0]
//   logits = dropout(p) W_headᵀ + b_head     (B, C); cross-entropy against one class per example
//
// Parameter names: encoder.embedding.weight (text only), encoder.rnn.weight_ih_l0 …
// (`_reverse` for the backward direction), head.weight (C, K), head.bias (C).

/// The architecture of a sequence classifier, as saved with it.
public struct ClassifierConfig: Codable, Sendable, Equatable {
    /// What the encoder reads.
    public enum Input: String, Codable, Sendable, CaseIterable {
        /// Token ids through an embedding table (`SourceBatch.tokens`).
        case text
        /// Feature frames `(T, F)` straight into the RNN (`SourceBatch.features`), F = inputFeatureSize.
        case features
    }
    /// How the encoder's outputs over time become one vector.
    public enum Pooling: String, Codable, Sendable, CaseIterable { case mean, max, last }

    public var input: Input
    /// F, for `.features` (ignored for text).
    public var inputFeatureSize: Int
    /// V, for `.text` (ignored for features).
    public var vocabularySize: Int
    /// E, for `.text` (ignored for features).
    public var embeddingSize: Int
    /// H per direction.
    public var hiddenSize: Int
    public var layers: Int
    public var bidirectional: Bool
    public var cell: Seq2SeqConfig.Cell
    public var pooling: Pooling
    /// C: the number of classes.
    public var classes: Int
    /// Dropout between encoder layers and on the pooled vector (training only).
    public var dropout: Float
    /// The padding id of the text vocabulary (its embedding row stays zero).
    public var pad: Int

    public init(input: Input = .text, inputFeatureSize: Int = 0, vocabularySize: Int = 0, embeddingSize: Int = 0,
                hiddenSize: Int, layers: Int = 1, bidirectional: Bool = true, cell: Seq2SeqConfig.Cell = .lstm,
                pooling: Pooling = .mean, classes: Int, dropout: Float = 0, pad: Int = 0) {
        self.input = input
        self.inputFeatureSize = inputFeatureSize
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.bidirectional = bidirectional
        self.cell = cell
        self.pooling = pooling
        self.classes = classes
        self.dropout = dropout
        self.pad = pad
    }

    /// K = D·H: the width of the pooled vector.
    public var encoderOutputSize: Int { (bidirectional ? 2 : 1) * hiddenSize }

    /// Throws a RecurError saying what is inconsistent.
    public func validate() throws {
        func need(_ ok: Bool, _ why: String) throws { if !ok { throw RecurError(.value, "classifier config: \(why)") } }
        switch input {
        case .text:
            try need(vocabularySize > 0 && embeddingSize > 0, "a text classifier needs positive vocabulary and embedding sizes (got \(vocabularySize), \(embeddingSize))")
            try need(pad >= 0 && pad < vocabularySize, "pad id \(pad) outside the vocabulary 0..<\(vocabularySize)")
        case .features:
            try need(inputFeatureSize > 0, "a features classifier needs a positive input feature size, got \(inputFeatureSize)")
        }
        try need(hiddenSize > 0, "the hidden size must be positive, got \(hiddenSize)")
        try need(layers >= 1, "layers must be at least 1, got \(layers)")
        try need(classes >= 2, "a classifier needs at least 2 classes, got \(classes)")
        try need(dropout >= 0 && dropout < 1, "dropout \(dropout) outside [0, 1)")
    }
}

/// A recurrent sequence classifier. All parameters live in one layout; the
/// values and gradients in a `ParameterStore` made from it.
public final class Classifier {
    public let config: ClassifierConfig
    public let layout: ParameterLayout
    let embedding: Embedding?
    let encoder: RecurrentStack
    let head: Linear

    /// Builds the layout; throws when the configuration is inconsistent.
    public init(config: ClassifierConfig) throws {
        try config.validate()
        self.config = config
        let c = config
        var layout = ParameterLayout()
        var inputSize = c.inputFeatureSize
        if c.input == .text {
            embedding = Embedding(&layout, prefix: "encoder.embedding.", vocabularySize: c.vocabularySize,
                                  embeddingSize: c.embeddingSize, paddingIndex: c.pad)
            inputSize = c.embeddingSize
        } else {
            embedding = nil
        }
        encoder = RecurrentStack(&layout, prefix: "encoder.rnn.", config: RecurrentConfig(
            kind: c.cell == .lstm ? .lstm : .gru, inputSize: inputSize, hiddenSize: c.hiddenSize,
            numLayers: c.layers, bidirectional: c.bidirectional, dropout: c.dropout))
        head = Linear(&layout, prefix: "head.", inFeatures: c.encoderOutputSize, outFeatures: c.classes)
        self.layout = layout
    }

    /// PyTorch's default initialization of every layer, from `rng`.
    public func initialize(_ store: ParameterStore, rng: inout RNG) {
        embedding?.initialize(store, rng: &rng)
        encoder.initialize(store, rng: &rng)
        head.initialize(store, rng: &rng)
    }

    // MARK: - forward

    private struct Forward {
        let T: Int, B: Int
        let ids: [Int]?            // (T·B) time-major, text only
        let lengths: [Int]
        let cache: RecurrentCache
        let argmax: [Int32]        // (B·K) the step each max came from (max pooling)
        let headInput: Tensor      // (B, K) after dropout
        let mask: Tensor?
        let logits: Tensor         // (B, C)
    }

    private func encode(_ store: ParameterStore, _ sources: SourceBatch, training: Bool, rng: inout RNG) throws -> Forward {
        let c = config, H = c.hiddenSize, K = c.encoderOutputSize, D = encoder.config.directions
        var ids: [Int]?
        let x: Tensor, lengths: [Int]
        switch (c.input, sources) {
        case (.text, .tokens(let seqs)):
            guard !seqs.isEmpty else { throw RecurError(.value, "classifier: no sources") }
            for (i, s) in seqs.enumerated() {
                guard !s.isEmpty else { throw RecurError(.value, "classifier: source \(i) is empty") }
                for tok in s where tok < 0 || tok >= c.vocabularySize {
                    throw RecurError(.value, "classifier: source \(i) has token id \(tok) outside 0..<\(c.vocabularySize)")
                }
            }
            let B = seqs.count, T = seqs.map(\.count).max()!
            var padded = [Int](repeating: c.pad, count: T * B)
            for (b, s) in seqs.enumerated() { for (t, tok) in s.enumerated() { padded[t * B + b] = tok } }
            x = try embedding!.forward(store, ids: padded).reshaped([T, B, c.embeddingSize])
            ids = padded
            lengths = seqs.map(\.count)
        case (.features, .features(let frames)):
            guard !frames.isEmpty else { throw RecurError(.value, "classifier: no sources") }
            let F = c.inputFeatureSize
            for (i, f) in frames.enumerated() {
                guard f.rank == 2, f.shape[1] == F, f.shape[0] >= 1 else {
                    throw RecurError(.shape, "classifier: source \(i) has shape \(f.shape); expected (T ≥ 1, \(F))")
                }
            }
            let B = frames.count, T = frames.map { $0.shape[0] }.max()!
            let padded = Tensor(zeros: [T, B, F])
            for (b, f) in frames.enumerated() {
                for t in 0..<f.shape[0] { (padded.data + (t * B + b) * F).update(from: f.data + t * F, count: F) }
            }
            x = padded
            lengths = frames.map { $0.shape[0] }
        default:
            throw RecurError(.value, "classifier: a \(c.input.rawValue) classifier needs \(c.input == .text ? "token" : "feature") sources")
        }
        let T = x.shape[0], B = x.shape[1]
        let (out, cache) = encoder.forward(store, x, lengths: lengths, training: training, rng: &rng)

        // Pooling over each example's own steps.
        let pooled = Tensor(zeros: [B, K])
        var argmax = [Int32]()
        switch c.pooling {
        case .mean:
            for b in 0..<B {
                let p = pooled.data + b * K
                for t in 0..<lengths[b] { Kernels.add(K, p, out.output.data + (t * B + b) * K, p) }
                Kernels.scale(K, 1 / Float(lengths[b]), p)
            }
        case .max:
            argmax = [Int32](repeating: 0, count: B * K)
            for b in 0..<B {
                let p = pooled.data + b * K
                p.update(from: out.output.data + b * K, count: K)
                for t in 1..<lengths[b] {
                    let o = out.output.data + (t * B + b) * K
                    for k in 0..<K where o[k] > p[k] { p[k] = o[k]; argmax[b * K + k] = Int32(t) }
                }
            }
        case .last:
            let L = c.layers
            for d in 0..<D {
                let row = (L - 1) * D + d
                for b in 0..<B { (pooled.data + b * K + d * H).update(from: out.hN.data + (row * B + b) * H, count: H) }
            }
        }
        let (headInput, mask) = Dropout(p: c.dropout).forward(pooled, training: training, rng: &rng)
        let logits = head.forward(store, headInput)
        return Forward(T: T, B: B, ids: ids, lengths: lengths, cache: cache, argmax: argmax, headInput: headInput,
                       mask: mask, logits: logits)
    }

    // MARK: - training

    /// Cross-entropy of one class per example (`targets[b] == [classId]`);
    /// with `backward`, every parameter gradient is ADDED to `store.grad`
    /// (zero them first). Dropout draws from `rng` when `training`.
    public func trainStep(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool = true,
                          labelSmoothing: Float = 0, backward: Bool = true, rng: inout RNG) throws -> ModelLoss {
        guard sources.count == targets.count else {
            throw RecurError(.shape, "classifier: \(sources.count) sources but \(targets.count) targets")
        }
        var classes: [Int] = []
        for (i, t) in targets.enumerated() {
            guard t.count == 1, t[0] >= 0, t[0] < config.classes else {
                throw RecurError(.value, "classifier: target \(i) must be one class id in 0..<\(config.classes), got \(t)")
            }
            classes.append(t[0])
        }
        let f = try encode(store, sources, training: training, rng: &rng)
        let c = config, B = f.B, T = f.T, K = c.encoderOutputSize, H = c.hiddenSize, D = encoder.config.directions
        let ce = SoftmaxCrossEntropy(labelSmoothing: labelSmoothing, reduction: .mean)
        let dlogits = backward ? Tensor(zeros: [B, c.classes]) : nil
        let r = try ce.compute(f.logits, targets: classes, dlogitsInto: dlogits)
        let loss = ModelLoss(loss: r.loss, tokens: r.count, negativeLogLikelihood: r.negativeLogLikelihood)
        guard let dlogits else { return loss }

        // Head and dropout.
        let dPooled = Tensor(zeros: [B, K])
        head.backward(store, x: f.headInput, dy: dlogits, dxInto: dPooled, accumulateInput: false)
        Dropout.apply(mask: f.mask, to: dPooled)

        // Pooling.
        var dOutput: Tensor?, dhN: Tensor?
        switch c.pooling {
        case .mean:
            let dOut = Tensor(zeros: [T, B, K])
            for b in 0..<B {
                let s = 1 / Float(f.lengths[b])
                for t in 0..<f.lengths[b] {
                    let o = dOut.data + (t * B + b) * K, g = dPooled.data + b * K
                    for k in 0..<K { o[k] = g[k] * s }
                }
            }
            dOutput = dOut
        case .max:
            let dOut = Tensor(zeros: [T, B, K])
            for b in 0..<B {
                for k in 0..<K { dOut.data[(Int(f.argmax[b * K + k]) * B + b) * K + k] = dPooled.data[b * K + k] }
            }
            dOutput = dOut
        case .last:
            let LD = c.layers * D
            let g = Tensor(zeros: [LD, B, H])
            for d in 0..<D {
                let row = (c.layers - 1) * D + d
                for b in 0..<B { (g.data + (row * B + b) * H).update(from: dPooled.data + b * K + d * H, count: H) }
            }
            dhN = g
        }
        let ge = encoder.backward(store, f.cache, dOutput: dOutput, dhN: dhN)
        if let embedding, let ids = f.ids {
            try embedding.backward(store, ids: ids, dy: ge.dx.reshaped([T * B, c.embeddingSize]))
        }
        return loss
    }

    // MARK: - inference

    /// Log-probabilities of every class, one row per source (inference, no dropout).
    public func predict(_ store: ParameterStore, sources: SourceBatch) throws -> [[Float]] {
        var rng = RNG(seed: 0)  // not drawn from: training is false
        let f = try encode(store, sources, training: false, rng: &rng)
        let C = config.classes
        Kernels.logSoftmax(rows: f.B, cols: C, f.logits.data, f.logits.data)
        return (0..<f.B).map { b in Array(UnsafeBufferPointer(start: f.logits.data + b * C, count: C)) }
    }
}

extension Classifier: SequenceModel {
    /// `sources`: `.tokens` for a text classifier, `.features` for a features
    /// one; `targets[b]`: `[classId]`. `tokens` in the result counts examples.
    public func loss(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool,
                     labelSmoothing: Float, backward: Bool, rng: inout RNG) throws -> ModelLoss {
        try trainStep(store, sources: sources, targets: targets, training: training, labelSmoothing: labelSmoothing,
                      backward: backward, rng: &rng)
    }
}
