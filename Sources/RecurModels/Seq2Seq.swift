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
// How trainStep computes it (N = T·B rows, time-major), so that per step only the
// recurrence is left and everything else is a few large GEMMs:
//   forward:  the embedding columns of the decoder's W_ih for all steps in one GEMM
//             (N, E)·(E, G); per step the fed-back a_{t-1} columns (B, H)·(H, G), h_{t-1} W_hhᵀ,
//             the cell kernel (RecurrentStack.cellStepForward: the kernels of `forward`),
//             attention, combine; the output projection and the loss over all N rows;
//             dlogits overwrite the logits.
//   backward: the output projection over all rows; per step, last first, only what
//             flows backwards in time (dz_t, dz_t W_c, attention, the cell kernel,
//             dh_{t-1} += dGh W_hh, dFeed = dGx W_ih[:, E:]); then dW_c, dW_ih, dW_hh,
//             the biases and the embedding gradient as GEMMs over all N rows.
//   buffers:  a Seq2SeqWorkspace per concurrent caller, kept by the model and grown to
//             the largest batch seen (no large allocation or zero-filling per batch).
//   scheduled sampling (Bengio et al. 2015; training with rate p > 0 only): the dropout mask
//             is drawn before the step loop (the same draws as without sampling), the
//             output projection runs per step into the same logits rows, and before step
//             t ≥ 1 each row b draws u ~ U[0, 1) (t-major, b-minor, padding rows included);
//             where u < p and t ≤ len_b, the input token is argmax logits_{t-1}[b] (a
//             constant: no gradient through the argmax) in place of y_{t-1}, its embedding
//             row and its gx row are recomputed, and yIn records it (the embedding
//             gradient goes to the token fed). The loss and the backward are unchanged.
//             With p = 0 none of this runs.
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
    /// Training buffers reused across steps and batches (one per concurrent caller).
    let workspaces = Seq2SeqWorkspacePool()

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
    /// Dropout is drawn from `rng` when `training`. `scheduledSampling` p in
    /// [0, 1] (used only when `training`): each decoder input after the first is,
    /// with probability p, the model's own argmax prediction of the previous
    /// step instead of the reference (scheduled sampling, Bengio et al. 2015;
    /// see the file comment); 0 is plain teacher forcing.
    public func trainStep(_ store: ParameterStore, sources: [[Int]], targets: [[Int]], training: Bool = true,
                          labelSmoothing: Float = 0, scheduledSampling: Float = 0, backward: Bool = true,
                          rng: inout RNG) throws -> Seq2SeqLoss {
        try trainStep(store, sources: .tokens(sources), targets: targets, training: training,
                      labelSmoothing: labelSmoothing, scheduledSampling: scheduledSampling, backward: backward, rng: &rng)
    }

    /// `trainStep` for any kind of source (tokens, speech frames, image cells).
    public func trainStep(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool = true,
                          labelSmoothing: Float = 0, scheduledSampling: Float = 0, backward: Bool = true,
                          rng: inout RNG) throws -> Seq2SeqLoss {
        guard sources.count == targets.count else {
            throw RecurError(.shape, "seq2seq: \(sources.count) sources but \(targets.count) targets")
        }
        guard scheduledSampling >= 0 && scheduledSampling <= 1 else {
            throw RecurError(.value, "seq2seq: scheduled sampling rate \(scheduledSampling) outside [0, 1]")
        }
        try checkTokens(targets, vocabulary: config.targetVocabularySize, what: "target", allowEmpty: true)
        return try workspaces.with { ws in
            try trainStep(store, sources: sources, targets: targets, training: training, labelSmoothing: labelSmoothing,
                          sampling: training ? scheduledSampling : 0, backward: backward, rng: &rng, workspace: ws)
        }
    }

    /// The teacher-forced step on a workspace's buffers. Shapes (N = T·B rows, time-major; G = gates·H):
    ///   emb (N, E), gx (N, G) the decoder cell's input pre-activations, then its activated gates,
    ///   hs (T+1, B, H) h_{-1}…h_{T-1} (hs[0] = the bridge's h0), cs likewise (LSTM), extra (N, H),
    ///   att (N, H) a_t, u (N, K+H) [context_t; h_t], logits (N, V) (dlogits in place).
    /// `sampling`: the scheduled-sampling rate p (0 when not training: plain teacher forcing).
    private func trainStep(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool,
                           labelSmoothing: Float, sampling: Float, backward: Bool, rng: inout RNG,
                           workspace ws: Seq2SeqWorkspace) throws -> Seq2SeqLoss {
        let c = config, E = c.embeddingSize, H = c.hiddenSize, V = c.targetVocabularySize
        let K = c.encoderOutputSize, feeding = c.inputFeeding, I = E + (feeding ? H : 0)
        let G = decoder.config.kind.gates * H, lstm = decoder.config.kind.hasCellState, KH = K + H
        let enc = try encodeBatch(store, sources, training: training, rng: &rng)
        let B = enc.B
        let memory = try attention.precompute(store, keys: enc.pass.keys, lengths: enc.pass.lengths)

        // Target ids, time-major (T, B).
        let T = targets.map(\.count).max()! + 1, N = T * B
        var yIn = [Int](repeating: c.pad, count: N), yOut = yIn
        for (b, y) in targets.enumerated() {
            yIn[b] = c.bos
            for (t, tok) in y.enumerated() { yIn[(t + 1) * B + b] = tok; yOut[t * B + b] = tok }
            yOut[y.count * B + b] = c.eos
        }
        let emb = ws.tensor(.embedding, [N, E])
        try decoderEmbedding.forward(store, ids: yIn, into: emb)

        // The decoder cell's input pre-activations of every step at once: the embedding
        // columns of W_ih in one GEMM; the fed-back a_{t-1} part is added per step.
        let w = decoder.weights[0]
        let wih = store.value(w.weightIH).data, whh = store.value(w.weightHH).data   // (G, I), (G, H)
        let gx = ws.tensor(.gates, [N, G]).data
        // gx (N, G) = emb (N, E) · W_ih[:, :E]ᵀ
        BLAS.gemm(.none, .transpose, m: N, n: G, k: E, a: emb.data, lda: E, b: wih, ldb: I, c: gx, ldc: G)
        let hs = ws.tensor(.states, [T + 1, B, H]).data
        hs.update(from: enc.h0.data, count: B * H)
        let cs: UnsafeMutablePointer<Float>? = lstm ? ws.tensor(.cells, [T + 1, B, H]).data : nil
        if let cs, let c0 = enc.c0 { cs.update(from: c0.data, count: B * H) }
        let extra = ws.tensor(.extra, [N, H]).data
        let hh = ws.tensor(.hh, [B, G]).data
        let att = ws.tensor(.attentional, [N, H])
        let u = ws.tensor(.combined, [N, KH])
        var steps: [AttentionStep] = []
        steps.reserveCapacity(T)
        // The per-step products take transposed copies of their weights, made once per batch
        // (BLAS.transpose: about twice as fast at these sizes): W_hhᵀ (H, G), W_ih[:, E:]ᵀ (H, G)
        // and W_cᵀ (K+H, H).
        let whhT = ws.tensor(.whhT, [H, G]).data
        BLAS.transpose(rows: G, cols: H, whh, ldSrc: H, into: whhT, ldDst: G)
        let feedT = ws.tensor(.feedT, [H, G]).data
        if feeding { BLAS.transpose(rows: G, cols: H, wih + E, ldSrc: I, into: feedT, ldDst: G) }
        let combineT = ws.tensor(.combineT, [KH, H]).data
        BLAS.transpose(rows: H, cols: KH, store.value(combine.weight).data, ldSrc: KH, into: combineT, ldDst: H)
        let dropout = Dropout(p: c.dropout)
        let logits = ws.tensor(.logits, [N, V])
        // Scheduled sampling: the dropout mask now (the draws it makes after the loop otherwise),
        // and the dropped-out a_t per step, so that each step's logits exist before the next step.
        let sampledMask = sampling > 0 && dropout.isActive(training: training) ? dropout.makeMask([N, H], rng: &rng) : nil
        let sampledAttOut = sampling > 0 && sampledMask != nil ? Tensor(zeros: [N, H]) : att
        for t in 0..<T {
            let g = gx + t * B * G, hPrev = hs + t * B * H, hNew = hs + (t + 1) * B * H
            if sampling > 0 && t > 0 {
                feedPredictions(store, step: t, batch: B, rate: sampling, targets: targets, logits: logits,
                                yIn: &yIn, emb: emb, gx: g, rng: &rng)
            }
            // x_t W_ihᵀ += a_{t-1} W_ih[:, E:]ᵀ (input feeding; a_{-1} = 0)
            if feeding && t > 0 {
                BLAS.gemm(.none, .none, m: B, n: G, k: H, a: att.data + (t - 1) * B * H, lda: H, b: feedT, ldb: G,
                          beta: 1, c: g, ldc: G)
            }
            // hh = h_{t-1} W_hhᵀ; then the cell kernel: h_t (and c_t), activated gates in g
            BLAS.gemm(.none, .none, m: B, n: G, k: H, a: hPrev, lda: H, b: whhT, ldb: G, c: hh, ldc: G)
            decoder.cellStepForward(store, batch: B, gates: g, hh: hh, hPrev: hPrev, hNew: hNew,
                                    cPrev: cs.map { UnsafePointer($0 + t * B * H) }, cNew: cs.map { $0 + (t + 1) * B * H },
                                    extra: extra + t * B * H)
            let step = attention.forward(store, query: Tensor(borrowing: hNew, shape: [B, H]), memory: memory)
            // u_t = [context_t; h_t];  a_t = tanh(u_t W_cᵀ)
            let ut = u.slice(t * B ..< (t + 1) * B)
            for b in 0..<B {
                (ut.data + b * KH).update(from: step.context.data + b * K, count: K)
                (ut.data + b * KH + K).update(from: hNew + b * H, count: H)
            }
            let at = att.slice(t * B ..< (t + 1) * B)
            BLAS.gemm(.none, .none, m: B, n: H, k: KH, a: ut.data, lda: KH, b: combineT, ldb: H, c: at.data, ldc: H)
            Kernels.tanh(at.count, at.data, at.data)
            steps.append(step)
            if sampling > 0 {
                project(store, rows: t * B ..< (t + 1) * B, att: att, mask: sampledMask, attOut: sampledAttOut, logits: logits)
            }
        }

        // Output projection (done per step above with scheduled sampling) and loss (dlogits overwrite the logits).
        let wOut = store.value(outputWeight)
        let attOut: Tensor, mask: Tensor?
        if sampling > 0 {
            (attOut, mask) = (sampledAttOut, sampledMask)
        } else {
            (attOut, mask) = dropout.forward(att, training: training, rng: &rng)
            BLAS.gemm(.none, .transpose, m: N, n: V, k: H, a: attOut.data, lda: H, b: wOut.data, ldb: H,
                      c: logits.data, ldc: V)
            Kernels.addRowVector(rows: N, cols: V, store.value(outputBias).data, logits.data)
        }
        let ce = SoftmaxCrossEntropy(ignoreIndex: c.pad, labelSmoothing: labelSmoothing, reduction: .mean)
        let result = try ce.compute(logits, targets: yOut, dlogitsInto: backward ? logits : nil)
        let loss = Seq2SeqLoss(loss: result.loss, tokens: result.count, negativeLogLikelihood: result.negativeLogLikelihood)
        guard backward else { return loss }
        let dlogits = logits

        // Backward: output projection. dW_out += dlogitsᵀ attOut, db_out += Σ dlogits, dAtt = dlogits W_out.
        BLAS.gemm(.transpose, .none, m: V, n: H, k: N, a: dlogits.data, lda: V, b: attOut.data, ldb: H,
                  beta: 1, c: store.grad(outputWeight).data, ldc: H)
        Kernels.sumRows(rows: N, cols: V, dlogits.data, into: store.grad(outputBias).data)
        let dAtt = ws.tensor(.dAttentional, [N, H])
        BLAS.gemm(.none, .none, m: N, n: H, k: V, a: dlogits.data, lda: V, b: wOut.data, ldb: H,
                  c: dAtt.data, ldc: H)
        Dropout.apply(mask: mask, to: dAtt)

        // Backward through the decoder steps, last first. Per step only what the
        // recurrence needs; the weight gradients after the loop, over all steps.
        let dPre = ws.tensor(.dPre, [N, H])        // dL/d(u_t W_cᵀ), all steps
        let du = ws.tensor(.du, [B, KH]).data
        let dContext = ws.tensor(.dContext, [B, K])
        let dOut = ws.tensor(.dOut, [B, H]).data   // dL/dh_t from attention and combine
        let dh = ws.tensor(.dh, [B, H]).data       // dL/dh_t from step t+1 (then dh_{t-1})
        let dc: UnsafeMutablePointer<Float>? = lstm ? ws.tensor(.dc, [B, H]).data : nil
        let dFeed = ws.tensor(.dFeed, [B, H]).data // dL/da_t through x_{t+1}
        dh.update(repeating: 0, count: B * H)
        dc?.update(repeating: 0, count: B * H)
        dFeed.update(repeating: 0, count: B * H)
        let dGx = ws.tensor(.dGx, [N, G]).data
        let dGh = lstm ? dGx : ws.tensor(.dGh, [N, G]).data   // equal for an LSTM
        let wc = store.value(combine.weight).data  // (H, K+H)
        for t in stride(from: T - 1, through: 0, by: -1) {
            let at = att.data + t * B * H, dat = dAtt.data + t * B * H, dz = dPre.data + t * B * H
            // dz = (dAtt_t + dFeed) ⊙ (1 - a_t²)
            for i in 0..<B * H { dz[i] = (dat[i] + dFeed[i]) * (1 - at[i] * at[i]) }
            // du (B, K+H) = dz W_c → dContext, dOut
            BLAS.gemm(.none, .none, m: B, n: KH, k: H, a: dz, lda: H, b: wc, ldb: KH, c: du, ldc: KH)
            for b in 0..<B {
                (dContext.data + b * K).update(from: du + b * KH, count: K)
                (dOut + b * H).update(from: du + b * KH + K, count: H)
            }
            let dQuery = attention.backward(store, memory: memory, step: steps[t], dContext: dContext)
            Kernels.add(B * H, dOut, dQuery.data, dOut)
            let dgx = dGx + t * B * G, dgh = dGh + t * B * G
            decoder.cellStepBackward(batch: B, gates: gx + t * B * G, extra: extra + t * B * H, hPrev: hs + t * B * H,
                                     cPrev: cs.map { UnsafePointer($0 + t * B * H) }, dOut: dOut, dh: dh, dc: dc,
                                     dGx: dgx, dGh: dgh)
            // dh_{t-1} += dGh W_hh;  dFeed = dGx W_ih[:, E:] (reaches a_{t-1})
            BLAS.gemm(.none, .none, m: B, n: H, k: G, a: dgh, lda: G, b: whh, ldb: H, beta: 1, c: dh, ldc: H)
            if feeding && t > 0 {
                BLAS.gemm(.none, .none, m: B, n: H, k: G, a: dgx, lda: G, b: wih + E, ldb: I, c: dFeed, ldc: H)
            }
        }
        // Combine: dW_c += dPreᵀ u over all steps.
        BLAS.gemm(.transpose, .none, m: H, n: KH, k: N, a: dPre.data, lda: H, b: u.data, ldb: KH,
                  beta: 1, c: store.grad(combine.weight).data, ldc: KH)
        // Decoder cell: dW_ih[:, :E] += dGxᵀ emb, dW_ih[:, E:] += dGx[1…]ᵀ a[…T-2], dW_hh += dGhᵀ h_prev,
        // db_ih += Σ dGx, db_hh += Σ dGh, dEmb = dGx W_ih[:, :E].
        let gWih = store.grad(w.weightIH).data
        BLAS.gemm(.transpose, .none, m: G, n: E, k: N, a: dGx, lda: G, b: emb.data, ldb: E, beta: 1, c: gWih, ldc: I)
        if feeding && T > 1 {
            BLAS.gemm(.transpose, .none, m: G, n: H, k: N - B, a: dGx + B * G, lda: G, b: att.data, ldb: H,
                      beta: 1, c: gWih + E, ldc: I)
        }
        BLAS.gemm(.transpose, .none, m: G, n: H, k: N, a: dGh, lda: G, b: hs, ldb: H,
                  beta: 1, c: store.grad(w.weightHH).data, ldc: H)
        Kernels.sumRows(rows: N, cols: G, dGx, into: store.grad(w.biasIH).data)
        Kernels.sumRows(rows: N, cols: G, dGh, into: store.grad(w.biasHH).data)
        let dEmb = ws.tensor(.dEmbedding, [N, E])
        BLAS.gemm(.none, .none, m: N, n: E, k: G, a: dGx, lda: G, b: wih, ldb: I, c: dEmb.data, ldc: E)
        try decoderEmbedding.backward(store, ids: yIn, dy: dEmb)
        // Bridge.
        let dFin = Tensor(zeros: [B, K])
        func bridgeBackward(_ layer: Linear, _ out: Tensor, _ dOut: UnsafeMutablePointer<Float>) {
            let dPre = Tensor(zeros: [B, H])
            for i in 0..<B * H { dPre.data[i] = dOut[i] * (1 - out.data[i] * out.data[i]) }
            layer.backward(store, x: enc.pass.fin, dy: dPre, dxInto: dFin, accumulateInput: true)
        }
        bridgeBackward(bridge, enc.h0, dh)
        if let bridgeCell, let c0 = enc.c0, let dc { bridgeBackward(bridgeCell, c0, dc) }

        // Encoder: keys from attention, fin from the bridge.
        try enc.pass.backward(attention.backwardMemory(store, memory: memory), dFin)
        return loss
    }

    /// Scheduled sampling, before decoder step t ≥ 1: row b draws u ~ U[0, 1) (every row, in order);
    /// where u < rate and step t is inside the target (t ≤ len_b), the input is argmax logits_{t-1}[b]
    /// instead of the reference. A changed input gets its embedding row in `emb` (N, E), its
    /// pre-activations in `gx` (the step's (B, G) rows: emb_row · W_ih[:, :E]ᵀ) and its id in `yIn`.
    private func feedPredictions(_ store: ParameterStore, step t: Int, batch B: Int, rate: Float, targets: [[Int]],
                                 logits: Tensor, yIn: inout [Int], emb: Tensor, gx: UnsafeMutablePointer<Float>,
                                 rng: inout RNG) {
        let E = config.embeddingSize, V = config.targetVocabularySize, G = decoder.config.kind.gates * config.hiddenSize
        let I = decoder.config.inputSize
        let table = store.value(decoderEmbedding.weight).data, wih = store.value(decoder.weights[0].weightIH).data
        for b in 0..<B {
            let draw = rng.uniform()
            guard draw < rate && t <= targets[b].count else { continue }
            // argmax over the previous step's logits (the first of equal maxima)
            let row = logits.data + ((t - 1) * B + b) * V
            var best = 0
            for v in 1..<V where row[v] > row[best] { best = v }
            let n = t * B + b
            guard best != yIn[n] else { continue }
            yIn[n] = best
            (emb.data + n * E).update(from: table + best * E, count: E)
            // gx row (1, G) = emb row (1, E) · W_ih[:, :E]ᵀ
            BLAS.gemm(.none, .transpose, m: 1, n: G, k: E, a: emb.data + n * E, lda: E, b: wih, ldb: I,
                      c: gx + b * G, ldc: G)
        }
    }

    /// The output projection of some rows (scheduled sampling's per-step logits):
    /// attOut = att ⊙ mask (att itself without a mask), logits = attOut W_outᵀ + b_out.
    private func project(_ store: ParameterStore, rows: Range<Int>, att: Tensor, mask: Tensor?, attOut: Tensor,
                         logits: Tensor) {
        let H = config.hiddenSize, V = config.targetVocabularySize, n = rows.count
        let x = attOut.data + rows.lowerBound * H, y = logits.data + rows.lowerBound * V
        if let mask { Kernels.mul(n * H, att.data + rows.lowerBound * H, mask.data + rows.lowerBound * H, x) }
        BLAS.gemm(.none, .transpose, m: n, n: V, k: H, a: x, lda: H, b: store.value(outputWeight).data, ldb: H, c: y, ldc: V)
        Kernels.addRowVector(rows: n, cols: V, store.value(outputBias).data, y)
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
        // Every row against its own source's memory, in one call.
        let (context, weights) = attention.forward(store, query: h.reshaped([R, H]),
                                                   memories: state.sources.map { encoding.memories[$0] })
        let u = Tensor(zeros: [R, K + H])
        for r in 0..<R {
            (u.data + r * (K + H)).update(from: context.data + r * K, count: K)
            (u.data + r * (K + H) + K).update(from: h.data + r * H, count: H)
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

    /// The loss with scheduled sampling at `scheduledSampling` (see `trainStep`).
    public func loss(_ store: ParameterStore, sources: SourceBatch, targets: [[Int]], training: Bool,
                     labelSmoothing: Float, scheduledSampling: Float, backward: Bool, rng: inout RNG) throws -> ModelLoss {
        try trainStep(store, sources: sources, targets: targets, training: training, labelSmoothing: labelSmoothing,
                      scheduledSampling: scheduledSampling, backward: backward, rng: &rng)
    }
}
