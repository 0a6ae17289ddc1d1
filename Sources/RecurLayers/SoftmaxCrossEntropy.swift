import Foundation
import RecurCore

// Softmax cross-entropy with an ignore index and label smoothing, as
// torch.nn.functional.cross_entropy(logits, targets, ignore_index=,
// label_smoothing=ε, reduction="mean" | "sum").
//
//   logits:  (N, V)
//   targets: N class ids (the ignore index marks padding)
//   dlogits: (N, V)
//
// Per non-ignored row n, with p = softmax(logits[n]) and t = targets[n]:
//   ℓ_n = (1-ε)·(-log p_t) + ε·mean_c(-log p_c)
//   dℓ_n/dlogits[n] = p - ((1-ε)·onehot(t) + ε/V)
// Ignored rows contribute nothing and get zero gradient. "mean" divides the
// sum by the number of non-ignored rows (PyTorch's definition); when every
// row is ignored the loss is 0 and the gradient zero (PyTorch gives NaN).
// Loss and gradient come from one pass over the logits.

/// Softmax + cross-entropy, returning the loss and dlogits together.
public struct SoftmaxCrossEntropy: Sendable {
    public enum Reduction: String, Sendable { case mean, sum }

    /// Target id that marks a row to skip (padding), or nil.
    public var ignoreIndex: Int?
    /// ε in [0, 1].
    public var labelSmoothing: Float
    public var reduction: Reduction

    /// A label smoothing outside [0, 1] is refused when the loss is computed.
    public init(ignoreIndex: Int? = nil, labelSmoothing: Float = 0, reduction: Reduction = .mean) {
        self.ignoreIndex = ignoreIndex
        self.labelSmoothing = labelSmoothing
        self.reduction = reduction
    }

    public struct Result {
        /// The reduced loss.
        public let loss: Float
        /// Σ over rows of the unsmoothed -log p_target (for perplexity), in Double.
        public let negativeLogLikelihood: Double
        /// Rows that were not ignored.
        public let count: Int
        /// (N, V); nil when not asked for.
        public let dlogits: Tensor?
    }

    /// Loss of `logits` (N, V) against `targets` (N ids), and dlogits unless
    /// `gradient` is false. Throws on a target outside 0..<V that is not the
    /// ignore index.
    public func callAsFunction<I: BinaryInteger>(_ logits: Tensor, targets: [I], gradient: Bool = true) throws -> Result {
        precondition(logits.rank == 2, "SoftmaxCrossEntropy: logits must be (N, V), got \(logits.shape)")
        let dlogits = gradient ? Tensor(zeros: logits.shape) : nil
        return try compute(logits, targets: targets, dlogitsInto: dlogits)
    }

