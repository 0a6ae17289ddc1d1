import Foundation
import RecurCore

/// SubRip (`.srt`) or WebVTT (`.vtt`).
public enum SubtitleFormat: String, Sendable, CaseIterable {
    case srt, vtt

    /// The format a path's extension names, if any.
    public static func forPath(_ path: String) -> SubtitleFormat? {
        SubtitleFormat(rawValue: (path as NSString).pathExtension.lowercased())
    }
}

/// One subtitle cue: a time span in milliseconds (both formats count in
/// them, so times are kept exactly) and its text, lines joined by `\n`.
public struct SubtitleCue: Sendable, Equatable {
    /// The SRT number or VTT identifier as read (written back in VTT; SRT
    /// cues are numbered from 1 when written).
    public var identifier: String?
    public var startMillis: Int
    public var endMillis: Int
    /// VTT cue settings (`align:start line:0`), or what followed the times in
    /// an SRT time line (`X1:40 X2:600 ...`); written back only in the format
    /// they were read from.
    public var settings: String?
    public var text: String

    public init(identifier: String? = nil, startMillis: Int, endMillis: Int, settings: String? = nil, text: String) {
        self.identifier = identifier
        self.startMillis = startMillis
        self.endMillis = endMillis
        self.settings = settings
        self.text = text
    }

    /// A cue from seconds, rounded to the millisecond.
    public init(start: Double, end: Double, text: String) {
        self.init(startMillis: Int((start * 1000).rounded()), endMillis: Int((end * 1000).rounded()), text: text)
    }

    /// A cue for a timed record (`start`/`end`, else `source.start`/`source.end`).
    public init(record: StageRecord) throws {
        guard let s = record.start ?? record.source?.start, let e = record.end ?? record.source?.end else {
            let at = record.source.map { s in s.file + (s.line.map { " line \($0)" } ?? "") } ?? "a record"
            throw RecurError(.format, "\(at): the record has no start and end times, so it cannot be a subtitle cue")
        }
        self.init(start: s, end: e, text: record.text)
    }

    public var start: Double { Double(startMillis) / 1000 }
    public var end: Double { Double(endMillis) / 1000 }
}

/// A piece of a subtitle file: a cue, or (WebVTT) a NOTE, STYLE or REGION
/// block kept verbatim.
public enum SubtitleBlock: Sendable, Equatable {
    case cue(SubtitleCue)
    case other(String)
}

/// A subtitle file read into cues, to be written back with the same times.
///
/// Reading tolerates a UTF-8 byte-order mark, CRLF or CR line ends, blank
/// lines made of spaces, VTT header lines, NOTE/STYLE/REGION blocks, cue
/// identifiers and cue settings, times without hours (`01:02.500`) and either
/// `,` or `.` before the milliseconds (1 to 3 digits). A cue ends at the first
/// blank line. Anything else (a block without a time line, a bad time, a cue
/// ending before it starts, a VTT file without `WEBVTT`) is an error naming
/// the file and the line.
///
/// Writing uses `\n`, `hh:mm:ss,mmm` (SRT) or `hh:mm:ss.mmm` (VTT) times and
/// a blank line after every block; blank lines inside a cue's text are
/// dropped and `-->` in text becomes `->`, so what is written reads back as
/// the same cues.
public struct SubtitleDocument: Sendable, Equatable {
    public var format: SubtitleFormat
    /// WebVTT: the `WEBVTT` line and any header lines after it, verbatim.
    public var header: String
    public var blocks: [SubtitleBlock]

    public init(format: SubtitleFormat, cues: [SubtitleCue], header: String = "WEBVTT") {
        self.format = format
        self.header = header
        self.blocks = cues.map { .cue($0) }
    }

    /// A document with one cue per timed record (see `SubtitleCue(record:)`).
    public init(format: SubtitleFormat, records: [StageRecord]) throws {
        self.init(format: format, cues: try records.map { try SubtitleCue(record: $0) })
    }

    /// The cues in order. Setting requires the same number of cues and keeps
    /// the other blocks in place.
    public var cues: [SubtitleCue] {
        get { blocks.compactMap { if case .cue(let c) = $0 { c } else { nil } } }
        set {
            precondition(newValue.count == cues.count, "cues: set \(newValue.count) cues in place of \(cues.count)")
            var it = newValue.makeIterator()
            blocks = blocks.map { if case .cue = $0 { .cue(it.next()!) } else { $0 } }
        }
    }

