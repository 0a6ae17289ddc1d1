import Foundation
import RecurCore

// Attention over an encoder's outputs, one decoder step at a time.
//
//   keys:     (S, B, Dk)  time-major, as the encoders return them (also the values)
//   mask:     (B, S)      true where a source position may be attended (or lengths: B)
//   query:    (B, Dq)     the decoder state at one step
//   scores e: (B, S)
//   weights:  (B, S)      softmax of e over the valid positions; exactly 0 at masked ones
//   context:  (B, Dk)     Σ_s weights[b, s] · keys[s, b]
//
// Kinds (parameter names as the PyTorch modules in scripts/make_torch_fixtures_layers.py):
//   additive (Bahdanau):  e = v · tanh(W q + U k + b)
//       "query_layer.weight" W (A, Dq), "key_layer.weight" U (A, Dk), "key_layer.bias" b (A),
//       "energy_layer.weight" v (1, A)
//   dot (Luong):          e = q · k                 (needs Dq = Dk; no parameters)
//   general (Luong):      e = q · (W k)
//       "key_layer.weight" W (Dq, Dk)
//
// The key projection (U k + b, or W k) depends only on the source, so
// `precompute` computes it ONCE per source into an `AttentionMemory`
// (projected: (S, B, A) or (S, B, Dq)) that every decoder step reuses. In
// backward each step adds its key gradients to the memory's accumulators
// (dKeys (S, B, Dk) for the direct path, dProjected for the projected one);
// `backwardMemory` then backpropagates dProjected through the projection once
// (one GEMM for the key gradient, one for the projection weights).
//
// A row with no valid position gets all-zero weights and context, and zero
// gradients (never NaN). The additive step caches only W q (B, A); backward
// recomputes tanh(W q + U k + b) rather than storing (S, B, A) per step.

/// Additive or multiplicative attention with a source mask.
public final class Attention {
    public enum Kind: String, Sendable, CaseIterable { case additive, dot, general }

    public let kind: Kind
    public let queryDim: Int
    public let keyDim: Int
    /// A, the additive attention's hidden size (0 for the other kinds).
    public let attentionDim: Int
    /// additive: W (A, Dq)
    public let queryWeight: ParameterRef?
    /// additive: U (A, Dk); general: W (Dq, Dk)
    public let keyWeight: ParameterRef?
    /// additive: b (A)
    public let keyBias: ParameterRef?
    /// additive: v (1, A)
    public let energyWeight: ParameterRef?

    /// Registers the parameters of `kind` under `prefix`. `attentionDim` is
    /// needed by the additive kind only.
    public init(_ layout: inout ParameterLayout, prefix: String, kind: Kind, queryDim: Int, keyDim: Int,
                attentionDim: Int = 0) {
        precondition(queryDim > 0 && keyDim > 0, "Attention \(prefix): sizes must be positive")
        self.kind = kind
        self.queryDim = queryDim
        self.keyDim = keyDim
        switch kind {
        case .additive:
            precondition(attentionDim > 0, "Attention \(prefix): additive attention needs attentionDim > 0")
            self.attentionDim = attentionDim
            queryWeight = layout.add(prefix + "query_layer.weight", [attentionDim, queryDim])
            keyWeight = layout.add(prefix + "key_layer.weight", [attentionDim, keyDim])
            keyBias = layout.add(prefix + "key_layer.bias", [attentionDim])
            energyWeight = layout.add(prefix + "energy_layer.weight", [1, attentionDim])
        case .dot:
            precondition(queryDim == keyDim, "Attention \(prefix): dot attention needs queryDim = keyDim")
            self.attentionDim = 0
            queryWeight = nil; keyWeight = nil; keyBias = nil; energyWeight = nil
        case .general:
            self.attentionDim = 0
            keyWeight = layout.add(prefix + "key_layer.weight", [queryDim, keyDim])
            queryWeight = nil; keyBias = nil; energyWeight = nil
        }
    }

