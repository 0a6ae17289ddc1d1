import RecurCore

// Dropout, inverted: in training each element is kept with probability 1-p
// and scaled by 1/(1-p), so inference is the identity.
//
//   x, y, mask, dy, dx: any shape, all the same
//   mask[i] = 1/(1-p) where kept, 0 where dropped (nil when nothing is dropped)
//
// Backward: dx = dy ⊙ mask. Draws come, in element order, from the RNG the
// caller passes, so the same seed gives the same mask.

/// Inverted dropout with an explicit generator. No parameters.
public struct Dropout: Sendable {
    /// The probability of dropping an element, in [0, 1].
    public let p: Float

    public init(p: Float) {
        precondition(p >= 0 && p <= 1, "dropout probability \(p) outside [0, 1]")
        self.p = p
    }

    /// Whether `forward` would change anything.
    public func isActive(training: Bool) -> Bool { training && p > 0 }

    /// y = x ⊙ mask. Returns x itself and a nil mask at inference or with p = 0.
    public func forward(_ x: Tensor, training: Bool, rng: inout RNG) -> (y: Tensor, mask: Tensor?) {
        guard isActive(training: training) else { return (x, nil) }
        let mask = makeMask(x.shape, rng: &rng)
        let y = Tensor(zeros: x.shape)
        Kernels.mul(x.count, x.data, mask.data, y.data)
        return (y, mask)
    }

    /// A fresh mask of `shape`: 1/(1-p) with probability 1-p, else 0
    /// (all zero when p = 1).
    public func makeMask(_ shape: [Int], rng: inout RNG) -> Tensor {
        let mask = Tensor(zeros: shape)
        let keep = 1 - p
        let scale: Float = keep > 0 ? 1 / keep : 0
        for i in 0..<mask.count { mask.data[i] = rng.uniform() < keep ? scale : 0 }
        return mask
    }

    /// dx = dy ⊙ mask (dy itself when mask is nil).
    public func backward(_ dy: Tensor, mask: Tensor?) -> Tensor {
        guard let mask else { return dy }
        precondition(mask.count == dy.count, "Dropout: dy \(dy.shape) against mask \(mask.shape)")
        let dx = Tensor(zeros: dy.shape)
        Kernels.mul(dy.count, dy.data, mask.data, dx.data)
        return dx
    }

    /// x ⊙= mask in place (forward or backward without allocating).
    public static func apply(mask: Tensor?, to x: Tensor) {
        guard let mask else { return }
        precondition(mask.count == x.count, "Dropout: \(x.shape) against mask \(mask.shape)")
        Kernels.mul(x.count, x.data, mask.data, x.data)
    }
}
