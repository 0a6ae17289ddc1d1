import Foundation
import RecurCore

/// Settings of the pooled grid features (part of a captioning model's frontend signature).
public struct GridFeatureConfig: Sendable, Equatable {
    /// Cells per side: the image becomes `grid × grid` cells.
    public var grid: Int
    /// The image is first resized to `size × size` pixels (the model's input size).
    public var size: Int
    /// How another aspect ratio is fitted into the square.
    public var fit: ImageFit
    /// Gray level (0…1) of the borders that `.pad` adds.
    public var padValue: Float

    public init(grid: Int = 7, size: Int = 224, fit: ImageFit = .crop, padValue: Float = 0.5) {
        self.grid = grid
        self.size = size
        self.fit = fit
        self.padValue = padValue
    }

    /// A short string that names these settings, for models to store and check.
    public var signature: String {
        "grid\(grid)-size\(size)-\(fit.rawValue)-pad\(padValue)-d\(GridFeatures.dimension)-v1"
    }
}

/// Pooled grid features: what a captioning encoder reads from an image.
///
/// The image (floats in [0, 1], shape `(H, W, 3)`) is resized to
/// `size × size` (`GridFeatureConfig.fit`), cut into a `G × G` grid of cells
/// (cell `i` covers rows `⌊r·size/G⌋ ..< ⌊(r+1)·size/G⌋`, likewise columns), and
/// each cell becomes one vector of `D = 40` numbers; one more vector describes
/// the whole image. The output is `(G·G + 1, D)`: cells in row-major order
/// (top-left first), the whole-image vector last. The same pixels always give
/// the same bits.
///
/// The `D = 40` dimensions of each vector:
///
/// | index | what |
/// |---|---|
/// | 0, 1 | the cell's centre x and y in [0, 1] (0.5, 0.5 for the whole image) |
/// | 2 | 1 for the whole-image vector, 0 for a cell |
/// | 3–5 | mean R, G, B (sRGB values in [0, 1]) |
/// | 6–8 | standard deviation of R, G, B |
/// | 9–11 | mean CIE L\*, a\*, b\* (D65), each divided by 100 |
/// | 12–14 | standard deviation of L\*, a\*, b\* (each / 100) |
/// | 15–22 | hue histogram: chroma (/100) spread over 8 hue sectors of the a\*b\* plane, bin k centred at k·45° (0° = +a\*, red; 90° = +b\*, yellow; 180° green; 270° blue), linear between neighbouring centres, divided by the pixel count |
/// | 23–26 | lightness histogram: fraction of pixels with L\* in [0, 25), [25, 50), [50, 75), [75, 100] |
/// | 27–34 | gradient-orientation histogram of L\*/100 (Sobel / 8): gradient magnitude spread over 8 unsigned directions, bin k centred at k·22.5° (bin 0 = horizontal gradient, i.e. a vertical edge; bin 4 = vertical gradient, a horizontal edge), linear between neighbouring centres, divided by the pixel count |
/// | 35 | edge density: fraction of pixels whose gradient magnitude exceeds 0.1 |
/// | 36 | mean gradient magnitude |
/// | 37–39 | dominant colour: mean R, G, B of the pixels in the most populated bin of a 4×4×4 RGB quantisation (ties: the lowest bin index) |
public struct GridFeatures: Sendable {
    /// Numbers per vector.
    public static let dimension = 40
    /// Indices of the named groups in each vector.
    public enum Index {
        public static let position = 0..<3
        public static let rgbMean = 3..<6
        public static let rgbStd = 6..<9
        public static let labMean = 9..<12
        public static let labStd = 12..<15
        public static let hue = 15..<23
        public static let lightness = 23..<27
        public static let orientation = 27..<35
        public static let edgeDensity = 35
        public static let gradientMean = 36
        public static let dominant = 37..<40
    }

    public let config: GridFeatureConfig

    public init(_ config: GridFeatureConfig = GridFeatureConfig()) {
        precondition(config.grid >= 1 && config.size >= config.grid, "grid features need 1 ≤ grid ≤ size")
        self.config = config
    }

    /// Rows of the output: `grid·grid + 1`.
    public var rows: Int { config.grid * config.grid + 1 }

    /// The features of `image` `(H, W, 3)` (floats in [0, 1]): shape `(G·G + 1, D)`.
    public func callAsFunction(_ image: Tensor) -> Tensor {
        extract(fromResized: resized(image))
    }

