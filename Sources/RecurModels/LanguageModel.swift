import Foundation
import RecurCore
import RecurLayers

// A recurrent language model (char-rnn style): the decoder alone, no source.
//
//   inputs:  B token sequences, padded time-major to (T, B); row b is active for t < lengths[b]
//   embedding (V, E) → x (T, B, E)
//   rnn: L stacked LSTM/GRU layers, H, dropout between layers      → out (T, B, H), hN/cN (L, B, H)
//   logits = dropout(out) W_outᵀ + b_out                             (T·B, V)
//   loss: cross-entropy over the active steps (padding ignored)
//
// Teacher forcing (`loss`): y_in = BOS y, y_out = y EOS, one RecurrentStack.forward
// over all steps of the whole batch (no per-step loop), and one backward.
// Truncated BPTT (`lossWithState`): inputs and next-token targets given as they
// are, the initial state passed in and the final state returned as a copy, so
// long text is trained in chunks that carry the state forward without carrying
// gradient back across chunks (as `h.detach()` in PyTorch).
//
// Parameter names (as a torch module with submodules `embedding`, `rnn`, `output`):
//   embedding.weight (V, E), rnn.weight_ih_l0 … rnn.bias_hh_l{L-1}, output.weight (V, H)
//   (absent when tied: the output then uses embedding.weight, which needs E = H),
//   output.bias (V).

/// The architecture of a recurrent language model, as saved with it.
public struct LanguageModelConfig: Codable, Sendable, Equatable {
    /// V: the (character or word) vocabulary, specials included.
    public var vocabularySize: Int
    /// E
    public var embeddingSize: Int
    /// H
    public var hiddenSize: Int
    /// L: stacked recurrent layers.
    public var layers: Int
    public var cell: Seq2SeqConfig.Cell
    /// Dropout between recurrent layers and on the top layer's output before
    /// the projection (training only).
    public var dropout: Float
    /// The output projection shares `embedding.weight` (needs E = H).
    public var tiedOutputEmbeddings: Bool
    public var pad: Int
    public var bos: Int
    public var eos: Int

    public init(vocabularySize: Int, embeddingSize: Int, hiddenSize: Int, layers: Int = 1, cell: Seq2SeqConfig.Cell = .lstm,
                dropout: Float = 0, tiedOutputEmbeddings: Bool = false, pad: Int = 0, bos: Int = 1, eos: Int = 2) {
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.cell = cell
        self.dropout = dropout
        self.tiedOutputEmbeddings = tiedOutputEmbeddings
        self.pad = pad
        self.bos = bos
        self.eos = eos
    }

    /// Throws a RecurError saying what is inconsistent.
    public func validate() throws {
        func need(_ ok: Bool, _ why: String) throws { if !ok { throw RecurError(.value, "language model config: \(why)") } }
        try need(vocabularySize > 0, "the vocabulary size must be positive, got \(vocabularySize)")
        try need(embeddingSize > 0 && hiddenSize > 0, "embedding and hidden sizes must be positive")
        try need(layers >= 1, "layers must be at least 1, got \(layers)")
        try need(dropout >= 0 && dropout < 1, "dropout \(dropout) outside [0, 1)")
        for (name, id) in [("pad", pad), ("bos", bos), ("eos", eos)] {
            try need(id >= 0 && id < vocabularySize, "\(name) id \(id) outside the vocabulary 0..<\(vocabularySize)")
        }
        try need(pad != bos && pad != eos && bos != eos, "pad, bos and eos must differ (\(pad), \(bos), \(eos))")
        try need(!tiedOutputEmbeddings || embeddingSize == hiddenSize,
                 "tied output embeddings need embedding size = hidden size (\(embeddingSize) ≠ \(hiddenSize))")
    }
}

/// The recurrent state of R rows (generations, or the rows of a BPTT batch).
public struct LanguageModelState {
    /// (L, R, H)
    public var h: Tensor
    /// (L, R, H), LSTM only.
    public var c: Tensor?

    public init(h: Tensor, c: Tensor?) {
        self.h = h
        self.c = c
    }

    /// R: the rows.
    public var rows: Int { h.shape[1] }
}

/// A recurrent language model. All parameters live in one layout; the values
/// and gradients in a `ParameterStore` made from it.
public final class LanguageModel {
    public let config: LanguageModelConfig
    public let layout: ParameterLayout
    let embedding: Embedding
    let rnn: RecurrentStack
    /// (V, H): its own or the embedding table (tied).
    let outputWeight: ParameterRef
    let outputBias: ParameterRef