    /// The same document with each cue's text replaced, in order; the number
    /// of texts must equal the number of cues.
    public func replacingTexts(_ texts: [String]) throws -> SubtitleDocument {
        let cs = cues
        guard texts.count == cs.count else {
            throw RecurError(.value, "\(texts.count) texts for \(cs.count) subtitle cues")
        }
        var d = self
        d.cues = zip(cs, texts).map { c, t in var c = c; c.text = t; return c }
        return d
    }

    /// One record per cue: `source` = `{file, cue, start, end}`, `text` the
    /// cue's text, `start`/`end` its times in seconds.
    public func records(file: String) -> [StageRecord] {
        cues.enumerated().map { i, c in
            StageRecord(source: StageSource(file: file, cue: i + 1, start: c.start, end: c.end),
                        text: c.text, start: c.start, end: c.end)
        }
    }

    // MARK: Reading

    /// Reads `path`; the format comes from the extension, else from the
    /// content (`WEBVTT` first).
    public static func read(path: String) throws -> SubtitleDocument {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw RecurError(.io, "cannot read: \((error as NSError).localizedDescription)", file: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RecurError(.format, "not valid UTF-8 text", file: path)
        }
        return try parse(text, format: SubtitleFormat.forPath(path), file: path)
    }

    /// Parses subtitle text. `format` nil: VTT when the text begins with
    /// `WEBVTT`, else SRT. Errors name `file` and the line.
    public static func parse(_ text: String, format: SubtitleFormat? = nil, file: String) throws -> SubtitleDocument {
        var body = text
        if body.unicodeScalars.first == "\u{FEFF}" { body.unicodeScalars.removeFirst() }
        let lines = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let fmt = format ?? (lines.first?.hasPrefix("WEBVTT") == true ? .vtt : .srt)
        var p = Parser(lines: lines, file: file)
        return fmt == .vtt ? try p.vtt() : try p.srt()
    }

    private struct Parser {
        let lines: [String]
        let file: String
        var i = 0

        func fail(_ line: Int, _ reason: String) -> RecurError {
            RecurError(.format, "line \(line + 1): \(reason)", file: file)
        }

        static func isBlank(_ s: String) -> Bool { s.allSatisfy(\.isWhitespace) }

        /// The next block's lines and the index of its first line, or nil.
        mutating func nextBlock() -> (start: Int, lines: [String])? {
            while i < lines.count, Parser.isBlank(lines[i]) { i += 1 }
            guard i < lines.count else { return nil }
            let start = i
            while i < lines.count, !Parser.isBlank(lines[i]) { i += 1 }
            return (start, Array(lines[start..<i]))
        }

        mutating func srt() throws -> SubtitleDocument {
            var doc = SubtitleDocument(format: .srt, cues: [], header: "")
            while let (start, block) = nextBlock() {
                doc.blocks.append(.cue(try cue(block, at: start, vtt: false)))
            }
            return doc
        }

        mutating func vtt() throws -> SubtitleDocument {
            guard let first = lines.first, first.hasPrefix("WEBVTT"),
                  first.count == 6 || first.dropFirst(6).first == " " || first.dropFirst(6).first == "\t" else {
                throw fail(0, "a WebVTT file must begin with WEBVTT")
            }
            var doc = SubtitleDocument(format: .vtt, cues: [], header: "")
            let (_, header) = nextBlock()!
            if header.count > 1, header.dropFirst().contains(where: { $0.contains("-->") }) {
                throw fail(header.firstIndex { $0.contains("-->") }!, "a cue must be separated from the WEBVTT header by a blank line")
            }
            doc.header = header.joined(separator: "\n")
            while let (start, block) = nextBlock() {
                let head = block[0]
                let word = head.prefix { !$0.isWhitespace }
                if (word == "NOTE" || word == "STYLE" || word == "REGION") && !head.contains("-->") {
                    doc.blocks.append(.other(block.joined(separator: "\n")))
                } else {
                    doc.blocks.append(.cue(try cue(block, at: start, vtt: true)))
                }
            }
            return doc
        }

