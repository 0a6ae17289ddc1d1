import CPNG
import Foundation
import RecurCore

/// An 8-bit sRGB picture in memory: `pixels` holds `height` rows of `width`
/// pixels, 3 bytes (R, G, B) each, top row first.
public struct RGB8Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGB8Image: \(width)×\(height) needs \(width * height * 3) bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The picture as floats in [0, 1]: shape `(height, width, 3)`.
    public func tensor() -> Tensor {
        let t = Tensor(zeros: [height, width, 3])
        let dst = t.data
        pixels.withUnsafeBufferPointer { src in
            let scale: Float = 1 / 255
            for i in 0..<src.count { dst[i] = Float(src[i]) * scale }
        }
        return t
    }
}

/// An sRGB colour with 8-bit channels (a background to composite alpha on).
public struct RGB8: Sendable, Equatable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    public static let white = RGB8(255, 255, 255)
    public static let black = RGB8(0, 0, 0)

    /// Parses `RRGGBB` or `#RRGGBB` (hex), or the names `white`, `black`, `gray`.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "white": self = .white; return
        case "black": self = .black; return
        case "gray", "grey": self = RGB8(128, 128, 128); return
        default: break
        }
        var s = Substring(text)
        if s.hasPrefix("#") { s = s.dropFirst() }
        guard s.count == 6, let v = UInt32(s, radix: 16) else { return nil }
        self = RGB8(UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff))
    }
}

/// Reads PNG files of every colour type and bit depth (gray, gray+alpha, RGB,
/// RGBA, palette with or without tRNS; 1 to 16 bits per channel; interlaced or
/// not) through libpng's simplified `png_image` API, into 8-bit sRGB.
///
/// - 8-bit and smaller samples come out as libpng's 8-bit sRGB (1, 2 and
///   4-bit samples scaled up exactly: 4-bit 1 → 17).
/// - 16-bit samples are read as stored and scaled: `(v·255 + 32767) / 65535`
///   (libpng 1.6.39's own 16-to-8-bit conversion scrambles interlaced images;
///   colour-space chunks of 16-bit files are not applied).
/// - Alpha (an alpha channel or a tRNS chunk) is composited onto `background`
///   in sRGB values, per channel, a straight alpha blend rounded to nearest:
///   8-bit `out = (c·a + bg·(255 − a) + 127) / 255`; 16-bit from libpng's
///   premultiplied samples `c′ ≈ c·a/65535`: `out = (c′·255 + bg·(65535 − a) + 32767) / 65535`
///   (within 1 of the exact blend).
/// - Images of more than `maxPixels` pixels are refused after reading the
///   header and before any pixel is decoded.
/// - Every failure is a `RecurError` naming the file: not a PNG, truncated,
///   bad CRC, dimensions over the limit, or libpng's own message.
public struct PNGReader: Sendable {
    /// The largest `width * height` accepted (default 40 megapixels).
    public var maxPixels: Int
    /// What transparent pixels are composited onto (default white).
    public var background: RGB8

    public init(maxPixels: Int = 40_000_000, background: RGB8 = .white) {
        self.maxPixels = maxPixels
        self.background = background
    }

