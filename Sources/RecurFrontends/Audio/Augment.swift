import Foundation
import RecurCore

/// Training-time augmentation, every draw from an explicitly passed generator.
public enum SpecAugment {
    /// Settings of time and frequency masking (Park et al. 2019, without time warping).
    public struct Options: Sendable, Codable, Equatable {
        /// Number of frequency masks and the most bands one may cover (F).
        public var frequencyMasks = 2
        public var maxFrequencyWidth = 27
        /// Number of time masks, the most frames one may cover (T), and the
        /// most it may cover as a fraction of the utterance (p).
        public var timeMasks = 2
        public var maxTimeWidth = 40
        public var maxTimeFraction: Float = 0.2
        /// The value masked cells get: nil is the utterance mean (0 after CMVN).
        public var fillValue: Float? = nil
        public init() {}
    }

    /// Frequency warping, a cheap stand-in for vocal tract length perturbation (Jaitly and
    /// Hinton 2013) on features already computed: every frame's bands are resampled along
    /// the band axis, out[f] = x at band f·α (linear interpolation between neighbours, the
    /// last band beyond the top), α > 1 moving the spectrum down (a longer vocal tract), α < 1
    /// up. Each block of `bands` columns (the static features, then each delta block) is
    /// warped alone. Returns the warped copy of `x` (T, D); α = 1 returns an equal copy.
    public static func warpFrequency(_ x: Tensor, alpha: Float, bands: Int) -> Tensor {
        precondition(x.rank == 2 && bands > 0 && x.shape[1] % bands == 0, "frequency warp needs (T, k·bands) features")
        let T = x.shape[0], D = x.shape[1]
        let out = Tensor(zeros: [T, D])
        // Per output band: the two source bands and the weight of the upper one.
        var lo = [Int](repeating: 0, count: bands), w = [Float](repeating: 0, count: bands)
        for f in 0..<bands {
            let pos = min(Float(f) * alpha, Float(bands - 1))
            lo[f] = min(Int(pos), bands - 1)
            w[f] = pos - Float(lo[f])
        }
        for t in 0..<T {
            for b in stride(from: 0, to: D, by: bands) {
                let src = x.data + t * D + b, dst = out.data + t * D + b
                for f in 0..<bands {
                    let a = src[lo[f]], c = lo[f] + 1 < bands ? src[lo[f] + 1] : a
                    dst[f] = a + w[f] * (c - a)
                }
            }
        }
        return out
    }

    /// Masks `x` (T, D) in place; returns the masks drawn as (start, width)
    /// pairs, frequency ones first.
    @discardableResult
    public static func apply(_ x: Tensor, _ o: Options, rng: inout RNG) -> (frequency: [(Int, Int)], time: [(Int, Int)]) {
        precondition(x.rank == 2, "SpecAugment needs (T, D) features")
        let T = x.shape[0], D = x.shape[1]
        guard T > 0, D > 0 else { return ([], []) }
        let fill = o.fillValue ?? Kernels.sum(x.count, x.data) / Float(x.count)
        var fm: [(Int, Int)] = [], tm: [(Int, Int)] = []
        for _ in 0..<o.frequencyMasks {
            let w = rng.int(below: min(o.maxFrequencyWidth, D) + 1)
            let f0 = rng.int(below: D - w + 1)
            fm.append((f0, w))
            for t in 0..<T { (x.data + t * D + f0).update(repeating: fill, count: w) }
        }
        let tMax = min(o.maxTimeWidth, Int(o.maxTimeFraction * Float(T)))
        for _ in 0..<o.timeMasks {
            let w = rng.int(below: max(0, tMax) + 1)
            let t0 = rng.int(below: T - w + 1)
            tm.append((t0, w))
            (x.data + t0 * D).update(repeating: fill, count: w * D)
        }
        return (fm, tm)
    }

    /// Speed perturbation through the resampler: one factor drawn from
    /// `factors` (Kaldi's 0.9 / 1.0 / 1.1 by default). Returns the new
    /// waveform (about n / factor samples) and the factor.
    public static func perturbSpeed(_ x: Tensor, sampleRate: Int, factors: [Double] = [0.9, 1.0, 1.1],
                                    rng: inout RNG) throws -> (Tensor, Double) {
        precondition(!factors.isEmpty, "no speed factors")
        let f = factors[rng.int(below: factors.count)]
        return (try Resampler.speed(x, factor: f, sampleRate: sampleRate), f)
    }
}

/// Pictures of feature matrices.
public enum SpectrogramImage {
    /// RGB bytes of `x` (T, D) as a colour map: time left to right (one
    /// column per frame), feature 0 (the lowest band) at the bottom, `scale`
    /// pixels per cell. Values are mapped from the 1st to the 99.9th percentile
    /// range through a viridis-like map (dark blue low, yellow high). Long
    /// inputs are squeezed to at most `maxWidth` columns (frames sampled).
    public static func rgb(_ x: Tensor, scale: Int = 2, maxWidth: Int = 4096) -> (width: Int, height: Int, rgb: [UInt8]) {
        let T = max(1, x.shape[0]), D = max(1, x.shape[1])
        let w = min(T * scale, maxWidth), h = D * scale
        var sorted = x.array.filter { $0.isFinite }
        sorted.sort()
        let lo = sorted.isEmpty ? 0 : sorted[Int(Double(sorted.count - 1) * 0.01)]
        let hi = sorted.isEmpty ? 1 : sorted[Int(Double(sorted.count - 1) * 0.999)]
        let span = hi > lo ? hi - lo : 1
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for py in 0..<h {
            let d = D - 1 - py / scale
            for px in 0..<w {
                let t = px * T / w
                let v = x.shape[0] == 0 ? 0 : x.data[t * x.shape[1] + d]
                let (r, g, b) = colour(v.isFinite ? (v - lo) / span : 0)
                let o = (py * w + px) * 3
                out[o] = r; out[o + 1] = g; out[o + 2] = b
            }
        }
        return (w, h, out)
    }

    /// Viridis-like map of u in [0, 1] (clamped), by linear interpolation between 5 anchor colours.
    static func colour(_ u: Float) -> (UInt8, UInt8, UInt8) {
        let anchors: [(Float, Float, Float)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
        let x = min(max(u, 0), 1) * Float(anchors.count - 1)
        let i = min(Int(x), anchors.count - 2), f = x - Float(i)
        let a = anchors[i], b = anchors[i + 1]
        return (UInt8(a.0 + f * (b.0 - a.0)), UInt8(a.1 + f * (b.1 - a.1)), UInt8(a.2 + f * (b.2 - a.2)))
    }

    /// Writes `x` (T, D) as a PNG colour map at `path` (through `PNGWriter`).
    public static func write(_ x: Tensor, to path: String, scale: Int = 2) throws {
        let (w, h, rgb) = rgb(x, scale: scale)
        try PNGWriter.write(path: path, width: w, height: h, rgb: rgb)
    }
}
