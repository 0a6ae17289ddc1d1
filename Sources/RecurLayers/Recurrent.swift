import RecurCore

// The driver that RNN, LSTM and GRU share: stacked layers, both directions,
// variable lengths, initial and final states, the single-step API and the
// buffers. The cell equations live in RNN.swift, LSTM.swift and GRU.swift.
//
// Shapes (time-major, as torch.nn.LSTM with batch_first=False):
//   x:        (T, B, I)
//   output:   (T, B, D·H)      D = 2 when bidirectional; forward direction first
//   h0, hN:   (L·D, B, H)      row l·D + d is layer l, direction d
//   c0, cN:   (L·D, B, H)      LSTM only
//   lengths:  [B], each in 0...T (nil: all T)
// Per layer l and direction d (G = gates·H; gates = 1 RNN, 3 GRU, 4 LSTM):
//   weight_ih_l{l}[_reverse]: (G, I_l)   I_0 = I, I_l = D·H
//   weight_hh_l{l}[_reverse]: (G, H)
//   bias_ih_l{l}[_reverse], bias_hh_l{l}[_reverse]: (G)
//   cache: gates (T, B, G) activated gates; extra (T, B, H) (LSTM tanh(c_t),
//          GRU W_hn h + b_hn); hPrev, cPrev (T, B, H) the state each step read.
//
// Forward per layer and direction:
//   gates[t] = x[t] W_ihᵀ                  one GEMM over all T·B rows
//   hh       = hPrev[t] W_hhᵀ              one GEMM per step
//   cell kernel (biases added there), fused and SIMD, threads over batch rows
// Backward per layer and direction, for t in reverse processing order:
//   cell kernel: dGx[t], dGh[t] from dh, dc and the cache; dh ← direct part
//   dh += dGh[t] W_hh                      one GEMM per step
// and then, over all steps at once:
//   dW_ih += dGxᵀ x,  dW_hh += dGhᵀ hPrev,  db_ih += Σ dGx,  db_hh += Σ dGh,
//   dx (+)= dGx W_ih                        (four GEMMs, two GEMVs)
//
// Packed-sequence semantics: at time t, batch row b is active when
// t < lengths[b]. An inactive row keeps its state, outputs zero and gets no
// gradient; so the reverse direction starts at each sequence's own last step
// and final states are those at each sequence's own last step. A length of 0
// leaves the state untouched (PyTorch refuses it).
//
// Single step: `step` runs one time step for decoding (inference, one
// direction, state updated in place, a reusable workspace, sgemv at batch 1).
// For training one step at a time (teacher-forced decoders with input
// feeding), call `forward` on a (1, B, I) input with h0/c0 = the previous
// call's hN/cN, and `backward` in reverse order with dhN/dcN = the next
// step's dh0/dc0: the tests show this equals the sequence call's gradients.
//
// Dropout between layers uses Dropout.swift's masks, drawn from the `rng`
// passed to forward, kept in the cache for backward.

/// The cell a recurrent layer runs.
public enum RecurrentKind: String, Sendable, CaseIterable {
    case rnnTanh, rnnRelu, lstm, gru

    /// Gate blocks per step: 1 (RNN), 3 (GRU, r z n), 4 (LSTM, i f g o).
    public var gates: Int {
        switch self {
        case .rnnTanh, .rnnRelu: return 1
        case .gru: return 3
        case .lstm: return 4
        }
    }

    /// Whether the cell carries a cell state c besides h.
    public var hasCellState: Bool { self == .lstm }
}

/// The shape of a recurrent layer stack (as torch.nn.RNN/LSTM/GRU's arguments).
public struct RecurrentConfig: Sendable, Equatable {
    public var kind: RecurrentKind
    public var inputSize: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var bidirectional: Bool
    /// Dropout on the input of every layer but the first, in training only.
    public var dropout: Float

    public init(kind: RecurrentKind, inputSize: Int, hiddenSize: Int, numLayers: Int = 1,
                bidirectional: Bool = false, dropout: Float = 0) {
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.bidirectional = bidirectional
        self.dropout = dropout
    }

    public var directions: Int { bidirectional ? 2 : 1 }
    /// Output features per time step: D·H.
    public var outputSize: Int { directions * hiddenSize }
    /// Input features of layer `l`.
    public func layerInputSize(_ l: Int) -> Int { l == 0 ? inputSize : outputSize }
}

