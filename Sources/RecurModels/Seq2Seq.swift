import Foundation
import RecurCore
import RecurLayers

// An encoder-decoder with attention (Luong et al. 2015 style) for text, speech and images.
//
//   sources: B token sequences, frame sequences or grid-cell sets (see Encoders.swift)
//   encoder → keys (S, B, K = D·H), lengths, fin (B, K)
//   bridge: h0 = tanh(bridge(fin)), c0 = tanh(bridge_cell(fin)) (LSTM), fin (B, K) =
//           the top encoder layer's final states, directions concatenated (text, speech),
//           or the mean of the keys (image)
//   decoder, per target step t (teacher forcing: y_in = BOS y, y_out = y EOS):
//     x_t = [emb(y_in[t]); a_{t-1}] (input feeding; a_{-1} = 0)   (B, E + H)
//     h_t = rnn(x_t, h_{t-1})                                      (B, H), one layer
//     context_t, weights_t = attention(h_t, keys, source mask)     (B, K), (B, S)
//     a_t = tanh(W_c [context_t; h_t])                             (B, H)
//     logits_t = dropout(a_t) W_outᵀ + b_out                       (B, Vt)
//
// Parameter names (PyTorch style): encoder.embedding.weight, encoder.rnn.weight_ih_l0… (text),
// encoder.layers.<l>.weight_ih_l0… (speech), encoder.projection.weight/bias [+ encoder.rnn.…] (image),
// bridge.weight/bias, bridge_cell.weight/bias (LSTM), decoder.embedding.weight,
// decoder.rnn.weight_ih_l0…, decoder.attention.… (see Attention), decoder.combine.weight,
// decoder.output.weight (absent when tied), decoder.output.bias.

/// The loss of one batch (kept under its first name).
public typealias Seq2SeqLoss = ModelLoss

/// The encoder's work on a batch of sources, kept for decoding.
public final class Seq2SeqEncoding {
    /// Per source: its attention memory (keys (n, 1, K), batch 1).
    public let memories: [AttentionMemory]
    public let lengths: [Int]
    /// (N, H): the decoder's initial h (and c) per source, from the bridge.
    public let h0: Tensor
    public let c0: Tensor?

    init(memories: [AttentionMemory], lengths: [Int], h0: Tensor, c0: Tensor?) {
        self.memories = memories
        self.lengths = lengths
        self.h0 = h0
        self.c0 = c0
    }
}

/// The decoder state of R hypotheses.
public struct Seq2SeqDecoderState {
    /// Per row: the source it attends to.
    public var sources: [Int]
    /// (1, R, H)
    public var h: Tensor
    /// (1, R, H), LSTM only.
    public var c: Tensor?
    /// (R, H): the previous attentional vector (input feeding).
    public var feed: Tensor
}

/// An encoder-decoder with attention (text, speech or image sources). All parameters live in one layout;
/// the values and gradients in a `ParameterStore` made from it.
public final class Seq2Seq {
    public let config: Seq2SeqConfig
    public let layout: ParameterLayout
    let encoder: any SourceEncoder
    let bridge: Linear
    let bridgeCell: Linear?
    let decoderEmbedding: Embedding
    let decoder: RecurrentStack
    let attention: Attention
    let combine: Linear
    /// (Vt, H): its own or the decoder embedding (tied).
    let outputWeight: ParameterRef
    let outputBias: ParameterRef

    /// Builds the layout; throws when the configuration is inconsistent.
    public init(config: Seq2SeqConfig) throws {
        try config.validate()
        self.config = config
        let c = config, E = c.embeddingSize, H = c.hiddenSize, K = c.encoderOutputSize
        let kind: RecurrentKind = c.cell == .lstm ? .lstm : .gru
        var layout = ParameterLayout()
        switch c.source {
        case .speech: encoder = SpeechEncoder(&layout, c, kind: kind)
        case .image: encoder = ImageEncoder(&layout, c, kind: kind)
        default: encoder = TextEncoder(&layout, c, kind: kind)
        }
        bridge = Linear(&layout, prefix: "bridge.", inFeatures: K, outFeatures: H)
        bridgeCell = c.cell == .lstm ? Linear(&layout, prefix: "bridge_cell.", inFeatures: K, outFeatures: H) : nil
        decoderEmbedding = Embedding(&layout, prefix: "decoder.embedding.", vocabularySize: c.targetVocabularySize,
                                     embeddingSize: E, paddingIndex: c.pad)
        decoder = RecurrentStack(&layout, prefix: "decoder.rnn.", config: RecurrentConfig(
            kind: kind, inputSize: E + (c.inputFeeding ? H : 0), hiddenSize: H))
        let attentionKind: Attention.Kind
        switch c.attention {
        case .additive: attentionKind = .additive
        case .dot: attentionKind = .dot
        case .general: attentionKind = .general
        }
        attention = Attention(&layout, prefix: "decoder.attention.", kind: attentionKind, queryDim: H, keyDim: K,
                              attentionDim: attentionKind == .additive ? H : 0)
        combine = Linear(&layout, prefix: "decoder.combine.", inFeatures: K + H, outFeatures: H, bias: false)
        outputWeight = c.tiedOutputEmbeddings ? decoderEmbedding.weight
            : layout.add("decoder.output.weight", [c.targetVocabularySize, H])
        outputBias = layout.add("decoder.output.bias", [c.targetVocabularySize])
        self.layout = layout
    }

