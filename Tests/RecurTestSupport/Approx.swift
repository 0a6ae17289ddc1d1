import Foundation
import RecurCore

/// The largest absolute difference between two equally long sequences.
public func maxAbsDiff<A: Collection, B: Collection>(_ a: A, _ b: B) -> Float
where A.Element == Float, B.Element == Float {
    precondition(a.count == b.count, "lengths differ: \(a.count) vs \(b.count)")
    var m: Float = 0
    for (x, y) in zip(a, b) {
        if x.isNaN != y.isNaN { return .infinity }
        if x.isNaN { continue }
        if x == y { continue }  // equal infinities
        m = max(m, abs(x - y))
    }
    return m
}

/// Whether every |a - b| ≤ atol + rtol·|b| (NaN matches NaN, infinities must be equal).
public func allClose<A: Collection, B: Collection>(_ a: A, _ b: B, rtol: Float = 1e-5, atol: Float = 1e-6) -> Bool
where A.Element == Float, B.Element == Float {
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) {
        if x.isNaN || y.isNaN { if x.isNaN != y.isNaN { return false }; continue }
        if x == y { continue }
        if !x.isFinite || !y.isFinite { return false }
        if abs(x - y) > atol + rtol * abs(y) { return false }
    }
    return true
}

/// A tensor of the given shape filled with uniform values in [lo, hi).
public func randomTensor(_ shape: [Int], _ rng: inout RNG, _ lo: Float = -1, _ hi: Float = 1) -> Tensor {
    let t = Tensor(zeros: shape)
    rng.fillUniform(t, lo, hi)
    return t
}