/// The four parameters of one layer and direction.
public struct RecurrentWeights: Sendable {
    public let weightIH: ParameterRef  // (G, I_l)
    public let weightHH: ParameterRef  // (G, H)
    public let biasIH: ParameterRef    // (G)
    public let biasHH: ParameterRef    // (G)
}

/// What a forward call returns. The tensors live in the cache (and are
/// overwritten when the cache is passed back to `forward` for reuse).
public struct RecurrentOutput {
    /// (T, B, D·H); zero at padded steps.
    public let output: Tensor
    /// (L·D, B, H)
    public let hN: Tensor
    /// (L·D, B, H), LSTM only.
    public let cN: Tensor?
}

/// What a backward call returns.
public struct RecurrentGradients {
    /// (T, B, I)
    public let dx: Tensor
    /// (L·D, B, H)
    public let dh0: Tensor
    /// (L·D, B, H), LSTM only.
    public let dc0: Tensor?
}

/// Everything forward keeps for backward, plus backward's own buffers. Pass
/// it back to `forward(reusing:)` to run again without allocating.
public final class RecurrentCache {
    public let steps: Int
    public let batch: Int
    let config: RecurrentConfig
    /// lengths as a buffer the kernels read (ignored unless hasLengths)
    let lengths: UnsafeMutablePointer<Int>
    /// inputs of each layer (layer 0: the caller's x; others: dropped-out outputs)
    var inputs: [Tensor]
    /// outputs of each layer, (T, B, D·H)
    let outputs: [Tensor]
    /// dropout masks on the inputs of layers 1..<L (nil when not training)
    var masks: [Tensor?]
    /// per layer·direction
    let gates: [Tensor], extra: [Tensor], hPrev: [Tensor], cPrev: [Tensor?]
    let hN: Tensor, cN: Tensor?
    // backward buffers, made on first use
    var dGx: [Tensor] = [], dGh: [Tensor] = []
    var dLayer: [Tensor] = []  // dx of each layer, (T, B, I_l)
    var dh0: Tensor?, dc0: Tensor?
    var ones: Tensor?
    var dh: Tensor?, dc: Tensor?  // running (B, H)
    /// per-step scratch for W_hh·h, (B, G)
    let hh: Tensor
    /// W_hhᵀ (H, G) of the layer·direction being run (see BLAS.transpose: why)
    let whhT: Tensor

    init(config: RecurrentConfig, steps T: Int, batch B: Int) {
        self.config = config
        steps = T
        batch = B
        let H = config.hiddenSize, G = config.kind.gates * H, LD = config.numLayers * config.directions
        lengths = UnsafeMutablePointer<Int>.allocate(capacity: B)
        inputs = []
        outputs = (0..<config.numLayers).map { _ in Tensor(zeros: [T, B, config.outputSize]) }
        masks = Array(repeating: nil, count: config.numLayers)
        gates = (0..<LD).map { _ in Tensor(zeros: [T, B, G]) }
        extra = (0..<LD).map { _ in config.kind == .lstm || config.kind == .gru ? Tensor(zeros: [T, B, H]) : Tensor(zeros: [0]) }
        hPrev = (0..<LD).map { _ in Tensor(zeros: [T, B, H]) }
        cPrev = (0..<LD).map { _ in config.kind.hasCellState ? Tensor(zeros: [T, B, H]) : nil }
        hN = Tensor(zeros: [LD, B, H])
        cN = config.kind.hasCellState ? Tensor(zeros: [LD, B, H]) : nil
        hh = Tensor(zeros: [B, G])
        whhT = Tensor(zeros: [H, G])
    }

    deinit { lengths.deallocate() }

    var hasLengths = false
    var lengthsPointer: UnsafePointer<Int>? { hasLengths ? UnsafePointer(lengths) : nil }

    func fits(_ config: RecurrentConfig, _ T: Int, _ B: Int) -> Bool {
        self.config == config && steps == T && batch == B
    }

    func makeBackwardBuffers() {
        guard dGx.isEmpty else { return }
        let T = steps, B = batch, H = config.hiddenSize, G = config.kind.gates * H
        let LD = config.numLayers * config.directions
        dGx = (0..<LD).map { _ in Tensor(zeros: [T, B, G]) }
        // LSTM and RNN: the input and recurrent pre-activation gradients are the same.
        dGh = config.kind == .gru ? (0..<LD).map { _ in Tensor(zeros: [T, B, G]) } : dGx
        dLayer = (0..<config.numLayers).map { Tensor(zeros: [T, B, config.layerInputSize($0)]) }
        dh0 = Tensor(zeros: [LD, B, H])
        dc0 = config.kind.hasCellState ? Tensor(zeros: [LD, B, H]) : nil
        ones = Tensor(shape: [T * B], repeating: 1)
        dh = Tensor(zeros: [B, H])
        dc = Tensor(zeros: [B, H])
    }
}

