import Foundation

/// Vectorized elementwise kernels over `Float` buffers, in SIMD8 lanes with a
/// scalar tail done by the same lane code (a padded vector), so every element
/// gets identical arithmetic. Only bit casts, `+ - * /` and min/max are used
/// in the lanes: they compile to AVX instructions on every target (see
/// ../shared/SWIFT-NOTES.md). Output may alias input (in place).
///
/// Accuracy against Double references over [-20, 20]: tanh and sigmoid within
/// 3e-7 absolute, exp within 2e-7 relative, log within 2e-7 absolute plus
/// relative; NaN in gives NaN out, ±inf follow the limits.
public enum Kernels {
    public typealias V = SIMD8<Float>
    public typealias VI = SIMD8<Int32>

    // MARK: lane functions

    /// Lane-wise minimum through a compare and a blend. The standard library's
    /// `pointwiseMin`/`pointwiseMax` are not inlined across modules and cost a
    /// call per vector (5x slower exp). NaN in `a` is kept; NaN in `b` is ignored,
    /// as `Swift.min`/`Swift.max` do.
    @inlinable @inline(__always)
    public static func minimum(_ a: V, _ b: V) -> V { a.replacing(with: b, where: b .< a) }

    /// Lane-wise maximum (see `minimum`).
    @inlinable @inline(__always)
    public static func maximum(_ a: V, _ b: V) -> V { a.replacing(with: b, where: b .> a) }

    /// e^x. Range reduction x = n·ln2 + r with n rounded by the 1.5·2²³ trick,
    /// a degree-5 polynomial for e^r, and 2^n built in the exponent bits.
    @inlinable @inline(__always)
    public static func exp(_ x: V) -> V {
        let nan = x .!= x
        let over = x .> V(repeating: 88.72284)
        let under = x .< V(repeating: -87.33655)  // below the smallest normal: flush to zero
        var v = minimum(maximum(x, V(repeating: -87.33655)), V(repeating: 88.72284))
        let magic = V(repeating: 12582912.0)  // 1.5 · 2^23
        var n = v * V(repeating: 1.44269504088896341) + magic
        n = n - magic
        v = v - n * V(repeating: 0.693359375)
        v = v - n * V(repeating: -2.12194440e-4)
        var p = V(repeating: 1.9875691500e-4)
        p = p * v + V(repeating: 1.3981999507e-3)
        p = p * v + V(repeating: 8.3334519073e-3)
        p = p * v + V(repeating: 4.1665795894e-2)
        p = p * v + V(repeating: 1.6666665459e-1)
        p = p * v + V(repeating: 5.0000001201e-1)
        p = p * (v * v) + v + V(repeating: 1)
        // 2^n for integral n in [-126, 128]: n + 127 + 2^23 has n + 127 in the low mantissa
        // bits; n = 128 (x near the top of the range) is done as 2^127 · 2.
        let n127 = maximum(minimum(n, V(repeating: 127)), V(repeating: -126))
        let biased = (n127 + V(repeating: 8388608.0 + 127)).bitPattern(asInt: true) &- VI(repeating: 0x4B00_0000)
        let scale = V(bitPattern: biased &<< 23)
        var r = p * scale * (V(repeating: 1) + (n - n127))
        r.replace(with: .infinity, where: over)
        r.replace(with: 0, where: under)
        r.replace(with: x, where: nan)
        return r
    }

    /// tanh(x) as a clamped odd rational function (degree 13 over 6), exact
    /// to 3e-7 absolute; |x| < 4e-4 returns x.
    @inlinable @inline(__always)
    public static func tanh(_ x: V) -> V {
        let nan = x .!= x
        let tiny = V(bitPattern: x.bitPattern(asInt: true) & VI(repeating: 0x7FFF_FFFF)) .< V(repeating: 0.0004)
        let c = minimum(maximum(x, V(repeating: -7.90531110763549805)), V(repeating: 7.90531110763549805))
        let x2 = c * c
        var p = V(repeating: -2.76076847742355e-16)
        p = p * x2 + V(repeating: 2.00018790482477e-13)
        p = p * x2 + V(repeating: -8.60467152213735e-11)
        p = p * x2 + V(repeating: 5.12229709037114e-08)
        p = p * x2 + V(repeating: 1.48572235717979e-05)
        p = p * x2 + V(repeating: 6.37261928875436e-04)
        p = p * x2 + V(repeating: 4.89352455891786e-03)
        p = p * c
        var q = V(repeating: 1.19825839466702e-06)
        q = q * x2 + V(repeating: 1.18534705686654e-04)
        q = q * x2 + V(repeating: 2.26843463243900e-03)
        q = q * x2 + V(repeating: 4.89352518554385e-03)
        var r = p / q
        r.replace(with: x, where: tiny .| nan)
        return r
    }

