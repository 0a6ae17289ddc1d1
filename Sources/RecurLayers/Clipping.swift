import RecurCore

// Global-norm gradient clipping over every gradient of a ParameterStore, as
// torch.nn.utils.clip_grad_norm_(parameters, max_norm) with the 2-norm:
//
//   norm = √(Σ g²)            (accumulated in Double over the flat buffer)
//   coef = maxNorm / (norm + 1e-6)
//   g ← g · coef              when coef < 1
//
// Returns the norm before clipping. A non-finite norm (a NaN or inf
// gradient) leaves the gradients untouched, so the caller can see it and
// skip the step (PyTorch would scale every gradient by NaN).

public enum GradientClipping {
    /// Scales the store's gradients so their global 2-norm is at most
    /// `maxNorm`; returns the norm before clipping.
    @discardableResult
    public static func clipGlobalNorm(_ store: ParameterStore, maxNorm: Float) -> Float {
        let norm = Kernels.sumOfSquares(store.grads.count, store.grads.data).squareRoot()
        if let coef = coefficient(norm: norm, maxNorm: maxNorm) {
            let g = store.grads.data
            optimizerParallelFor(store.grads.count) { range in
                Kernels.scale(range.count, coef, g + range.lowerBound)
            }
        }
        return Float(norm)
    }

    /// The same clipping of a gradient not yet summed: sets its scale (the parts are
    /// not changed); returns the norm before clipping. The same values, to the bit, as
    /// materializing it and clipping the store.
    @discardableResult
    public static func clipGlobalNorm(_ gradient: inout GradientSum, maxNorm: Float) -> Float {
        let norm = gradient.sumOfSquares().squareRoot()
        if let coef = coefficient(norm: norm, maxNorm: maxNorm) { gradient.scale = gradient.scale * coef }
        return Float(norm)
    }

    /// maxNorm / (norm + 1e-6) when that is below 1 and the norm is finite; nil otherwise.
    private static func coefficient(norm: Double, maxNorm: Float) -> Float? {
        precondition(maxNorm > 0, "clipping needs maxNorm > 0, got \(maxNorm)")
        guard norm.isFinite else { return nil }
        let coef = Float(Double(maxNorm) / (norm + 1e-6))
        return coef < 1 ? coef : nil
    }
}

extension ParameterStore {
    /// `GradientClipping.clipGlobalNorm(self, maxNorm:)`: clips and returns the pre-clip norm.
    @discardableResult
    public func clipGradNorm(maxNorm: Float) -> Float { GradientClipping.clipGlobalNorm(self, maxNorm: maxNorm) }
}