/// Reusable buffers for the single-step API, sized for one batch size: no
/// allocation per step.
public final class RecurrentStepWorkspace {
    public let batch: Int
    let config: RecurrentConfig
    let gates: Tensor  // (B, G)
    let hh: Tensor     // (B, G)
    let extra: Tensor  // (B, H)

    public init(config: RecurrentConfig, batch: Int) {
        precondition(batch >= 1, "step workspace: batch must be at least 1")
        self.config = config
        self.batch = batch
        let G = config.kind.gates * config.hiddenSize
        gates = Tensor(zeros: [batch, G])
        hh = Tensor(zeros: [batch, G])
        extra = Tensor(zeros: [batch, config.hiddenSize])
    }
}

// MARK: - cell kernel arguments

/// Pointers one forward step of a cell kernel reads and writes, for batch rows.
struct CellForward: @unchecked Sendable {
    var hidden: Int
    /// (B, G): x W_ihᵀ in (no bias); activated gates out
    var gates: UnsafeMutablePointer<Float>
    /// (B, G): h W_hhᵀ (no bias)
    var hh: UnsafePointer<Float>
    var biasIH: UnsafePointer<Float>, biasHH: UnsafePointer<Float>
    /// (B, H) each; hNew may equal hPrev, cNew may equal cPrev
    var hPrev: UnsafePointer<Float>, hNew: UnsafeMutablePointer<Float>
    var cPrev: UnsafePointer<Float>?, cNew: UnsafeMutablePointer<Float>?
    /// (B, H): LSTM tanh(c_t), GRU W_hn h + b_hn
    var extra: UnsafeMutablePointer<Float>?
    /// output rows (B, ldOut), nil in the step API (hNew is the output)
    var out: UnsafeMutablePointer<Float>?
    var ldOut: Int
    var lengths: UnsafePointer<Int>?
    var t: Int
    var relu: Bool

    @inline(__always) func active(_ b: Int) -> Bool { lengths.map { t < $0[b] } ?? true }

    /// An inactive row: the state carries over, the output is zero.
    @inline(__always) func passThrough(_ b: Int) {
        let H = hidden
        if hNew != hPrev { (hNew + b * H).update(from: hPrev + b * H, count: H) }
        if let cNew, let cPrev, cNew != cPrev { (cNew + b * H).update(from: cPrev + b * H, count: H) }
        if let out { (out + b * ldOut).update(repeating: 0, count: H) }
    }
}

/// Pointers one backward step of a cell kernel reads and writes.
struct CellBackward: @unchecked Sendable {
    var hidden: Int
    /// (B, G) activated gates, (B, H) extra, from the forward cache
    var gates: UnsafePointer<Float>
    var extra: UnsafePointer<Float>?
    var hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>?
    /// upstream gradient of this step's output rows (B, ldOut), or nil
    var dOut: UnsafePointer<Float>?
    var ldOut: Int
    /// (B, H): running dh (in: from later steps; out: the part that does not
    /// go through W_hh), running dc (in and out), LSTM only
    var dh: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>?
    /// (B, G) out: pre-activation gradients of the input and recurrent parts
    /// (the same buffer for LSTM and RNN)
    var dGx: UnsafeMutablePointer<Float>, dGh: UnsafeMutablePointer<Float>
    var lengths: UnsafePointer<Int>?
    var t: Int
    var relu: Bool

    @inline(__always) func active(_ b: Int) -> Bool { lengths.map { t < $0[b] } ?? true }

    /// An inactive row: no gradient to the gates, dh and dc pass through.
    @inline(__always) func passThrough(_ b: Int, gateCount: Int) {
        let G = gateCount * hidden
        (dGx + b * G).update(repeating: 0, count: G)
        if dGh != dGx { (dGh + b * G).update(repeating: 0, count: G) }
    }
}

/// SIMD8 load and store of n ≤ 8 floats (zero-padded), so a tail is done by
/// the same lane arithmetic as the body.
typealias V8 = SIMD8<Float>