    /// PyTorch's default initialization of every layer, from `rng`.
    public func initialize(_ store: ParameterStore, rng: inout RNG) {
        encoder.initialize(store, rng: &rng)
        bridge.initialize(store, rng: &rng)
        bridgeCell?.initialize(store, rng: &rng)
        decoderEmbedding.initialize(store, rng: &rng)
        decoder.initialize(store, rng: &rng)
        attention.initialize(store, rng: &rng)
        combine.initialize(store, rng: &rng)
        let H = config.hiddenSize
        let bound = 1 / Float(H).squareRoot()
        if !config.tiedOutputEmbeddings {
            let w = store.value(outputWeight)
            for i in 0..<w.count { w.data[i] = rng.uniform(-bound, bound) }
        }
        let b = store.value(outputBias)
        for i in 0..<b.count { b.data[i] = rng.uniform(-bound, bound) }
    }

    // MARK: - encoder and bridge (shared by training and decoding)

    private struct Encoded {
        let pass: EncoderPass
        let h0: Tensor          // (B, H) after tanh
        let c0: Tensor?
        var B: Int { pass.lengths.count }
    }

    private func checkTokens(_ seqs: [[Int]], vocabulary: Int, what: String, allowEmpty: Bool) throws {
        guard !seqs.isEmpty else { throw RecurError(.value, "seq2seq: no \(what) sequences") }
        for (i, s) in seqs.enumerated() {
            if !allowEmpty && s.isEmpty { throw RecurError(.value, "seq2seq: \(what) \(i) is empty") }
            for t in s where t < 0 || t >= vocabulary {
                throw RecurError(.value, "seq2seq: \(what) \(i) has token id \(t) outside 0..<\(vocabulary)")
            }
        }
    }

    private func encodeBatch(_ store: ParameterStore, _ sources: SourceBatch, training: Bool, rng: inout RNG) throws -> Encoded {
        let pass = try encoder.forward(store, sources, training: training, rng: &rng)
        let h0 = bridge.forward(store, pass.fin)
        Kernels.tanh(h0.count, h0.data, h0.data)
        var c0: Tensor?
        if let bridgeCell {
            let c = bridgeCell.forward(store, pass.fin)
            Kernels.tanh(c.count, c.data, c.data)
            c0 = c
        }
        return Encoded(pass: pass, h0: h0, c0: c0)
    }

    // MARK: - training

    /// Teacher-forced loss of a batch; with `backward`, every parameter
    /// gradient is ADDED to `store.grad` (zero them first). `sources` and
    /// `targets` are token ids without BOS/EOS; each source has ≥ 1 token.
    /// Dropout is drawn from `rng` when `training`.
    public func trainStep(_ store: ParameterStore, sources: [[Int]], targets: [[Int]], training: Bool = true,
                          labelSmoothing: Float = 0, backward: Bool = true, rng: inout RNG) throws -> Seq2SeqLoss {
        try trainStep(store, sources: .tokens(sources), targets: targets, training: training,
                      labelSmoothing: labelSmoothing, backward: backward, rng: &rng)
    }

