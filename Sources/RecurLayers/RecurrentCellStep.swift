import RecurCore

// The cell kernels of one layer and one step, on buffers the caller owns.
//
// For a decoder that computes its input projection itself: a teacher-forced
// decoder with input feeding projects the embeddings of all steps in one
// GEMM, adds the fed-back part per step, and keeps every step's cache in its
// own (T, B, ·) buffers so the weight gradients are a few GEMMs over all
// steps afterwards. These are the same kernels `forward`, `backward` and
// `step` run (no lengths: every row active); the GEMMs stay with the caller.
//
// Forward of step t for layer k (one direction), G = gates·H:
//   in:  gates (B, G) = x_t W_ihᵀ (no bias);  hh (B, G) = h_{t-1} W_hhᵀ (no bias)
//   out: gates ← the activated gates; h_t (and c_t) written to hNew (cNew);
//        extra (B, H) ← LSTM tanh(c_t), GRU W_hn h + b_hn (nil for RNN)
// Backward of step t:
//   in:  the forward's gates, extra, hPrev, cPrev; dOut (B, H) or nil; dh (B, H) the
//        gradient reaching h_t from later steps; dc likewise (LSTM)
//   out: dGx, dGh (B, G) the pre-activation gradients of the input and recurrent
//        parts (pass the same buffer twice for LSTM and RNN, where they are equal);
//        dh ← the part of dh_{t-1} that does not go through W_hh (the caller adds
//        dGh W_hh); dc ← dc_{t-1}
extension RecurrentStack {
    /// One forward step of layer `layer`'s cell on `batch` rows (see above).
    public func cellStepForward(_ store: ParameterStore, layer: Int = 0, batch B: Int,
                                gates: UnsafeMutablePointer<Float>, hh: UnsafePointer<Float>,
                                hPrev: UnsafePointer<Float>, hNew: UnsafeMutablePointer<Float>,
                                cPrev: UnsafePointer<Float>? = nil, cNew: UnsafeMutablePointer<Float>? = nil,
                                extra: UnsafeMutablePointer<Float>?) {
        let cfg = config, w = weights[layer]
        precondition(!cfg.kind.hasCellState || (cPrev != nil && cNew != nil), "cell step: an LSTM needs cPrev and cNew")
        precondition(cfg.kind == .rnnTanh || cfg.kind == .rnnRelu || extra != nil, "cell step: \(cfg.kind) needs extra")
        let p = CellForward(hidden: cfg.hiddenSize, gates: gates, hh: hh,
                            biasIH: store.value(w.biasIH).data, biasHH: store.value(w.biasHH).data,
                            hPrev: hPrev, hNew: hNew, cPrev: cPrev, cNew: cNew, extra: extra,
                            out: nil, ldOut: cfg.hiddenSize, lengths: nil, t: 0, relu: cfg.kind == .rnnRelu)
        cellForward(p, B)
    }

    /// One backward step of the cell (see above); GEMMs are the caller's.
    public func cellStepBackward(batch B: Int, gates: UnsafePointer<Float>, extra: UnsafePointer<Float>?,
                                 hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>? = nil,
                                 dOut: UnsafePointer<Float>?, dh: UnsafeMutablePointer<Float>,
                                 dc: UnsafeMutablePointer<Float>? = nil,
                                 dGx: UnsafeMutablePointer<Float>, dGh: UnsafeMutablePointer<Float>) {
        let cfg = config
        precondition(!cfg.kind.hasCellState || (cPrev != nil && dc != nil), "cell step backward: an LSTM needs cPrev and dc")
        precondition(cfg.kind == .gru || dGx == dGh, "cell step backward: \(cfg.kind) writes one gate gradient (pass the same buffer)")
        let p = CellBackward(hidden: cfg.hiddenSize, gates: gates, extra: extra, hPrev: hPrev, cPrev: cPrev,
                             dOut: dOut, ldOut: cfg.hiddenSize, dh: dh, dc: dc, dGx: dGx, dGh: dGh,
                             lengths: nil, t: 0, relu: cfg.kind == .rnnRelu)
        cellBackward(p, B)
    }
}
