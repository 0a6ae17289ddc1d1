import Foundation
import RecurCore

/// A picture of what the grid features see, for people: the model's input
/// image (dimmed), the grid, and in each cell a swatch of the cell's dominant
/// colour (top-left corner) and a line through the cell's centre along its
/// strongest gradient direction, as long as the cell's edges are strong
/// (no line on a flat cell). A strip below the picture shows the whole
/// image's dominant colour (left half) and mean colour (right half).
public enum GridOverlay {
    /// Draws `features` `(G·G + 1, D)` of `resized` `(S, S, 3)` at `scale`× size:
    /// `S·scale` wide, `S·scale + max(8, S·scale/16)` high.
    public static func render(resized: Tensor, features: Tensor, grid g: Int, scale: Int = 2) -> RGB8Image {
        let s = resized.shape[0]
        let side = s * scale
        let strip = max(8, side / 16)
        var px = [UInt8](repeating: 0, count: side * (side + strip) * 3)
        // Dimmed, nearest-neighbour enlarged image.
        for y in 0..<side {
            for x in 0..<side {
                let i = ((y / scale) * s + x / scale) * 3
                for c in 0..<3 {
                    let v = resized.data[i + c] * 0.6 + 0.2
                    px[(y * side + x) * 3 + c] = UInt8(min(max(v * 255 + 0.5, 0), 255))
                }
            }
        }
        func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
            guard x >= 0, y >= 0, x < side, y < side + strip else { return }
            let o = (y * side + x) * 3
            px[o] = c.0; px[o + 1] = c.1; px[o + 2] = c.2
        }
        func rect(_ x0: Int, _ y0: Int, _ w: Int, _ h: Int, _ c: (UInt8, UInt8, UInt8), border: Bool) {
            for y in y0..<(y0 + h) {
                for x in x0..<(x0 + w) {
                    let edge = x == x0 || y == y0 || x == x0 + w - 1 || y == y0 + h - 1
                    set(x, y, border && edge ? (0, 0, 0) : c)
                }
            }
        }
        func byte(_ v: Float) -> UInt8 { UInt8(min(max(v * 255 + 0.5, 0), 255)) }
        let d = GridFeatures.dimension
        // Grid lines.
        for c in 0...g {
            let p = min(c * s / g * scale, side - 1)
            for t in 0..<side { set(p, t, (255, 255, 255)); set(t, p, (255, 255, 255)) }
        }
        for cell in 0..<(g * g) {
            let f = features.data + cell * d
            let x0 = (cell % g) * s / g * scale, x1 = (cell % g + 1) * s / g * scale
            let y0 = (cell / g) * s / g * scale, y1 = (cell / g + 1) * s / g * scale
            let cw = x1 - x0, ch = y1 - y0
            let sw = max(3, min(cw, ch) / 3)
            rect(x0 + 2, y0 + 2, sw, sw, (byte(f[37]), byte(f[38]), byte(f[39])), border: true)
            // Strongest orientation bin → direction; length from the mean gradient.
            var best = 0
            for j in 1..<8 where f[27 + j] > f[27 + best] { best = j }
            let strength = min(f[36] * 8, 1)
            guard f[27 + best] > 1e-4, strength > 0.02 else { continue }
            let theta = Float(best) * Float.pi / 8
            let half = strength * Float(min(cw, ch)) * 0.45
            let cx = Float(x0 + x1) / 2, cy = Float(y0 + y1) / 2
            let bright = f[9] > 0.5
            let colour: (UInt8, UInt8, UInt8) = bright ? (200, 0, 0) : (255, 255, 0)
            let steps = Int(half * 2) + 1
            for t in 0...steps {
                let u = -half + 2 * half * Float(t) / Float(steps)
                let x = Int((cx + u * cos(theta)).rounded()), y = Int((cy + u * sin(theta)).rounded())
                set(x, y, colour); set(x + 1, y, colour)
            }
        }
        let w = features.data + g * g * d
        rect(0, side, side / 2, strip, (byte(w[37]), byte(w[38]), byte(w[39])), border: true)
        rect(side / 2, side, side - side / 2, strip, (byte(w[3]), byte(w[4]), byte(w[5])), border: true)
        return RGB8Image(width: side, height: side + strip, pixels: px)
    }
}