    /// `image` resized to the model's input `(size, size, 3)`.
    public func resized(_ image: Tensor) -> Tensor {
        precondition(image.rank == 3 && image.shape[2] == 3, "grid features need an (H, W, 3) image, got \(image.shape)")
        let s = config.size
        if image.shape[0] == s && image.shape[1] == s { return image }
        return ImageResize.resize(image, height: s, width: s, fit: config.fit, padValue: config.padValue)
    }

    /// The features of an image already at the model's input size `(size, size, 3)`.
    public func extract(fromResized image: Tensor) -> Tensor {
        let s = config.size, g = config.grid
        precondition(image.shape == [s, s, 3], "extract(fromResized:) needs (\(s), \(s), 3), got \(image.shape)")
        let px = s * s
        // Per-pixel planes: L*/100, a*/100, b*/100.
        let planes = UnsafeMutablePointer<Float>.allocate(capacity: 3 * px)
        defer { planes.deallocate() }
        let lp = planes, ap = planes + px, bp = planes + 2 * px
        let src = image.data
        // Rows are disjoint, so threads never share a write; results do not
        // depend on the thread count.
        parallelFor(s, minChunk: 16) { rows in
            let lo = rows.lowerBound * s, hi = rows.upperBound * s
            var i = lo
            var r = SIMD8<Float>(), g = SIMD8<Float>(), b = SIMD8<Float>()
            while i < hi {
                let n = min(8, hi - i)
                for j in 0..<n { r[j] = src[3 * (i + j)]; g[j] = src[3 * (i + j) + 1]; b[j] = src[3 * (i + j) + 2] }
                let (l, la, lb) = CIELab.lab(r, g, b)
                for j in 0..<n { lp[i + j] = l[j]; ap[i + j] = la[j]; bp[i + j] = lb[j] }
                i += n
            }
        }
        // Per-pixel chroma, hue position, gradient magnitude and orientation
        // position (SIMD across each row; rows disjoint).
        let derived = UnsafeMutablePointer<Float>.allocate(capacity: 4 * px)
        defer { derived.deallocate() }
        let planesOut = DerivedPlanes(chroma: derived, hue: derived + px, mag: derived + 2 * px, orient: derived + 3 * px)
        parallelFor(s, minChunk: 16) { rows in
            for y in rows { GridFeatures.derive(row: y, side: s, lp: lp, ap: ap, bp: bp, into: planesOut) }
        }
        let k = GridFeatures.layout
        let cells = g * g
        let acc = UnsafeMutablePointer<Float>.allocate(capacity: (cells + 1) * k.total)
        defer { acc.deallocate() }
        acc.initialize(repeating: 0, count: (cells + 1) * k.total)
        // One cell at a time, each cell's sums in registers; cells are disjoint
        // in the accumulator, so cells run in parallel deterministically.
        parallelFor(cells) { range in
            for cell in range {
                GridFeatures.accumulate(cell: cell, grid: g, side: s, src: src, lp: lp, ap: ap, bp: bp,
                                        derived: planesOut, into: acc + cell * k.total)
            }
        }
        // Whole image = sum of the cells.
        let whole = acc + cells * k.total
        for c in 0..<cells {
            let a = acc + c * k.total
            for e in 0..<k.total { whole[e] += a[e] }
        }
        let out = Tensor(zeros: [cells + 1, GridFeatures.dimension])
        for c in 0...cells {
            let o = out.data + c * GridFeatures.dimension
            if c < cells {
                o[0] = (Float(c % g) + 0.5) / Float(g)
                o[1] = (Float(c / g) + 0.5) / Float(g)
                o[2] = 0
            } else {
                o[0] = 0.5; o[1] = 0.5; o[2] = 1
            }
            GridFeatures.finish(acc + c * k.total, into: o)
        }
        return out
    }