    /// The width of the projected keys: A (additive), Dq (general), 0 (dot).
    public var projectedDim: Int {
        switch kind { case .additive: attentionDim; case .general: queryDim; case .dot: 0 }
    }

    /// nn.Linear's defaults for every weight: U(±1/√fanIn); the key bias U(±1/√Dk).
    public func initialize(_ store: ParameterStore, rng: inout RNG) {
        for ref in [queryWeight, keyWeight, energyWeight].compactMap({ $0 }) {
            Initializer.kaimingUniformLinear(store.value(ref), rng: &rng)
        }
        if let keyBias { Initializer.uniform(store.value(keyBias), bound: 1 / Float(keyDim).squareRoot(), rng: &rng) }
    }

    // MARK: - memory

    /// Prepares a source for attention with per-sequence lengths (B values in 0...S).
    public func precompute(_ store: ParameterStore, keys: Tensor, lengths: [Int]) throws -> AttentionMemory {
        try checkKeys(keys)
        let s = keys.shape[0], b = keys.shape[1]
        guard lengths.count == b else {
            throw RecurError(.shape, "attention: \(lengths.count) lengths for a batch of \(b)")
        }
        var mask = [Bool](repeating: false, count: b * s)
        for (i, n) in lengths.enumerated() {
            guard n >= 0 && n <= s else { throw RecurError(.value, "attention: length \(n) outside 0...\(s)") }
            for j in 0..<n { mask[i * s + j] = true }
        }
        return try precompute(store, keys: keys, mask: mask)
    }

    /// Prepares a source for attention: keys (S, B, Dk) (kept by reference:
    /// do not change them while the memory is in use) and an optional mask
    /// (B·S values, row-major (B, S), true = attend; nil = every position).
    public func precompute(_ store: ParameterStore, keys: Tensor, mask: [Bool]? = nil) throws -> AttentionMemory {
        try checkKeys(keys)
        let s = keys.shape[0], b = keys.shape[1]
        if let mask, mask.count != b * s {
            throw RecurError(.shape, "attention: mask of \(mask.count) values for (B, S) = (\(b), \(s))")
        }
        var projected: Tensor?
        let p = projectedDim
        if p > 0 {
            let pk = Tensor(zeros: [s, b, p])
            if let keyBias {
                let bias = store.value(keyBias)
                for r in 0..<(s * b) { (pk.data + r * p).update(from: bias.data, count: p) }
            }
            // pk (SB, P) = keys (SB, Dk) · Wᵀ (Dk, P) [+ b]
            BLAS.gemm(.none, .transpose, m: s * b, n: p, k: keyDim, a: keys.data, lda: keyDim,
                      b: store.value(keyWeight!).data, ldb: keyDim, beta: keyBias == nil ? 0 : 1,
                      c: pk.data, ldc: p)
            projected = pk
        }
        return AttentionMemory(keys: keys, mask: mask ?? [Bool](repeating: true, count: b * s), projected: projected)
    }

    private func checkKeys(_ keys: Tensor) throws {
        guard keys.rank == 3, keys.shape[2] == keyDim else {
            throw RecurError(.shape, "attention: keys must be (S, B, \(keyDim)), got \(keys.shape)")
        }
    }

    // MARK: - one step

