import Foundation

/// xoshiro256** seeded through SplitMix64: fast, small state, and the same
/// stream for the same seed on every machine. It is a value type passed
/// explicitly (`inout`) to everything random, so no hidden global state
/// exists and a copy forks the stream.
public struct RNG: Sendable, Equatable, Codable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The four words of state, to store in a checkpoint.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    public init(seed: UInt64) {
        var sm = seed
        func splitmix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    /// Restores a generator from `state` (four words, not all zero).
    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw RecurError(.value, "RNG state must be four words, not all zero")
        }
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = RNG.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = RNG.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * uniform() }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniformDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform integer in 0..<n without modulo bias (Lemire's method).
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0, "int(below:) needs n > 0")
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Standard normal (Box–Muller, both values of a pair are not cached so
    /// that the stream position depends only on the number of calls).
    public mutating func normal() -> Float {
        var u1 = uniformDouble()
        while u1 <= 0 { u1 = uniformDouble() }
        let u2 = uniformDouble()
        return Float((-2 * Foundation.log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    public mutating func normal(mean: Float, std: Float) -> Float { mean + std * normal() }

    /// Fisher–Yates shuffle.
    public mutating func shuffle<T>(_ a: inout [T]) {
        if a.count < 2 { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            a.swapAt(i, int(below: i + 1))
        }
    }

    /// An index drawn with probability proportional to `weights` (non-negative,
    /// not all zero; need not sum to 1).
    public mutating func categorical(_ weights: UnsafeBufferPointer<Float>) -> Int {
        var total = 0.0
        for w in weights { total += Double(max(w, 0)) }
        precondition(total > 0 && total.isFinite, "categorical: weights must be finite, non-negative, not all zero")
        let r = uniformDouble() * total
        var acc = 0.0
        var last = 0
        for (i, w) in weights.enumerated() where w > 0 {
            acc += Double(w)
            last = i
            if r < acc { return i }
        }
        return last
    }

    public mutating func categorical(_ weights: [Float]) -> Int {
        weights.withUnsafeBufferPointer { categorical($0) }
    }

    /// Fills `t` with uniform values in [lo, hi).
    public mutating func fillUniform(_ t: Tensor, _ lo: Float, _ hi: Float) {
        for i in 0..<t.count { t.data[i] = uniform(lo, hi) }
    }

    /// Fills `t` with normal values.
    public mutating func fillNormal(_ t: Tensor, mean: Float = 0, std: Float = 1) {
        for i in 0..<t.count { t.data[i] = normal(mean: mean, std: std) }
    }
}
