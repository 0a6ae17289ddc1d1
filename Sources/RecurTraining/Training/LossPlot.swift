// The loss curve of a run as a PNG: training loss (smoothed) and validation
// loss against the step, with axes, tick labels and a legend drawn in a
// built-in 3×5 pixel font (digits and the few capitals needed), so no font
// library is involved. Written atomically through PNGWriter.
import Foundation
import RecurCore
import RecurFrontends

public enum LossPlot {
    /// Writes the curve of `state` to `path` (640×400 RGB).
    public static func write(_ state: TrainingState, to path: String, width: Int = 640, height: Int = 400) throws {
        let train = state.trainCurve.map { (Double($0.step), $0.loss) }
        let valid = state.validations.map { (Double($0.step), $0.loss) }
        let rgb = render(train: train, valid: valid, width: width, height: height)
        try PNGWriter.write(path: path, width: width, height: height, rgb: rgb)
    }

    /// The picture as RGB bytes (row-major, top row first). Non-finite points are left out.
    public static func render(train: [(Double, Double)], valid: [(Double, Double)], width: Int = 640, height: Int = 400) -> [UInt8] {
        var c = Canvas(width: width, height: height)
        let train = smooth(train.filter { $0.0.isFinite && $0.1.isFinite })
        let valid = valid.filter { $0.0.isFinite && $0.1.isFinite }
        let left = 64, right = width - 16, top = 28, bottom = height - 40
        guard right > left + 10, bottom > top + 10 else { return c.pixels }
        let all = train + valid
        var x0 = 0.0, x1 = max(all.map(\.0).max() ?? 1, 1)
        var y0 = all.map(\.1).min() ?? 0, y1 = all.map(\.1).max() ?? 1
        if y1 - y0 < 1e-9 { y0 -= 0.5; y1 += 0.5 }
        let pad = (y1 - y0) * 0.05
        y0 = max(0, y0 - pad)
        y1 += pad
        let xt = ticks(x0, x1), yt = ticks(y0, y1)
        x0 = min(x0, xt.first ?? x0); x1 = max(x1, xt.last ?? x1)
        func px(_ x: Double) -> Int { left + Int(((x - x0) / (x1 - x0) * Double(right - left)).rounded()) }
        func py(_ y: Double) -> Int { bottom - Int(((y - y0) / (y1 - y0) * Double(bottom - top)).rounded()) }
        let grid: (UInt8, UInt8, UInt8) = (228, 228, 228), ink: (UInt8, UInt8, UInt8) = (40, 40, 40)
        for t in xt where t >= x0 && t <= x1 {
            c.line(px(t), top, px(t), bottom, grid)
            let label = tickLabel(t, integer: true)
            c.text(label, x: px(t) - Canvas.textWidth(label, scale: 2) / 2, y: bottom + 8, scale: 2, ink)
        }
        for t in yt where t >= y0 && t <= y1 {
            c.line(left, py(t), right, py(t), grid)
            let label = tickLabel(t, integer: false)
            c.text(label, x: left - 6 - Canvas.textWidth(label, scale: 2), y: py(t) - 5, scale: 2, ink)
        }
        c.line(left, top, left, bottom, ink)
        c.line(left, bottom, right, bottom, ink)
        c.text("STEP", x: right - Canvas.textWidth("STEP", scale: 2), y: bottom + 24, scale: 2, ink)
        c.text("LOSS", x: 8, y: 8, scale: 2, ink)
        let blue: (UInt8, UInt8, UInt8) = (31, 119, 180), orange: (UInt8, UInt8, UInt8) = (230, 110, 20)
        for (a, b) in zip(train, train.dropFirst()) {
            c.thickLine(px(a.0), py(a.1), px(b.0), py(b.1), blue)
        }
        if train.count == 1 { c.fill(px(train[0].0) - 2, py(train[0].1) - 2, 5, 5, blue) }
        for (a, b) in zip(valid, valid.dropFirst()) {
            c.thickLine(px(a.0), py(a.1), px(b.0), py(b.1), orange)
        }
        for v in valid { c.fill(px(v.0) - 3, py(v.1) - 3, 7, 7, orange) }
        // Legend, top right.
        let lx = right - 120
        c.thickLine(lx, 14, lx + 20, 14, blue)
        c.text("TRAIN", x: lx + 26, y: 9, scale: 2, ink)
        c.thickLine(lx, 30, lx + 20, 30, orange)
        c.fill(lx + 7, 27, 7, 7, orange)
        c.text("VALID", x: lx + 26, y: 25, scale: 2, ink)
        return c.pixels
    }