    /// Sums one cell's statistics into `a` (zeroed, `layout.total` floats).
    private static func accumulate(cell: Int, grid g: Int, side s: Int, src: UnsafeMutablePointer<Float>,
                                   lp: UnsafeMutablePointer<Float>, ap: UnsafeMutablePointer<Float>,
                                   bp: UnsafeMutablePointer<Float>, derived dp: DerivedPlanes,
                                   into a: UnsafeMutablePointer<Float>) {
        let k = layout
        let cy = cell / g, cx = cell % g
        let y0 = cy * s / g, y1 = (cy + 1) * s / g, x0 = cx * s / g, x1 = (cx + 1) * s / g
        var sr: Float = 0, sg: Float = 0, sb: Float = 0, sr2: Float = 0, sg2: Float = 0, sb2: Float = 0
        var sl: Float = 0, sa: Float = 0, sbb: Float = 0, sl2: Float = 0, sa2: Float = 0, sbb2: Float = 0
        var edges: Float = 0, magSum: Float = 0
        var lt25: Float = 0, lt50: Float = 0, lt75: Float = 0
        for y in y0..<y1 {
            let mid = y * s
            for x in x0..<x1 {
                let i = mid + x
                let r = src[3 * i], gg = src[3 * i + 1], b = src[3 * i + 2]
                let l = lp[i], la = ap[i], lb = bp[i]
                sr += r; sg += gg; sb += b
                sr2 += r * r; sg2 += gg * gg; sb2 += b * b
                sl += l; sa += la; sbb += lb
                sl2 += l * l; sa2 += la * la; sbb2 += lb * lb
                // Hue: chroma spread between the two nearest of 8 sector centres.
                let chroma = dp.chroma[i], huePos = dp.hue[i]
                let hb = min(Int(huePos), 7), hf = huePos - Float(hb)
                a[k.hue + hb] += chroma * (1 - hf)
                a[k.hue + ((hb + 1) & 7)] += chroma * hf
                lt25 += l < 0.25 ? 1 : 0; lt50 += l < 0.5 ? 1 : 0; lt75 += l < 0.75 ? 1 : 0
                // Gradient orientation, likewise over 8 unsigned directions.
                let mag = dp.mag[i], oPos = dp.orient[i]
                let ob = min(Int(oPos), 7), of = oPos - Float(ob)
                a[k.orient + ob] += mag * (1 - of)
                a[k.orient + ((ob + 1) & 7)] += mag * of
                edges += mag > 0.1 ? 1 : 0
                magSum += mag
                // Dominant colour: 4×4×4 bins, each holding a count and an RGB sum.
                let q = min(max(Int(r * 4), 0), 3) << 4 | min(max(Int(gg * 4), 0), 3) << 2 | min(max(Int(b * 4), 0), 3)
                let d = a + k.quant + 4 * q
                d[0] += 1; d[1] += r; d[2] += gg; d[3] += b
            }
        }
        a[k.n] = Float((y1 - y0) * (x1 - x0))
        a[k.rgb] = sr; a[k.rgb + 1] = sg; a[k.rgb + 2] = sb
        a[k.rgb2] = sr2; a[k.rgb2 + 1] = sg2; a[k.rgb2 + 2] = sb2
        a[k.lab] = sl; a[k.lab + 1] = sa; a[k.lab + 2] = sbb
        a[k.lab2] = sl2; a[k.lab2 + 1] = sa2; a[k.lab2 + 2] = sbb2
        a[k.edges] = edges; a[k.mag] = magSum
        let n = a[k.n]
        a[k.light] = lt25; a[k.light + 1] = lt50 - lt25; a[k.light + 2] = lt75 - lt50; a[k.light + 3] = n - lt75
    }

    /// Per-pixel quantities the cells pool.
    struct DerivedPlanes: @unchecked Sendable {
        /// √(a*² + b*²) (of a*/100, b*/100).
        let chroma: UnsafeMutablePointer<Float>
        /// Hue angle of (a*, b*) in units of 45°, in [0, 8).
        let hue: UnsafeMutablePointer<Float>
        /// Sobel gradient magnitude of L*/100, divided by 8 (a unit step gives 0.5).
        let mag: UnsafeMutablePointer<Float>
        /// Unsigned gradient direction in units of 22.5°, in [0, 8].
        let orient: UnsafeMutablePointer<Float>
    }