/// The cells' activations: Kernels.tanh's rational function (degree 13 over
/// 6, clamped at ±7.905), evaluated with fused multiply-adds and without the
/// tiny-input mask (a tiny x gives x·(1 - 1.3e-7)); NaN in gives NaN out.
/// Within 3e-7 of tanh; about half the instructions of the general kernel,
/// which matters in the step loop.
enum Activation {
    @inline(__always)
    static func tanh(_ x: V8) -> V8 {
        let c = Kernels.minimum(Kernels.maximum(x, V8(repeating: -7.90531110763549805)), V8(repeating: 7.90531110763549805))
        let x2 = c * c
        var p = V8(repeating: -2.76076847742355e-16)
        p = V8(repeating: 2.00018790482477e-13).addingProduct(p, x2)
        p = V8(repeating: -8.60467152213735e-11).addingProduct(p, x2)
        p = V8(repeating: 5.12229709037114e-08).addingProduct(p, x2)
        p = V8(repeating: 1.48572235717979e-05).addingProduct(p, x2)
        p = V8(repeating: 6.37261928875436e-04).addingProduct(p, x2)
        p = V8(repeating: 4.89352455891786e-03).addingProduct(p, x2)
        var q = V8(repeating: 1.19825839466702e-06)
        q = V8(repeating: 1.18534705686654e-04).addingProduct(q, x2)
        q = V8(repeating: 2.26843463243900e-03).addingProduct(q, x2)
        q = V8(repeating: 4.89352518554385e-03).addingProduct(q, x2)
        var r = (p * c) / q
        r.replace(with: x, where: x .!= x)  // the clamp turned NaN into a number
        return r
    }

    /// σ(x) = ½ + ½·tanh(x/2)
    @inline(__always)
    static func sigmoid(_ x: V8) -> V8 {
        let half = V8(repeating: 0.5)
        return half.addingProduct(half, tanh(half * x))
    }
}

@inline(__always) func load8(_ p: UnsafePointer<Float>, _ n: Int) -> V8 {
    if n == 8 { return UnsafeRawPointer(p).loadUnaligned(as: V8.self) }
    var v = V8(repeating: 0)
    for k in 0..<n { v[k] = p[k] }
    return v
}

@inline(__always) func store8(_ v: V8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if n == 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V8.self); return }
    for k in 0..<n { p[k] = v[k] }
}

// MARK: - the driver

/// A stack of recurrent layers (any cell, any depth, one or two directions)
/// with PyTorch's parameters. `RNN`, `LSTM` and `GRU` are thin wrappers.
public final class RecurrentStack {
    public let config: RecurrentConfig
    /// weights[l·D + d]
    public let weights: [RecurrentWeights]
    /// Elementwise work per step is split over threads when B·H reaches this.
    nonisolated(unsafe) public static var parallelThreshold = 16_384

    /// Registers `prefix + "weight_ih_l0"` etc. in PyTorch's order (per layer:
    /// forward direction then `_reverse`; per direction: weight_ih, weight_hh,
    /// bias_ih, bias_hh).
    public init(_ layout: inout ParameterLayout, prefix: String, config: RecurrentConfig) {
        precondition(config.inputSize > 0 && config.hiddenSize > 0 && config.numLayers > 0,
                     "\(prefix): recurrent sizes must be positive")
        precondition(config.dropout >= 0 && config.dropout < 1, "\(prefix): dropout \(config.dropout) outside [0, 1)")
        self.config = config
        let G = config.kind.gates * config.hiddenSize
        var w: [RecurrentWeights] = []
        for l in 0..<config.numLayers {
            for d in 0..<config.directions {
                let sfx = "_l\(l)" + (d == 1 ? "_reverse" : "")
                w.append(RecurrentWeights(
                    weightIH: layout.add(prefix + "weight_ih" + sfx, [G, config.layerInputSize(l)]),
                    weightHH: layout.add(prefix + "weight_hh" + sfx, [G, config.hiddenSize]),
                    biasIH: layout.add(prefix + "bias_ih" + sfx, [G]),
                    biasHH: layout.add(prefix + "bias_hh" + sfx, [G])))
            }
        }
        weights = w
    }

    /// PyTorch's default: every parameter uniform in ±1/√H.
    public func initialize(_ store: ParameterStore, rng: inout RNG) {
        let k = 1 / Float(config.hiddenSize).squareRoot()
        for w in weights {
            for r in [w.weightIH, w.weightHH, w.biasIH, w.biasHH] { rng.fillUniform(store.value(r), -k, k) }
        }
    }

