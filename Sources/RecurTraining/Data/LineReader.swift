// Byte-level line and field splitting for the dataset readers.
//
// Files are read whole (the largest real set, eng-fra, is 10 MB) and split on
// LF with memchr, so reading stays fast even in a debug build. A trailing CR
// (CRLF files) and a UTF-8 byte-order mark on the first line are removed.
// Fields are validated as UTF-8 one by one, so a bad byte is reported with its
// line instead of failing the whole file.
import Foundation
import RecurCore

enum LineReader {
    /// The bytes of `path`, or a `RecurError(.io)` naming it.
    static func load(_ path: String) throws -> Data {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw RecurError(.io, "no such file", file: path)
        }
        if isDir.boolValue { throw RecurError(.io, "is a directory, not a file", file: path) }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RecurError(.io, "cannot read: \(error.localizedDescription)", file: path)
        }
    }

    /// Calls `body(lineNumber, bytes)` for every line of `data` (1-based; the
    /// empty remainder after a final LF is not a line).
    static func forEachLine(_ data: Data, _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress, raw.count > 0 else { return }
            let bytes = base.assumingMemoryBound(to: UInt8.self)
            let n = raw.count
            var start = 0
            // UTF-8 byte-order mark.
            if n >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
            var lineNo = 0
            while start < n {
                lineNo += 1
                let rest = n - start
                let hit = memchr(bytes + start, 0x0A, rest)
                var end = hit.map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) - bytes } ?? n
                let next = end + 1
                if end > start, bytes[end - 1] == 0x0D { end -= 1 }
                try body(lineNo, UnsafeBufferPointer(start: bytes + start, count: end - start))
                start = next
            }
        }
    }

    /// True when the line holds only ASCII spaces, tabs or CRs.
    static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in line where b != 0x20 && b != 0x09 && b != 0x0D { return false }
        return true
    }

    /// `bytes` without ASCII spaces at either edge.
    static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard let base = bytes.baseAddress else { return bytes }
        var lo = 0, hi = bytes.count
        while lo < hi, bytes[lo] == 0x20 { lo += 1 }
        while hi > lo, bytes[hi - 1] == 0x20 { hi -= 1 }
        return UnsafeBufferPointer(start: base + lo, count: hi - lo)
    }

    /// The line as a String, or nil when it is not valid UTF-8.
    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        String(validating: bytes, as: UTF8.self)
    }
}

/// How a delimited file separates fields.
public enum Delimiter: Sendable, Equatable {
    /// Tab-separated, no quoting (a field may hold any character but TAB and LF).
    case tab
    /// Comma-separated with RFC 4180 quoting on one line: `"a, b"`, `""` for a
    /// quote. A quoted field may not span lines (reported as a bad line).
    case comma

    /// `.comma` for a `.csv` file, `.tab` otherwise.
    public static func forFile(_ path: String) -> Delimiter {
        path.lowercased().hasSuffix(".csv") ? .comma : .tab
    }
}

/// A column chosen by header name or by 0-based index.
public enum Column: Sendable, Equatable, CustomStringConvertible, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case name(String)
    case index(Int)

    public init(stringLiteral value: String) { self = .name(value) }
    public init(integerLiteral value: Int) { self = .index(value) }

    public var description: String {
        switch self {
        case .name(let n): return "column \"\(n)\""
        case .index(let i): return "column \(i)"
        }
    }
}

/// A delimited file read into rows of string fields.
struct DelimitedRows {
    /// Field names (empty without a header).
    var header: [String] = []
    /// (line number, fields); blank and bad lines are left out.
    var rows: [(line: Int, fields: [String])] = []
    /// Lines that could not be split or had the wrong width, in line order;
    /// `forEachRow` hands them to the log in order with the readers' own checks.
    var unsplit: [(line: Int, reason: String)] = []
    var log: BadLineLog

    /// Reads `path`. With `hasHeader`, the first non-blank line names the
    /// columns and every row must have as many fields; without, every row must
    /// have `columnCount` fields (or, when nil, as many as the first non-blank line).
    /// ASCII spaces at the edges of fields are trimmed.
    init(path: String, delimiter: Delimiter, hasHeader: Bool, columnCount: Int?, options: ReadOptions) throws {
        log = BadLineLog(options, files: [path])
        let data = try LineReader.load(path)
        var expected = columnCount
        var needHeader = hasHeader
        var lines = 0, blank = 0
        var header: [String] = []
        var rows: [(line: Int, fields: [String])] = []
        var unsplit: [(line: Int, reason: String)] = []
        try LineReader.forEachLine(data) { lineNo, bytes in
            lines = lineNo
            if LineReader.isBlank(bytes) { blank += 1; return }
            let fields: [String]
            switch DelimitedRows.split(bytes, delimiter) {
            case .failure(let reason):
                if needHeader { throw RecurError(.format, "line \(lineNo): header: \(reason)", file: path) }
                unsplit.append((lineNo, reason.description)); return
            case .success(let f): fields = f
            }
            if needHeader {
                needHeader = false
                header = fields
                if let dup = DelimitedRows.firstDuplicate(fields) {
                    throw RecurError(.format, "line \(lineNo): header names column \"\(dup)\" twice", file: path)
                }
                if let e = expected, e != fields.count {
                    throw RecurError(.format, "line \(lineNo): header has \(fields.count) columns, expected \(e)", file: path)
                }
                expected = fields.count
                return
            }
            if expected == nil { expected = fields.count }
            if fields.count != expected! {
                unsplit.append((lineNo, "wrong column count: \(fields.count) fields, expected \(expected!)"))
                return
            }
            rows.append((lineNo, fields))
        }
        if needHeader { throw RecurError(.format, "no header line (the file is empty)", file: path) }
        log.report.lines = lines
        log.report.blankLines = blank
        self.header = header
        self.rows = rows
        self.unsplit = unsplit
    }