        func cue(_ block: [String], at start: Int, vtt: Bool) throws -> SubtitleCue {
            var k = 0
            var identifier: String?
            if !block[0].contains("-->") {
                identifier = block[0].trimmingCharacters(in: .whitespaces)
                k = 1
                if !vtt, Int(identifier!) == nil {
                    throw fail(start, "expected a cue number or a time line like 00:00:01,000 --> 00:00:04,000, found '\(block[0])'")
                }
                guard block.count > 1, block[1].contains("-->") else {
                    let at = block.count > 1 ? start + 1 : start
                    let found = block.count > 1 ? "found '\(block[1])'" : "found nothing after '\(block[0])'"
                    let example = vtt ? "00:00:01.000 --> 00:00:04.000" : "00:00:01,000 --> 00:00:04,000"
                    throw fail(at, "expected a time line like \(example), \(found)")
                }
            }
            let timing = block[k]
            let at = start + k
            let parts = timing.components(separatedBy: "-->")
            guard parts.count == 2 else { throw fail(at, "more than one --> in a time line") }
            guard let s = Parser.millis(parts[0].trimmingCharacters(in: .whitespaces)) else {
                throw fail(at, "bad start time '\(parts[0].trimmingCharacters(in: .whitespaces))'")
            }
            let rest = parts[1].trimmingCharacters(in: .whitespaces)
            let endText = String(rest.prefix { !$0.isWhitespace })
            guard let e = Parser.millis(endText) else { throw fail(at, "bad end time '\(endText)'") }
            guard e >= s else { throw fail(at, "the cue ends (\(endText)) before it starts") }
            let settings = rest.dropFirst(endText.count).trimmingCharacters(in: .whitespaces)
            return SubtitleCue(identifier: identifier, startMillis: s, endMillis: e,
                               settings: settings.isEmpty ? nil : settings,
                               text: block[(k + 1)...].joined(separator: "\n"))
        }

        /// `[h+:]mm:ss[.,]f{1,3}` in milliseconds.
        static func millis(_ s: String) -> Int? {
            guard let sep = s.lastIndex(where: { $0 == "," || $0 == "." }) else { return nil }
            let frac = s[s.index(after: sep)...]
            guard (1...3).contains(frac.count), frac.allSatisfy({ $0.isASCII && $0.isNumber }), let f = Int(frac) else { return nil }
            let ms = f * [1, 100, 10, 1][frac.count]
            let hms = s[..<sep].split(separator: ":", omittingEmptySubsequences: false)
            guard hms.count == 2 || hms.count == 3,
                  hms.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
            let nums = hms.map { Int($0)! }
            let (h, m, sec) = nums.count == 3 ? (nums[0], nums[1], nums[2]) : (0, nums[0], nums[1])
            guard m < 60, sec < 60, hms.last!.count == 2, h < 1_000_000 else { return nil }
            return ((h * 60 + m) * 60 + sec) * 1000 + ms
        }
    }

    // MARK: Writing

    /// The file's text in `format` (this document's by default).
    public func text(as format: SubtitleFormat? = nil) -> String {
        let fmt = format ?? self.format
        var out = ""
        if fmt == .vtt {
            out += header.isEmpty || self.format != .vtt ? "WEBVTT" : header
            out += "\n\n"
        }
        var number = 0
        for b in blocks {
            switch b {
            case .other(let text):
                if fmt == .vtt && self.format == .vtt { out += text + "\n\n" }
            case .cue(let c):
                number += 1
                if fmt == .srt {
                    out += "\(number)\n"
                } else if let id = c.identifier, !id.isEmpty {
                    out += SubtitleDocument.clean(id) + "\n"
                }
                out += SubtitleDocument.time(c.startMillis, fmt) + " --> " + SubtitleDocument.time(c.endMillis, fmt)
                if let s = c.settings, fmt == self.format { out += " " + s }
                out += "\n"
                let text = SubtitleDocument.clean(c.text)
                if !text.isEmpty { out += text + "\n" }
                out += "\n"
            }
        }
        return out
    }

    /// Writes the file atomically in `format` (this document's by default).
    public func write(to path: String, as format: SubtitleFormat? = nil) throws {
        try AtomicFile.write(text(as: format), to: path)
    }

    /// `hh:mm:ss,mmm` (SRT) or `hh:mm:ss.mmm` (VTT).
    public static func time(_ ms: Int, _ format: SubtitleFormat) -> String {
        let ms = max(0, ms)
        func pad(_ v: Int, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        let h = ms / 3_600_000, m = ms / 60_000 % 60, s = ms / 1000 % 60, f = ms % 1000
        return "\(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2))\(format == .srt ? "," : ".")\(pad(f, 3))"
    }

    /// Text safe inside a cue: no blank lines, no `-->`, `\n` line ends.
    static func clean(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "-->", with: "->")
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !Parser.isBlank(String($0)) }
            .joined(separator: "\n")
    }
}