    /// Fills row `y` of the derived planes: SIMD8 over the interior, scalar at
    /// the two edge columns and the tail (the same operations either way).
    static func derive(row y: Int, side s: Int, lp: UnsafeMutablePointer<Float>, ap: UnsafeMutablePointer<Float>,
                       bp: UnsafeMutablePointer<Float>, into d: DerivedPlanes) {
        typealias V = SIMD8<Float>
        let up = max(y - 1, 0) * s, mid = y * s, dn = min(y + 1, s - 1) * s
        @inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> V {
            UnsafeRawPointer(p).loadUnaligned(as: V.self)
        }
        @inline(__always) func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
        }
        var x = 1
        while x + 8 <= s - 1 {
            let i = mid + x
            let la = load(ap + i), lb = load(bp + i)
            store((la * la + lb * lb).squareRoot(), d.chroma + i)
            var hp = fastAtan2(lb, la) * V(repeating: 4 / Float.pi)
            hp.replace(with: hp + V(repeating: 8), where: hp .< V(repeating: 0))
            store(hp, d.hue + i)
            let gx = (load(lp + up + x + 1) + V(repeating: 2) * load(lp + mid + x + 1) + load(lp + dn + x + 1)
                      - load(lp + up + x - 1) - V(repeating: 2) * load(lp + mid + x - 1) - load(lp + dn + x - 1)) * V(repeating: 0.125)
            let gy = (load(lp + dn + x - 1) + V(repeating: 2) * load(lp + dn + x) + load(lp + dn + x + 1)
                      - load(lp + up + x - 1) - V(repeating: 2) * load(lp + up + x) - load(lp + up + x + 1)) * V(repeating: 0.125)
            store((gx * gx + gy * gy).squareRoot(), d.mag + i)
            var th = fastAtan2(gy, gx)
            th.replace(with: th + V(repeating: Float.pi), where: th .< V(repeating: 0))
            store(th * V(repeating: 8 / Float.pi), d.orient + i)
            x += 8
        }
        for xx in [0] + Array(x..<s) where xx < s {
            let i = mid + xx
            let la = ap[i], lb = bp[i]
            d.chroma[i] = (la * la + lb * lb).squareRoot()
            let hp = fastAtan2(lb, la) * (4 / Float.pi)
            d.hue[i] = hp < 0 ? hp + 8 : hp
            let xm = max(xx - 1, 0), xp = min(xx + 1, s - 1)
            let gx = (lp[up + xp] + 2 * lp[mid + xp] + lp[dn + xp] - lp[up + xm] - 2 * lp[mid + xm] - lp[dn + xm]) * 0.125
            let gy = (lp[dn + xm] + 2 * lp[dn + xx] + lp[dn + xp] - lp[up + xm] - 2 * lp[up + xx] - lp[up + xp]) * 0.125
            d.mag[i] = (gx * gx + gy * gy).squareRoot()
            let th = fastAtan2(gy, gx)
            d.orient[i] = (th < 0 ? th + Float.pi : th) * (8 / Float.pi)
        }
    }

    /// Offsets of each statistic in a cell's accumulator.
    struct Layout {
        let n = 0, rgb = 1, rgb2 = 4, lab = 7, lab2 = 10, hue = 13, light = 21, orient = 25
        let edges = 33, mag = 34, quant = 35
        let total = 35 + 64 * 4
    }
    static let layout = Layout()

    /// Turns one cell's sums into its feature numbers 3..<40.
    private static func finish(_ a: UnsafeMutablePointer<Float>, into o: UnsafeMutablePointer<Float>) {
        let k = layout
        let n = max(a[k.n], 1), inv = 1 / n
        for ch in 0..<3 {
            let m = a[k.rgb + ch] * inv
            o[3 + ch] = m
            o[6 + ch] = max(a[k.rgb2 + ch] * inv - m * m, 0).squareRoot()
            let ml = a[k.lab + ch] * inv
            o[9 + ch] = ml
            o[12 + ch] = max(a[k.lab2 + ch] * inv - ml * ml, 0).squareRoot()
        }
        for j in 0..<8 { o[15 + j] = a[k.hue + j] * inv }
        for j in 0..<4 { o[23 + j] = a[k.light + j] * inv }
        for j in 0..<8 { o[27 + j] = a[k.orient + j] * inv }
        o[35] = a[k.edges] * inv
        o[36] = a[k.mag] * inv
        var best = 0
        for q in 1..<64 where a[k.quant + 4 * q] > a[k.quant + 4 * best] { best = q }
        let d = a + k.quant + 4 * best
        let cnt = max(d[0], 1)
        o[37] = d[1] / cnt; o[38] = d[2] / cnt; o[39] = d[3] / cnt
    }
}

/// atan2 to about 1e-5 rad (a minimax polynomial on [0, 1] and octant folding),
/// deterministic and much cheaper than libm's.
@inline(__always)
func fastAtan2(_ y: Float, _ x: Float) -> Float {
    // Branch-free (selects only): pixels of an image take every path.
    let ax = abs(x), ay = abs(y)
    let a = min(ax, ay) / max(max(ax, ay), Float.leastNormalMagnitude)
    let s = a * a
    var r = a * (0.999_977_26 + s * (-0.332_623_47 + s * (0.193_543_46 + s * (-0.116_432_87 + s * (0.052_653_32 - s * 0.011_721_20)))))
    r = ay > ax ? Float.pi / 2 - r : r
    r = x < 0 ? Float.pi - r : r
    return y < 0 ? -r : r
}

