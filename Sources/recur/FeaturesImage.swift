import ArgumentParser
import Foundation
import RecurCore
import RecurFrontends

extension ImageFit: ExpressibleByArgument {}

/// `recur features image`: PNG files to pooled grid feature matrices.
struct FeaturesImage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "PNG images to pooled grid feature vectors.",
        discussion: """
        Each image is decoded (any PNG colour type and bit depth; alpha composited on --background), \
        resized to --size × --size (--fit crop|pad|stretch), cut into a --grid × --grid grid, and \
        pooled into one 40-number vector per cell plus one for the whole image: a float32 .npy of \
        shape (grid·grid + 1, 40), cells row-major from the top left, the whole image last. \
        The 40 numbers: cell centre x, y, whole-image flag; RGB mean and std; CIE Lab mean and std (/100); \
        an 8-bin hue histogram; a 4-bin lightness histogram; an 8-bin gradient-orientation histogram; \
        edge density; mean gradient; dominant colour (see GridFeatures in RecurFrontends).

        One line per image on stdout: the file, where its features went, and their shape. \
        A file that fails is one line on stderr naming it and why; the others are still processed, \
        and the exit status is non-zero when any failed.
        """
    )

    @Argument(help: "PNG files.") var files: [String] = []
    @Option(help: "Cells per side of the grid.") var grid = 7
    @Option(help: "Side in pixels of the square the image is resized to first.") var size = 224
    @Option(help: "How another aspect ratio fits the square: crop, pad or stretch.") var fit: ImageFit = .crop
    @Option(help: "Colour transparent pixels are composited onto: RRGGBB, white, black or gray.") var background = "white"
    @Option(help: "Refuse images with more pixels than this (checked before decoding).") var maxPixels = 40_000_000
    @Option(help: "Write the features of the one input FILE here (.npy).") var out: String?
    @Option(help: "Write each input's features to DIR/<name>.npy.") var outDir: String?
    @Option(help: "Draw the grid, each cell's dominant colour and gradient direction over the one input image (PNG).") var png: String?
    @Option(help: "Draw that picture for each input to DIR/<name>.grid.png.") var pngDir: String?
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one PNG file") }
        guard grid >= 1 && grid <= 64 else { throw ValidationError("--grid must be in 1...64, got \(grid)") }
        guard size >= grid && size <= 4096 else { throw ValidationError("--size must be in \(grid)...4096, got \(size)") }
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be positive") }
        guard RGB8(parsing: background) != nil else { throw ValidationError("--background must be RRGGBB, white, black or gray, got '\(background)'") }
        if out != nil && outDir != nil { throw ValidationError("give --out or --out-dir, not both") }
        if png != nil && pngDir != nil { throw ValidationError("give --png or --png-dir, not both") }
        if out != nil && files.count > 1 { throw ValidationError("--out takes one input; use --out-dir DIR for \(files.count) files") }
        if png != nil && files.count > 1 { throw ValidationError("--png takes one input; use --png-dir DIR for \(files.count) files") }
    }

    func run() throws {
        try compute.apply()
        let reader = PNGReader(maxPixels: maxPixels, background: RGB8(parsing: background)!)
        let features = GridFeatures(GridFeatureConfig(grid: grid, size: size, fit: fit))
        for dir in [outDir, pngDir].compactMap({ $0 }) {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw RecurError(.io, "cannot create directory: \(error.localizedDescription)", file: dir)
            }
        }
        var failures = 0
        var written: [String: String] = [:]
        for file in files {
            do {
                let stem = (URL(fileURLWithPath: file).lastPathComponent as NSString).deletingPathExtension
                let npyPath = out ?? outDir.map { URL(fileURLWithPath: $0).appendingPathComponent(stem + ".npy").path }
                let pngPath = png ?? pngDir.map { URL(fileURLWithPath: $0).appendingPathComponent(stem + ".grid.png").path }
                for p in [npyPath, pngPath].compactMap({ $0 }) {
                    if let other = written[p] { throw RecurError(.usage, "would overwrite \(p), already written for \(other)", file: file) }
                }
                let image = try reader.readRGB8(path: file).tensor()
                let resized = features.resized(image)
                let matrix = features.extract(fromResized: resized)
                if let npyPath {
                    try NPY.write(matrix, to: npyPath)
                    written[npyPath] = file
                }
                if let pngPath {
                    let pic = GridOverlay.render(resized: resized, features: matrix, grid: grid, scale: max(1, 448 / size))
                    try PNGWriter.write(path: pngPath, width: pic.width, height: pic.height, rgb: pic.pixels)
                    written[pngPath] = file
                }
                var line = "\(file)\t\(npyPath ?? "-")\t\(matrix.shape[0])x\(matrix.shape[1])"
                if let pngPath { line += "\t\(pngPath)" }
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            } catch let e as RecurError {
                printError(e.naming(file).description)
                failures += 1
            } catch {
                printError("\(file): \(error)")
                failures += 1
            }
        }
        if failures > 0 {
            printError("\(failures) of \(files.count) images failed")
            throw ExitCode.failure
        }
    }
}

/// Timings for `recur bench frontend`: pooled grid features of a 640×480 PNG
/// (a deterministic synthetic picture written to a temporary PNG and decoded
/// first). "after decoding" covers bytes → floats, the resize to 224 and the
/// 7×7 + 1 pooled vectors; the decoding is timed on its own.
func benchPooledImageFeatures(runs: Int) throws -> [[String: Any]] {
    let w = 640, h = 480
    var rng = RNG(seed: 5)
    var px = [UInt8](repeating: 0, count: w * h * 3)
    for y in 0..<h {
        for x in 0..<w {
            let o = (y * w + x) * 3
            let inDisc = (x - 420) * (x - 420) + (y - 200) * (y - 200) < 90 * 90
            px[o] = inDisc ? 220 : UInt8(x * 255 / w)
            px[o + 1] = inDisc ? 40 : UInt8(y * 255 / h)
            px[o + 2] = UInt8(truncatingIfNeeded: 128 + rng.int(below: 64) - 32)
        }
    }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("recur-bench-\(getpid()).png").path
    defer { unlink(path) }
    try PNGWriter.write(path: path, width: w, height: h, rgb: px)
    let reader = PNGReader()
    var decoded = try reader.readRGB8(path: path)
    let tDecode = medianTime(runs: runs) { decoded = (try? reader.readRGB8(path: path)) ?? decoded }
    let features = GridFeatures()
    var rows = 0
    let tAll = medianTime(runs: runs) { rows = features(decoded.tensor()).shape[0] }
    let image = decoded.tensor()
    let resized = features.resized(image)
    let tResize = medianTime(runs: runs) { _ = features.resized(image).shape }
    let tPool = medianTime(runs: runs) { _ = features.extract(fromResized: resized).shape }
    return [
        ["workload": "640×480 PNG to (7×7+1)×\(GridFeatures.dimension) features, after decoding",
         "milliseconds": tAll * 1e3, "rows": rows],
        ["workload": "  of which the resize to 224×224 (crop)", "milliseconds": tResize * 1e3, "rows": 224],
        ["workload": "  of which the grid pooling", "milliseconds": tPool * 1e3, "rows": rows],
        ["workload": "640×480 PNG decoding (libpng; not in the target)", "milliseconds": tDecode * 1e3, "rows": h],
    ]
}
