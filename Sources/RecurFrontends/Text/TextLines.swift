import Foundation
import RecurCore

/// Reads text line by line from a file or stdin without holding it all,
/// checking UTF-8 on every line.
///
/// Lines end at `\n` (a `\r` before it is dropped); a last line without a
/// newline still counts. Invalid UTF-8 is an error naming the file and the
/// line, or, with `replaceInvalid`, is replaced by U+FFFD and counted in
/// `replacedLines`.
public final class TextLineReader {
    public let name: String
    public let replaceInvalid: Bool
    public private(set) var lineNumber = 0
    public private(set) var replacedLines = 0
    private let fd: Int32
    private let ownsFD: Bool
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false

    /// Reads `path`, or stdin when `path` is `-`.
    public init(path: String, replaceInvalid: Bool = false) throws {
        self.replaceInvalid = replaceInvalid
        if path == "-" {
            name = "<stdin>"
            fd = 0
            ownsFD = false
        } else {
            name = path
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
                throw RecurError(.io, "is a directory, not a text file", file: path)
            }
            fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw RecurError(.io, "cannot open: \(String(cString: strerror(errno)))", file: path) }
            ownsFD = true
        }
    }

    deinit { if ownsFD { close(fd) } }

    /// The next line, or nil at the end.
    public func next() throws -> String? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                let bytes = buffer[start..<nl]
                start = nl + 1
                return try decode(bytes)
            }
            if eof {
                guard start < buffer.count else { return nil }
                let bytes = buffer[start...]
                start = buffer.count
                return try decode(bytes)
            }
            if start > 0 { buffer.removeSubrange(0..<start); start = 0 }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RecurError(.io, "read error: \(String(cString: strerror(errno)))", file: name)
            }
            if n == 0 { eof = true } else { buffer.append(contentsOf: chunk[0..<n]) }
        }
    }

    private func decode(_ raw: ArraySlice<UInt8>) throws -> String {
        lineNumber += 1
        var bytes = raw
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        guard replaceInvalid else {
            throw RecurError(.format, "line \(lineNumber): invalid UTF-8 (use --replace-invalid to replace it with U+FFFD)", file: name)
        }
        replacedLines += 1
        return String(decoding: bytes, as: UTF8.self)
    }
}
