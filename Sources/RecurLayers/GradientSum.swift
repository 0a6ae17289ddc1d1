import RecurCore

// A batch's gradient as DataParallel's shards leave it, not yet summed:
//
//   g = (w_0·part_0 + w_1·part_1 + …) · scale        (part_0: the store's own gradient buffer)
//
// computed in that order of Float operations, left to right, the scale last and
// only when it is not 1. That is exactly what summing the parts into part_0 and then
// clipping computes, so the fused and the unfused paths give the same bits.
//
// Why: at small model sizes a pass over a buffer the size of the model costs about as
// much as a batch's arithmetic (bench seq2seq: 1.65 M parameters, 6.6 MB per buffer,
// 32 pairs per batch). Summing the parts, measuring the norm, clipping and the
// optimizer's update each made their own pass; now the norm reads the parts once and
// the update reads them once more (`Adam.step(_:gradient:)`), and zeroes the parts
// after the first as it goes, ready for the next batch. part_0 is zeroed there too when
// the producer asks (`zeroesStore`, DataParallel does): the token then says so, and the
// next `DataParallel.loss` skips its own pass zeroing the store's gradient (a serial
// memset of the model's size per batch, while the other cores wait).
//
// A GradientSum must be used before the next batch: consumed by an optimizer, or
// `materialize`d into part_0 (the store then holds the batch's gradient, as after
// `DataParallel.loss`), or `discard`ed. DataParallel zeroes the parts itself when one
// was dropped unconsumed (an exception between the loss and the step).

/// A batch's gradient as a weighted sum of per-shard buffers (see the file comment).
public struct GradientSum: @unchecked Sendable {
    /// Elements in each part (the store's parameter count).
    public let count: Int
    /// part_0 is the store's gradient buffer; the others are zeroed when consumed.
    public let parts: [UnsafeMutablePointer<Float>]
    /// w_i, one per part.
    public let weights: [Float]
    /// Applied after the weighted sum when ≠ 1 (gradient clipping sets it).
    public var scale: Float = 1
    /// An optimizer that consumes the sum zeroes part_0 too (and sets `token.storeZeroed`);
    /// `materialize` never does (part_0 then holds the sum).
    public let zeroesStore: Bool
    /// Shared with the producer, who checks that the sum was used.
    public let token: Token
    // The first two parts and weights, for the inner loops (p1 nil: one part).
    private let p0: UnsafeMutablePointer<Float>
    private let p1: UnsafeMutablePointer<Float>?
    private let w0: Float, w1: Float

    /// Whether a sum was used (consumed, materialized or discarded).
    public final class Token: @unchecked Sendable {
        public internal(set) var used = false
        /// Whether the consumer left every part, part_0 included, zero (see `zeroesStore`).
        public internal(set) var storeZeroed = false
        public init() {}
    }

    /// The store's own gradient, as it is (one part, weight 1).
    public init(_ store: ParameterStore) {
        self.init(count: store.grads.count, parts: [store.grads.data], weights: [1])
    }

    /// `parts[0]` must be the store's gradient buffer when an optimizer consumes the sum. The
    /// buffers are not retained: their owners must outlive the sum's use (DataParallel keeps
    /// its replicas).
    public init(count: Int, parts: [UnsafeMutablePointer<Float>], weights: [Float], zeroesStore: Bool = false,
                token: Token = Token()) {
        precondition(!parts.isEmpty && parts.count == weights.count, "GradientSum: one weight per part")
        self.count = count
        self.zeroesStore = zeroesStore
        self.parts = parts
        self.weights = weights
        self.token = token
        (p0, w0) = (parts[0], weights[0])
        (p1, w1) = parts.count > 1 ? (parts[1], weights[1]) : (nil, 0)
    }