/// `fastAtan2` on 8 lanes (the same operations per lane).
@inline(__always)
func fastAtan2(_ y: SIMD8<Float>, _ x: SIMD8<Float>) -> SIMD8<Float> {
    typealias V = SIMD8<Float>
    let ax = x.replacing(with: -x, where: x .< V(repeating: 0)), ay = y.replacing(with: -y, where: y .< V(repeating: 0))
    // min and max through selects (pointwiseMin/Max are not inlined here).
    let ayBigger = ay .> ax
    let mn = ay.replacing(with: ax, where: ayBigger)
    let mx = ax.replacing(with: ay, where: ayBigger)
    let a = mn / mx.replacing(with: V(repeating: Float.leastNormalMagnitude), where: mx .< V(repeating: Float.leastNormalMagnitude))
    let s = a * a
    var p: V = V(repeating: 0.052_653_32) - s * V(repeating: 0.011_721_20)
    p = V(repeating: -0.116_432_87) + s * p
    p = V(repeating: 0.193_543_46) + s * p
    p = V(repeating: -0.332_623_47) + s * p
    p = V(repeating: 0.999_977_26) + s * p
    var r: V = a * p
    r.replace(with: V(repeating: Float.pi / 2) - r, where: ayBigger)
    r.replace(with: V(repeating: Float.pi) - r, where: x .< V(repeating: 0))
    r.replace(with: -r, where: y .< V(repeating: 0))
    return r
}

/// sRGB → CIE L\*a\*b\* (D65), 8 colours at a time: the exact sRGB
/// decoding curve and Lab companding, with powers and cube roots through
/// RecurCore's SIMD `exp`/`log` (relative error about 1e-6).
enum CIELab {
    typealias V = SIMD8<Float>

    @inline(__always)
    static func pow(_ x: V, _ e: Float) -> V {
        Kernels.exp(Kernels.log(x) * V(repeating: e))
    }

    /// L\*, a\*, b\*, each divided by 100, of sRGB colours with channels in [0, 1].
    @inline(__always)
    static func lab(_ r: V, _ g: V, _ b: V) -> (V, V, V) {
        @inline(__always) func linear(_ c: V) -> V {
            let cc = c.replacing(with: V(repeating: 0.04045), where: c .< V(repeating: 0.04045))  // keeps log finite
            let curve = pow((cc + V(repeating: 0.055)) * V(repeating: 1 / 1.055), 2.4)
            return curve.replacing(with: c * V(repeating: 1 / 12.92), where: c .<= V(repeating: 0.04045))
        }
        @inline(__always) func f(_ t: V) -> V {
            let e: Float = 216.0 / 24389.0, kappa: Float = 24389.0 / 27.0
            let tt = t.replacing(with: V(repeating: e), where: t .< V(repeating: e))
            let root = pow(tt, 1.0 / 3.0)
            return root.replacing(with: (V(repeating: kappa) * t + V(repeating: 16)) * V(repeating: 1 / 116), where: t .<= V(repeating: e))
        }
        let rl = linear(r), gl = linear(g), bl = linear(b)
        // XYZ relative to the D65 white (X/Xn, Y/Yn, Z/Zn).
        let x = (V(repeating: 0.412_456_4) * rl + V(repeating: 0.357_576_1) * gl + V(repeating: 0.180_437_5) * bl) * V(repeating: 1 / 0.950_47)
        let y = V(repeating: 0.212_672_9) * rl + V(repeating: 0.715_152_2) * gl + V(repeating: 0.072_175_0) * bl
        let z = (V(repeating: 0.019_333_9) * rl + V(repeating: 0.119_192_0) * gl + V(repeating: 0.950_304_1) * bl) * V(repeating: 1 / 1.088_83)
        let fx = f(x), fy = f(y), fz = f(z)
        return ((V(repeating: 116) * fy - V(repeating: 16)) * V(repeating: 0.01),
                V(repeating: 5) * (fx - fy), V(repeating: 2) * (fy - fz))
    }

    /// One colour (for tests and tools).
    static func lab(_ r: Float, _ g: Float, _ b: Float) -> (Float, Float, Float) {
        let (l, a, bb) = lab(V(repeating: r), V(repeating: g), V(repeating: b))
        return (l[0], a[0], bb[0])
    }
}