    /// `trainStep` for any kind of source (tokens, speech frames, image cells).
    public func trainStep(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool = true,
                          labelSmoothing: Float = 0, backward: Bool = true, rng: inout RNG) throws -> Seq2SeqLoss {
        guard sources.count == targets.count else {
            throw RecurError(.shape, "seq2seq: \(sources.count) sources but \(targets.count) targets")
        }
        try checkTokens(targets, vocabulary: config.targetVocabularySize, what: "target", allowEmpty: true)
        let c = config, E = c.embeddingSize, H = c.hiddenSize, V = c.targetVocabularySize
        let K = c.encoderOutputSize, feeding = c.inputFeeding, I = E + (feeding ? H : 0)
        let enc = try encodeBatch(store, sources, training: training, rng: &rng)
        let B = enc.B
        let memory = try attention.precompute(store, keys: enc.pass.keys, lengths: enc.pass.lengths)

        // Target ids, time-major (T, B).
        let T = targets.map(\.count).max()! + 1
        var yIn = [Int](repeating: c.pad, count: T * B), yOut = yIn
        for (b, y) in targets.enumerated() {
            yIn[b] = c.bos
            for (t, tok) in y.enumerated() { yIn[(t + 1) * B + b] = tok; yOut[t * B + b] = tok }
            yOut[y.count * B + b] = c.eos
        }
        let emb = try decoderEmbedding.forward(store, ids: yIn)   // (T·B, E)

        // Decoder loop; per step caches.
        var caches: [RecurrentCache] = []
        var inputs: [Tensor] = []          // x_t (1, B, I)
        var steps: [AttentionStep] = []
        var combined: [Tensor] = []        // [context; h] (B, K + H)
        let att = Tensor(zeros: [T * B, H])  // a_t, all steps
        var h = enc.h0.reshaped([1, B, H]), cell = enc.c0.map { $0.reshaped([1, B, H]) }
        for t in 0..<T {
            let x = Tensor(zeros: [1, B, I])
            for b in 0..<B {
                (x.data + b * I).update(from: emb.data + (t * B + b) * E, count: E)
                if feeding && t > 0 { (x.data + b * I + E).update(from: att.data + ((t - 1) * B + b) * H, count: H) }
            }
            let (out, cache) = decoder.forward(store, x, h0: h, c0: cell)
            let ht = out.output.reshaped([B, H])
            let step = attention.forward(store, query: ht, memory: memory)
            let u = Tensor(zeros: [B, K + H])
            for b in 0..<B {
                (u.data + b * (K + H)).update(from: step.context.data + b * K, count: K)
                (u.data + b * (K + H) + K).update(from: ht.data + b * H, count: H)
            }
            let at = att.slice(t * B ..< (t + 1) * B)
            combine.forward(store, u, into: at)
            Kernels.tanh(at.count, at.data, at.data)
            h = out.hN
            cell = out.cN
            caches.append(cache); inputs.append(x); steps.append(step); combined.append(u)
        }

        // Output projection and loss.
        let dropout = Dropout(p: c.dropout)
        let (attOut, mask) = dropout.forward(att, training: training, rng: &rng)
        let logits = Tensor(zeros: [T * B, V])
        let wOut = store.value(outputWeight)
        BLAS.gemm(.none, .transpose, m: T * B, n: V, k: H, a: attOut.data, lda: H, b: wOut.data, ldb: H,
                  c: logits.data, ldc: V)
        Kernels.addRowVector(rows: T * B, cols: V, store.value(outputBias).data, logits.data)
        let ce = SoftmaxCrossEntropy(ignoreIndex: c.pad, labelSmoothing: labelSmoothing, reduction: .mean)
        let dlogits = backward ? Tensor(zeros: [T * B, V]) : nil
        let result = try ce.compute(logits, targets: yOut, dlogitsInto: dlogits)
        let loss = Seq2SeqLoss(loss: result.loss, tokens: result.count, negativeLogLikelihood: result.negativeLogLikelihood)
        guard let dlogits else { return loss }

        // Backward: output projection.
        BLAS.gemm(.transpose, .none, m: V, n: H, k: T * B, a: dlogits.data, lda: V, b: attOut.data, ldb: H,
                  beta: 1, c: store.grad(outputWeight).data, ldc: H)
        let gb = store.grad(outputBias)
        let colSums = Tensor(zeros: [V])
        Kernels.sumRows(rows: T * B, cols: V, dlogits.data, into: colSums.data)
        Kernels.add(V, gb.data, colSums.data, gb.data)
        let dAtt = Tensor(zeros: [T * B, H])
        BLAS.gemm(.none, .none, m: T * B, n: H, k: V, a: dlogits.data, lda: V, b: wOut.data, ldb: H,
                  c: dAtt.data, ldc: H)
        Dropout.apply(mask: mask, to: dAtt)

        // Backward through the decoder steps, last first.
        let dEmb = Tensor(zeros: [T * B, E])
        var dhNext: Tensor? = nil, dcNext: Tensor? = nil
        let dFeed = Tensor(zeros: [B, H])   // gradient reaching a_t through x_{t+1}
        let dz = Tensor(zeros: [B, H])
        let du = Tensor(zeros: [B, K + H])
        let dContext = Tensor(zeros: [B, K])
        let dOut = Tensor(zeros: [1, B, H])
        for t in stride(from: T - 1, through: 0, by: -1) {
            let at = att.slice(t * B ..< (t + 1) * B)
            let dat = dAtt.slice(t * B ..< (t + 1) * B)
            for i in 0..<B * H {
                let g = dat.data[i] + dFeed.data[i]
                dz.data[i] = g * (1 - at.data[i] * at.data[i])
            }
            combine.backward(store, x: combined[t], dy: dz, dxInto: du, accumulateInput: false)
            for b in 0..<B {
                (dContext.data + b * K).update(from: du.data + b * (K + H), count: K)
                (dOut.data + b * H).update(from: du.data + b * (K + H) + K, count: H)
            }
            let dQuery = attention.backward(store, memory: memory, step: steps[t], dContext: dContext)
            Kernels.add(B * H, dOut.data, dQuery.data, dOut.data)
            let g = decoder.backward(store, caches[t], dOutput: dOut, dhN: dhNext, dcN: dcNext)
            dhNext = g.dh0.copy()
            dcNext = g.dc0?.copy()
            dFeed.zero()
            for b in 0..<B {
                (dEmb.data + (t * B + b) * E).update(from: g.dx.data + b * I, count: E)
                if feeding { (dFeed.data + b * H).update(from: g.dx.data + b * I + E, count: H) }
            }
        }
        try decoderEmbedding.backward(store, ids: yIn, dy: dEmb)

        // Bridge.
        let dFin = Tensor(zeros: [B, K])
        func bridgeBackward(_ layer: Linear, _ out: Tensor, _ dOut: Tensor) {
            let dPre = Tensor(zeros: [B, H])
            for i in 0..<B * H { dPre.data[i] = dOut.data[i] * (1 - out.data[i] * out.data[i]) }
            layer.backward(store, x: enc.pass.fin, dy: dPre, dxInto: dFin, accumulateInput: true)
        }
        bridgeBackward(bridge, enc.h0, dhNext!)
        if let bridgeCell, let c0 = enc.c0, let dc = dcNext { bridgeBackward(bridgeCell, c0, dc) }

        // Encoder: keys from attention, fin from the bridge.
        try enc.pass.backward(attention.backwardMemory(store, memory: memory), dFin)
        return loss
    }

