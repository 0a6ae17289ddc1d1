import RecurCore
import RecurLayers

// The three source encoders of `Seq2Seq`. Each turns a batch of sources into
//   keys (S, B, K): the attention memory, time-major, zero at padded positions
//   lengths [B]:    valid positions per source (S = max)
//   fin (B, K):     what the bridge reads (final states or mean over positions)
// and returns a `backward` closure that takes dKeys (S, B, K) and dFin (B, K),
// accumulates every parameter gradient, and holds the forward's cache.
//
//   text:   ids → embedding (E) → stacked (bi)RNN                   fin = top layer's final states
//   speech: frames (F) [→ k frames joined into one step (low frame rate)]
//           → L one-layer (bi)RNNs; before layers 1…P the time axis
//           halves by joining pairs of steps (LAS pyramid)           fin = top layer's final states
//   image:  cells (F) → tanh(Linear(F → K)) [→ biRNN over the cells
//           in raster order]                                          fin = mean over cells

/// An encoder's forward result and the way back.
struct EncoderPass {
    let keys: Tensor
    let lengths: [Int]
    let fin: Tensor
    let backward: (_ dKeys: Tensor, _ dFin: Tensor) throws -> Void
}

protocol SourceEncoder: AnyObject {
    /// K: the width of keys and fin.
    var outputSize: Int { get }
    func initialize(_ store: ParameterStore, rng: inout RNG)
    func forward(_ store: ParameterStore, _ sources: SourceBatch, training: Bool, rng: inout RNG) throws -> EncoderPass
}

/// fin (B, D·H) ← the last layer's final states, directions side by side.
private func finalStates(_ hN: Tensor, layer: Int, directions D: Int, batch B: Int, hidden H: Int) -> Tensor {
    let fin = Tensor(zeros: [B, D * H])
    for d in 0..<D {
        let k = layer * D + d
        for b in 0..<B { (fin.data + b * D * H + d * H).update(from: hN.data + (k * B + b) * H, count: H) }
    }
    return fin
}

/// dhN (L·D, B, H) with dFin in the last layer's rows (zero elsewhere).
private func finalStateGradient(_ dFin: Tensor, layers L: Int, directions D: Int, batch B: Int, hidden H: Int) -> Tensor {
    let dhN = Tensor(zeros: [L * D, B, H])
    for d in 0..<D {
        let k = (L - 1) * D + d
        for b in 0..<B { (dhN.data + (k * B + b) * H).update(from: dFin.data + b * D * H + d * H, count: H) }
    }
    return dhN
}

/// Frames of each source, zero-padded time-major to (T, B, F).
private func packFrames(_ frames: [Tensor], featureSize F: Int, what: String) throws -> (Tensor, [Int]) {
    guard !frames.isEmpty else { throw RecurError(.value, "seq2seq: no \(what) in the batch") }
    for (i, f) in frames.enumerated() {
        guard f.rank == 2, f.shape[1] == F, f.shape[0] >= 1 else {
            throw RecurError(.shape, "seq2seq: \(what) \(i) has shape \(f.shape), expected (T ≥ 1, \(F))")
        }
    }
    let B = frames.count, T = frames.map { $0.shape[0] }.max()!
    let x = Tensor(zeros: [T, B, F])
    for (b, f) in frames.enumerated() {
        for t in 0..<f.shape[0] { (x.data + (t * B + b) * F).update(from: f.data + t * F, count: F) }
    }
    return (x, frames.map { $0.shape[0] })
}

// MARK: - text

final class TextEncoder: SourceEncoder {
    let embedding: Embedding
    let rnn: RecurrentStack
    let pad: Int
    var outputSize: Int { rnn.config.outputSize }

    init(_ layout: inout ParameterLayout, _ c: Seq2SeqConfig, kind: RecurrentKind) {
        pad = c.pad
        embedding = Embedding(&layout, prefix: "encoder.embedding.", vocabularySize: c.sourceVocabularySize,
                              embeddingSize: c.embeddingSize, paddingIndex: c.pad)
        rnn = RecurrentStack(&layout, prefix: "encoder.rnn.", config: RecurrentConfig(
            kind: kind, inputSize: c.embeddingSize, hiddenSize: c.hiddenSize, numLayers: c.encoderLayers,
            bidirectional: c.bidirectionalEncoder, dropout: c.dropout))
    }

    func initialize(_ store: ParameterStore, rng: inout RNG) {
        embedding.initialize(store, rng: &rng)
        rnn.initialize(store, rng: &rng)
    }

