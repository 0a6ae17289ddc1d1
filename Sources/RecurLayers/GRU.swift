import RecurCore

// GRU, as torch.nn.GRU (gate order r, z, n; r applied to W_hn h + b_hn).
//
//   x: (T, B, I)   output: (T, B, D·H)   h0, hN: (L·D, B, H)
//   weight_ih_l{k}: (3H, I_k)   weight_hh_l{k}: (3H, H)   bias_ih_l{k}, bias_hh_l{k}: (3H)
//   cache per step: gates (B, 3H) = [r z n] activated, extra (B, H) = W_hn h + b_hn, hPrev (B, H)
//
// Forward, per step (xa = x W_ihᵀ + b_ih, ha = h W_hhᵀ + b_hh, each split in three):
//   r = σ(xa_r + ha_r)   z = σ(xa_z + ha_z)   n = tanh(xa_n + r ⊙ ha_n)
//   h' = (1 - z) ⊙ n + z ⊙ h
// Backward, per step (dh = upstream dh' + dOut):
//   dn_pre = dh ⊙ (1 - z) ⊙ (1 - n²)
//   dz_pre = dh ⊙ (h - n) ⊙ z(1-z)
//   dr_pre = dn_pre ⊙ ha_n ⊙ r(1-r)
//   dxa = [dr_pre, dz_pre, dn_pre]     dha = [dr_pre, dz_pre, dn_pre ⊙ r]
//   dh_prev = dh ⊙ z + dha W_hh        (the GEMM is in the driver)

/// A stacked, optionally bidirectional GRU with PyTorch's parameters.
public final class GRU: RecurrentLayer {
    public let stack: RecurrentStack

    /// Registers `prefix + "weight_ih_l0"` … as torch.nn.GRU does.
    public init(_ layout: inout ParameterLayout, prefix: String, inputSize: Int, hiddenSize: Int,
                numLayers: Int = 1, bidirectional: Bool = false, dropout: Float = 0) {
        stack = RecurrentStack(&layout, prefix: prefix, config: RecurrentConfig(
            kind: .gru, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers,
            bidirectional: bidirectional, dropout: dropout))
    }
}

/// The fused GRU cell kernels over batch rows (SIMD8 over H).
enum GRUCell {
    static func forward(_ p: CellForward, rows: Range<Int>) {
        let H = p.hidden, G = 3 * H
        let bi = p.biasIH, bh = p.biasHH
        let extra = p.extra!
        let one = V8(repeating: 1)
        for b in rows {
            if !p.active(b) { p.passThrough(b); continue }
            let xa = p.gates + b * G, ha = p.hh + b * G
            let hp = p.hPrev + b * H, hn = p.hNew + b * H, hnCache = extra + b * H
            let out = p.out.map { $0 + b * p.ldOut }
            var j = 0
            while j < H {
                let n = min(8, H - j)
                let r = Activation.sigmoid(load8(xa + j, n) + load8(bi + j, n) + load8(ha + j, n) + load8(bh + j, n))
                let z = Activation.sigmoid(load8(xa + H + j, n) + load8(bi + H + j, n)
                                        + load8(ha + H + j, n) + load8(bh + H + j, n))
                let hnv = load8(ha + 2 * H + j, n) + load8(bh + 2 * H + j, n)
                let nv = Activation.tanh(load8(xa + 2 * H + j, n) + load8(bi + 2 * H + j, n) + r * hnv)
                let h = (one - z) * nv + z * load8(hp + j, n)
                store8(r, xa + j, n); store8(z, xa + H + j, n); store8(nv, xa + 2 * H + j, n)
                store8(hnv, hnCache + j, n); store8(h, hn + j, n)
                if let out { store8(h, out + j, n) }
                j += 8
            }
        }
    }

    static func backward(_ p: CellBackward, rows: Range<Int>) {
        let H = p.hidden, G = 3 * H
        let one = V8(repeating: 1)
        let extra = p.extra!
        for b in rows {
            if !p.active(b) { p.passThrough(b, gateCount: 3); continue }
            let a = p.gates + b * G, dx = p.dGx + b * G, dr = p.dGh + b * G
            let hp = p.hPrev + b * H, hnCache = extra + b * H, dh = p.dh + b * H
            let dOut = p.dOut.map { $0 + b * p.ldOut }
            var j = 0
            while j < H {
                let n = min(8, H - j)
                var dhv = load8(dh + j, n)
                if let dOut { dhv += load8(dOut + j, n) }
                let r = load8(a + j, n), z = load8(a + H + j, n), nv = load8(a + 2 * H + j, n)
                let dnPre = dhv * (one - z) * (one - nv * nv)
                let dzPre = dhv * (load8(hp + j, n) - nv) * z * (one - z)
                let drPre = dnPre * load8(hnCache + j, n) * r * (one - r)
                store8(drPre, dx + j, n); store8(dzPre, dx + H + j, n); store8(dnPre, dx + 2 * H + j, n)
                store8(drPre, dr + j, n); store8(dzPre, dr + H + j, n); store8(dnPre * r, dr + 2 * H + j, n)
                store8(dhv * z, dh + j, n)
                j += 8
            }
        }
    }
}
