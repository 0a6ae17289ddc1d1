import Foundation
import RecurCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads lines from a file descriptor with read(2), returning each line as
/// soon as it has arrived (no read-ahead waits for more input), without
/// holding the whole stream.
///
/// Lines end at `\n`; a `\r` before it is dropped; a last line without a
/// newline still counts. Invalid UTF-8 and lines longer than `maxLineBytes`
/// are errors naming the stream and the line.
public final class LineReader {
    /// The stream's name: the path, or `<stdin>`.
    public let name: String
    /// The number of the last line returned (1-based).
    public private(set) var lineNumber = 0
    /// The longest line accepted, in bytes.
    public var maxLineBytes = 64 << 20

    private let fd: Int32
    private let ownsFD: Bool
    private var buffer: [UInt8] = []
    private var start = 0
    private var scanned = 0
    private var eof = false
    private static let chunkSize = 65536
    private var chunk: UnsafeMutablePointer<UInt8>?  // read(2) lands here, allocated on first read

    /// Reads `path`, or standard input when `path` is `-`.
    public init(path: String) throws {
        if path == "-" {
            name = "<stdin>"
            fd = 0
            ownsFD = false
            return
        }
        name = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RecurError(.io, "cannot open: \(String(cString: strerror(errno)))", file: path) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw RecurError(.io, "is a directory, not a text file", file: path)
        }
        self.fd = fd
        ownsFD = true
    }

    /// Reads an open descriptor, which stays open when the reader goes.
    public init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
        ownsFD = false
    }

    deinit {
        if ownsFD { close(fd) }
        chunk?.deallocate()
    }

    /// The next line, or nil at the end.
    public func next() throws -> String? {
        while true {
            if let nl = buffer[scanned...].firstIndex(of: 0x0A) {
                let line = buffer[start..<nl]
                start = nl + 1
                scanned = start
                return try decode(line)
            }
            scanned = buffer.count
            if eof {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                start = buffer.count
                scanned = start
                return try decode(line)
            }
            if buffer.count - start > maxLineBytes {
                throw RecurError(.format, "line \(lineNumber + 1): longer than \(maxLineBytes) bytes", file: name)
            }
            if start > 0 {
                buffer.removeSubrange(0..<start)
                scanned -= start
                start = 0
            }
            if chunk == nil { chunk = .allocate(capacity: LineReader.chunkSize) }
            let n = read(fd, chunk!, LineReader.chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw RecurError(.io, "read error: \(String(cString: strerror(errno)))", file: name)
            }
            if n == 0 { eof = true } else { buffer.append(contentsOf: UnsafeBufferPointer(start: chunk, count: n)) }
        }
    }

    private func decode(_ raw: ArraySlice<UInt8>) throws -> String {
        lineNumber += 1
        var bytes = raw
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw RecurError(.format, "line \(lineNumber): invalid UTF-8", file: name)
        }
        return s
    }
}
