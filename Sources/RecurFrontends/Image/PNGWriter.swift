import CPNG
import Foundation
import RecurCore

/// Writes 8-bit RGB pictures (spectrograms, feature overlays) as PNG through
/// libpng's simplified API.
///
/// The file is written to a temporary name beside `path` and renamed over it,
/// so a crash never leaves a half-written picture.
public enum PNGWriter {
    /// Writes `rgb` (row-major, 3 bytes per pixel, top row first,
    /// `width * height * 3` bytes) as an 8-bit RGB PNG at `path`.
    public static func write(path: String, width: Int, height: Int, rgb: [UInt8]) throws {
        guard width > 0, height > 0, width <= Int(Int32.max) / 3, height <= Int(Int32.max) else {
            throw RecurError(.value, "cannot write a \(width)×\(height) picture", file: path)
        }
        guard rgb.count == width * height * 3 else {
            throw RecurError(.shape, "picture of \(width)×\(height) needs \(width * height * 3) RGB bytes, got \(rgb.count)", file: path)
        }
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_RGB)
        let ok = rgb.withUnsafeBytes { raw in
            png_image_write_to_file(&image, tmp, 0, raw.baseAddress, Int32(width * 3), nil)
        }
        if ok == 0 {
            let message = PNGReader.message(of: image)
            png_image_free(&image)
            unlink(tmp)
            throw RecurError(.io, "cannot write PNG: \(message)", file: path)
        }
        png_image_free(&image)
        if rename(tmp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw RecurError(.io, "cannot rename temporary file into place: \(reason)", file: path)
        }
    }
}