    /// One decoder step: weights (B, S) and context (B, Dk) for `query` (B, Dq).
    /// The query is copied into the returned step (the cache for backward).
    public func forward(_ store: ParameterStore, query: Tensor, memory: AttentionMemory) -> AttentionStep {
        let s = memory.steps, b = memory.batch, dk = keyDim, dq = queryDim
        precondition(query.count == b * dq, "attention: query \(query.shape) for a batch of \(b) × \(dq)")
        let q = query.copy().reshaped([b, dq])
        let weights = Tensor(zeros: [b, s])
        let context = Tensor(zeros: [b, dk])
        let keys = memory.keys.data, mask = memory.mask, kind = self.kind, a = attentionDim
        var qProj: Tensor?
        if kind == .additive {
            // hq (B, A) = q (B, Dq) · W_qᵀ, with W_qᵀ made once per memory (BLAS.transpose: why)
            let wT: Tensor
            if let t = memory.queryWeightT { wT = t } else {
                wT = Tensor(zeros: [dq, a])
                BLAS.transpose(rows: a, cols: dq, store.value(queryWeight!).data, ldSrc: dq, into: wT.data, ldDst: a)
                memory.queryWeightT = wT
            }
            let hq = Tensor(zeros: [b, a])
            BLAS.gemm(.none, .none, m: b, n: a, k: dq, a: q.data, lda: dq, b: wT.data, ldb: a, c: hq.data, ldc: a)
            qProj = hq
        }
        let hq = qProj?.data, pk = memory.projected?.data, v = energyWeight.map { store.value($0).data }
        // Rows of the batch are independent: split them over threads.
        parallelFor(b, minChunk: rowChunk(s * max(a, dk, dq))) { rows in
            for bi in rows {
                let e = weights.data + bi * s
                for si in 0..<s where mask[bi * s + si] {
                    switch kind {
                    case .additive:
                        e[si] = additiveScore(a, hq! + bi * a, pk! + (si * b + bi) * a, v!)
                    case .dot:
                        e[si] = dot8(dq, q.data + bi * dq, keys + (si * b + bi) * dq)
                    case .general:
                        e[si] = dot8(dq, q.data + bi * dq, pk! + (si * b + bi) * dq)
                    }
                }
                maskedSoftmax(e, s, mask, bi * s)
                let c = context.data + bi * dk
                for si in 0..<s where e[si] != 0 {
                    Kernels.addScaled(dk, e[si], keys + (si * b + bi) * dk, c)
                }
            }
        }
        return AttentionStep(query: q, context: context, weights: weights, queryProjection: qProj)
    }

    /// One inference step for rows that attend to different sources (beam search):
    /// row r of `query` (R, Dq) against `memories[r]`, a batch-1 memory. Returns
    /// context (R, Dk) and weights (R, W), W = the longest memory (at least 1),
    /// zero past each row's own length. Row by row the arithmetic of `forward`,
    /// with every row's query projection in one GEMM and rows split over threads.
    public func forward(_ store: ParameterStore, query: Tensor, memories: [AttentionMemory]) -> (context: Tensor, weights: Tensor) {
        let r = memories.count, dk = keyDim, dq = queryDim, a = attentionDim, kind = self.kind
        precondition(query.count == r * dq, "attention: query \(query.shape) for \(r) rows × \(dq)")
        precondition(memories.allSatisfy { $0.batch == 1 }, "attention: per-row memories must have batch 1")
        let w = max(1, memories.map(\.steps).max() ?? 0)
        let weights = Tensor(zeros: [r, w])
        let context = Tensor(zeros: [r, dk])
        guard r > 0 else { return (context, weights) }
        var qProj: Tensor?
        if kind == .additive {
            // hq (R, A) = query (R, Dq) · Wᵀ
            let hq = Tensor(zeros: [r, a])
            BLAS.gemm(.none, .transpose, m: r, n: a, k: dq, a: query.data, lda: dq,
                      b: store.value(queryWeight!).data, ldb: dq, c: hq.data, ldc: a)
            qProj = hq
        }
        let hq = qProj?.data, q = query.data, v = energyWeight.map { store.value($0).data }
        parallelFor(r, minChunk: rowChunk(w * max(a, dk, dq))) { rows in
            for ri in rows {
                let memory = memories[ri], s = memory.steps, mask = memory.mask
                let keys = memory.keys.data, pk = memory.projected?.data
                let e = weights.data + ri * w
                for si in 0..<s where mask[si] {
                    switch kind {
                    case .additive: e[si] = additiveScore(a, hq! + ri * a, pk! + si * a, v!)
                    case .dot: e[si] = dot8(dq, q + ri * dq, keys + si * dq)
                    case .general: e[si] = dot8(dq, q + ri * dq, pk! + si * dq)
                    }
                }
                maskedSoftmax(e, s, mask, 0)
                let c = context.data + ri * dk
                for si in 0..<s where e[si] != 0 { Kernels.addScaled(dk, e[si], keys + si * dk, c) }
            }
        }
        return (context, weights)
    }