    /// Σ g² over the whole gradient, in Double: the same value, to the bit, as
    /// `Kernels.sumOfSquares` over the materialized gradient (blocks of 4,096 elements
    /// accumulated in Float lanes, the blocks summed in order), computed on all threads.
    public func sumOfSquares() -> Double {
        let block = 4096, vectorEnd = count & ~7
        let blocks = (vectorEnd + block - 1) / block
        var partial = [Double](repeating: 0, count: blocks)
        partial.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            parallelFor(blocks, minChunk: 16) { range in
                for k in range {
                    var acc = SIMD8<Float>(repeating: 0)
                    var i = k * block
                    while i < min(vectorEnd, (k + 1) * block) { let v = load(i); acc = acc + v * v; i += 8 }
                    out[k] = Double(acc.sum())
                }
            }
        }
        // Kernels.sumOfSquares adds each block's lanes into its total in order, then
        // the elements after the last full vector one by one.
        var total = partial.reduce(0, +)
        for i in vectorEnd..<count { let v = Double(element(i)); total += v * v }
        return total
    }

    /// g at elements i..<i+8 (all inside).
    @inline(__always)
    public func load(_ i: Int) -> SIMD8<Float> {
        var g = w0 * UnsafeRawPointer(p0 + i).loadUnaligned(as: SIMD8<Float>.self)
        if let p1 {
            g = g + w1 * UnsafeRawPointer(p1 + i).loadUnaligned(as: SIMD8<Float>.self)
            if parts.count > 2 {
                for k in 2..<parts.count {
                    g = g + weights[k] * UnsafeRawPointer(parts[k] + i).loadUnaligned(as: SIMD8<Float>.self)
                }
            }
        }
        return scale != 1 ? g * scale : g
    }

    /// g at the n < 8 elements from i in the first lanes, the others 0.
    @inline(__always)
    public func loadTail(_ i: Int, _ n: Int) -> SIMD8<Float> {
        var v = SIMD8<Float>(repeating: 0)
        for j in 0..<n { v[j] = element(i + j) }
        return v
    }

    /// g at element i.
    @inline(__always)
    public func element(_ i: Int) -> Float {
        var g = weights[0] * parts[0][i]
        for k in 1..<parts.count { g = g + weights[k] * parts[k][i] }
        return scale != 1 ? g * scale : g
    }

    /// Zeroes the parts after the first at elements i..<i+8 (after reading them).
    @inline(__always)
    public func zeroShards(_ i: Int) {
        guard let p1 else { return }
        UnsafeMutableRawPointer(p1 + i).storeBytes(of: SIMD8<Float>(repeating: 0), as: SIMD8<Float>.self)
        if parts.count > 2 {
            for k in 2..<parts.count {
                UnsafeMutableRawPointer(parts[k] + i).storeBytes(of: SIMD8<Float>(repeating: 0), as: SIMD8<Float>.self)
            }
        }
    }

    /// Zeroes the parts after the first at elements i..<i+n.
    public func zeroShards(_ i: Int, _ n: Int) {
        for k in 1..<parts.count { (parts[k] + i).update(repeating: 0, count: n) }
    }

    /// After an optimizer read elements i..<i+8: zeroes the parts after the first, and part_0
    /// too with `zeroesStore`.
    @inline(__always)
    public func zeroConsumed(_ i: Int) {
        if zeroesStore { UnsafeMutableRawPointer(p0 + i).storeBytes(of: SIMD8<Float>(repeating: 0), as: SIMD8<Float>.self) }
        zeroShards(i)
    }

    /// As `zeroConsumed(_:)` for the elements i..<i+n.
    public func zeroConsumed(_ i: Int, _ n: Int) {
        if zeroesStore { (p0 + i).update(repeating: 0, count: n) }
        zeroShards(i, n)
    }

    /// An optimizer has read and zeroed every element with `zeroConsumed`.
    public func consumed() {
        token.used = true
        if zeroesStore { token.storeZeroed = true }
    }

    /// Writes g into part_0 (the store's gradient) and zeroes the other parts.
    public func materialize() {
        token.used = true
        guard parts.count > 1 || scale != 1 || weights[0] != 1 else { return }
        parallelFor(count, minChunk: 1 << 16) { range in
            // In blocks that stay in cache.
            var lo = range.lowerBound
            while lo < range.upperBound {
                let n = min(1 << 14, range.upperBound - lo)
                var i = lo
                while i + 8 <= lo + n {
                    UnsafeMutableRawPointer(parts[0] + i).storeBytes(of: load(i), as: SIMD8<Float>.self)
                    i += 8
                }
                while i < lo + n { parts[0][i] = element(i); i += 1 }
                zeroShards(lo, n)
                lo += n
            }
        }
    }

    /// Drops the sum: zeroes the parts after the first (part_0 is the caller's to zero).
    public func discard() {
        token.used = true
        for k in 1..<parts.count { parts[k].update(repeating: 0, count: count) }
    }
}