    /// Decodes the PNG file at `path`.
    public func readRGB8(path: String) throws -> RGB8Image {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
                throw RecurError(.io, isDir.boolValue ? "is a directory, not a PNG file" : "cannot read file", file: path)
            }
            throw RecurError(.io, "no such file", file: path)
        }
        return try decode([UInt8](data), name: path)
    }

    /// Decodes the PNG file at `path` to floats in [0, 1]: shape `(height, width, 3)`.
    public func read(path: String) throws -> Tensor {
        try readRGB8(path: path).tensor()
    }

    /// Decodes a PNG held in memory; `name` is what errors call it.
    public func decode(_ bytes: [UInt8], name: String) throws -> RGB8Image {
        try PNGReader.checkStructure(bytes, name: name)
        // libpng reads from the bytes during both calls: keep one pointer for both.
        return try bytes.withUnsafeBytes { raw in try decode(raw, name: name) }
    }

    private func decode(_ raw: UnsafeRawBufferPointer, name: String) throws -> RGB8Image {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let begun = png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count)
        guard begun != 0 else {
            let message = PNGReader.message(of: image)
            png_image_free(&image)
            throw PNGReader.error(libpng: message, name: name)
        }
        let width = Int(image.width), height = Int(image.height)
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > maxPixels {
            png_image_free(&image)
            throw RecurError(.value, "image dimensions \(width)×\(height) (\(overflow ? "too many" : String(pixels)) pixels) are over the limit of \(maxPixels) pixels", file: name)
        }
        let hasAlpha = image.format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
        let sixteen = image.format & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0
        let channels = hasAlpha ? 4 : 3
        let bg = (UInt32(background.r), UInt32(background.g), UInt32(background.b))
        var rgb = [UInt8](repeating: 0, count: pixels * 3)
        if sixteen {
            // 16-bit files are read at full precision as stored (libpng 1.6.39
            // scrambles interlaced 16-bit images when it converts them to 8 bits
            // itself) and scaled here. Without PNG_IMAGE_FLAG_16BIT_sRGB libpng
            // takes the samples as linear and passes them through; with alpha
            // it gives them premultiplied, which is what compositing needs.
            image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_LINEAR) | (hasAlpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
            var buffer = [UInt16](repeating: 0, count: pixels * channels)
            try PNGReader.finishRead(&image, into: &buffer, rowSamples: width * channels, name: name)
            buffer.withUnsafeBufferPointer { src in
                rgb.withUnsafeMutableBufferPointer { dst in
                    if hasAlpha {
                        for i in 0..<pixels {
                            let na = 65535 - UInt32(src[4 * i + 3])
                            dst[3 * i] = UInt8((UInt32(src[4 * i]) * 255 + bg.0 * na + 32767) / 65535)
                            dst[3 * i + 1] = UInt8((UInt32(src[4 * i + 1]) * 255 + bg.1 * na + 32767) / 65535)
                            dst[3 * i + 2] = UInt8((UInt32(src[4 * i + 2]) * 255 + bg.2 * na + 32767) / 65535)
                        }
                    } else {
                        for i in 0..<(pixels * 3) { dst[i] = UInt8((UInt32(src[i]) * 255 + 32767) / 65535) }
                    }
                }
            }
            return RGB8Image(width: width, height: height, pixels: rgb)
        }
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR) | (hasAlpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
        var buffer = [UInt8](repeating: 0, count: pixels * channels)
        try PNGReader.finishRead(&image, into: &buffer, rowSamples: width * channels, name: name)
        guard hasAlpha else { return RGB8Image(width: width, height: height, pixels: buffer) }
        buffer.withUnsafeBufferPointer { src in
            rgb.withUnsafeMutableBufferPointer { dst in
                for i in 0..<pixels {
                    let a = UInt32(src[4 * i + 3]), na = 255 - a
                    dst[3 * i] = UInt8((UInt32(src[4 * i]) * a + bg.0 * na + 127) / 255)
                    dst[3 * i + 1] = UInt8((UInt32(src[4 * i + 1]) * a + bg.1 * na + 127) / 255)
                    dst[3 * i + 2] = UInt8((UInt32(src[4 * i + 2]) * a + bg.2 * na + 127) / 255)
                }
            }
        }
        return RGB8Image(width: width, height: height, pixels: rgb)
    }

    /// The PNG signature every file starts with.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Checks the signature and walks the chunk lengths (without decoding) so
    /// that a cut-off file is reported as truncated rather than by libpng's
    /// less telling read error.
    static func checkStructure(_ b: [UInt8], name: String) throws {
        guard b.count >= 8, Array(b[0..<8]) == signature else {
            if b.isEmpty { throw RecurError(.format, "not a PNG file (empty file)", file: name) }
            throw RecurError(.format, "not a PNG file (no PNG signature)", file: name)
        }
        var pos = 8
        while true {
            guard pos + 8 <= b.count else {
                throw RecurError(.format, "truncated PNG: file ends after \(b.count) bytes, before the IEND chunk", file: name)
            }
            let length = Int(b[pos]) << 24 | Int(b[pos + 1]) << 16 | Int(b[pos + 2]) << 8 | Int(b[pos + 3])
            let type = String(decoding: b[(pos + 4)..<(pos + 8)], as: UTF8.self)
            guard length <= 0x7fff_ffff else {
                throw RecurError(.format, "invalid PNG: chunk \(type) declares length \(length)", file: name)
            }
            let end = pos + 8 + length + 4
            guard end <= b.count else {
                throw RecurError(.format, "truncated PNG: file ends inside chunk \(type) (\(b.count - pos - 8) of \(length + 4) bytes present)", file: name)
            }
            if type == "IEND" { return }
            pos = end
        }
    }

    /// libpng's message for a failed simplified-API call.
    /// Decodes the pixels into `buffer` (rows of `rowSamples` samples);
    /// finish_read frees libpng's state on success and on failure.
    static func finishRead<T>(_ image: inout png_image, into buffer: inout [T], rowSamples: Int, name: String) throws {
        let ok = buffer.withUnsafeMutableBytes { out in
            png_image_finish_read(&image, nil, out.baseAddress, Int32(rowSamples), nil)
        }
        guard ok != 0 else {
            let message = PNGReader.message(of: image)
            png_image_free(&image)
            throw PNGReader.error(libpng: message, name: name)
        }
    }

    static func message(of image: png_image) -> String {
        var m = image.message
        return withUnsafeBytes(of: &m) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    static func error(libpng message: String, name: String) -> RecurError {
        let lower = message.lowercased()
        if lower.contains("crc") { return RecurError(.format, "bad CRC (libpng: \(message))", file: name) }
        if lower.contains("not a png") || lower.contains("signature") {
            return RecurError(.format, "not a PNG file (libpng: \(message))", file: name)
        }
        if lower.contains("end of") || lower.contains("read beyond") || lower.contains("truncat") || lower.contains("not enough image data") {
            return RecurError(.format, "truncated PNG (libpng: \(message))", file: name)
        }
        return RecurError(.format, "invalid PNG (libpng: \(message))", file: name)
    }
}
