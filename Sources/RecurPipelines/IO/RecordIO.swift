import Foundation
import RecurCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads what a text-consuming command gets: plain lines or stage records,
/// told apart once per stream.
///
/// **Detection rule.** The first line that is not blank decides, for the
/// whole stream: when it starts with `{` (after spaces and a UTF-8 byte-order
/// mark) *and* parses as a JSON object, the stream is JSON Lines of
/// `StageRecord`s; otherwise it is plain text. So a plain file whose first
/// line merely begins with `{` stays plain, and nothing is guessed line by
/// line afterwards.
///
/// - Plain text: every line is one record, blank lines included (a command
///   writes an empty line for each, so output lines match input lines), with
///   `text` the line and `source` = `{file, line}`.
/// - JSON Lines: blank lines are skipped; any other line that is not a valid
///   record is an error naming the stream and the line. A record without
///   `source` gets `{file, line}` of this stream; a record with one keeps it,
///   along with its times and every other key.
///
/// Lines end at `\n` (a `\r` before it is dropped); invalid UTF-8 is an error
/// naming the line. Reading is streaming: each record is returned as soon as
/// its line has arrived, so a pipe's first record is processed before the
/// writer has finished.
public final class RecordReader {
    public enum Mode: String, Sendable { case plain, records }

    /// The stream's name in sources and errors: the path, or `<stdin>`.
    public var name: String { lines.name }
    /// Plain or records; nil until the first non-blank line has been read.
    public private(set) var mode: Mode?
    /// The number of the last line read (1-based).
    public var lineNumber: Int { lines.lineNumber }

    private let lines: LineReader
    private var pendingBlank = 0        // blank lines before the deciding line
    private var pendingBlankFirst = 0   // line number of the first of them
    private var decided: StageRecord?   // the deciding line's record, not yet returned
    private var first = true

    /// Reads `path`, or standard input when `path` is `-`.
    public init(path: String) throws {
        lines = try LineReader(path: path)
    }

    /// Reads an open descriptor (not closed by the reader), named `name`.
    public init(fd: Int32, name: String) {
        lines = LineReader(fd: fd, name: name)
    }

    /// Reads an expanded input (a failed item throws its error).
    public convenience init(input: InputItem) throws {
        try self.init(path: input.path())
    }

    /// Standard input.
    public static func standardInput() throws -> RecordReader { try RecordReader(path: "-") }

    /// The next record, or nil at the end of the stream.
    public func next() throws -> StageRecord? {
        if mode == nil { try decide() }
        if pendingBlank > 0 {
            pendingBlank -= 1
            let n = pendingBlankFirst
            pendingBlankFirst += 1
            return StageRecord(source: StageSource(file: name, line: n), text: "")
        }
        if let d = decided { decided = nil; return d }
        while let line = try nextLine() {
            switch mode! {
            case .plain:
                return StageRecord(source: StageSource(file: name, line: lineNumber), text: line)
            case .records:
                if line.allSatisfy(\.isWhitespace) { continue }
                return try record(line)
            }
        }
        return nil
    }

    /// Calls `body` with every remaining record.
    public func forEach(_ body: (StageRecord) throws -> Void) throws {
        while let r = try next() { try body(r) }
    }

    /// Every remaining record.
    public func readAll() throws -> [StageRecord] {
        var all: [StageRecord] = []
        try forEach { all.append($0) }
        return all
    }

    private func nextLine() throws -> String? {
        guard var line = try lines.next() else { return nil }
        if first {
            first = false
            if line.unicodeScalars.first == "\u{FEFF}" { line.unicodeScalars.removeFirst() }
        }
        return line
    }

