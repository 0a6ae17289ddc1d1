// Examples and read reports shared by every dataset reader.
//
// A reader turns a file into `[Example]` (source, target, where it came from)
// and a `ReadReport` (lines seen, examples made, bad lines). Nothing here
// tokenizes or featurizes: speech and image examples carry the resolved file
// path as `source`, and the training code turns text into ids with a closure
// (see `TokenizedData`) and audio or images into frames with the frontends.
import Foundation
import RecurCore

/// One training or evaluation example.
///
/// - Parallel text: `source` and `target` are the two sentences.
/// - Speech: `source` is the audio file path (resolved), `target` the transcript.
/// - Captions: `source` is the image file path (resolved), `target` one caption.
/// - Language models: `source` is empty and `target` is the text (a line or a chunk).
public struct Example: Sendable, Hashable, Codable {
    public var source: String
    public var target: String
    /// A stable name: the manifest's id column when it has one, otherwise
    /// `"<file name>:<line>"` (the file's last path component, so it does not
    /// change with `--data-root`); for chunks `"<file name>:<line>#<chunk>"`.
    public var id: String
    /// The file the example was read from (as given to the reader).
    public var file: String
    /// The 1-based line it was read from (for chunks, the line where the chunk starts).
    public var line: Int

    public init(source: String, target: String, id: String, file: String, line: Int) {
        self.source = source
        self.target = target
        self.id = id
        self.file = file
        self.line = line
    }
}

/// What a reader does with a bad line (wrong column count, an empty field,
/// invalid UTF-8, an unterminated CSV quote, a missing media file).
public enum BadLinePolicy: String, Sendable, Codable, CaseIterable {
    /// Throw a `RecurError(.format)` naming the file and the line (the default:
    /// data problems surface at once instead of silently shrinking the set).
    case fail
    /// Drop the line, count it, and keep the first few in the report.
    case skip
}

/// Options common to every reader.
public struct ReadOptions: Sendable {
    public var badLines: BadLinePolicy
    /// How many bad lines the report keeps verbatim (all are counted).
    public var maxReported: Int

    public init(badLines: BadLinePolicy = .fail, maxReported: Int = 5) {
        self.badLines = badLines
        self.maxReported = maxReported
    }
}

/// One bad line: where and why.
public struct BadLine: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String

    public var description: String { "\(file):\(line): \(reason)" }
}

/// What a reader saw.
public struct ReadReport: Sendable, CustomStringConvertible {
    /// The files read, in order.
    public var files: [String] = []
    /// Physical lines seen (a header included; for two aligned files, line pairs).
    public var lines = 0
    /// Examples produced.
    public var examples = 0
    /// Blank lines skipped (not counted as bad).
    public var blankLines = 0
    /// Bad lines dropped (only non-zero with `BadLinePolicy.skip`).
    public var badLines = 0
    /// The first `ReadOptions.maxReported` bad lines.
    public var firstBad: [BadLine] = []

    public init() {}

    public var description: String {
        var s = "\(files.joined(separator: " + ")): \(examples) examples from \(lines) lines"
        s += " (\(badLines) bad, \(blankLines) blank skipped)"
        for b in firstBad { s += "\n  \(b)" }
        if badLines > firstBad.count { s += "\n  … and \(badLines - firstBad.count) more bad lines" }
        return s
    }
}

/// A reader's result.
public struct ReadResult: Sendable {
    public var examples: [Example]
    public var report: ReadReport

    public init(examples: [Example], report: ReadReport) {
        self.examples = examples
        self.report = report
    }
}

/// Applies a `BadLinePolicy`: throws at the first bad line, or counts and keeps the first few.
struct BadLineLog {
    let options: ReadOptions
    var report: ReadReport

    init(_ options: ReadOptions, files: [String]) {
        self.options = options
        report = ReadReport()
        report.files = files
    }

    mutating func bad(_ file: String, _ line: Int, _ reason: String) throws {
        if options.badLines == .fail {
            throw RecurError(.format, "line \(line): \(reason)", file: file)
        }
        report.badLines += 1
        if report.firstBad.count < options.maxReported {
            report.firstBad.append(BadLine(file: file, line: line, reason: reason))
        }
    }
}