    /// 1 / (1 + e^-x), through tanh: σ(x) = ½ + ½·tanh(x/2).
    @inlinable @inline(__always)
    public static func sigmoid(_ x: V) -> V {
        let half = V(repeating: 0.5)
        return half + half * tanh(half * x)
    }

    /// Natural log: x = m·2^e with m in [√½, √2), log(m) by the Cephes
    /// polynomial. log(0) = -inf, log(x<0) = NaN, log(inf) = inf; subnormals
    /// are scaled up first.
    @inlinable @inline(__always)
    public static func log(_ x: V) -> V {
        let sub = x .< V(repeating: Float.leastNormalMagnitude)
        let xs = x.replacing(with: x * V(repeating: 8388608.0), where: sub)  // · 2^23
        let bits = xs.bitPattern(asInt: true)
        var e = V((bits &>> 23) & VI(repeating: 0xff)) - V(repeating: 127)
        e.replace(with: e - V(repeating: 23), where: sub)
        var m = V(bitPattern: (bits & VI(repeating: 0x007F_FFFF)) | VI(repeating: 0x3F80_0000))
        let big = m .> V(repeating: 1.41421356237)
        m.replace(with: m * V(repeating: 0.5), where: big)
        e.replace(with: e + V(repeating: 1), where: big)
        let f = m - V(repeating: 1)
        let z = f * f
        var p = V(repeating: 7.0376836292e-2)
        p = p * f + V(repeating: -1.1514610310e-1)
        p = p * f + V(repeating: 1.1676998740e-1)
        p = p * f + V(repeating: -1.2420140846e-1)
        p = p * f + V(repeating: 1.4249322787e-1)
        p = p * f + V(repeating: -1.6668057665e-1)
        p = p * f + V(repeating: 2.0000714765e-1)
        p = p * f + V(repeating: -2.4999993993e-1)
        p = p * f + V(repeating: 3.3333331174e-1)
        var y = f * z * p
        y = y + e * V(repeating: -2.12194440e-4)
        y = y - V(repeating: 0.5) * z
        var r = f + y + e * V(repeating: 0.693359375)
        r.replace(with: -.infinity, where: x .== V(repeating: 0))
        r.replace(with: .infinity, where: x .== V(repeating: .infinity))
        r.replace(with: .nan, where: (x .< V(repeating: 0)) .| (x .!= x))
        return r
    }

    // MARK: buffer maps

