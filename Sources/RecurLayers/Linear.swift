import RecurCore

// Linear: y = x Wᵀ + b, as torch.nn.Linear.
//
//   x:      (N, I)   (callers flatten (T, B, I) to (T·B, I); any rank whose
//                     last axis is I is accepted and flattened the same way)
//   weight: (O, I)   "<prefix>weight"
//   bias:   (O)      "<prefix>bias"
//   y:      (N, O)
//
// Backward: dW += dyᵀ x (one GEMM), db += Σ_n dy[n], dx = dy W (one GEMM).
// The cache backward needs is the input x itself.

/// A fully connected layer with PyTorch's parameter names and layout.
public final class Linear {
    public let inFeatures: Int
    public let outFeatures: Int
    /// (O, I)
    public let weight: ParameterRef
    /// (O), or nil for a layer built with `bias: false`.
    public let bias: ParameterRef?

    /// Registers `prefix + "weight"` (O, I) and, if `bias`, `prefix + "bias"` (O).
    public init(_ layout: inout ParameterLayout, prefix: String, inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear \(prefix): sizes must be positive")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = layout.add(prefix + "weight", [outFeatures, inFeatures])
        self.bias = bias ? layout.add(prefix + "bias", [outFeatures]) : nil
    }

    /// PyTorch's default initialization: kaiming-uniform weight
    /// (bound 1/√I) and bias uniform in ±1/√I.
    public func initialize(_ store: ParameterStore, rng: inout RNG) {
        Initializer.kaimingUniformLinear(store.value(weight), rng: &rng)
        if let bias { Initializer.uniform(store.value(bias), bound: 1 / Float(inFeatures).squareRoot(), rng: &rng) }
    }

    private func rows(_ x: Tensor) -> Int {
        precondition(x.rank >= 1 && x.shape[x.rank - 1] == inFeatures,
                     "Linear: input \(x.shape) must end in \(inFeatures)")
        return x.count / inFeatures
    }

    /// y = x Wᵀ + b: a new (N, O) tensor.
    public func forward(_ store: ParameterStore, _ x: Tensor) -> Tensor {
        let y = Tensor(zeros: [rows(x), outFeatures])
        forward(store, x, into: y)
        return y
    }

    /// y = x Wᵀ + b written into `y` (N, O), no allocation.
    public func forward(_ store: ParameterStore, _ x: Tensor, into y: Tensor) {
        let n = rows(x)
        precondition(y.count == n * outFeatures, "Linear: output \(y.shape) for \(n) rows of \(outFeatures)")
        let w = store.value(weight)
        if let bias {
            let b = store.value(bias)
            for r in 0..<n { (y.data + r * outFeatures).update(from: b.data, count: outFeatures) }
        }
        BLAS.gemm(.none, .transpose, m: n, n: outFeatures, k: inFeatures, a: x.data, lda: inFeatures,
                  b: w.data, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: y.data, ldc: outFeatures)
    }

    /// Accumulates dW and db from the forward input `x` (N, I) and the
    /// upstream gradient `dy` (N, O), and returns dx (N, I) (nil when
    /// `inputGradient` is false, e.g. for a first layer over fixed features).
    @discardableResult
    public func backward(_ store: ParameterStore, x: Tensor, dy: Tensor, inputGradient: Bool = true) -> Tensor? {
        let n = rows(x)
        guard inputGradient else {
            accumulateParameterGradients(store, x: x, dy: dy, rows: n)
            return nil
        }
        let dx = Tensor(zeros: [n, inFeatures])
        backward(store, x: x, dy: dy, dxInto: dx, accumulateInput: false)
        return dx
    }

    /// As `backward`, writing dx into `dx` (N, I); with `accumulateInput`
    /// the input gradient is added to what `dx` holds.
    public func backward(_ store: ParameterStore, x: Tensor, dy: Tensor, dxInto dx: Tensor, accumulateInput: Bool) {
        let n = rows(x)
        precondition(dx.count == n * inFeatures, "Linear: dx \(dx.shape) for \(n) rows of \(inFeatures)")
        accumulateParameterGradients(store, x: x, dy: dy, rows: n)
        // dx = dy (N, O) · W (O, I)
        BLAS.gemm(.none, .none, m: n, n: inFeatures, k: outFeatures, a: dy.data, lda: outFeatures,
                  b: store.value(weight).data, ldb: inFeatures, beta: accumulateInput ? 1 : 0,
                  c: dx.data, ldc: inFeatures)
    }

    private func accumulateParameterGradients(_ store: ParameterStore, x: Tensor, dy: Tensor, rows n: Int) {
        precondition(dy.count == n * outFeatures, "Linear: dy \(dy.shape) for \(n) rows of \(outFeatures)")
        // dW (O, I) += dyᵀ (O, N) · x (N, I)
        BLAS.gemm(.transpose, .none, m: outFeatures, n: inFeatures, k: n, a: dy.data, lda: outFeatures,
                  b: x.data, ldb: inFeatures, beta: 1, c: store.grad(weight).data, ldc: inFeatures)
        if let bias { Kernels.sumRows(rows: n, cols: outFeatures, dy.data, into: store.grad(bias).data) }
    }
}
