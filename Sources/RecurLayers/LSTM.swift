import RecurCore

// LSTM, as torch.nn.LSTM (gate order i, f, g, o).
//
//   x: (T, B, I)   output: (T, B, D·H)   h0, c0, hN, cN: (L·D, B, H)
//   weight_ih_l{k}: (4H, I_k)   weight_hh_l{k}: (4H, H)   bias_ih_l{k}, bias_hh_l{k}: (4H)
//   cache per step: gates (B, 4H) = [i f g o] activated, extra (B, H) = tanh(c_t),
//                   hPrev, cPrev (B, H)
//
// Forward, per step (a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh, split in four):
//   i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
//   c' = f ⊙ c + i ⊙ g        h' = o ⊙ tanh(c')
// Backward, per step (dh = upstream dh' + dOut, dc = upstream dc'):
//   dc  += dh ⊙ o ⊙ (1 - tanh²(c'))
//   da_o = dh ⊙ tanh(c') ⊙ o(1-o)      da_i = dc ⊙ g ⊙ i(1-i)
//   da_f = dc ⊙ c ⊙ f(1-f)             da_g = dc ⊙ i ⊙ (1-g²)
//   dc_prev = dc ⊙ f                  dh_prev = da W_hh (GEMM in the driver)

/// A stacked, optionally bidirectional LSTM with PyTorch's parameters.
public final class LSTM: RecurrentLayer {
    public let stack: RecurrentStack

    /// Registers `prefix + "weight_ih_l0"` … as torch.nn.LSTM does.
    public init(_ layout: inout ParameterLayout, prefix: String, inputSize: Int, hiddenSize: Int,
                numLayers: Int = 1, bidirectional: Bool = false, dropout: Float = 0) {
        stack = RecurrentStack(&layout, prefix: prefix, config: RecurrentConfig(
            kind: .lstm, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers,
            bidirectional: bidirectional, dropout: dropout))
    }
}

/// The fused LSTM cell kernels over batch rows (SIMD8 over H).
enum LSTMCell {
    static func forward(_ p: CellForward, rows: Range<Int>) {
        let H = p.hidden, G = 4 * H
        let bi = p.biasIH, bh = p.biasHH
        let cPrev = p.cPrev!, cNew = p.cNew!, extra = p.extra!
        for b in rows {
            if !p.active(b) { p.passThrough(b); continue }
            let a = p.gates + b * G, r = p.hh + b * G
            let cp = cPrev + b * H, cn = cNew + b * H, hn = p.hNew + b * H, tc = extra + b * H
            let out = p.out.map { $0 + b * p.ldOut }
            var j = 0
            while j < H {
                let n = min(8, H - j)
                @inline(__always) func pre(_ q: Int) -> V8 {
                    load8(a + q + j, n) + load8(r + q + j, n) + load8(bi + q + j, n) + load8(bh + q + j, n)
                }
                let i = Activation.sigmoid(pre(0)), f = Activation.sigmoid(pre(H))
                let g = Activation.tanh(pre(2 * H)), o = Activation.sigmoid(pre(3 * H))
                let c = f * load8(cp + j, n) + i * g
                let t = Activation.tanh(c)
                let h = o * t
                store8(i, a + j, n); store8(f, a + H + j, n); store8(g, a + 2 * H + j, n); store8(o, a + 3 * H + j, n)
                store8(c, cn + j, n); store8(t, tc + j, n); store8(h, hn + j, n)
                if let out { store8(h, out + j, n) }
                j += 8
            }
        }
    }

    static func backward(_ p: CellBackward, rows: Range<Int>) {
        let H = p.hidden, G = 4 * H
        let one = V8(repeating: 1)
        let cPrev = p.cPrev!, extra = p.extra!, dcs = p.dc!
        for b in rows {
            if !p.active(b) { p.passThrough(b, gateCount: 4); continue }
            let a = p.gates + b * G, da = p.dGx + b * G
            let cp = cPrev + b * H, tc = extra + b * H, dh = p.dh + b * H, dc = dcs + b * H
            let dOut = p.dOut.map { $0 + b * p.ldOut }
            var j = 0
            while j < H {
                let n = min(8, H - j)
                var dhv = load8(dh + j, n)
                if let dOut { dhv += load8(dOut + j, n) }
                let i = load8(a + j, n), f = load8(a + H + j, n), g = load8(a + 2 * H + j, n), o = load8(a + 3 * H + j, n)
                let t = load8(tc + j, n)
                let dcv = load8(dc + j, n) + dhv * o * (one - t * t)
                store8(dhv * t * o * (one - o), da + 3 * H + j, n)
                store8(dcv * g * i * (one - i), da + j, n)
                store8(dcv * load8(cp + j, n) * f * (one - f), da + H + j, n)
                store8(dcv * i * (one - g * g), da + 2 * H + j, n)
                store8(dcv * f, dc + j, n)
                store8(V8(repeating: 0), dh + j, n)
                j += 8
            }
        }
    }
}
