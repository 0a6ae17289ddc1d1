// Draws random shape scenes (what and where) and renders them to RGB bytes.
//
// Layout: object boxes are about 0.19 (small) or 0.30 (large) of the side,
// ±0.02. Along the layout axis the free space is spread at random over the
// gaps (each gap at least 0.04 of the side), so boxes never touch; across it
// the centres sit within ±0.05 of a common line. Rendering supersamples each
// pixel of an object's box 4×4 (anti-aliased edges), then adds Gaussian noise.
import Foundation
import RecurCore

/// What scenes may contain.
public struct ShapeSceneOptions: Sendable {
    /// Picture side, pixels (at least 32).
    public var size = 64
    public var shapes: [ShapeKind] = ShapeKind.defaults
    public var colours: [ShapeColour] = ShapeColour.allCases
    /// Relative frequency of scenes with one, two and three objects.
    public var objectCountWeights: [Float] = [0.25, 0.4, 0.35]
    /// Standard deviation of the pixel noise in 0…255 levels.
    public var noise: Float = 3
    /// Share of scenes with a two-tone background.
    public var twoToneShare: Float = 0.4

    public init() {}
}

/// Background colours: unsaturated, so that no named colour is close to one.
let shapeBackgroundPalette: [(Int, Int, Int)] = [
    (240, 240, 236), (250, 238, 215), (214, 222, 232), (222, 232, 214),
    (190, 190, 190), (128, 128, 128), (72, 72, 78), (30, 30, 36), (205, 192, 178),
]

/// Draws scenes.
public struct ShapeSampler: Sendable {
    public var options: ShapeSceneOptions

    public init(_ options: ShapeSceneOptions) {
        self.options = options
    }

    /// A random scene. Every object's colour and shape satisfies `allowed`;
    /// when `mustInclude` is not empty, at least one object is one of those
    /// combinations (its size and place still random).
    public func scene(rng: inout RNG, allowed: (ShapeCombination) -> Bool = { _ in true },
                      mustInclude: [ShapeCombination] = []) -> ShapeScene {
        let W = Float(options.size)
        let n = 1 + rng.categorical(options.objectCountWeights)
        var descriptions: [ShapeDescription] = []
        for _ in 0..<n {
            var combo: ShapeCombination
            repeat {
                combo = ShapeCombination(options.colours[rng.int(below: options.colours.count)],
                                         options.shapes[rng.int(below: options.shapes.count)])
            } while !allowed(combo)
            let size: ShapeSize = rng.int(below: 2) == 0 ? .small : .large
            descriptions.append(ShapeDescription(size, combo.colour, combo.shape))
        }
        if !mustInclude.isEmpty {
            let c = mustInclude[rng.int(below: mustInclude.count)]
            let k = rng.int(below: n)
            descriptions[k].colour = c.colour
            descriptions[k].shape = c.shape
        }
        let arrangement: ShapeArrangement = n == 1 ? .single : (rng.int(below: 2) == 0 ? .row : .column)

        // Box sizes.
        var extents = descriptions.map { d -> Float in
            (d.size == .small ? 0.19 : 0.30) * W + rng.uniform(-0.02, 0.02) * W
        }
        let margin = max(1, (0.03 * W).rounded())
        let gap = max(2, (0.04 * W).rounded())
        let jitter = 0.05 * W
        var along = [Float](repeating: 0, count: n)
        var across = [Float](repeating: 0, count: n)
        if n == 1 {
            let e = extents[0]
            along[0] = rng.uniform(margin + e / 2, W - margin - e / 2)
            across[0] = rng.uniform(margin + e / 2, W - margin - e / 2)
        } else {
            var free = W - 2 * margin - extents.reduce(0, +) - Float(n - 1) * gap
            if free < 0 {
                let scale = (W - 2 * margin - Float(n - 1) * gap) / extents.reduce(0, +)
                extents = extents.map { $0 * scale }
                free = 0
            }
            var shares = (0...n).map { _ in rng.uniform() + 1e-3 }
            let total = shares.reduce(0, +)
            shares = shares.map { $0 / total * free }
            var start = margin + shares[0]
            for i in 0..<n {
                along[i] = start + extents[i] / 2
                start += extents[i] + gap + shares[i + 1]
            }
            let maxE = extents.max()!
            let lo = margin + maxE / 2 + jitter, hi = W - margin - maxE / 2 - jitter
            let line = lo < hi ? rng.uniform(lo, hi) : W / 2
            for i in 0..<n {
                let e = extents[i]
                across[i] = min(max(line + rng.uniform(-jitter, jitter), margin + e / 2), W - margin - e / 2)
            }
        }
        var objects: [ShapeObject] = []
        for i in 0..<n {
            let (r, g, b) = descriptions[i].colour.rgb
            let rgb = [r, g, b].map { UInt8(clamping: Int($0) + rng.int(below: 29) - 14) }
            let (x, y) = arrangement == .column ? (across[i], along[i]) : (along[i], across[i])
            objects.append(ShapeObject(description: descriptions[i], x: x, y: y, extent: extents[i], rgb: rgb))
        }

        // Background.
        func bg() -> [UInt8] {
            let (r, g, b) = shapeBackgroundPalette[rng.int(below: shapeBackgroundPalette.count)]
            return [r, g, b].map { UInt8(clamping: $0 + rng.int(below: 21) - 10) }
        }
        let first = bg()
        var background = ShapeBackground(first: first, second: first, split: .none, position: 0.5)
        if rng.uniform() < options.twoToneShare {
            var second = bg()
            while zip(second, first).map({ abs(Int($0) - Int($1)) }).max()! < 25 { second = bg() }
            background.second = second
            background.split = [.vertical, .horizontal, .diagonal][rng.int(below: 3)]
            background.position = rng.uniform(0.3, 0.7)
        }
        return ShapeScene(size: options.size, arrangement: arrangement, objects: objects, background: background,
                          noise: options.noise, noiseSeed: rng.next())
    }
}