    /// Runs `body` over batch rows, split over threads when the step is big enough.
    @inline(__always)
    func rows(_ B: Int, _ body: (Range<Int>) -> Void) {
        let H = config.hiddenSize
        if B > 1 && B * H >= RecurrentStack.parallelThreshold && Threads.count > 1 {
            parallelFor(B, minChunk: max(1, RecurrentStack.parallelThreshold / (2 * H)), body)
        } else {
            body(0..<B)
        }
    }

    func cellForward(_ p: CellForward, _ B: Int) {
        switch config.kind {
        case .rnnTanh, .rnnRelu: rows(B) { RNNCell.forward(p, rows: $0) }
        case .lstm: rows(B) { LSTMCell.forward(p, rows: $0) }
        case .gru: rows(B) { GRUCell.forward(p, rows: $0) }
        }
    }

    func cellBackward(_ p: CellBackward, _ B: Int) {
        switch config.kind {
        case .rnnTanh, .rnnRelu: rows(B) { RNNCell.backward(p, rows: $0) }
        case .lstm: rows(B) { LSTMCell.backward(p, rows: $0) }
        case .gru: rows(B) { GRUCell.backward(p, rows: $0) }
        }
    }

    // MARK: forward

    /// Runs the whole sequence. `x` (T, B, I); `h0`, `c0` (L·D, B, H) or nil
    /// for zeros; `lengths` per batch entry (packed-sequence semantics) or nil.
    /// In training with dropout > 0 and more than one layer, masks are drawn
    /// from `rng`. `x` must stay unchanged until backward (the cache holds a view).
    public func forward(_ store: ParameterStore, _ x: Tensor, h0: Tensor? = nil, c0: Tensor? = nil,
                        lengths: [Int]? = nil, training: Bool = false, rng: inout RNG,
                        reusing old: RecurrentCache? = nil) -> (RecurrentOutput, RecurrentCache) {
        let cfg = config, H = cfg.hiddenSize, G = cfg.kind.gates * H, D = cfg.directions
        precondition(x.rank == 3 && x.shape[2] == cfg.inputSize && x.shape[0] >= 1 && x.shape[1] >= 1,
                     "recurrent forward: x \(x.shape) must be (T ≥ 1, B ≥ 1, \(cfg.inputSize))")
        let T = x.shape[0], B = x.shape[1], LD = cfg.numLayers * D
        if let h0 { precondition(h0.shape == [LD, B, H], "recurrent forward: h0 \(h0.shape) must be \([LD, B, H])") }
        if let c0 {
            precondition(cfg.kind.hasCellState, "recurrent forward: c0 given to a \(cfg.kind) layer")
            precondition(c0.shape == [LD, B, H], "recurrent forward: c0 \(c0.shape) must be \([LD, B, H])")
        }
        let cache = old.flatMap { $0.fits(cfg, T, B) ? $0 : nil } ?? RecurrentCache(config: cfg, steps: T, batch: B)
        if let lengths {
            precondition(lengths.count == B, "recurrent forward: \(lengths.count) lengths for batch \(B)")
            for (b, n) in lengths.enumerated() {
                precondition(n >= 0 && n <= T, "recurrent forward: length \(n) of entry \(b) outside 0...\(T)")
                cache.lengths[b] = n
            }
            cache.hasLengths = lengths.contains { $0 != T }
        } else {
            cache.hasLengths = false
        }
        let lens = cache.lengthsPointer
        let dropout = Dropout(p: cfg.dropout)
        cache.inputs = []
        var input = x
        for l in 0..<cfg.numLayers {
            if l > 0 {
                input = cache.outputs[l - 1]
                if dropout.isActive(training: training) {
                    let mask = dropout.makeMask(input.shape, rng: &rng)
                    cache.masks[l] = mask
                    let dropped = Tensor(zeros: input.shape)
                    Kernels.mul(input.count, input.data, mask.data, dropped.data)
                    input = dropped
                } else {
                    cache.masks[l] = nil
                }
            }
            cache.inputs.append(input)
            let In = cfg.layerInputSize(l)
            let out = cache.outputs[l]
            for d in 0..<D {
                let k = l * D + d, w = weights[k]
                let gates = cache.gates[k], hPrev = cache.hPrev[k], cPrev = cache.cPrev[k]
                // gates (T·B, G) = x (T·B, In) · W_ihᵀ
                BLAS.gemm(.none, .transpose, m: T * B, n: G, k: In, a: input.data, lda: In,
                          b: store.value(w.weightIH).data, ldb: In, c: gates.data, ldc: G)
                let tFirst = d == 0 ? 0 : T - 1
                let hStart = hPrev.data + tFirst * B * H
                if let h0 { hStart.update(from: h0.data + k * B * H, count: B * H) } else { hStart.update(repeating: 0, count: B * H) }
                if let cPrev {
                    let cStart = cPrev.data + tFirst * B * H
                    if let c0 { cStart.update(from: c0.data + k * B * H, count: B * H) } else { cStart.update(repeating: 0, count: B * H) }
                }
                // W_hhᵀ once, so that each step's product is an untransposed one (BLAS.transpose).
                let whhT = cache.whhT.data
                BLAS.transpose(rows: G, cols: H, store.value(w.weightHH).data, ldSrc: H, into: whhT, ldDst: G)
                var p = CellForward(hidden: H, gates: gates.data, hh: cache.hh.data,
                                    biasIH: store.value(w.biasIH).data, biasHH: store.value(w.biasHH).data,
                                    hPrev: hStart, hNew: hStart, cPrev: nil, cNew: nil, extra: nil,
                                    out: nil, ldOut: D * H, lengths: lens, t: 0, relu: cfg.kind == .rnnRelu)
                for s in 0..<T {
                    let t = d == 0 ? s : T - 1 - s
                    let last = s == T - 1
                    let tNext = d == 0 ? t + 1 : t - 1
                    p.t = t
                    p.gates = gates.data + t * B * G
                    p.hPrev = UnsafePointer(hPrev.data + t * B * H)
                    p.hNew = last ? cache.hN.data + k * B * H : hPrev.data + tNext * B * H
                    if let cPrev, let cN = cache.cN {
                        p.cPrev = UnsafePointer(cPrev.data + t * B * H)
                        p.cNew = last ? cN.data + k * B * H : cPrev.data + tNext * B * H
                    }
                    if cfg.kind == .lstm || cfg.kind == .gru { p.extra = cache.extra[k].data + t * B * H }
                    p.out = out.data + t * B * D * H + d * H
                    // hh (B, G) = hPrev (B, H) · W_hhᵀ
                    BLAS.gemm(.none, .none, m: B, n: G, k: H, a: p.hPrev, lda: H, b: whhT, ldb: G,
                              c: cache.hh.data, ldc: G)
                    cellForward(p, B)
                }
            }
        }
        let result = RecurrentOutput(output: cache.outputs[cfg.numLayers - 1], hN: cache.hN, cN: cache.cN)
        return (result, cache)
    }