    // MARK: - decoding

    /// Encodes sources for decoding (inference: no dropout).
    public func encode(_ store: ParameterStore, sources: [[Int]]) throws -> Seq2SeqEncoding {
        try encode(store, sources: .tokens(sources))
    }

    /// Encodes any kind of source for decoding (inference: no dropout).
    public func encode(_ store: ParameterStore, sources: SourceBatch) throws -> Seq2SeqEncoding {
        var rng = RNG(seed: 0)  // not drawn from: training is false
        let enc = try encodeBatch(store, sources, training: false, rng: &rng)
        let K = config.encoderOutputSize, B = enc.B
        var memories: [AttentionMemory] = []
        for b in 0..<B {
            let n = enc.pass.lengths[b]
            let keys = Tensor(zeros: [n, 1, K])
            for t in 0..<n { (keys.data + t * K).update(from: enc.pass.keys.data + (t * B + b) * K, count: K) }
            memories.append(try attention.precompute(store, keys: keys))
        }
        return Seq2SeqEncoding(memories: memories, lengths: enc.pass.lengths, h0: enc.h0, c0: enc.c0)
    }

    /// The initial decoder state of rows attending to `sources` (indices into the encoding).
    public func initialState(_ encoding: Seq2SeqEncoding, sources: [Int]) throws -> Seq2SeqDecoderState {
        let H = config.hiddenSize, R = sources.count
        let h = Tensor(zeros: [1, R, H])
        let c: Tensor? = encoding.c0 == nil ? nil : Tensor(zeros: [1, R, H])
        for (r, s) in sources.enumerated() {
            guard s >= 0 && s < encoding.lengths.count else {
                throw RecurError(.value, "seq2seq: source index \(s) outside 0..<\(encoding.lengths.count)")
            }
            (h.data + r * H).update(from: encoding.h0.data + s * H, count: H)
            if let c, let c0 = encoding.c0 { (c.data + r * H).update(from: c0.data + s * H, count: H) }
        }
        return Seq2SeqDecoderState(sources: sources, h: h, c: c, feed: Tensor(zeros: [R, H]))
    }