    func forward(_ store: ParameterStore, _ sources: SourceBatch, training: Bool, rng: inout RNG) throws -> EncoderPass {
        guard case .tokens(let seqs) = sources else { throw RecurError(.value, "seq2seq: a text encoder reads tokens") }
        guard !seqs.isEmpty else { throw RecurError(.value, "seq2seq: no source sequences") }
        for (i, s) in seqs.enumerated() {
            if s.isEmpty { throw RecurError(.value, "seq2seq: source \(i) is empty") }
            for t in s where t < 0 || t >= embedding.vocabularySize {
                throw RecurError(.value, "seq2seq: source \(i) has token id \(t) outside 0..<\(embedding.vocabularySize)")
            }
        }
        let B = seqs.count, S = seqs.map(\.count).max()!, E = embedding.embeddingSize
        let cfg = rnn.config, H = cfg.hiddenSize, D = cfg.directions, L = cfg.numLayers
        var ids = [Int](repeating: pad, count: S * B)
        for (b, s) in seqs.enumerated() { for (t, tok) in s.enumerated() { ids[t * B + b] = tok } }
        let emb = try embedding.forward(store, ids: ids).reshaped([S, B, E])
        let lengths = seqs.map(\.count)
        let (out, cache) = rnn.forward(store, emb, lengths: lengths, training: training, rng: &rng)
        let fin = finalStates(out.hN, layer: L - 1, directions: D, batch: B, hidden: H)
        return EncoderPass(keys: out.output, lengths: lengths, fin: fin) { dKeys, dFin in
            let dhN = finalStateGradient(dFin, layers: L, directions: D, batch: B, hidden: H)
            let g = self.rnn.backward(store, cache, dOutput: dKeys, dhN: dhN)
            try self.embedding.backward(store, ids: ids, dy: g.dx.reshaped([S * B, E]))
        }
    }
}

// MARK: - speech

final class SpeechEncoder: SourceEncoder {
    /// One one-layer (bi)RNN per level; level l > 0 reads joined pairs when l ≤ pyramid.
    let layers: [RecurrentStack]
    let featureSize: Int
    let pyramid: Int
    let frameStack: Int
    let dropout: Dropout
    var outputSize: Int { layers[0].config.outputSize }

    init(_ layout: inout ParameterLayout, _ c: Seq2SeqConfig, kind: RecurrentKind) {
        featureSize = c.inputFeatureSize
        pyramid = c.pyramidLayers
        frameStack = c.frameStack
        dropout = Dropout(p: c.dropout)
        var layers: [RecurrentStack] = []
        let K = c.encoderOutputSize
        for l in 0..<c.encoderLayers {
            let input = l == 0 ? c.frameStack * c.inputFeatureSize : (l <= c.pyramidLayers ? 2 * K : K)
            layers.append(RecurrentStack(&layout, prefix: "encoder.layers.\(l).", config: RecurrentConfig(
                kind: kind, inputSize: input, hiddenSize: c.hiddenSize, bidirectional: c.bidirectionalEncoder)))
        }
        self.layers = layers
    }

    func initialize(_ store: ParameterStore, rng: inout RNG) {
        for l in layers { l.initialize(store, rng: &rng) }
    }

    /// (T, B, K) → (⌈T/k⌉, B, k·K): step t joins steps k·t … k·t+k-1 (zero past the end).
    static func join(_ x: Tensor, _ k: Int) -> Tensor {
        let T = x.shape[0], B = x.shape[1], K = x.shape[2], Tk = (T + k - 1) / k
        let y = Tensor(zeros: [Tk, B, k * K])
        for t in 0..<Tk {
            for b in 0..<B {
                let dst = y.data + (t * B + b) * k * K
                for j in 0..<k where k * t + j < T {
                    (dst + j * K).update(from: x.data + ((k * t + j) * B + b) * K, count: K)
                }
            }
        }
        return y
    }

    /// The gradient of `join(_, k)`: (Tk, B, k·K) → (T, B, K).
    static func split(_ dy: Tensor, _ k: Int, steps T: Int) -> Tensor {
        let Tk = dy.shape[0], B = dy.shape[1], K = dy.shape[2] / k
        let dx = Tensor(zeros: [T, B, K])
        for t in 0..<Tk {
            for b in 0..<B {
                let src = dy.data + (t * B + b) * k * K
                for j in 0..<k where k * t + j < T {
                    (dx.data + ((k * t + j) * B + b) * K).update(from: src + j * K, count: K)
                }
            }
        }
        return dx
    }