    /// `forward` without dropout (inference, or a stack whose dropout is 0).
    public func forward(_ store: ParameterStore, _ x: Tensor, h0: Tensor? = nil, c0: Tensor? = nil,
                        lengths: [Int]? = nil, reusing old: RecurrentCache? = nil) -> (RecurrentOutput, RecurrentCache) {
        var rng = RNG(seed: 0)  // never drawn from: training is false
        return forward(store, x, h0: h0, c0: c0, lengths: lengths, training: false, rng: &rng, reusing: old)
    }

    // MARK: backward

    /// Accumulates every parameter gradient into `store.grad` and returns the
    /// gradients of x, h0 and c0. `dOutput` (T, B, D·H), `dhN`, `dcN`
    /// (L·D, B, H): upstream gradients, nil for zero. The returned tensors live
    /// in the cache.
    public func backward(_ store: ParameterStore, _ cache: RecurrentCache, dOutput: Tensor?,
                         dhN: Tensor? = nil, dcN: Tensor? = nil) -> RecurrentGradients {
        let cfg = config, H = cfg.hiddenSize, G = cfg.kind.gates * H, D = cfg.directions
        let T = cache.steps, B = cache.batch, LD = cfg.numLayers * D
        precondition(cache.config == cfg, "recurrent backward: cache from another layer")
        precondition(cache.inputs.count == cfg.numLayers, "recurrent backward: cache without a forward")
        if let dOutput { precondition(dOutput.shape == [T, B, D * H], "recurrent backward: dOutput \(dOutput.shape) must be \([T, B, D * H])") }
        if let dhN { precondition(dhN.shape == [LD, B, H], "recurrent backward: dhN \(dhN.shape) must be \([LD, B, H])") }
        if let dcN { precondition(cfg.kind.hasCellState && dcN.shape == [LD, B, H], "recurrent backward: dcN \(dcN.shape) must be \([LD, B, H]) on an LSTM") }
        cache.makeBackwardBuffers()
        let lens = cache.lengthsPointer
        let dh = cache.dh!, dc = cache.dc!, ones = cache.ones!
        var dOut: UnsafePointer<Float>? = dOutput.map { UnsafePointer($0.data) }
        for l in stride(from: cfg.numLayers - 1, through: 0, by: -1) {
            let In = cfg.layerInputSize(l)
            let input = cache.inputs[l], dIn = cache.dLayer[l]
            for d in 0..<D {
                let k = l * D + d, w = weights[k]
                let dGx = cache.dGx[k], dGh = cache.dGh[k]
                if let dhN { dh.data.update(from: dhN.data + k * B * H, count: B * H) } else { dh.zero() }
                if let dcN { dc.data.update(from: dcN.data + k * B * H, count: B * H) } else { dc.zero() }
                let whh = store.value(w.weightHH).data
                var p = CellBackward(hidden: H, gates: cache.gates[k].data, extra: nil, hPrev: cache.hPrev[k].data,
                                     cPrev: nil, dOut: nil, ldOut: D * H, dh: dh.data,
                                     dc: cfg.kind.hasCellState ? dc.data : nil, dGx: dGx.data, dGh: dGh.data,
                                     lengths: lens, t: 0, relu: cfg.kind == .rnnRelu)
                for s in stride(from: T - 1, through: 0, by: -1) {
                    let t = d == 0 ? s : T - 1 - s
                    p.t = t
                    p.gates = UnsafePointer(cache.gates[k].data + t * B * G)
                    if cfg.kind == .lstm || cfg.kind == .gru { p.extra = UnsafePointer(cache.extra[k].data + t * B * H) }
                    p.hPrev = UnsafePointer(cache.hPrev[k].data + t * B * H)
                    if let cPrev = cache.cPrev[k] { p.cPrev = UnsafePointer(cPrev.data + t * B * H) }
                    p.dOut = dOut.map { $0 + t * B * D * H + d * H }
                    p.dGx = dGx.data + t * B * G
                    p.dGh = dGh.data + t * B * G
                    cellBackward(p, B)
                    // dh (B, H) += dGh (B, G) · W_hh (G, H)
                    BLAS.gemm(.none, .none, m: B, n: H, k: G, a: p.dGh, lda: G, b: whh, ldb: H,
                              beta: 1, c: dh.data, ldc: H)
                }
                cache.dh0!.data.advanced(by: k * B * H).update(from: dh.data, count: B * H)
                if let dc0 = cache.dc0 { dc0.data.advanced(by: k * B * H).update(from: dc.data, count: B * H) }
                // Weight gradients over all steps at once.
                BLAS.gemm(.transpose, .none, m: G, n: In, k: T * B, a: dGx.data, lda: G, b: input.data, ldb: In,
                          beta: 1, c: store.grad(w.weightIH).data, ldc: In)
                BLAS.gemm(.transpose, .none, m: G, n: H, k: T * B, a: dGh.data, lda: G, b: cache.hPrev[k].data, ldb: H,
                          beta: 1, c: store.grad(w.weightHH).data, ldc: H)
                BLAS.gemv(.transpose, rows: T * B, cols: G, a: dGx.data, lda: G, x: ones.data, beta: 1,
                          y: store.grad(w.biasIH).data)
                BLAS.gemv(.transpose, rows: T * B, cols: G, a: dGh.data, lda: G, x: ones.data, beta: 1,
                          y: store.grad(w.biasHH).data)
                // dx (T·B, In) (+)= dGx (T·B, G) · W_ih (G, In)
                BLAS.gemm(.none, .none, m: T * B, n: In, k: G, a: dGx.data, lda: G,
                          b: store.value(w.weightIH).data, ldb: In, beta: d == 0 ? 0 : 1, c: dIn.data, ldc: In)
            }
            if let mask = cache.masks[l] { Kernels.mul(dIn.count, dIn.data, mask.data, dIn.data) }
            dOut = UnsafePointer(dIn.data)
        }
        return RecurrentGradients(dx: cache.dLayer[0], dh0: cache.dh0!, dc0: cache.dc0)
    }