    /// Builds the layout; throws when the configuration is inconsistent.
    public init(config: LanguageModelConfig) throws {
        try config.validate()
        self.config = config
        let c = config
        var layout = ParameterLayout()
        embedding = Embedding(&layout, prefix: "embedding.", vocabularySize: c.vocabularySize,
                              embeddingSize: c.embeddingSize, paddingIndex: c.pad)
        rnn = RecurrentStack(&layout, prefix: "rnn.", config: RecurrentConfig(
            kind: c.cell == .lstm ? .lstm : .gru, inputSize: c.embeddingSize, hiddenSize: c.hiddenSize,
            numLayers: c.layers, dropout: c.dropout))
        outputWeight = c.tiedOutputEmbeddings ? embedding.weight : layout.add("output.weight", [c.vocabularySize, c.hiddenSize])
        outputBias = layout.add("output.bias", [c.vocabularySize])
        self.layout = layout
    }

    /// PyTorch's default initialization of every layer, from `rng`.
    public func initialize(_ store: ParameterStore, rng: inout RNG) {
        embedding.initialize(store, rng: &rng)
        rnn.initialize(store, rng: &rng)
        let bound = 1 / Float(config.hiddenSize).squareRoot()
        if !config.tiedOutputEmbeddings { rng.fillUniform(store.value(outputWeight), -bound, bound) }
        rng.fillUniform(store.value(outputBias), -bound, bound)
    }

    // MARK: - the whole-sequence path (training, scoring)

    /// A padded time-major batch: ids (T·B), next-token targets (T·B, pad where inactive).
    private struct Batch {
        let T: Int, B: Int
        var input: [Int]
        var target: [Int]
        var lengths: [Int]
    }

    private struct Forward {
        let cache: RecurrentCache
        /// (L, B, H): the final states (views into the cache)
        let hN: Tensor, cN: Tensor?
        /// (T·B, H): the top layer's output after dropout (the projection's input)
        let top: Tensor
        let mask: Tensor?
        /// (T·B, V)
        let logits: Tensor
    }

    private func checkIds(_ seqs: [[Int]], what: String, allowPad: Bool = false) throws {
        let V = config.vocabularySize
        for (i, s) in seqs.enumerated() {
            for (t, tok) in s.enumerated() {
                guard tok >= 0 && tok < V else {
                    throw RecurError(.value, "language model: \(what) \(i) has token id \(tok) outside 0..<\(V)")
                }
                guard tok != config.pad || allowPad else {
                    throw RecurError(.value, "language model: \(what) \(i) has the padding id \(tok) at position \(t)")
                }
            }
        }
    }

    /// y_in = BOS y, y_out = y EOS.
    private func teacherForcedBatch(_ targets: [[Int]], allowPad: Bool = false) throws -> Batch {
        guard !targets.isEmpty else { throw RecurError(.value, "language model: an empty batch") }
        try checkIds(targets, what: "target", allowPad: allowPad)
        let B = targets.count, T = targets.map(\.count).max()! + 1
        var batch = Batch(T: T, B: B, input: [Int](repeating: config.pad, count: T * B),
                          target: [Int](repeating: config.pad, count: T * B), lengths: targets.map { $0.count + 1 })
        for (b, y) in targets.enumerated() {
            batch.input[b] = config.bos
            for (t, tok) in y.enumerated() { batch.input[(t + 1) * B + b] = tok; batch.target[t * B + b] = tok }
            batch.target[y.count * B + b] = config.eos
        }
        return batch
    }

    private func forward(_ store: ParameterStore, _ batch: Batch, state: LanguageModelState?, training: Bool,
                         rng: inout RNG) throws -> Forward {
        let c = config, E = c.embeddingSize, H = c.hiddenSize, V = c.vocabularySize, T = batch.T, B = batch.B
        let x = try embedding.forward(store, ids: batch.input).reshaped([T, B, E])
        let (out, cache) = rnn.forward(store, x, h0: state?.h, c0: state?.c, lengths: batch.lengths,
                                       training: training, rng: &rng)
        let (top, mask) = Dropout(p: c.dropout).forward(out.output.reshaped([T * B, H]), training: training, rng: &rng)
        let logits = Tensor(zeros: [T * B, V])
        BLAS.gemm(.none, .transpose, m: T * B, n: V, k: H, a: top.data, lda: H, b: store.value(outputWeight).data, ldb: H,
                  c: logits.data, ldc: V)
        Kernels.addRowVector(rows: T * B, cols: V, store.value(outputBias).data, logits.data)
        return Forward(cache: cache, hN: out.hN, cN: out.cN, top: top, mask: mask, logits: logits)
    }

