import Foundation
import RecurCore
import RecurTestSupport
@testable import RecurFrontends
import XCTest

/// Resizing and pooled grid features.
final class ImageFeatureTests: XCTestCase {
    /// An `(h, w, 3)` image from a pixel function.
    static func image(_ h: Int, _ w: Int, _ f: (Int, Int) -> (Float, Float, Float)) -> Tensor {
        let t = Tensor(zeros: [h, w, 3])
        for y in 0..<h {
            for x in 0..<w {
                let (r, g, b) = f(y, x)
                t.data[(y * w + x) * 3] = r; t.data[(y * w + x) * 3 + 1] = g; t.data[(y * w + x) * 3 + 2] = b
            }
        }
        return t
    }

    static func row(_ t: Tensor, _ r: Int) -> [Float] { t[r].array }

    static func l1(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float { zip(a, b).reduce(0) { $0 + abs($1.0 - $1.1) } }

    // MARK: resize

    func testResizeKeepsConstantImages() {
        let img = Self.image(37, 53) { _, _ in (0.25, 0.5, 0.75) }
        for fit in ImageFit.allCases {
            for (h, w) in [(10, 10), (80, 20), (37, 53), (100, 120)] {
                let out = ImageResize.resize(img, height: h, width: w, fit: fit, padValue: fit == .pad ? 0.25 : 0)
                XCTAssertEqual(out.shape, [h, w, 3])
                for y in 0..<h {
                    for x in 0..<w {
                        let o = (y * w + x) * 3
                        if fit == .pad && out.data[o] == 0.25 && out.data[o + 1] == 0.25 { continue }  // border
                        XCTAssertEqual(out.data[o], 0.25, accuracy: 1e-6); XCTAssertEqual(out.data[o + 2], 0.75, accuracy: 1e-6)
                    }
                }
            }
        }
    }

    func testAreaAveragingWhenShrinking() {
        let img = Self.image(4, 4) { y, x in (Float(y * 4 + x), 0, 0) }
        let out = ImageResize.resize(img, height: 2, width: 2, fit: .stretch)
        // Each output is the mean of a 2×2 block.
        XCTAssertEqual(out.data[0], (0 + 1 + 4 + 5) / 4, accuracy: 1e-5)
        XCTAssertEqual(out.data[3], (2 + 3 + 6 + 7) / 4, accuracy: 1e-5)
        XCTAssertEqual(out.data[9], (10 + 11 + 14 + 15) / 4, accuracy: 1e-5)
        // 3 → 2 pixels: [0, 1.5) and [1.5, 3).
        let line = Self.image(1, 3) { _, x in (Float([3, 6, 9][x]), 0, 0) }
        let o2 = ImageResize.resize(line, height: 1, width: 2, fit: .stretch)
        XCTAssertEqual(o2.data[0], (3 + 0.5 * 6) / 1.5, accuracy: 1e-5)
        XCTAssertEqual(o2.data[3], (0.5 * 6 + 9) / 1.5, accuracy: 1e-5)
    }

    func testBilinearWhenGrowing() {
        let img = Self.image(1, 2) { _, x in (x == 0 ? 0 : 1, 0, 0) }
        let out = ImageResize.resize(img, height: 1, width: 4, fit: .stretch)
        // Half-pixel centres: sources at -0.25, 0.25, 0.75, 1.25 (edges clamped).
        XCTAssertEqual((0..<4).map { out.data[$0 * 3] }, [0, 0.25, 0.75, 1], "\(out)")
    }

    func testCropAndPadKeepAspect() {
        // 2 rows × 4 columns; column x has value x.
        let img = Self.image(2, 4) { _, x in (Float(x), 0, 0) }
        let crop = ImageResize.resize(img, height: 2, width: 2, fit: .crop)
        XCTAssertEqual(crop.data[0], 1, accuracy: 1e-6)   // centre columns 1 and 2
        XCTAssertEqual(crop.data[3], 2, accuracy: 1e-6)
        let pad = ImageResize.resize(img, height: 4, width: 4, fit: .pad, padValue: -1)
        XCTAssertEqual(pad.data[0], -1)                   // top row is border
        XCTAssertEqual(pad.data[(1 * 4 + 3) * 3], 3, accuracy: 1e-6)
        XCTAssertEqual(pad.data[(3 * 4 + 0) * 3], -1)     // bottom row is border
    }

    // MARK: helpers

    func testFastAtan2() {
        var worst: Float = 0
        for i in 0..<720 {
            let a = Float(i) * Float.pi / 360
            for r: Float in [0.01, 1, 37] {
                let y = r * sin(a), x = r * cos(a)
                worst = max(worst, abs(fastAtan2(y, x) - atan2(y, x)))
            }
        }
        XCTAssertLessThan(worst, 1e-4)
        XCTAssertEqual(fastAtan2(0, 0), 0)
        // The 8-lane version gives the same bits as the scalar one.
        var ys = SIMD8<Float>(), xs = SIMD8<Float>()
        for j in 0..<8 { ys[j] = Float(j) - 3.5; xs[j] = Float(j % 3) - 1 }
        let v = fastAtan2(ys, xs)
        for j in 0..<8 { XCTAssertEqual(v[j].bitPattern, fastAtan2(ys[j], xs[j]).bitPattern, "lane \(j)") }
        XCTAssertEqual(fastAtan2(SIMD8<Float>(), SIMD8<Float>()), SIMD8<Float>())
    }

    func testLabOfKnownColours() {
        let lut = CIELab.self
        let white = lut.lab(1, 1, 1)
        XCTAssertEqual(white.0, 1, accuracy: 1e-3); XCTAssertEqual(white.1, 0, accuracy: 2e-3); XCTAssertEqual(white.2, 0, accuracy: 2e-3)
        let red = lut.lab(1, 0, 0)   // L 53.24, a 80.09, b 67.20
        XCTAssertEqual(red.0, 0.5324, accuracy: 2e-3); XCTAssertEqual(red.1, 0.8009, accuracy: 3e-3); XCTAssertEqual(red.2, 0.6720, accuracy: 3e-3)
        let blue = lut.lab(0, 0, 1)  // L 32.30, a 79.19, b -107.86
        XCTAssertEqual(blue.0, 0.3230, accuracy: 2e-3); XCTAssertEqual(blue.1, 0.7919, accuracy: 3e-3); XCTAssertEqual(blue.2, -1.0786, accuracy: 3e-3)
        XCTAssertEqual(lut.lab(0, 0, 0).0, 0, accuracy: 1e-4)
    }

    // MARK: grid features

    let small = GridFeatureConfig(grid: 4, size: 32)

    func testShapeAndDeterminism() {
        var rng = RNG(seed: 7)
        let img = Tensor(zeros: [45, 61, 3])
        rng.fillUniform(img, 0, 1)
        XCTAssertEqual(GridFeatures().rows, 7 * 7 + 1)   // the default: 7×7 cells of a 224×224 image
        XCTAssertEqual(GridFeatures().config.size, 224)
        let f = GridFeatures(GridFeatureConfig(grid: 7, size: 70))   // debug builds are slow: a smaller input
        let a = f(img), b = f(img)
        XCTAssertEqual(a.shape, [7 * 7 + 1, GridFeatures.dimension])
        XCTAssertEqual(a.array.map(\.bitPattern), b.array.map(\.bitPattern))
        XCTAssertFalse(a.array.contains { !$0.isFinite })
        // Positions and the whole-image flag.
        XCTAssertEqual(a[0, 0], 0.5 / 7, accuracy: 1e-6); XCTAssertEqual(a[0, 1], 0.5 / 7, accuracy: 1e-6)
        XCTAssertEqual(a[8, 0], 1.5 / 7, accuracy: 1e-6); XCTAssertEqual(a[8, 1], 1.5 / 7, accuracy: 1e-6)
        XCTAssertEqual(a[49, 2], 1); XCTAssertEqual(a[48, 2], 0)
        // Fractions sum to 1.
        for r in 0..<50 {
            XCTAssertEqual(a[r].array[GridFeatures.Index.lightness].reduce(0, +), 1, accuracy: 1e-4)
        }
        // The same bits whatever the thread count.
        let before = Threads.count
        defer { Threads.set(before) }
        Threads.set(1)
        let one = f(img)
        Threads.set(2)
        XCTAssertEqual(one.array.map(\.bitPattern), f(img).array.map(\.bitPattern))
        XCTAssertEqual(one.array.map(\.bitPattern), a.array.map(\.bitPattern))
        let g3 = GridFeatures(GridFeatureConfig(grid: 3, size: 50))(img)
        XCTAssertEqual(g3.shape, [10, GridFeatures.dimension])
    }

    func testRedAndBlueDifferInColourDims() {
        let f = GridFeatures(small)
        let red = f(Self.image(20, 30) { _, _ in (1, 0, 0) })
        let blue = f(Self.image(20, 30) { _, _ in (0, 0, 1) })
        let r = red[16].array, b = blue[16].array
        XCTAssertEqual(r[3], 1, accuracy: 1e-5); XCTAssertEqual(b[5], 1, accuracy: 1e-5)
        XCTAssertGreaterThan(Self.l1(r[GridFeatures.Index.rgbMean], b[GridFeatures.Index.rgbMean]), 1.9)
        XCTAssertGreaterThan(Self.l1(r[GridFeatures.Index.labMean], b[GridFeatures.Index.labMean]), 1.5)
        XCTAssertGreaterThan(Self.l1(r[GridFeatures.Index.hue], b[GridFeatures.Index.hue]), 1)
        XCTAssertEqual(Array(r[GridFeatures.Index.dominant]), [1, 0, 0])
        // Red's hue sits between the 0° and 45° bins, blue's near 300° (bins 6, 7).
        XCTAssertGreaterThan(r[15] + r[16], 0.9 * r[GridFeatures.Index.hue].reduce(0, +))
        XCTAssertGreaterThan(b[21] + b[22], 0.9 * b[GridFeatures.Index.hue].reduce(0, +))
        // Flat images: no gradient.
        XCTAssertEqual(r[GridFeatures.Index.gradientMean], 0); XCTAssertEqual(r[GridFeatures.Index.edgeDensity], 0)
    }

    func testShapeLeftAndRightDifferInTheCells() {
        let f = GridFeatures(small)
        // A white square in the left half vs the right half of a black image (32×32, 4×4 cells of 8 px).
        let left = f(Self.image(32, 32) { y, x in (8..<16).contains(y) && (4..<12).contains(x) ? (1, 1, 1) : (0, 0, 0) })
        let right = f(Self.image(32, 32) { y, x in (8..<16).contains(y) && (20..<28).contains(x) ? (1, 1, 1) : (0, 0, 0) })
        // Cells of row 1: columns 0/1 hold the left square, 2/3 the right one.
        for col in 0..<4 {
            let d = Self.l1(left[4 + col].array[3...], right[4 + col].array[3...])
            XCTAssertGreaterThan(d, 0.5, "cell (1, \(col)) should differ")
        }
        XCTAssertGreaterThan(left[4 + 0].array[3], right[4 + 0].array[3])   // brighter on the left
        XCTAssertLessThan(left[4 + 3].array[3], right[4 + 3].array[3])
        // The whole image is the same picture mirrored: equal statistics.
        let dw = Self.l1(left[16].array[3...], right[16].array[3...])
        XCTAssertLessThan(dw, 1e-3)
        // Rows without the square are identical.
        XCTAssertEqual(left[12].array, right[12].array)
    }

    func testHorizontalAndVerticalEdgesDifferInOrientation() {
        let f = GridFeatures(small)
        let horizontal = f(Self.image(32, 32) { y, _ in y < 16 ? (0, 0, 0) : (1, 1, 1) })   // edge along x: vertical gradient
        let vertical = f(Self.image(32, 32) { _, x in x < 16 ? (0, 0, 0) : (1, 1, 1) })
        let h = Array(horizontal[16].array[GridFeatures.Index.orientation])
        let v = Array(vertical[16].array[GridFeatures.Index.orientation])
        XCTAssertEqual(h.firstIndex(of: h.max()!), 4, "\(h)")
        XCTAssertEqual(v.firstIndex(of: v.max()!), 0, "\(v)")
        XCTAssertGreaterThan(h[4], 10 * (h[0] + 1e-6))
        XCTAssertGreaterThan(v[0], 10 * (v[4] + 1e-6))
        // The same edge strength and density either way.
        XCTAssertEqual(horizontal[16, GridFeatures.Index.edgeDensity], vertical[16, GridFeatures.Index.edgeDensity], accuracy: 1e-6)
        XCTAssertGreaterThan(horizontal[16, GridFeatures.Index.edgeDensity], 0)
        // Cells away from the edge see nothing.
        XCTAssertEqual(horizontal[0, GridFeatures.Index.gradientMean], 0)
        // A diagonal edge lands in bin 2 or 6.
        let diag = f(Self.image(32, 32) { y, x in x + y < 32 ? (0, 0, 0) : (1, 1, 1) })
        let dg = Array(diag[16].array[GridFeatures.Index.orientation])
        XCTAssertEqual(dg.firstIndex(of: dg.max()!), 2, "\(dg)")
    }

    func testOverlayPicture() throws {
        let f = GridFeatures(small)
        let img = Self.image(32, 32) { y, x in x < 16 ? (1, 0, 0) : (0, 0, 1) }
        let resized = f.resized(img)
        let feats = f.extract(fromResized: resized)
        let pic = GridOverlay.render(resized: resized, features: feats, grid: 4, scale: 2)
        XCTAssertEqual(pic.width, 64); XCTAssertEqual(pic.height, 64 + 8)
        XCTAssertEqual(pic, GridOverlay.render(resized: resized, features: feats, grid: 4, scale: 2))
        // The swatch of cell (0, 0) is pure red inside its border.
        let o = (5 * 64 + 5) * 3
        XCTAssertEqual(Array(pic.pixels[o..<(o + 3)]), [255, 0, 0])
        // The strip below: whole-image mean colour (half red, half blue) on the right.
        let m = (68 * 64 + 48) * 3
        XCTAssertEqual(Array(pic.pixels[m..<(m + 3)]), [128, 0, 128])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recur-overlay-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try PNGWriter.write(path: dir, width: pic.width, height: pic.height, rgb: pic.pixels)
        XCTAssertEqual(try PNGReader().readRGB8(path: dir), pic)
    }
}