    func forward(_ store: ParameterStore, _ sources: SourceBatch, training: Bool, rng: inout RNG) throws -> EncoderPass {
        guard case .features(let frames) = sources else { throw RecurError(.value, "seq2seq: a speech encoder reads frames") }
        var (x, lengths) = try packFrames(frames, featureSize: featureSize, what: "utterance")
        if frameStack > 1 {   // the frames need no gradient
            x = Self.join(x, frameStack)
            lengths = lengths.map { ($0 + frameStack - 1) / frameStack }
        }
        let B = frames.count, cfg = layers[0].config, H = cfg.hiddenSize, D = cfg.directions
        var caches: [RecurrentCache] = [], masks: [Tensor?] = [], steps: [Int] = []
        var hN = Tensor(zeros: [1])
        for (l, layer) in layers.enumerated() {
            if l > 0 && l <= pyramid {
                x = Self.join(x, 2)
                lengths = lengths.map { ($0 + 1) / 2 }
            }
            var mask: Tensor? = nil
            if l > 0 { (x, mask) = dropout.forward(x, training: training, rng: &rng) }
            steps.append(x.shape[0])
            let (out, cache) = layer.forward(store, x, lengths: lengths, training: training, rng: &rng)
            caches.append(cache); masks.append(mask)
            x = out.output
            hN = out.hN
        }
        let fin = finalStates(hN, layer: 0, directions: D, batch: B, hidden: H)
        let finalLengths = lengths
        return EncoderPass(keys: x, lengths: finalLengths, fin: fin) { dKeys, dFin in
            var dOut = dKeys
            var dhN: Tensor? = finalStateGradient(dFin, layers: 1, directions: D, batch: B, hidden: H)
            for l in stride(from: self.layers.count - 1, through: 0, by: -1) {
                let g = self.layers[l].backward(store, caches[l], dOutput: dOut, dhN: dhN)
                dhN = nil
                guard l > 0 else { break }
                var dx = g.dx.copy()
                Dropout.apply(mask: masks[l], to: dx)
                if l <= self.pyramid { dx = Self.split(dx, 2, steps: steps[l - 1]) }
                dOut = dx
            }
        }
    }
}

// MARK: - image

final class ImageEncoder: SourceEncoder {
    let projection: Linear
    let rnn: RecurrentStack?
    let featureSize: Int
    let K: Int
    var outputSize: Int { K }

    init(_ layout: inout ParameterLayout, _ c: Seq2SeqConfig, kind: RecurrentKind) {
        featureSize = c.inputFeatureSize
        K = c.encoderOutputSize
        if c.imageRNN {
            projection = Linear(&layout, prefix: "encoder.projection.", inFeatures: c.inputFeatureSize, outFeatures: c.embeddingSize)
            rnn = RecurrentStack(&layout, prefix: "encoder.rnn.", config: RecurrentConfig(
                kind: kind, inputSize: c.embeddingSize, hiddenSize: c.hiddenSize, numLayers: c.encoderLayers,
                bidirectional: c.bidirectionalEncoder, dropout: c.dropout))
        } else {
            projection = Linear(&layout, prefix: "encoder.projection.", inFeatures: c.inputFeatureSize, outFeatures: K)
            rnn = nil
        }
    }

    func initialize(_ store: ParameterStore, rng: inout RNG) {
        projection.initialize(store, rng: &rng)
        rnn?.initialize(store, rng: &rng)
    }

    func forward(_ store: ParameterStore, _ sources: SourceBatch, training: Bool, rng: inout RNG) throws -> EncoderPass {
        guard case .features(let cells) = sources else { throw RecurError(.value, "seq2seq: an image encoder reads grid cells") }
        let (x, lengths) = try packFrames(cells, featureSize: featureSize, what: "image")
        let S = x.shape[0], B = cells.count
        guard lengths.allSatisfy({ $0 == S }) else {
            throw RecurError(.shape, "seq2seq: the images of a batch must have the same number of cells, got \(Set(lengths).sorted())")
        }
        let P = projection.outFeatures
        // p = tanh(x W_pᵀ + b_p)   (S·B, P)
        let p = projection.forward(store, x.reshaped([S * B, featureSize]))
        Kernels.tanh(p.count, p.data, p.data)
        var keys = p.reshaped([S, B, P])
        var cache: RecurrentCache? = nil
        if let rnn {
            let (out, c) = rnn.forward(store, keys, lengths: lengths, training: training, rng: &rng)
            keys = out.output
            cache = c
        }
        // fin = mean over the cells of keys
        let fin = Tensor(zeros: [B, K])
        let scale = 1 / Float(S)
        for s in 0..<S { Kernels.addScaled(B * K, scale, keys.data + s * B * K, fin.data) }
        return EncoderPass(keys: keys, lengths: lengths, fin: fin) { dKeys, dFin in
            let dk = dKeys.copy()
            for s in 0..<S { Kernels.addScaled(B * self.K, scale, dFin.data, dk.data + s * B * self.K) }
            var dp = dk
            if let rnn = self.rnn, let cache { dp = rnn.backward(store, cache, dOutput: dk).dx.copy() }
            for i in 0..<dp.count { dp.data[i] *= 1 - p.data[i] * p.data[i] }
            _ = self.projection.backward(store, x: x.reshaped([S * B, self.featureSize]), dy: dp.reshaped([S * B, P]),
                                         inputGradient: false)
        }
    }
}