    private func decide() throws {
        while let line = try nextLine() {
            if line.allSatisfy(\.isWhitespace) {
                if pendingBlank == 0 { pendingBlankFirst = lineNumber }
                pendingBlank += 1
                continue
            }
            if line.drop(while: \.isWhitespace).first == "{", case .object(let o)? = try? JSONValue.parse(line) {
                mode = .records
                pendingBlank = 0
                decided = try record(o)
            } else {
                mode = .plain
                decided = StageRecord(source: StageSource(file: name, line: lineNumber), text: line)
            }
            return
        }
        mode = .plain  // only blank lines, or nothing
    }

    private func record(_ line: String) throws -> StageRecord {
        let v: JSONValue
        do { v = try JSONValue.parse(line) } catch let e as RecurError {
            throw RecurError(.format, "line \(lineNumber): \(e.reason) (the stream began with a JSON record, so every line must be one)", file: name)
        }
        guard case .object(let o) = v else {
            throw RecurError(.format, "line \(lineNumber): expected a JSON object, found \(v.kindName)", file: name)
        }
        return try record(o)
    }

    private func record(_ o: JSONObject) throws -> StageRecord {
        var r: StageRecord
        do { r = try StageRecord(json: o) } catch let e as RecurError {
            throw RecurError(.format, "line \(lineNumber): \(e.reason)", file: name)
        }
        if r.source == nil { r.source = StageSource(file: name, line: lineNumber) }
        return r
    }
}

/// How a command writes its results on stdout.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// One line of text per record (newlines inside a text become spaces).
    case plain
    /// One compact JSON object per record (`--jsonl`).
    case jsonl
}

/// Thrown when the reader of our output has gone away (EPIPE): the command
/// should stop quietly and exit with `ExitStatus.outputClosed`.
public struct OutputClosed: Error, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "the output was closed by its reader" }
}

/// Writes results one line at a time straight to a file descriptor with
/// write(2): no stdio or Foundation buffering, so every line is in the pipe
/// (or FIFO, `tee`, a Python `subprocess` reading line by line) as soon as
/// `write` returns, without `stdbuf`.
///
/// JSON is compact, keys in `StageRecord`'s documented order. A write to a
/// closed pipe throws `OutputClosed` (call `UnixManners.ignoreSIGPIPE()` once
/// at start so that it is an error rather than a signal); other failures
/// throw `RecurError(.io)` naming the output. Use from one thread at a time.
public final class RecordWriter {
    public let fd: Int32
    public let name: String
    public let format: OutputFormat
    /// Lines written so far.
    public private(set) var linesWritten = 0

    /// A writer on `fd` (stdout by default).
    public init(fd: Int32 = 1, name: String = "<stdout>", format: OutputFormat = .plain) {
        self.fd = fd
        self.name = name
        self.format = format
    }

    /// Writes `record` in this writer's format.
    public func write(_ record: StageRecord) throws {
        switch format {
        case .plain: try writeLine(RecordWriter.oneLine(record.text))
        case .jsonl: try writeLine(record.jsonLine)
        }
    }

    /// Writes `text` and a newline in one write(2) call (looping only for a
    /// partial write). `text` should not hold a newline.
    public func writeLine(_ text: String) throws {
        var bytes = Array(text.utf8)
        bytes.append(0x0A)
        try bytes.withUnsafeBytes { try writeAll($0) }
        linesWritten += 1
    }

    /// `text` with every line break replaced by a space, so that one record
    /// stays one line.
    public static func oneLine(_ text: String) -> String {
        guard text.contains(where: \.isNewline) else { return text }
        return String(text.map { $0.isNewline ? " " : $0 })
    }

    private func writeAll(_ buf: UnsafeRawBufferPointer) throws {
        guard var p = buf.baseAddress else { return }
        var left = buf.count
        while left > 0 {
            let n = Glibc.write(fd, p, left)
            if n >= 0 { p += n; left -= n; continue }
            switch errno {
            case EINTR: continue
            case EPIPE: throw OutputClosed()
            case EAGAIN:
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, -1)
            default:
                throw RecurError(.io, "cannot write: \(String(cString: strerror(errno)))", file: name)
            }
        }
    }
}