    /// Feeds `tokens[r]` to row r. Returns log-probabilities (R, Vt), the new
    /// state and the attention weights (R, W), W the longest source among the rows.
    public func decodeStep(_ store: ParameterStore, _ encoding: Seq2SeqEncoding, _ state: Seq2SeqDecoderState,
                           tokens: [Int]) throws -> (logProbs: Tensor, state: Seq2SeqDecoderState, attention: Tensor) {
        let c = config, E = c.embeddingSize, H = c.hiddenSize, V = c.targetVocabularySize, K = c.encoderOutputSize
        let R = state.sources.count, I = E + (c.inputFeeding ? H : 0)
        guard tokens.count == R else { throw RecurError(.shape, "seq2seq: \(tokens.count) tokens for \(R) rows") }
        let emb = try decoderEmbedding.forward(store, ids: tokens)
        let x = Tensor(zeros: [R, I])
        for r in 0..<R {
            (x.data + r * I).update(from: emb.data + r * E, count: E)
            if c.inputFeeding { (x.data + r * I + E).update(from: state.feed.data + r * H, count: H) }
        }
        let h = state.h.copy(), cell = state.c?.copy()
        decoder.step(store, x, h: h, c: cell, workspace: RecurrentStepWorkspace(config: decoder.config, batch: R))
        let W = state.sources.map { encoding.lengths[$0] }.max() ?? 0
        let weights = Tensor(zeros: [R, max(W, 1)])
        let u = Tensor(zeros: [R, K + H])
        for r in 0..<R {
            let s = state.sources[r], n = encoding.lengths[s]
            let q = Tensor(zeros: [1, H])
            q.data.update(from: h.data + r * H, count: H)
            let st = attention.forward(store, query: q, memory: encoding.memories[s])
            (weights.data + r * weights.shape[1]).update(from: st.weights.data, count: n)
            (u.data + r * (K + H)).update(from: st.context.data, count: K)
            (u.data + r * (K + H) + K).update(from: q.data, count: H)
        }
        let feed = combine.forward(store, u)
        Kernels.tanh(feed.count, feed.data, feed.data)
        let logits = Tensor(zeros: [R, V])
        BLAS.gemm(.none, .transpose, m: R, n: V, k: H, a: feed.data, lda: H, b: store.value(outputWeight).data, ldb: H,
                  c: logits.data, ldc: V)
        Kernels.addRowVector(rows: R, cols: V, store.value(outputBias).data, logits.data)
        Kernels.logSoftmax(rows: R, cols: V, logits.data, logits.data)
        return (logits, Seq2SeqDecoderState(sources: state.sources, h: h, c: cell, feed: feed), weights)
    }

    /// A state whose row i is row `rows[i]` of `state`.
    public func select(_ state: Seq2SeqDecoderState, rows: [Int]) throws -> Seq2SeqDecoderState {
        let H = config.hiddenSize, R = state.sources.count
        func gather(_ t: Tensor, _ shape: [Int]) -> Tensor {
            let out = Tensor(zeros: shape)
            for (i, r) in rows.enumerated() { (out.data + i * H).update(from: t.data + r * H, count: H) }
            return out
        }
        for r in rows where r < 0 || r >= R { throw RecurError(.value, "seq2seq: row \(r) outside 0..<\(R)") }
        return Seq2SeqDecoderState(sources: rows.map { state.sources[$0] }, h: gather(state.h, [1, rows.count, H]),
                                   c: state.c.map { gather($0, [1, rows.count, H]) },
                                   feed: gather(state.feed, [rows.count, H]))
    }
}

extension Seq2Seq: SequenceModel {
    public func loss(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool,
                     labelSmoothing: Float, backward: Bool, rng: inout RNG) throws -> ModelLoss {
        try trainStep(store, sources: sources, targets: targets, training: training, labelSmoothing: labelSmoothing,
                             backward: backward, rng: &rng)
    }
}