    /// Backward of one step, given dL/dcontext (B, Dk) and optionally
    /// dL/dweights (B, S). Accumulates the parameter gradients of the query
    /// side into the store and the key gradients into `memory`; returns
    /// dL/dquery (B, Dq). Call `backwardMemory` once after every step's backward.
    public func backward(_ store: ParameterStore, memory: AttentionMemory, step: AttentionStep,
                         dContext: Tensor, dWeights: Tensor? = nil) -> Tensor {
        let s = memory.steps, b = memory.batch, dk = keyDim, dq = queryDim
        precondition(dContext.count == b * dk, "attention: dContext \(dContext.shape) for (\(b), \(dk))")
        if let dWeights { precondition(dWeights.count == b * s, "attention: dWeights \(dWeights.shape) for (\(b), \(s))") }
        memory.prepareGradients()
        let keys = memory.keys.data, dKeys = memory.dKeys!.data
        let q = step.query.data
        let dQuery = Tensor(zeros: [b, dq])
        let a = attentionDim, kind = self.kind
        let dhq = kind == .additive ? Tensor(zeros: [b, a]) : nil
        // dv per batch row, summed in row order after (the same bits for any thread count).
        let dvRows = kind == .additive ? Tensor(zeros: [b, a]) : nil
        let v = energyWeight.map { store.value($0).data }
        let pk = memory.projected?.data, dpk = memory.dProjected?.data, hq = step.queryProjection?.data
        let weights = step.weights.data, dW = dWeights?.data
        // Every write below goes to batch row bi's slices (dKeys[:, bi], dProjected[:, bi],
        // dQuery[bi], dhq[bi], dvRows[bi]): rows are split over threads.
        parallelFor(b, minChunk: rowChunk(s * max(a, dk, dq))) { rows in
            // de (S): softmax backward of dw = dContext · keys (+ dWeights).
            let de = UnsafeMutablePointer<Float>.allocate(capacity: max(s, 1))
            defer { de.deallocate() }
            for bi in rows {
                let w = weights + bi * s
                let dc = dContext.data + bi * dk
                var dot = 0.0
                for si in 0..<s {
                    guard w[si] != 0 else { de[si] = 0; continue }
                    var dw = dot8(dk, dc, keys + (si * b + bi) * dk)
                    if let dW { dw += dW[bi * s + si] }
                    de[si] = dw
                    dot += Double(w[si]) * Double(dw)
                    // context = Σ w·k  ⇒  dk += w · dcontext
                    Kernels.addScaled(dk, w[si], dc, dKeys + (si * b + bi) * dk)
                }
                let mean = Float(dot)
                for si in 0..<s { de[si] = w[si] * (de[si] - mean) }
                switch kind {
                case .additive:
                    let hqb = hq! + bi * a, dh = dhq!.data + bi * a, dvb = dvRows!.data + bi * a
                    for si in 0..<s where de[si] != 0 {
                        let g = de[si]
                        let row = (si * b + bi) * a
                        additiveScoreBackward(a, g, hqb, pk! + row, v!, dv: dvb, dhq: dh, dpk: dpk! + row)
                    }
                case .dot:
                    let dqb = dQuery.data + bi * dq
                    for si in 0..<s where de[si] != 0 {
                        let row = (si * b + bi) * dk
                        Kernels.addScaled(dq, de[si], keys + row, dqb)
                        Kernels.addScaled(dk, de[si], q + bi * dq, dKeys + row)
                    }
                case .general:
                    let dqb = dQuery.data + bi * dq
                    for si in 0..<s where de[si] != 0 {
                        let row = (si * b + bi) * dq
                        Kernels.addScaled(dq, de[si], pk! + row, dqb)
                        Kernels.addScaled(dq, de[si], q + bi * dq, dpk! + row)
                    }
                }
            }
        }
        if let dvRows { Kernels.sumRows(rows: b, cols: a, dvRows.data, into: store.grad(energyWeight!).data) }
        if let dhq {
            // dW (A, Dq) += dhqᵀ (A, B) · q (B, Dq);  dq (B, Dq) = dhq (B, A) · W (A, Dq)
            BLAS.gemm(.transpose, .none, m: a, n: dq, k: b, a: dhq.data, lda: a, b: q, ldb: dq,
                      beta: 1, c: store.grad(queryWeight!).data, ldc: dq)
            BLAS.gemm(.none, .none, m: b, n: dq, k: a, a: dhq.data, lda: a,
                      b: store.value(queryWeight!).data, ldb: dq, c: dQuery.data, ldc: dq)
        }
        return dQuery
    }

