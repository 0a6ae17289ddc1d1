import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file all at once or not at all.
///
/// The bytes go to a temporary file in the destination's directory (named
/// `.<name>.tmp-<pid>-<random>`), which is flushed to disk with `fsync` and then
/// renamed over the destination; the directory is synced too, so after a crash
/// the destination holds either the old content or the new, never a mix. On
/// any failure, including an error thrown by the caller's closure, the
/// temporary file is removed and the destination is left as it was.
///
///     try AtomicFile.write(to: "out/model.safetensors") { out in
///         try out.write(header)
///         try out.write(body)
///     }
public enum AtomicFile {
    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { try $0.write(data) }
    }

    /// Writes `text` (UTF-8) to `path` atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(to: path) { try $0.write(Data(text.utf8)) }
    }

    /// Calls `body` with an `Output` for the new content, then puts the file in
    /// place. Errors are `RecurError(.io, ...)` naming `path`, or whatever
    /// `body` throws.
    public static func write(to path: String, _ body: (Output) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else {
            throw RecurError(.io, "cannot write: directory \(dir) does not exist", file: path)
        }
        guard isDir.boolValue else {
            throw RecurError(.io, "cannot write: \(dir) is not a directory", file: path)
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw RecurError(.io, "cannot write: a directory is in the way", file: path)
        }
        let temp = dir + "/." + name + ".tmp-\(getpid())-" + String(UInt32.random(in: 0 ... .max), radix: 16)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw RecurError(.io, "cannot create a file in \(dir): \(errnoText())", file: path)
        }
        let out = Output(fd: fd, path: path)
        do {
            try body(out)
            try out.flush()
            guard fsync(fd) == 0 else { throw RecurError(.io, "cannot write: fsync failed: \(errnoText())", file: path) }
            out.closed = true
            guard close(fd) == 0 else { throw RecurError(.io, "cannot write: close failed: \(errnoText())", file: path) }
            guard rename(temp, path) == 0 else {
                throw RecurError(.io, "cannot move the new file into place: \(errnoText())", file: path)
            }
        } catch {
            if !out.closed { close(fd) }
            unlink(temp)
            throw error
        }
        // Make the rename itself durable. A failure here leaves a complete file,
        // so it is not reported.
        let dfd = open(dir, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// The sink `write(to:_:)` hands its closure: buffered writes to the
    /// temporary file. Valid only inside that closure.
    public final class Output {
        fileprivate let fd: Int32
        fileprivate var closed = false
        private let path: String
        private var buffer: [UInt8] = []
        private static let bufferSize = 1 << 20

        fileprivate init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
            buffer.reserveCapacity(Output.bufferSize)
        }

        /// Appends raw bytes.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            if buffer.count + bytes.count > Output.bufferSize { try flush() }
            if bytes.count >= Output.bufferSize {
                try writeAll(bytes)
            } else {
                buffer.append(contentsOf: bytes)
            }
        }

        public func write(_ data: Data) throws {
            try data.withUnsafeBytes { try write($0) }
        }

        public func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }

        fileprivate func flush() throws {
            guard !buffer.isEmpty else { return }
            try buffer.withUnsafeBytes { try writeAll($0) }
            buffer.removeAll(keepingCapacity: true)
        }

        private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
            guard var p = bytes.baseAddress else { return }
            var left = bytes.count
            while left > 0 {
                let n = systemWrite(fd, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw RecurError(.io, "cannot write: \(errnoText())", file: path)
                }
                p += n
                left -= n
            }
        }
    }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, p, n)
    #else
    Darwin.write(fd, p, n)
    #endif
}
