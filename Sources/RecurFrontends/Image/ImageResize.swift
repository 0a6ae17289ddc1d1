import Foundation
import RecurCore

/// How an image of another aspect ratio is fitted into a model's input size.
public enum ImageFit: String, Sendable, CaseIterable {
    /// Scale so the image covers the target, then cut the overhang equally on both sides.
    case crop
    /// Scale so the whole image fits, centred, and fill the borders with a pad colour.
    case pad
    /// Scale each axis on its own (distorts the aspect ratio).
    case stretch
}

/// Resizing of float images `(height, width, channels)`.
///
/// Each axis is resampled on its own (separably). Along an axis that shrinks,
/// every output pixel is the area average of the source interval it covers
/// (fractional pixels weighted by their overlap), so no detail aliases; along
/// an axis that grows, it is bilinear interpolation with pixel centres at
/// half-integers (PyTorch's `align_corners=False`), edges replicated.
public enum ImageResize {
    /// `image` `(H, W, C)` resized to `(height, width, C)`, keeping the aspect
    /// ratio by `fit`; `.pad` fills the borders with `padValue` in every channel.
    public static func resize(_ image: Tensor, height: Int, width: Int, fit: ImageFit = .crop, padValue: Float = 0.5) -> Tensor {
        precondition(image.rank == 3 && height > 0 && width > 0, "resize: image must be (H, W, C), target positive")
        let h = image.shape[0], w = image.shape[1], c = image.shape[2]
        precondition(h > 0 && w > 0, "resize: empty image")
        let out = Tensor(zeros: [height, width, c])
        switch fit {
        case .stretch:
            resample(image, x0: 0, y0: 0, windowWidth: Double(w), windowHeight: Double(h), into: out, rows: 0..<height, cols: 0..<width)
        case .crop:
            let scale = max(Double(width) / Double(w), Double(height) / Double(h))
            let ww = Double(width) / scale, wh = Double(height) / scale
            resample(image, x0: (Double(w) - ww) / 2, y0: (Double(h) - wh) / 2, windowWidth: ww, windowHeight: wh,
                     into: out, rows: 0..<height, cols: 0..<width)
        case .pad:
            out.fill(padValue)
            let scale = min(Double(width) / Double(w), Double(height) / Double(h))
            let cw = min(width, max(1, Int((Double(w) * scale).rounded())))
            let ch = min(height, max(1, Int((Double(h) * scale).rounded())))
            let ox = (width - cw) / 2, oy = (height - ch) / 2
            resample(image, x0: 0, y0: 0, windowWidth: Double(w), windowHeight: Double(h),
                     into: out, rows: oy..<(oy + ch), cols: ox..<(ox + cw))
        }
        return out
    }

    /// Resamples the source window `[x0, x0 + windowWidth) × [y0, y0 + windowHeight)`
    /// (in pixels, fractional allowed) of `image` onto the block `rows × cols` of `out`.
    public static func resample(_ image: Tensor, x0: Double, y0: Double, windowWidth: Double, windowHeight: Double,
                                into out: Tensor, rows: Range<Int>, cols: Range<Int>) {
        let h = image.shape[0], w = image.shape[1], c = image.shape[2]
        let ow = out.shape[1]
        let xs = AxisWeights(inCount: w, start: x0, length: windowWidth, outCount: cols.count)
        let ys = AxisWeights(inCount: h, start: y0, length: windowHeight, outCount: rows.count)
        // Horizontal pass over the source rows the vertical pass needs: tmp (rowsNeeded, cols, C).
        let r0 = ys.minIndex, r1 = ys.maxIndex
        let tmp = Tensor(zeros: [r1 - r0 + 1, cols.count, c])
        // `t` points into tmp's storage: keep tmp alive to the end.
        defer { withExtendedLifetime(tmp) {} }
        let src = image.data, t = tmp.data
        xs.offsets.withUnsafeBufferPointer { xo in
            xs.indices.withUnsafeBufferPointer { xi in
                xs.weights.withUnsafeBufferPointer { xw in
                    for y in r0...r1 {
                        let srow = src + y * w * c
                        let trow = t + (y - r0) * cols.count * c
                        for j in 0..<cols.count {
                            let lo = xo[j], hi = xo[j + 1]
                            if c == 3 {
                                var a0: Float = 0, a1: Float = 0, a2: Float = 0
                                for k in lo..<hi {
                                    let p = srow + Int(xi[k]) * 3, wgt = xw[k]
                                    a0 += wgt * p[0]; a1 += wgt * p[1]; a2 += wgt * p[2]
                                }
                                trow[j * 3] = a0; trow[j * 3 + 1] = a1; trow[j * 3 + 2] = a2
                            } else {
                                for ch in 0..<c {
                                    var acc: Float = 0
                                    for k in lo..<hi { acc += xw[k] * srow[Int(xi[k]) * c + ch] }
                                    trow[j * c + ch] = acc
                                }
                            }
                        }
                    }
                }
            }
        }
        // Vertical pass into the output block.
        let rowFloats = cols.count * c
        let dst = out.data
        ys.offsets.withUnsafeBufferPointer { yo in
            ys.indices.withUnsafeBufferPointer { yi in
                ys.weights.withUnsafeBufferPointer { yw in
                    for i in 0..<rows.count {
                        let drow = dst + ((rows.lowerBound + i) * ow + cols.lowerBound) * c
                        for e in 0..<rowFloats { drow[e] = 0 }
                        for k in yo[i]..<yo[i + 1] {
                            let wgt = yw[k]
                            let trow = t + (Int(yi[k]) - r0) * rowFloats
                            for e in 0..<rowFloats { drow[e] += wgt * trow[e] }
                        }
                    }
                }
            }
        }
    }
}

/// The source taps of each output pixel along one axis (CSR layout):
/// output `j` reads `indices[offsets[j]..<offsets[j+1]]` with those `weights`,
/// which sum to 1.
struct AxisWeights {
    var offsets: [Int] = [0]
    var indices: [Int32] = []
    var weights: [Float] = []
    var minIndex = Int.max
    var maxIndex = 0

    init(inCount: Int, start: Double, length: Double, outCount: Int) {
        let scale = length / Double(outCount)
        for j in 0..<outCount {
            let s0 = start + Double(j) * scale
            var taps: [(Int, Double)] = []
            if scale >= 1 {
                // Area average over [s0, s0 + scale).
                let s1 = s0 + scale
                var k = Int(s0.rounded(.down))
                while Double(k) < s1 {
                    let overlap = min(s1, Double(k + 1)) - max(s0, Double(k))
                    if overlap > 1e-9 { taps.append((min(max(k, 0), inCount - 1), overlap)) }
                    k += 1
                }
            } else {
                // Bilinear at the centre of the output pixel.
                let centre = min(max(s0 + scale / 2 - 0.5, 0), Double(inCount - 1))
                let k0 = Int(centre.rounded(.down)), f = centre - Double(k0)
                taps.append((k0, 1 - f))
                if f > 1e-9 && k0 + 1 < inCount { taps.append((k0 + 1, f)) }
            }
            let total = taps.reduce(0) { $0 + $1.1 }
            for (k, wgt) in taps {
                indices.append(Int32(k))
                weights.append(Float(wgt / total))
                minIndex = min(minIndex, k)
                maxIndex = max(maxIndex, k)
            }
            offsets.append(indices.count)
        }
    }
}