    /// A centred moving average over about a fortieth of the points.
    static func smooth(_ points: [(Double, Double)]) -> [(Double, Double)] {
        let k = max(0, points.count / 80)
        guard k > 0 else { return points }
        return points.indices.map { i in
            let lo = max(0, i - k), hi = min(points.count - 1, i + k)
            let mean = points[lo...hi].reduce(0) { $0 + $1.1 } / Double(hi - lo + 1)
            return (points[i].0, mean)
        }
    }

    /// About five round tick values (1, 2 or 5 × 10ⁿ apart) covering [a, b].
    static func ticks(_ a: Double, _ b: Double) -> [Double] {
        guard b > a, a.isFinite, b.isFinite else { return [a] }
        let raw = (b - a) / 5
        let mag = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t = Foundation.ceil(a / step) * step
        var out: [Double] = []
        while t <= b + step * 1e-9 && out.count < 20 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }

    static func tickLabel(_ v: Double, integer: Bool) -> String {
        if integer || v == v.rounded() {
            let n = Int(v.rounded())
            if n >= 10_000 && n % 1000 == 0 { return "\(n / 1000)K" }
            return "\(n)"
        }
        var s = String(format: "%.3f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}

/// An RGB picture with lines, boxes and 3×5 pixel text.
struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.0; pixels[i + 1] = c.1; pixels[i + 2] = c.2
    }

    mutating func fill(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ c: (UInt8, UInt8, UInt8)) {
        for yy in y..<(y + h) { for xx in x..<(x + w) { set(xx, yy, c) } }
    }

    /// Bresenham.
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8)) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            set(x, y, c)
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    mutating func thickLine(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8)) {
        line(x0, y0, x1, y1, c)
        line(x0 + 1, y0, x1 + 1, y1, c)
        line(x0, y0 + 1, x1, y1 + 1, c)
    }

    /// 3×5 glyphs, one row of three bits per entry (top row first, high bit left).
    static let glyphs: [Character: [UInt8]] = [
        "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7],
        "4": [5, 5, 7, 1, 1], "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 1, 1, 1],
        "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7], ".": [0, 0, 0, 0, 2], "-": [0, 0, 7, 0, 0],
        "A": [2, 5, 7, 5, 5], "D": [6, 5, 5, 5, 6], "E": [7, 4, 7, 4, 7], "I": [7, 2, 2, 2, 7],
        "K": [5, 5, 6, 5, 5], "L": [4, 4, 4, 4, 7], "N": [6, 5, 5, 5, 5], "O": [7, 5, 5, 5, 7],
        "P": [7, 5, 7, 4, 4], "R": [6, 5, 6, 5, 5], "S": [7, 4, 7, 1, 7], "T": [7, 2, 2, 2, 2],
        "V": [5, 5, 5, 5, 2], " ": [0, 0, 0, 0, 0],
    ]

    static func textWidth(_ s: String, scale: Int) -> Int { max(0, s.count * 4 * scale - scale) }

    mutating func text(_ s: String, x: Int, y: Int, scale: Int, _ c: (UInt8, UInt8, UInt8)) {
        var cx = x
        for ch in s {
            let rows = Canvas.glyphs[ch] ?? Canvas.glyphs[Character(ch.uppercased())] ?? [7, 5, 5, 5, 7]
            for (r, bits) in rows.enumerated() {
                for col in 0..<3 where bits & (4 >> col) != 0 {
                    fill(cx + col * scale, y + r * scale, scale, scale, c)
                }
            }
            cx += 4 * scale
        }
    }
}
