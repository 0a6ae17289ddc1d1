import Foundation
import RecurCore
import RecurFrontends
import RecurTraining

/// The attention of one decoded output as a picture (`--attention-png`).
///
/// Rows are the output pieces (EOS last), each row's weights scaled by the
/// row's largest weight (white 0 → dark red the maximum; a row flatter than
/// 1.5 × uniform is scaled by that instead), so where each piece looked
/// stands out even over hundreds of positions.
///
/// - text: output pieces × source pieces, labels on the left and (written
///   downwards) on top, `cell` pixels a cell;
/// - speech: output pieces × encoder positions, with the input's spectrogram
///   drawn under it on the same time axis (encoder positions are groups of
///   frames after the pyramid's time reduction);
/// - image: one small G × G heatmap per output piece over the image's grid
///   cells (the whole-image position, last, is left out), labelled under it.
public struct AttentionPicture: @unchecked Sendable {
    public enum Kind {
        case text(sourcePieces: [String])
        /// The source features (T, D) that were encoded.
        case speech(features: Tensor)
        /// G: the grid is G × G cells (positions 0..<G·G, row-major), then the whole image.
        case image(grid: Int)
    }

    public var kind: Kind
    /// Output pieces, EOS included (`weights` rows).
    public var targetPieces: [String]
    /// (targetPieces.count, source positions).
    public var weights: Tensor

    public init(kind: Kind, targetPieces: [String], weights: Tensor) {
        self.kind = kind
        self.targetPieces = targetPieces
        self.weights = weights
    }

    static let ink: (UInt8, UInt8, UInt8) = (30, 30, 30)
    static let scale = 2
    static let maxLabel = 14
    /// Pixels of a text cell (rows of every kind are this high).
    public static let cell = 14

    static func label(_ s: String) -> String {
        let t = s.replacingOccurrences(of: "▁", with: "_")
        return t.count > maxLabel ? String(t.prefix(maxLabel - 1)) + "~" : t
    }

    /// The weight of row `r`, column `c`, scaled by the row's maximum, or by
    /// 1.5 × the uniform weight when that is larger (so a flat row shows as
    /// a flat middle colour, not as all maximum).
    func scaled(_ r: Int, _ c: Int) -> Float {
        let n = weights.shape[1]
        let row = weights.data + r * n
        var m: Float = 1.5 / Float(max(n, 1))
        for j in 0..<n where row[j].isFinite { m = max(m, row[j]) }
        return row[c] / m
    }

    /// The picture.
    public func render() -> PixelCanvas {
        let rows = min(targetPieces.count, weights.shape[0]), cols = weights.shape[1]
        let s = Self.scale, cell = Self.cell
        let rowLabels = targetPieces.prefix(rows).map(Self.label)
        var labelWidth = rowLabels.map { PixelCanvas.textWidth($0, scale: s) }.max() ?? 0
        if case .speech = kind { labelWidth = max(labelWidth, PixelCanvas.textWidth("FRAMES", scale: s)) }
        let leftMargin = 8 + labelWidth + 6
        switch kind {
        case .text(let sourcePieces):
            let colLabels = (0..<cols).map { $0 < sourcePieces.count ? Self.label(sourcePieces[$0]) : "" }
            let top = 8 + (colLabels.map(\.count).max() ?? 0) * 6 * s + 4
            var c = PixelCanvas(width: leftMargin + cols * cell + 8, height: top + rows * cell + 8)
            for (j, l) in colLabels.enumerated() {
                c.verticalText(l, x: leftMargin + j * cell + (cell - 3 * s) / 2, y: 8, scale: s, Self.ink)
            }
            drawRows(&c, labels: rowLabels, left: leftMargin, top: top, columnWidth: cell)
            return c
        case .speech(let features):
            let cw = max(2, min(cell, 1200 / max(cols, 1)))
            let gridWidth = cols * cw
            let top = 8
            let specHeight = min(160, max(40, (features.shape.count == 2 ? features.shape[1] : 40) * 2))
            let specTop = top + rows * cell + 6
            var c = PixelCanvas(width: leftMargin + gridWidth + 8, height: specTop + specHeight + 8)
            drawRows(&c, labels: rowLabels, left: leftMargin, top: top, columnWidth: cw)
            if features.shape.count == 2, features.shape[0] > 0, features.shape[1] > 0 {
                let spec = SpectrogramImage.rgb(features, scale: 1)
                var resized = [UInt8](repeating: 0, count: gridWidth * specHeight * 3)
                for y in 0..<specHeight {
                    let sy = min(spec.height - 1, y * spec.height / specHeight)
                    for x in 0..<gridWidth {
                        let sx = min(spec.width - 1, x * spec.width / max(gridWidth, 1))
                        let i = (sy * spec.width + sx) * 3, o = (y * gridWidth + x) * 3
                        resized[o] = spec.rgb[i]; resized[o + 1] = spec.rgb[i + 1]; resized[o + 2] = spec.rgb[i + 2]
                    }
                }
                c.blit(resized, width: gridWidth, height: specHeight, x: leftMargin, y: specTop)
            }
            c.text("FRAMES", x: leftMargin - 6 - PixelCanvas.textWidth("FRAMES", scale: s), y: specTop + specHeight / 2 - 5, scale: s, Self.ink)
            return c
        case .image(let g):
            let px = max(4, 48 / max(g, 1)), tile = g * px
            let labelHeight = 5 * s + 6
            let perRow = 8
            let tileWidth = max(tile, Self.maxLabel * 4 * s / 2) + 10
            let nRows = (rows + perRow - 1) / perRow
            var c = PixelCanvas(width: 8 + min(rows, perRow) * tileWidth, height: 8 + nRows * (tile + labelHeight + 8))
            for r in 0..<rows {
                let x0 = 8 + (r % perRow) * tileWidth, y0 = 8 + (r / perRow) * (tile + labelHeight + 8)
                for cy in 0..<g {
                    for cx in 0..<g where cy * g + cx < cols {
                        c.fill(x0 + cx * px, y0 + cy * px, px, px, PixelCanvas.heat(scaled(r, cy * g + cx)))
                    }
                }
                // A frame around the tile.
                c.fill(x0 - 1, y0 - 1, tile + 2, 1, Self.ink); c.fill(x0 - 1, y0 + tile, tile + 2, 1, Self.ink)
                c.fill(x0 - 1, y0 - 1, 1, tile + 2, Self.ink); c.fill(x0 + tile, y0 - 1, 1, tile + 2, Self.ink)
                let l = String(rowLabels[r].prefix(tileWidth / (4 * s)))
                c.text(l, x: x0, y: y0 + tile + 4, scale: s, Self.ink)
            }
            return c
        }
    }

    private func drawRows(_ c: inout PixelCanvas, labels: [String], left: Int, top: Int, columnWidth: Int) {
        let cols = weights.shape[1], cell = Self.cell
        for (i, l) in labels.enumerated() {
            let y = top + i * cell
            c.text(l, x: left - 6 - PixelCanvas.textWidth(l, scale: Self.scale), y: y + (cell - 5 * Self.scale) / 2,
                   scale: Self.scale, Self.ink)
            for j in 0..<cols {
                c.fill(left + j * columnWidth, y, columnWidth, cell, PixelCanvas.heat(scaled(i, j)))
            }
        }
    }

    /// Writes the picture as a PNG at `path` (atomically).
    public func write(to path: String) throws {
        try render().write(to: path)
    }
}
