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
        precondition(maxNorm > 0, "clipping needs maxNorm > 0, got \(maxNorm)")
        let norm = Kernels.sumOfSquares(store.grads.count, store.grads.data).squareRoot()
        guard norm.isFinite else { return Float(norm) }
        let coef = Float(Double(maxNorm) / (norm + 1e-6))
        if coef < 1 {
            let g = store.grads.data
            optimizerParallelFor(store.grads.count) { range in
                Kernels.scale(range.count, coef, g + range.lowerBound)
            }
        }
        return Float(norm)
    }
}

extension ParameterStore {
    /// `GradientClipping.clipGlobalNorm(self, maxNorm:)`: clips and returns the pre-clip norm.
    @discardableResult
    public func clipGradNorm(maxNorm: Float) -> Float { GradientClipping.clipGlobalNorm(self, maxNorm: maxNorm) }
}