    /// out[i] = f(x[i]) for n elements; out may equal x.
    @inlinable @inline(__always)
    public static func map(_ n: Int, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ f: (V) -> V) {
        var i = 0
        while i + 8 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(out + i).storeBytes(of: f(v), as: V.self)
            i += 8
        }
        if i < n {
            var v = V(repeating: 0)
            for j in 0..<(n - i) { v[j] = x[i + j] }
            let r = f(v)
            for j in 0..<(n - i) { out[i + j] = r[j] }
        }
    }

    public static func exp(_ n: Int, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) { map(n, x, out, exp) }
    public static func tanh(_ n: Int, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) { map(n, x, out, tanh) }
    public static func sigmoid(_ n: Int, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) { map(n, x, out, sigmoid) }
    public static func log(_ n: Int, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        // Pad the tail with 1 so no lane computes log(0).
        var i = 0
        while i + 8 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(out + i).storeBytes(of: log(v), as: V.self)
            i += 8
        }
        if i < n {
            var v = V(repeating: 1)
            for j in 0..<(n - i) { v[j] = x[i + j] }
            let r = log(v)
            for j in 0..<(n - i) { out[i + j] = r[j] }
        }
    }

    /// max(x, 0)
    public static func relu(_ n: Int, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        map(n, x, out) { $0.replacing(with: 0, where: $0 .< V(repeating: 0)) }
    }

    // MARK: products and sums

    /// out = a + b
    public static func add(_ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        for i in 0..<n { out[i] = a[i] + b[i] }
    }

    /// out = a - b
    public static func sub(_ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        for i in 0..<n { out[i] = a[i] - b[i] }
    }

    /// out = a ⊙ b
    public static func mul(_ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        for i in 0..<n { out[i] = a[i] * b[i] }
    }

    /// out += a ⊙ b
    public static func addMul(_ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        for i in 0..<n { out[i] = out[i] + a[i] * b[i] }
    }

    /// y += alpha · x (a plain loop; BLAS.axpy for long vectors)
    public static func addScaled(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        for i in 0..<n { y[i] = y[i] + alpha * x[i] }
    }

    /// x *= alpha
    public static func scale(_ n: Int, _ alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        for i in 0..<n { x[i] = x[i] * alpha }
    }

    /// Σ x, accumulated in eight lanes.
    public static func sum(_ n: Int, _ x: UnsafePointer<Float>) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        while i + 8 <= n { acc = acc + UnsafeRawPointer(x + i).loadUnaligned(as: V.self); i += 8 }
        var s = acc.sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// Σ x², accumulated in Double.
    public static func sumOfSquares(_ n: Int, _ x: UnsafePointer<Float>) -> Double {
        var acc = V(repeating: 0)
        var total = 0.0
        var i = 0
        while i + 8 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            acc = acc + v * v
            i += 8
            if i & 4095 == 0 { total += Double(acc.sum()); acc = V(repeating: 0) }
        }
        total += Double(acc.sum())
        while i < n { total += Double(x[i]) * Double(x[i]); i += 1 }
        return total
    }

    /// max over n > 0 elements (NaN if any is NaN).
    public static func max(_ n: Int, _ x: UnsafePointer<Float>) -> Float {
        precondition(n > 0)
        var m = x[0]
        for i in 0..<n {
            let v = x[i]
            if v.isNaN { return .nan }
            if v > m { m = v }
        }
        return m
    }

    /// out[r, :] += bias for each of `rows` rows of length `cols`.
    public static func addRowVector(rows: Int, cols: Int, _ bias: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { add(cols, out + r * cols, bias, out + r * cols) }
    }

    /// out[:] += Σ_r x[r, :] (a bias gradient).
    public static func sumRows(rows: Int, cols: Int, _ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { add(cols, out, x + r * cols, out) }
    }

    // MARK: softmax

    /// Row-wise softmax of a rows×cols matrix; out may equal x.
    public static func softmax(rows: Int, cols: Int, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xi = x + r * cols, oi = out + r * cols
            let m = max(cols, xi)
            let shift = m == -.infinity ? 0 : m  // an all -inf row stays NaN-free only if some entry is finite
            map(cols, xi, oi) { exp($0 - V(repeating: shift)) }
            let s = sum(cols, oi)
            scale(cols, 1 / s, oi)
        }
    }

    /// Row-wise log-softmax, x - max - log Σ exp(x - max); out may equal x.
    public static func logSoftmax(rows: Int, cols: Int, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xi = x + r * cols, oi = out + r * cols
            let m = max(cols, xi)
            let shift = m == -.infinity ? 0 : m
            var acc = V(repeating: 0)
            var i = 0
            while i + 8 <= cols {
                acc = acc + exp(UnsafeRawPointer(xi + i).loadUnaligned(as: V.self) - V(repeating: shift))
                i += 8
            }
            var s = acc.sum()
            while i < cols { s += Foundation.exp(xi[i] - shift); i += 1 }
            let lse = shift + Foundation.log(s)
            for j in 0..<cols { oi[j] = xi[j] - lse }
        }
    }
}

extension SIMD8 where Scalar == Float {
    /// The lanes' bits as Int32 (a bit cast, not a conversion).
    @usableFromInline @inline(__always)
    func bitPattern(asInt: Bool) -> SIMD8<Int32> { unsafeBitCast(self, to: SIMD8<Int32>.self) }
    @usableFromInline @inline(__always)
    init(bitPattern v: SIMD8<Int32>) { self = unsafeBitCast(v, to: SIMD8<Float>.self) }
}