    /// Calls `check` on every row in line order; a reason it returns, or a
    /// line that could not be split, goes to the bad-line log in line order
    /// (so `.fail` stops at the first bad line of the file, whatever is wrong with it).
    mutating func forEachRow(path: String, _ check: (Int, [String]) -> String?) throws {
        var u = 0
        for (line, fields) in rows {
            while u < unsplit.count, unsplit[u].line < line {
                try log.bad(path, unsplit[u].line, unsplit[u].reason)
                u += 1
            }
            if let reason = check(line, fields) { try log.bad(path, line, reason) }
        }
        while u < unsplit.count {
            try log.bad(path, unsplit[u].line, unsplit[u].reason)
            u += 1
        }
    }

    /// The 0-based index of `column`, checked against the header or the row width.
    func index(of column: Column, path: String) throws -> Int {
        switch column {
        case .name(let n):
            guard !header.isEmpty else {
                throw RecurError(.usage, "\(column) needs a header line naming the columns; give a column index instead", file: path)
            }
            guard let i = header.firstIndex(of: n) else {
                throw RecurError(.format, "no \(column) in the header (columns: \(header.joined(separator: ", ")))", file: path)
            }
            return i
        case .index(let i):
            let width = header.isEmpty ? (rows.first?.fields.count ?? Int.max) : header.count
            guard i >= 0, i < width else {
                throw RecurError(.usage, "\(column) is out of range: the file has \(width) columns", file: path)
            }
            return i
        }
    }

    static func firstDuplicate(_ names: [String]) -> String? {
        var seen = Set<String>()
        for n in names where !seen.insert(n).inserted { return n }
        return nil
    }

    /// Splits one line into UTF-8 fields, or says why it cannot.
    static func split(_ bytes: UnsafeBufferPointer<UInt8>, _ delimiter: Delimiter) -> Result<[String], LineError> {
        switch delimiter {
        case .tab: return splitTSV(bytes)
        case .comma: return splitCSV(bytes)
        }
    }

    struct LineError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    static func splitTSV(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<[String], LineError> {
        var fields: [String] = []
        guard let base = bytes.baseAddress else { return .success([""]) }
        var start = 0
        let n = bytes.count
        while true {
            let hit = memchr(base + start, 0x09, n - start)
            let end = hit.map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) - base } ?? n
            let field = LineReader.trimmed(UnsafeBufferPointer(start: base + start, count: end - start))
            guard let s = LineReader.string(field) else {
                return .failure(LineError("invalid UTF-8 in field \(fields.count + 1)"))
            }
            fields.append(s)
            if end >= n { break }
            start = end + 1
        }
        return .success(fields)
    }

    static func splitCSV(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<[String], LineError> {
        var fields: [String] = []
        var current: [UInt8] = []
        var i = 0
        let n = bytes.count
        func finish() -> LineError? {
            let trimmed: [UInt8] = current.withUnsafeBufferPointer { Array(LineReader.trimmed($0)) }
            guard let s = String(validating: trimmed, as: UTF8.self) else {
                return LineError("invalid UTF-8 in field \(fields.count + 1)")
            }
            fields.append(s)
            current.removeAll(keepingCapacity: true)
            return nil
        }
        while i <= n {
            // Start of a field: skip spaces, then a quoted or plain field.
            var j = i
            while j < n, bytes[j] == 0x20 { j += 1 }
            if j < n, bytes[j] == 0x22 {
                j += 1
                var closed = false
                while j < n {
                    if bytes[j] == 0x22 {
                        if j + 1 < n, bytes[j + 1] == 0x22 { current.append(0x22); j += 2; continue }
                        closed = true; j += 1; break
                    }
                    current.append(bytes[j]); j += 1
                }
                if !closed { return .failure(LineError("unterminated quote in field \(fields.count + 1) (quoted fields may not span lines)")) }
                while j < n, bytes[j] == 0x20 { j += 1 }
                if j < n, bytes[j] != 0x2C {
                    return .failure(LineError("text after the closing quote of field \(fields.count + 1)"))
                }
            } else {
                j = i
                while j < n, bytes[j] != 0x2C {
                    if bytes[j] == 0x22 { return .failure(LineError("quote inside unquoted field \(fields.count + 1)")) }
                    current.append(bytes[j]); j += 1
                }
            }
            if let e = finish() { return .failure(e) }
            i = j + 1  // past the comma (or past the end)
        }
        return .success(fields)
    }
}
