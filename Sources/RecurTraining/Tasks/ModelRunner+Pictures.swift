import Foundation
import RecurCore
import RecurFrontends

// Pictures of what a model did (attention heatmaps), drawn with the loss
// plot's Canvas and its 3×5 pixel font (Training/LossPlot.swift): this file
// makes them public for the stages in RecurPipelines and adds the glyphs the
// loss plot did not need (the rest of the capitals and some punctuation), so
// labels of any token can be drawn. Letters are drawn as capitals; a
// character without a glyph is drawn as a small box.

/// An RGB picture with filled boxes and 3×5 pixel text, for attention
/// heatmaps. Coordinates in pixels, origin top left.
public struct PixelCanvas: Sendable {
    var canvas: Canvas

    /// A white `width × height` picture.
    public init(width: Int, height: Int) {
        canvas = Canvas(width: max(1, width), height: max(1, height))
    }

    public var width: Int { canvas.width }
    public var height: Int { canvas.height }
    /// RGB bytes, row-major, top row first.
    public var pixels: [UInt8] { canvas.pixels }

    public mutating func fill(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ c: (UInt8, UInt8, UInt8)) {
        canvas.fill(x, y, w, h, c)
    }

    public mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) { canvas.set(x, y, c) }

    /// Copies an RGB picture (`w × h`, top row first) with its top-left corner at (x, y).
    public mutating func blit(_ rgb: [UInt8], width w: Int, height h: Int, x: Int, y: Int) {
        for yy in 0..<h {
            for xx in 0..<w {
                let i = (yy * w + xx) * 3
                canvas.set(x + xx, y + yy, (rgb[i], rgb[i + 1], rgb[i + 2]))
            }
        }
    }

    /// Width in pixels of `s` drawn at `scale`.
    public static func textWidth(_ s: String, scale: Int) -> Int { Canvas.textWidth(s, scale: scale) }

    /// Draws `s` left to right from (x, y) (top of the glyphs).
    public mutating func text(_ s: String, x: Int, y: Int, scale: Int, _ c: (UInt8, UInt8, UInt8)) {
        var cx = x
        for ch in s {
            glyph(ch, x: cx, y: y, scale: scale, c)
            cx += 4 * scale
        }
    }

    /// Draws `s` top to bottom from (x, y), one character under the other
    /// (column labels).
    public mutating func verticalText(_ s: String, x: Int, y: Int, scale: Int, _ c: (UInt8, UInt8, UInt8)) {
        var cy = y
        for ch in s {
            glyph(ch, x: x, y: cy, scale: scale, c)
            cy += 6 * scale
        }
    }

    mutating func glyph(_ ch: Character, x: Int, y: Int, scale: Int, _ c: (UInt8, UInt8, UInt8)) {
        let up = Character(ch.uppercased().count == 1 ? ch.uppercased() : String(ch))
        let rows = Canvas.glyphs[ch] ?? Canvas.glyphs[up] ?? PixelCanvas.moreGlyphs[up]
            ?? PixelCanvas.moreGlyphs[PixelCanvas.plain(up)] ?? [0, 7, 5, 7, 0]
        for (r, bits) in rows.enumerated() {
            for col in 0..<3 where bits & (4 >> col) != 0 {
                canvas.fill(x + col * scale, y + r * scale, scale, scale, c)
            }
        }
    }

    /// The letter without its accent (É → E), else the character.
    static func plain(_ ch: Character) -> Character {
        let s = String(ch).folding(options: .diacriticInsensitive, locale: nil)
        return s.count == 1 ? Character(s) : ch
    }

    /// Glyphs the loss plot's font lacks, in its encoding (3 bits a row, top row first).
    static let moreGlyphs: [Character: [UInt8]] = [
        "B": [6, 5, 6, 5, 6], "C": [7, 4, 4, 4, 7], "F": [7, 4, 6, 4, 4], "G": [7, 4, 5, 5, 7],
        "H": [5, 5, 7, 5, 5], "J": [1, 1, 1, 5, 7], "M": [5, 7, 7, 5, 5], "Q": [7, 5, 5, 7, 1],
        "U": [5, 5, 5, 5, 7], "W": [5, 5, 7, 7, 5], "X": [5, 5, 2, 5, 5], "Y": [5, 5, 2, 2, 2],
        "Z": [7, 1, 2, 4, 7], ",": [0, 0, 0, 2, 4], "'": [2, 2, 0, 0, 0], "?": [7, 1, 2, 0, 2],
        "!": [2, 2, 2, 0, 2], ":": [0, 2, 0, 2, 0], ";": [0, 2, 0, 2, 4], "/": [1, 1, 2, 4, 4],
        "(": [1, 2, 2, 2, 1], ")": [4, 2, 2, 2, 4], "<": [1, 2, 4, 2, 1], ">": [4, 2, 1, 2, 4],
        "_": [0, 0, 0, 0, 7], "\"": [5, 5, 0, 0, 0], "▁": [0, 0, 0, 0, 7], "=": [0, 7, 0, 7, 0],
        "+": [0, 2, 7, 2, 0], "*": [5, 2, 5, 0, 0], "#": [5, 7, 5, 7, 5], "%": [5, 1, 2, 4, 5],
        "&": [2, 5, 2, 5, 3], "@": [7, 5, 7, 4, 7], "[": [3, 2, 2, 2, 3], "]": [6, 2, 2, 2, 6],
    ]

    /// A heat colour for u in [0, 1]: white (0) through orange to dark red (1).
    public static func heat(_ u: Float) -> (UInt8, UInt8, UInt8) {
        let v = min(max(u.isFinite ? u : 0, 0), 1)
        let anchors: [(Float, Float, Float)] = [(255, 255, 255), (253, 190, 110), (230, 85, 13), (127, 0, 0)]
        let x = v * Float(anchors.count - 1)
        let i = min(Int(x), anchors.count - 2), f = x - Float(i)
        let a = anchors[i], b = anchors[i + 1]
        return (UInt8(a.0 + f * (b.0 - a.0)), UInt8(a.1 + f * (b.1 - a.1)), UInt8(a.2 + f * (b.2 - a.2)))
    }

    /// Writes the picture as a PNG, atomically.
    public func write(to path: String) throws {
        try PNGWriter.write(path: path, width: width, height: height, rgb: pixels)
    }
}