    /// Backpropagates the memory's accumulated dProjected through the key
    /// projection (dU or dW, db) and returns the total dL/dkeys (S, B, Dk)
    /// (the memory's accumulator). Call once, after every step's backward.
    @discardableResult
    public func backwardMemory(_ store: ParameterStore, memory: AttentionMemory) -> Tensor {
        memory.prepareGradients()
        let dKeys = memory.dKeys!
        if let dpk = memory.dProjected, let keyWeight {
            let rows = memory.steps * memory.batch, p = projectedDim
            // dKeys (SB, Dk) += dpk (SB, P) · W (P, Dk);  dW (P, Dk) += dpkᵀ · keys
            BLAS.gemm(.none, .none, m: rows, n: keyDim, k: p, a: dpk.data, lda: p,
                      b: store.value(keyWeight).data, ldb: keyDim, beta: 1, c: dKeys.data, ldc: keyDim)
            BLAS.gemm(.transpose, .none, m: p, n: keyDim, k: rows, a: dpk.data, lda: p,
                      b: memory.keys.data, ldb: keyDim, beta: 1, c: store.grad(keyWeight).data, ldc: keyDim)
            if let keyBias { Kernels.sumRows(rows: rows, cols: p, dpk.data, into: store.grad(keyBias).data) }
            dpk.zero()  // consumed: a second call adds nothing twice
        }
        return dKeys
    }
}

/// Batch rows per thread chunk for rows of `work` elements: small problems stay on one thread.
private func rowChunk(_ work: Int) -> Int { max(1, 2048 / max(work, 1)) }

/// v · tanh(hq + pk) over a elements, fused in eight lanes (a padded tail
/// lane has v = 0 and adds nothing).
@inline(__always)
private func additiveScore(_ a: Int, _ hq: UnsafePointer<Float>, _ pk: UnsafePointer<Float>,
                           _ v: UnsafePointer<Float>) -> Float {
    typealias V = SIMD8<Float>
    var acc = V(repeating: 0)
    var j = 0
    while j + 8 <= a {
        let t = Kernels.tanh(load8(hq + j) + load8(pk + j))
        acc = acc + load8(v + j) * t
        j += 8
    }
    if j < a {
        var x = V(repeating: 0), w = V(repeating: 0)
        for l in 0..<(a - j) { x[l] = hq[j + l] + pk[j + l]; w[l] = v[j + l] }
        acc = acc + w * Kernels.tanh(x)
    }
    return acc.sum()
}