    // MARK: single step

    /// One time step with carried state, for decoding (inference, one
    /// direction): `x` (B, I); `h` (L, B, H) and, for an LSTM, `c` (L, B, H)
    /// are read and overwritten with the new state. Returns the top layer's
    /// new h, a (B, H) view of `h`. Same kernels as `forward`; batch 1 runs
    /// on sgemv; nothing is allocated.
    @discardableResult
    public func step(_ store: ParameterStore, _ x: Tensor, h: Tensor, c: Tensor? = nil,
                     workspace ws: RecurrentStepWorkspace) -> Tensor {
        let cfg = config, H = cfg.hiddenSize, G = cfg.kind.gates * H, L = cfg.numLayers
        precondition(!cfg.bidirectional, "recurrent step: a bidirectional layer cannot be stepped")
        precondition(ws.config == cfg, "recurrent step: workspace made for another layer")
        let B = ws.batch
        precondition(x.count == B * cfg.inputSize, "recurrent step: x \(x.shape) must be (\(B), \(cfg.inputSize))")
        precondition(h.count == L * B * H, "recurrent step: h \(h.shape) must be \([L, B, H])")
        if cfg.kind.hasCellState { precondition(c?.count == L * B * H, "recurrent step: an LSTM needs c \([L, B, H])") }
        var input = UnsafePointer(x.data)
        for l in 0..<L {
            let w = weights[l], In = cfg.layerInputSize(l)
            let hl = h.data + l * B * H
            let cl = c.map { $0.data + l * B * H }
            BLAS.gemm(.none, .transpose, m: B, n: G, k: In, a: input, lda: In,
                      b: store.value(w.weightIH).data, ldb: In, c: ws.gates.data, ldc: G)
            BLAS.gemm(.none, .transpose, m: B, n: G, k: H, a: hl, lda: H,
                      b: store.value(w.weightHH).data, ldb: H, c: ws.hh.data, ldc: G)
            let p = CellForward(hidden: H, gates: ws.gates.data, hh: ws.hh.data,
                                biasIH: store.value(w.biasIH).data, biasHH: store.value(w.biasHH).data,
                                hPrev: hl, hNew: hl, cPrev: cl.map { UnsafePointer($0) }, cNew: cl, extra: ws.extra.data,
                                out: nil, ldOut: H, lengths: nil, t: 0, relu: cfg.kind == .rnnRelu)
            cellForward(p, B)
            input = UnsafePointer(hl)
        }
        return h[L - 1]
    }
}