    /// As `callAsFunction`, writing the gradient into `dlogitsInto` (N, V) if given;
    /// `dlogitsInto` may be `logits` itself (the gradient then replaces the logits).
    public func compute<I: BinaryInteger>(_ logits: Tensor, targets: [I], dlogitsInto dl: Tensor?) throws -> Result {
        precondition(logits.rank == 2, "SoftmaxCrossEntropy: logits must be (N, V), got \(logits.shape)")
        let n = logits.shape[0], v = logits.shape[1]
        guard targets.count == n else {
            throw RecurError(.shape, "cross-entropy: \(targets.count) targets for \(n) rows of logits")
        }
        guard labelSmoothing >= 0 && labelSmoothing <= 1 else {
            throw RecurError(.value, "cross-entropy: label smoothing \(labelSmoothing) outside [0, 1]")
        }
        if let dl { precondition(dl.count == logits.count, "SoftmaxCrossEntropy: dlogits \(dl.shape) for logits \(logits.shape)") }
        var count = 0
        for (i, t) in targets.enumerated() {
            if let ig = ignoreIndex, Int(t) == ig { continue }
            guard t >= 0 && Int(t) < v else {
                throw RecurError(.value, "cross-entropy: target \(t) at row \(i) outside 0..<\(v)")
            }
            count += 1
        }
        let eps = Double(labelSmoothing)
        let norm: Double = reduction == .mean ? (count > 0 ? 1 / Double(count) : 0) : 1
        let onTarget = Float(1 - eps), uniform = Float(eps / Double(v))
        // Per-row (loss, nll) in a buffer, rows split over threads, summed in order after.
        let rowTerms = UnsafeMutablePointer<Double>.allocate(capacity: 2 * max(n, 1))
        defer { rowTerms.deallocate() }
        let g = Float(norm)
        let ignore = ignoreIndex
        let x0 = logits.data, d0 = dl?.data
        let ids = targets.map { Int($0) }
        parallelFor(n, minChunk: max(1, 16384 / max(v, 1))) { rows in
            let scratch = d0 == nil ? UnsafeMutablePointer<Float>.allocate(capacity: v) : nil
            defer { scratch?.deallocate() }
            for r in rows {
                let t = ids[r]
                let x = x0 + r * v
                let d = d0.map { $0 + r * v } ?? scratch!
                rowTerms[2 * r] = 0
                rowTerms[2 * r + 1] = 0
                if let ignore, t == ignore {
                    if d0 != nil { d.update(repeating: 0, count: v) }
                    continue
                }
                // What is read of x comes first: d may be x itself (gradient in place).
                let m = rowMax(v, x)
                let xt = Double(x[t])
                // mean_c(-log p_c) = lse - mean_c(x_c)
                let meanX = eps > 0 ? Double(Kernels.sum(v, x)) / Double(v) : 0
                // d = exp(x - max) and s = Σ d in one pass; lse = max + log s
                let s = expShiftedSum(v, x, d, m)
                let lse = Double(m) + Foundation.log(Double(s))
                let rowNLL = lse - xt
                rowTerms[2 * r] = (1 - eps) * rowNLL + eps * (lse - meanX)
                rowTerms[2 * r + 1] = rowNLL
                if d0 != nil {
                    // d = g·(p - ε/V) - g·(1-ε)·onehot(t)
                    let a = g / s, b = g * uniform
                    for c in 0..<v { d[c] = a * d[c] - b }
                    d[t] -= g * onTarget
                }
            }
        }
        var total = 0.0, nll = 0.0
        for r in 0..<n {
            total += rowTerms[2 * r]
            nll += rowTerms[2 * r + 1]
        }
        return Result(loss: Float(total * norm), negativeLogLikelihood: nll, count: count, dlogits: dl)
    }
}

/// d = exp(x - m) over n values, returning Σ d (accumulated in eight lanes, as Kernels.sum);
/// d may equal x.
@inline(__always)
private func expShiftedSum(_ n: Int, _ x: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ m: Float) -> Float {
    typealias V = Kernels.V
    let shift = V(repeating: m)
    var acc = V(repeating: 0)
    var i = 0
    while i + 8 <= n {
        let e = Kernels.exp(UnsafeRawPointer(x + i).loadUnaligned(as: V.self) - shift)
        UnsafeMutableRawPointer(d + i).storeBytes(of: e, as: V.self)
        acc = acc + e
        i += 8
    }
    var s = acc.sum()
    if i < n {
        var v = V(repeating: 0)
        for j in 0..<(n - i) { v[j] = x[i + j] }
        let e = Kernels.exp(v - shift)
        for j in 0..<(n - i) { d[i + j] = e[j]; s += e[j] }
    }
    return s
}

/// The largest of n > 0 values (NaN inputs make the row's loss NaN later anyway).
@inline(__always)
private func rowMax(_ n: Int, _ x: UnsafePointer<Float>) -> Float {
    var i = 0
    var acc = Kernels.V(repeating: -.infinity)
    while i + 8 <= n {
        acc = Kernels.maximum(acc, UnsafeRawPointer(x + i).loadUnaligned(as: Kernels.V.self))
        i += 8
    }
    var m = acc.max()
    while i < n { m = Swift.max(m, x[i]); i += 1 }
    return m
}