/// Backward of g · (v · tanh(hq + pk)) with t = tanh(hq + pk):
/// dv += g·t;  d = g·v·(1 - t²);  dhq += d;  dpk += d. Fused in eight lanes.
@inline(__always)
private func additiveScoreBackward(_ a: Int, _ g: Float, _ hq: UnsafePointer<Float>, _ pk: UnsafePointer<Float>,
                                   _ v: UnsafePointer<Float>, dv: UnsafeMutablePointer<Float>,
                                   dhq: UnsafeMutablePointer<Float>, dpk: UnsafeMutablePointer<Float>) {
    typealias V = SIMD8<Float>
    let gv = V(repeating: g), one = V(repeating: 1)
    var j = 0
    while j + 8 <= a {
        let t = Kernels.tanh(load8(hq + j) + load8(pk + j))
        store8(load8(dv + j) + gv * t, dv + j)
        let d = gv * load8(v + j) * (one - t * t)
        store8(load8(dhq + j) + d, dhq + j)
        store8(load8(dpk + j) + d, dpk + j)
        j += 8
    }
    if j < a {
        var x = V(repeating: 0)
        for l in 0..<(a - j) { x[l] = hq[j + l] + pk[j + l] }
        let t = Kernels.tanh(x)
        for l in 0..<(a - j) {
            dv[j + l] += g * t[l]
            let d = g * v[j + l] * (1 - t[l] * t[l])
            dhq[j + l] += d
            dpk[j + l] += d
        }
    }
}

@inline(__always) private func load8(_ x: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(x).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) private func store8(_ v: SIMD8<Float>, _ x: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(x).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Σ x·y in eight lanes.
@inline(__always)
private func dot8(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= n {
        acc = acc + UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                  * UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var r = acc.sum()
    while i < n { r += x[i] * y[i]; i += 1 }
    return r
}

/// Softmax over the valid entries of w[0..<n] (mask[offset + i]); masked
/// entries become exactly 0, an all-masked row all 0.
private func maskedSoftmax(_ w: UnsafeMutablePointer<Float>, _ n: Int, _ mask: [Bool], _ offset: Int) {
    var m = -Float.infinity
    var any = false
    for i in 0..<n where mask[offset + i] { any = true; m = max(m, w[i]) }
    guard any else { w.update(repeating: 0, count: n); return }
    var sum = 0.0
    for i in 0..<n {
        if mask[offset + i] {
            let e = Foundation.exp(w[i] - m)
            w[i] = e
            sum += Double(e)
        } else {
            w[i] = 0
        }
    }
    let inv = Float(1 / sum)
    for i in 0..<n { w[i] *= inv }
}

/// A source prepared for attention: the keys, the mask, the projected keys
/// (computed once), and the key-gradient accumulators that every step's
/// backward adds to.
public final class AttentionMemory {
    /// (S, B, Dk)
    public let keys: Tensor
    /// (B, S) row-major, true = attend.
    public let mask: [Bool]
    /// (S, B, P): U k + b (additive) or W k (general); nil for dot.
    public let projected: Tensor?
    public var steps: Int { keys.shape[0] }
    public var batch: Int { keys.shape[1] }
    /// W_qᵀ (Dq, A) of an additive attention, made by the first step that uses this memory
    /// (the weights must not change while the memory is in use, as for `projected`).
    var queryWeightT: Tensor?
    /// dL/dkeys accumulated over steps (S, B, Dk); allocated by the first backward.
    public private(set) var dKeys: Tensor?
    /// dL/dprojected accumulated over steps; allocated by the first backward.
    public private(set) var dProjected: Tensor?

    init(keys: Tensor, mask: [Bool], projected: Tensor?) {
        self.keys = keys
        self.mask = mask
        self.projected = projected
    }

    func prepareGradients() {
        if dKeys == nil { dKeys = Tensor(zeros: keys.shape) }
        if dProjected == nil, let projected { dProjected = Tensor(zeros: projected.shape) }
    }

    /// Zeroes the key-gradient accumulators (to reuse the memory for another backward).
    public func zeroGradients() {
        dKeys?.zero()
        dProjected?.zero()
    }
}

/// One attention step's outputs and the cache its backward needs.
public struct AttentionStep {
    /// (B, Dq), a copy of the query.
    public let query: Tensor
    /// (B, Dk)
    public let context: Tensor
    /// (B, S)
    public let weights: Tensor
    /// additive: W q (B, A)
    let queryProjection: Tensor?
}