// MARK: - the public layers' shared surface

/// What RNN, LSTM and GRU have in common: they wrap a `RecurrentStack`.
public protocol RecurrentLayer: AnyObject {
    var stack: RecurrentStack { get }
}

extension RecurrentLayer {
    public var config: RecurrentConfig { stack.config }
    public var weights: [RecurrentWeights] { stack.weights }

    public func initialize(_ store: ParameterStore, rng: inout RNG) { stack.initialize(store, rng: &rng) }

    /// See `RecurrentStack.forward`.
    public func forward(_ store: ParameterStore, _ x: Tensor, h0: Tensor? = nil, c0: Tensor? = nil,
                        lengths: [Int]? = nil, training: Bool, rng: inout RNG,
                        reusing old: RecurrentCache? = nil) -> (RecurrentOutput, RecurrentCache) {
        stack.forward(store, x, h0: h0, c0: c0, lengths: lengths, training: training, rng: &rng, reusing: old)
    }

    /// See `RecurrentStack.forward` (no dropout).
    public func forward(_ store: ParameterStore, _ x: Tensor, h0: Tensor? = nil, c0: Tensor? = nil,
                        lengths: [Int]? = nil, reusing old: RecurrentCache? = nil) -> (RecurrentOutput, RecurrentCache) {
        stack.forward(store, x, h0: h0, c0: c0, lengths: lengths, reusing: old)
    }

    /// See `RecurrentStack.backward`.
    public func backward(_ store: ParameterStore, _ cache: RecurrentCache, dOutput: Tensor?,
                         dhN: Tensor? = nil, dcN: Tensor? = nil) -> RecurrentGradients {
        stack.backward(store, cache, dOutput: dOutput, dhN: dhN, dcN: dcN)
    }

    /// A workspace for `step` with batch size `batch`.
    public func makeStepWorkspace(batch: Int) -> RecurrentStepWorkspace {
        RecurrentStepWorkspace(config: stack.config, batch: batch)
    }

    /// See `RecurrentStack.step`.
    @discardableResult
    public func step(_ store: ParameterStore, _ x: Tensor, h: Tensor, c: Tensor? = nil,
                     workspace: RecurrentStepWorkspace) -> Tensor {
        stack.step(store, x, h: h, c: c, workspace: workspace)
    }
}