    /// Cross-entropy of a forward pass, and with `backward` every parameter
    /// gradient added to `store.grad`.
    private func lossAndBackward(_ store: ParameterStore, _ batch: Batch, _ f: Forward, labelSmoothing: Float,
                                 backward: Bool) throws -> ModelLoss {
        let c = config, E = c.embeddingSize, H = c.hiddenSize, V = c.vocabularySize, N = batch.T * batch.B
        let ce = SoftmaxCrossEntropy(ignoreIndex: c.pad, labelSmoothing: labelSmoothing, reduction: .mean)
        let dlogits = backward ? Tensor(zeros: [N, V]) : nil
        let r = try ce.compute(f.logits, targets: batch.target, dlogitsInto: dlogits)
        let loss = ModelLoss(loss: r.loss, tokens: r.count, negativeLogLikelihood: r.negativeLogLikelihood)
        guard let dlogits else { return loss }

        // Output projection: dW += dlogitsᵀ top, db += Σ dlogits, dTop = dlogits W.
        BLAS.gemm(.transpose, .none, m: V, n: H, k: N, a: dlogits.data, lda: V, b: f.top.data, ldb: H,
                  beta: 1, c: store.grad(outputWeight).data, ldc: H)
        Kernels.sumRows(rows: N, cols: V, dlogits.data, into: store.grad(outputBias).data)
        let dTop = Tensor(zeros: [batch.T, batch.B, H])
        BLAS.gemm(.none, .none, m: N, n: H, k: V, a: dlogits.data, lda: V, b: store.value(outputWeight).data, ldb: H,
                  c: dTop.data, ldc: H)
        Dropout.apply(mask: f.mask, to: dTop)
        // The recurrent stack (no gradient reaches the initial state's producer:
        // a carried state is detached), then the embedding table.
        let g = rnn.backward(store, f.cache, dOutput: dTop)
        try embedding.backward(store, ids: batch.input, dy: g.dx.reshaped([N, E]))
        return loss
    }

    /// Teacher-forced loss of a batch of texts (token ids without BOS/EOS,
    /// possibly empty): y_in = BOS y, y_out = y EOS, the whole batch in one
    /// recurrent call. With `backward`, every parameter gradient is ADDED to
    /// `store.grad` (zero them first). Dropout draws from `rng` when `training`.
    public func trainStep(_ store: ParameterStore, targets: [[Int]], training: Bool = true, labelSmoothing: Float = 0,
                          backward: Bool = true, rng: inout RNG) throws -> ModelLoss {
        let batch = try teacherForcedBatch(targets)
        let f = try forward(store, batch, state: nil, training: training, rng: &rng)
        return try lossAndBackward(store, batch, f, labelSmoothing: labelSmoothing, backward: backward)
    }

    /// Truncated BPTT over a chunk of a long text: `inputs[b]` and `targets[b]`
    /// are row b's next-token pairs (the same length, 0 allowed when some row
    /// is longer; no BOS/EOS is added), `state` the state the previous chunk
    /// ended in (nil: zeros). Returns the loss and the state each row ends in
    /// (a copy, at the row's own last step), to pass to the next chunk; no
    /// gradient flows into the state passed in (it is detached).
    public func lossWithState(_ store: ParameterStore, inputs: [[Int]], targets: [[Int]], state: LanguageModelState?,
                              training: Bool = true, labelSmoothing: Float = 0, backward: Bool = true,
                              rng: inout RNG) throws -> (loss: ModelLoss, state: LanguageModelState) {
        guard !inputs.isEmpty, inputs.count == targets.count else {
            throw RecurError(.shape, "language model: \(inputs.count) input rows and \(targets.count) target rows")
        }
        for (b, (x, y)) in zip(inputs, targets).enumerated() where x.count != y.count {
            throw RecurError(.shape, "language model: row \(b) has \(x.count) inputs but \(y.count) targets")
        }
        try checkIds(inputs, what: "input")
        try checkIds(targets, what: "target")
        let B = inputs.count, T = inputs.map(\.count).max()!
        guard T >= 1 else { throw RecurError(.value, "language model: every row of the chunk is empty") }
        if let state { try checkState(state, rows: B) }
        var batch = Batch(T: T, B: B, input: [Int](repeating: config.pad, count: T * B),
                          target: [Int](repeating: config.pad, count: T * B), lengths: inputs.map(\.count))
        for b in 0..<B {
            for t in 0..<inputs[b].count { batch.input[t * B + b] = inputs[b][t]; batch.target[t * B + b] = targets[b][t] }
        }
        let f = try forward(store, batch, state: state, training: training, rng: &rng)
        let last = LanguageModelState(h: f.hN.copy(), c: f.cN?.copy())
        let loss = try lossAndBackward(store, batch, f, labelSmoothing: labelSmoothing, backward: backward)
        return (loss, last)
    }