extension ShapeKind {
    /// Whether the point (u, v), in box coordinates (−1…1, v downwards), is inside the shape.
    @inline(__always)
    func contains(_ u: Float, _ v: Float) -> Bool {
        switch self {
        case .circle: return u * u + v * v <= 1
        case .square: return max(abs(u), abs(v)) <= 0.88
        case .triangle: return v <= 0.85 && abs(u) <= (v + 0.95) / 1.8
        case .diamond: return abs(u) + abs(v) <= 1
        case .cross: return (abs(u) <= 0.32 && abs(v) <= 0.95) || (abs(v) <= 0.32 && abs(u) <= 0.95)
        case .star: return starContains(u, v)
        }
    }
}

/// The ten corners of a five-pointed star, one point up (outer radius 1, inner 0.45).
private let starCorners: [(Float, Float)] = (0..<10).map { k in
    let r: Float = k % 2 == 0 ? 1 : 0.45
    let a = Float.pi * (-0.5 + Float(k) / 5)
    return (r * cos(a), r * sin(a) + 0.08)
}

/// Even-odd point-in-polygon test against the star.
private func starContains(_ u: Float, _ v: Float) -> Bool {
    var inside = false
    var j = starCorners.count - 1
    for i in 0..<starCorners.count {
        let (xi, yi) = starCorners[i], (xj, yj) = starCorners[j]
        if (yi > v) != (yj > v), u < (xj - xi) * (v - yi) / (yj - yi) + xi { inside.toggle() }
        j = i
    }
    return inside
}

extension ShapeScene {
    /// The picture: `size × size × 3` RGB bytes, top row first.
    public func render() -> [UInt8] {
        let S = size
        var px = [Float](repeating: 0, count: S * S * 3)
        let b0 = background.first.map(Float.init), b1 = background.second.map(Float.init)
        let p = background.position * Float(S)
        for y in 0..<S {
            for x in 0..<S {
                let fx = Float(x) + 0.5, fy = Float(y) + 0.5
                let second: Bool
                switch background.split {
                case .none: second = false
                case .vertical: second = fx >= p
                case .horizontal: second = fy >= p
                case .diagonal: second = fx + fy >= 2 * p
                }
                let c = second ? b1 : b0
                let o = (y * S + x) * 3
                px[o] = c[0]; px[o + 1] = c[1]; px[o + 2] = c[2]
            }
        }
        let sub = 4
        for obj in objects {
            let half = obj.extent / 2
            let x0 = max(0, Int((obj.x - half).rounded(.down))), x1 = min(S - 1, Int((obj.x + half).rounded(.up)))
            let y0 = max(0, Int((obj.y - half).rounded(.down))), y1 = min(S - 1, Int((obj.y + half).rounded(.up)))
            if x0 > x1 || y0 > y1 { continue }
            let col = obj.rgb.map(Float.init)
            let shape = obj.description.shape
            for y in y0...y1 {
                for x in x0...x1 {
                    var hits = 0
                    for sy in 0..<sub {
                        let v = (Float(y) + (Float(sy) + 0.5) / Float(sub) - obj.y) / half
                        for sx in 0..<sub {
                            let u = (Float(x) + (Float(sx) + 0.5) / Float(sub) - obj.x) / half
                            if shape.contains(u, v) { hits += 1 }
                        }
                    }
                    if hits == 0 { continue }
                    let a = Float(hits) / Float(sub * sub)
                    let o = (y * S + x) * 3
                    for c in 0..<3 { px[o + c] = px[o + c] * (1 - a) + col[c] * a }
                }
            }
        }
        var rng = RNG(seed: noiseSeed)
        var out = [UInt8](repeating: 0, count: S * S * 3)
        for i in 0..<px.count {
            let v = noise > 0 ? px[i] + noise * rng.normal() : px[i]
            out[i] = UInt8(min(max(v.rounded(), 0), 255))
        }
        return out
    }
}
