import RecurCore

// Elman RNN, as torch.nn.RNN with nonlinearity "tanh" or "relu".
//
//   x: (T, B, I)   output: (T, B, D·H)   h0, hN: (L·D, B, H)
//   weight_ih_l{k}: (H, I_k)   weight_hh_l{k}: (H, H)   bias_ih_l{k}, bias_hh_l{k}: (H)
//   cache per step: gates (B, H) = h' (the activated output), hPrev (B, H)
//
// Forward, per step:   h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh),  act = tanh or relu
// Backward, per step (dh = upstream dh' + dOut):
//   da = dh ⊙ (1 - h'²)   (tanh)      da = dh ⊙ [h' > 0]   (relu)
//   dh_prev = da W_hh     (the GEMM is in the driver)

/// A stacked, optionally bidirectional Elman RNN with PyTorch's parameters.
public final class RNN: RecurrentLayer {
    public let stack: RecurrentStack

    /// `nonlinearity` is "tanh" or "relu" (as torch.nn.RNN).
    public init(_ layout: inout ParameterLayout, prefix: String, inputSize: Int, hiddenSize: Int,
                numLayers: Int = 1, nonlinearity: String = "tanh", bidirectional: Bool = false, dropout: Float = 0) {
        precondition(nonlinearity == "tanh" || nonlinearity == "relu",
                     "RNN \(prefix): nonlinearity must be tanh or relu, got \(nonlinearity)")
        stack = RecurrentStack(&layout, prefix: prefix, config: RecurrentConfig(
            kind: nonlinearity == "relu" ? .rnnRelu : .rnnTanh, inputSize: inputSize, hiddenSize: hiddenSize,
            numLayers: numLayers, bidirectional: bidirectional, dropout: dropout))
    }
}

/// The fused RNN cell kernels over batch rows (SIMD8 over H).
enum RNNCell {
    static func forward(_ p: CellForward, rows: Range<Int>) {
        let H = p.hidden
        let bi = p.biasIH, bh = p.biasHH
        let zero = V8(repeating: 0)
        for b in rows {
            if !p.active(b) { p.passThrough(b); continue }
            let a = p.gates + b * H, r = p.hh + b * H, hn = p.hNew + b * H
            let out = p.out.map { $0 + b * p.ldOut }
            var j = 0
            while j < H {
                let n = min(8, H - j)
                let pre = load8(a + j, n) + load8(r + j, n) + load8(bi + j, n) + load8(bh + j, n)
                let h = p.relu ? Kernels.maximum(pre, zero) : Activation.tanh(pre)
                store8(h, a + j, n); store8(h, hn + j, n)
                if let out { store8(h, out + j, n) }
                j += 8
            }
        }
    }

    static func backward(_ p: CellBackward, rows: Range<Int>) {
        let H = p.hidden
        let one = V8(repeating: 1), zero = V8(repeating: 0)
        for b in rows {
            if !p.active(b) { p.passThrough(b, gateCount: 1); continue }
            let h = p.gates + b * H, da = p.dGx + b * H, dh = p.dh + b * H
            let dOut = p.dOut.map { $0 + b * p.ldOut }
            var j = 0
            while j < H {
                let n = min(8, H - j)
                var dhv = load8(dh + j, n)
                if let dOut { dhv += load8(dOut + j, n) }
                let hv = load8(h + j, n)
                let d = p.relu ? dhv.replacing(with: zero, where: hv .<= zero) : dhv * (one - hv * hv)
                store8(d, da + j, n)
                store8(zero, dh + j, n)
                j += 8
            }
        }
    }
}