    /// log p(token) of every target token and of the final EOS, per text,
    /// through the whole-sequence path (inference, no dropout): `result[b]`
    /// has `targets[b].count + 1` entries. Unlike the loss, this scores any
    /// token id, the padding id included (a sampled text may hold it).
    public func tokenLogProbabilities(_ store: ParameterStore, targets: [[Int]]) throws -> [[Float]] {
        let batch = try teacherForcedBatch(targets, allowPad: true)
        var rng = RNG(seed: 0)  // not drawn from: training is false
        let f = try forward(store, batch, state: nil, training: false, rng: &rng)
        let V = config.vocabularySize, B = batch.B
        Kernels.logSoftmax(rows: batch.T * B, cols: V, f.logits.data, f.logits.data)
        return (0..<B).map { b in (0..<batch.lengths[b]).map { t in f.logits.data[(t * B + b) * V + batch.target[t * B + b]] } }
    }

    // MARK: - decoding (one step at a time)

    private func checkState(_ state: LanguageModelState, rows: Int) throws {
        let shape = [config.layers, rows, config.hiddenSize]
        guard state.h.shape == shape, (state.c?.shape == shape) == (config.cell == .lstm) else {
            throw RecurError(.shape, "language model: a state with h \(state.h.shape) and c \(state.c?.shape.description ?? "none") for \(rows) rows; expected \(shape)\(config.cell == .lstm ? " for both" : " and no c")")
        }
    }

    /// The zero state of `rows` generations.
    public func initialState(rows: Int) -> LanguageModelState {
        let shape = [config.layers, rows, config.hiddenSize]
        return LanguageModelState(h: Tensor(zeros: shape), c: config.cell == .lstm ? Tensor(zeros: shape) : nil)
    }

    /// A workspace for `decodeStep` over `rows` rows (reuse it while the row count stays).
    public func makeStepWorkspace(rows: Int) -> RecurrentStepWorkspace {
        RecurrentStepWorkspace(config: rnn.config, batch: rows)
    }

    /// Feeds `tokens[r]` to row r. Returns log-probabilities (R, V) of the next
    /// token and the new state (the state passed in is left unchanged).
    /// `workspace`, when given, must have been made for R rows.
    public func decodeStep(_ store: ParameterStore, _ state: LanguageModelState, tokens: [Int],
                           workspace: RecurrentStepWorkspace? = nil) throws -> (logProbs: Tensor, state: LanguageModelState) {
        let R = state.rows, H = config.hiddenSize, V = config.vocabularySize
        guard tokens.count == R else { throw RecurError(.shape, "language model: \(tokens.count) tokens for \(R) rows") }
        try checkState(state, rows: R)
        if let workspace, workspace.batch != R {
            throw RecurError(.shape, "language model: a step workspace for \(workspace.batch) rows used with \(R)")
        }
        let x = try embedding.forward(store, ids: tokens)  // (R, E)
        let h = state.h.copy(), c = state.c?.copy()
        let top = rnn.step(store, x, h: h, c: c, workspace: workspace ?? makeStepWorkspace(rows: R))  // (R, H)
        let logits = Tensor(zeros: [R, V])
        BLAS.gemm(.none, .transpose, m: R, n: V, k: H, a: top.data, lda: H, b: store.value(outputWeight).data, ldb: H,
                  c: logits.data, ldc: V)
        Kernels.addRowVector(rows: R, cols: V, store.value(outputBias).data, logits.data)
        Kernels.logSoftmax(rows: R, cols: V, logits.data, logits.data)
        return (logits, LanguageModelState(h: h, c: c))
    }

    /// A state whose row i is row `rows[i]` of `state`.
    public func select(_ state: LanguageModelState, rows: [Int]) throws -> LanguageModelState {
        let L = config.layers, H = config.hiddenSize, R = state.rows, N = rows.count
        for r in rows where r < 0 || r >= R { throw RecurError(.value, "language model: row \(r) outside 0..<\(R)") }
        func gather(_ t: Tensor) -> Tensor {
            let out = Tensor(zeros: [L, N, H])
            for l in 0..<L {
                for (i, r) in rows.enumerated() {
                    (out.data + (l * N + i) * H).update(from: t.data + (l * R + r) * H, count: H)
                }
            }
            return out
        }
        return LanguageModelState(h: gather(state.h), c: state.c.map(gather))
    }
}

extension LanguageModel: SequenceModel {
    /// `sources` must be `.none(count:)` with one count per target text.
    public func loss(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool,
                     labelSmoothing: Float, backward: Bool, rng: inout RNG) throws -> ModelLoss {
        guard case .none(let n) = sources else {
            throw RecurError(.value, "language model: a language model reads no source (give .none(count:))")
        }
        guard n == targets.count else {
            throw RecurError(.shape, "language model: a source count of \(n) for \(targets.count) targets")
        }
        return try trainStep(store, targets: targets, training: training, labelSmoothing: labelSmoothing,
                             backward: backward, rng: &rng)
    }
}
