// Dataset readers: parallel text, speech manifests, caption lists, plain text.
//
// Every reader returns `ReadResult` (examples and a report). Bad lines follow
// `ReadOptions.badLines`: `.fail` (default) throws at the first one naming the
// file and line; `.skip` drops them, counts them and keeps the first few.
// Blank lines are skipped and counted, never an error, except in two aligned
// files where a blank line on one side is an empty field (a bad line).
// A line-count mismatch between two aligned files is always an error.
import Foundation
import RecurCore

/// Parallel text for translation.
public enum ParallelText {
    /// Reads pairs from a delimited file (TSV by default, as
    /// `../shared/data/eng-fra/pairs.tsv`: `English<TAB>French`, no header).
    ///
    /// - Parameters:
    ///   - source, target: the columns (indices, or names when `hasHeader`).
    ///   - id: an optional id column; otherwise ids are `"<file name>:<line>"`.
    ///   - columnCount: the number of fields every row must have; nil means the
    ///     header's count, or the first line's.
    public static func read(
        _ path: String, source: Column = 0, target: Column = 1, id: Column? = nil,
        hasHeader: Bool = false, delimiter: Delimiter? = nil, columnCount: Int? = nil,
        options: ReadOptions = ReadOptions()
    ) throws -> ReadResult {
        var rows = try DelimitedRows(path: path, delimiter: delimiter ?? .forFile(path), hasHeader: hasHeader,
                                     columnCount: columnCount, options: options)
        let si = try rows.index(of: source, path: path)
        let ti = try rows.index(of: target, path: path)
        let ii = try id.map { try rows.index(of: $0, path: path) }
        let name = (path as NSString).lastPathComponent
        var examples: [Example] = []
        examples.reserveCapacity(rows.rows.count)
        try rows.forEachRow(path: path) { line, f in
            if f[si].isEmpty { return "empty source field (\(source))" }
            if f[ti].isEmpty { return "empty target field (\(target))" }
            var exId = "\(name):\(line)"
            if let ii {
                if f[ii].isEmpty { return "empty id field (\(id!))" }
                exId = f[ii]
            }
            examples.append(Example(source: f[si], target: f[ti], id: exId, file: path, line: line))
            return nil
        }
        rows.log.report.examples = examples.count
        return ReadResult(examples: examples, report: rows.log.report)
    }

    /// Reads pairs from two line-aligned files (line i of one translates line i
    /// of the other). Different line counts are an error naming both files and
    /// their counts; a bad line on either side (invalid UTF-8, empty) drops the pair.
    /// Ids are `"<source file name>:<line>"`; `Example.file` is the source file.
    public static func readAligned(source sourcePath: String, target targetPath: String,
                                   options: ReadOptions = ReadOptions()) throws -> ReadResult {
        let (srcLines, srcBad) = try lines(sourcePath)
        let (tgtLines, tgtBad) = try lines(targetPath)
        guard srcLines.count == tgtLines.count else {
            throw RecurError(.format, "line counts differ: \(sourcePath) has \(srcLines.count) lines, \(targetPath) has \(tgtLines.count)",
                             file: sourcePath)
        }
        var log = BadLineLog(options, files: [sourcePath, targetPath])
        log.report.lines = srcLines.count
        let name = (sourcePath as NSString).lastPathComponent
        var examples: [Example] = []
        examples.reserveCapacity(srcLines.count)
        for i in 0..<srcLines.count {
            let line = i + 1
            if let r = srcBad[line] { try log.bad(sourcePath, line, r); continue }
            if let r = tgtBad[line] { try log.bad(targetPath, line, r); continue }
            if srcLines[i].isEmpty { try log.bad(sourcePath, line, "empty line (the other file has text here)"); continue }
            if tgtLines[i].isEmpty { try log.bad(targetPath, line, "empty line (the other file has text here)"); continue }
            examples.append(Example(source: srcLines[i], target: tgtLines[i], id: "\(name):\(line)", file: sourcePath, line: line))
        }
        log.report.examples = examples.count
        return ReadResult(examples: examples, report: log.report)
    }

    /// Every line of `path` (trimmed of ASCII spaces), with the lines that are not UTF-8 marked.
    static func lines(_ path: String) throws -> ([String], [Int: String]) {
        let data = try LineReader.load(path)
        var out: [String] = []
        var bad: [Int: String] = [:]
        LineReader.forEachLine(data) { lineNo, bytes in
            if let s = LineReader.string(LineReader.trimmed(bytes)) {
                out.append(s)
            } else {
                out.append("")
                bad[lineNo] = "invalid UTF-8"
            }
        }
        return (out, bad)
    }
}

/// Resolves a media path from a manifest: absolute paths stay, relative ones
/// are joined to `dataRoot` when given, else to the manifest's folder.
func resolveMediaPath(_ p: String, manifest: String, dataRoot: String?) -> String {
    if p.hasPrefix("/") { return p }
    let root = dataRoot ?? (manifest as NSString).deletingLastPathComponent
    if root.isEmpty { return p }
    return (root as NSString).appendingPathComponent(p)
}

/// Reads a manifest whose rows name a media file and a text, shared by speech and captions.
func readMediaManifest(
    _ path: String, media: Column, text: Column, id: Column?, hasHeader: Bool, delimiter: Delimiter?,
    dataRoot: String?, requireFiles: Bool, options: ReadOptions
) throws -> ReadResult {
    var rows = try DelimitedRows(path: path, delimiter: delimiter ?? .forFile(path), hasHeader: hasHeader,
                                 columnCount: nil, options: options)
    let mi = try rows.index(of: media, path: path)
    let ti = try rows.index(of: text, path: path)
    let ii = try id.map { try rows.index(of: $0, path: path) }
    let name = (path as NSString).lastPathComponent
    var checked: [String: Bool] = [:]
    var examples: [Example] = []
    try rows.forEachRow(path: path) { line, f in
        if f[mi].isEmpty { return "empty file field (\(media))" }
        if f[ti].isEmpty { return "empty text field (\(text))" }
        let resolved = resolveMediaPath(f[mi], manifest: path, dataRoot: dataRoot)
        if requireFiles {
            let exists = checked[resolved] ?? FileManager.default.fileExists(atPath: resolved)
            checked[resolved] = exists
            if !exists { return "no such file: \(resolved)" }
        }
        var exId = "\(name):\(line)"
        if let ii {
            if f[ii].isEmpty { return "empty id field (\(id!))" }
            exId = f[ii]
        }
        examples.append(Example(source: resolved, target: f[ti], id: exId, file: path, line: line))
        return nil
    }
    rows.log.report.examples = examples.count
    return ReadResult(examples: examples, report: rows.log.report)
}

/// (audio file, transcript) lists.
public enum SpeechManifest {
    /// Reads a TSV or CSV manifest (by extension, or `delimiter`) whose header
    /// names the columns, e.g. `path<TAB>transcript`. `Example.source` is the
    /// audio path resolved against `dataRoot` or the manifest's folder; with
    /// `requireFiles` a row whose file does not exist is a bad line.
    public static func read(
        _ path: String, audio: Column = "path", transcript: Column = "transcript", id: Column? = nil,
        hasHeader: Bool = true, delimiter: Delimiter? = nil, dataRoot: String? = nil,
        requireFiles: Bool = true, options: ReadOptions = ReadOptions()
    ) throws -> ReadResult {
        try readMediaManifest(path, media: audio, text: transcript, id: id, hasHeader: hasHeader, delimiter: delimiter,
                              dataRoot: dataRoot, requireFiles: requireFiles, options: options)
    }
}

extension SpeechManifest {
    /// Lists a folder of audio files labelled by their names (as FSDD's
    /// `recordings/`, `{digit}_{speaker}_{index}.wav`) in name order.
    /// `transcript` builds the text from the fields parsed by `pattern`
    /// (`{ $0["digit"]! }`). Hidden files are ignored; another file whose name
    /// does not match is a bad entry (its `line` is its 1-based position in
    /// the sorted listing). Ids are the file names.
    public static func fromDirectory(
        _ directory: String, pattern: FileNamePattern,
        transcript: ([String: String]) -> String, options: ReadOptions = ReadOptions()
    ) throws -> ReadResult {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw RecurError(.io, "cannot list the folder: \(error.localizedDescription)", file: directory)
        }
        var log = BadLineLog(options, files: [directory])
        var examples: [Example] = []
        for (i, name) in names.enumerated() {
            guard let fields = pattern.match(name) else {
                try log.bad(directory, i + 1, "\(name) does not match the file-name pattern \(pattern)")
                continue
            }
            let text = transcript(fields)
            if text.isEmpty { try log.bad(directory, i + 1, "\(name): empty transcript"); continue }
            let path = (directory as NSString).appendingPathComponent(name)
            examples.append(Example(source: path, target: text, id: name, file: directory, line: i + 1))
        }
        log.report.lines = names.count
        log.report.examples = examples.count
        return ReadResult(examples: examples, report: log.report)
    }
}

/// (image file, caption) lists, several captions per image allowed.
public enum CaptionList {
    /// Reads `file<TAB>caption` rows (as `../shared/data/captions/captions.tsv`,
    /// no header by default) into one example per caption, for training.
    /// `Example.source` is the image path resolved against `dataRoot` or the
    /// list's folder (for captions.tsv pass `dataRoot: ".../captions/images"`).
    public static func read(
        _ path: String, image: Column = 0, caption: Column = 1, hasHeader: Bool = false,
        delimiter: Delimiter? = nil, dataRoot: String? = nil, requireFiles: Bool = true,
        options: ReadOptions = ReadOptions()
    ) throws -> ReadResult {
        try readMediaManifest(path, media: image, text: caption, id: nil, hasHeader: hasHeader, delimiter: delimiter,
                              dataRoot: dataRoot, requireFiles: requireFiles, options: options)
    }

    /// One image with all its captions: the references for evaluation.
    public struct Group: Sendable, Equatable {
        /// The resolved image path.
        public var image: String
        /// Its captions in file order.
        public var captions: [String]
        /// The ids of the examples the captions came from.
        public var ids: [String]
    }

    /// Groups caption examples by image, in order of each image's first appearance.
    public static func groups(_ examples: [Example]) -> [Group] {
        var order: [String] = []
        var byImage: [String: Group] = [:]
        for e in examples {
            if byImage[e.source] == nil {
                order.append(e.source)
                byImage[e.source] = Group(image: e.source, captions: [], ids: [])
            }
            byImage[e.source]!.captions.append(e.target)
            byImage[e.source]!.ids.append(e.id)
        }
        return order.map { byImage[$0]! }
    }
}

/// Plain text for language models. Examples have an empty `source` and the text as `target`.
public enum PlainText {
    /// One example per non-blank line (trimmed of ASCII spaces; blank lines are
    /// skipped and counted). Lines that are not UTF-8 are bad lines.
    public static func readLines(_ path: String, options: ReadOptions = ReadOptions()) throws -> ReadResult {
        let data = try LineReader.load(path)
        var log = BadLineLog(options, files: [path])
        let name = (path as NSString).lastPathComponent
        var examples: [Example] = []
        var lines = 0, blank = 0
        try LineReader.forEachLine(data) { lineNo, bytes in
            lines = lineNo
            if LineReader.isBlank(bytes) { blank += 1; return }
            guard let s = LineReader.string(LineReader.trimmed(bytes)) else {
                try log.bad(path, lineNo, "invalid UTF-8"); return
            }
            examples.append(Example(source: "", target: s, id: "\(name):\(lineNo)", file: path, line: lineNo))
        }
        log.report.lines = lines
        log.report.blankLines = blank
        log.report.examples = examples.count
        return ReadResult(examples: examples, report: log.report)
    }

    /// The whole file as one character stream (line breaks kept as "\n", so
    /// CRLF files read the same as LF ones) cut into consecutive chunks of
    /// `length` characters (Swift `Character`s: grapheme clusters), as char-rnn
    /// does. The last, shorter chunk is kept unless `dropLast`. A line that is
    /// not UTF-8 is a bad line; with `.skip` it is left out of the stream.
    /// Ids are `"<file name>:<line>#<chunk index>"`, `line` the line the chunk starts on.
    public static func readChunks(_ path: String, length: Int, dropLast: Bool = false,
                                  options: ReadOptions = ReadOptions()) throws -> ReadResult {
        guard length > 0 else { throw RecurError(.usage, "chunk length must be positive, not \(length)", file: path) }
        let data = try LineReader.load(path)
        var log = BadLineLog(options, files: [path])
        let name = (path as NSString).lastPathComponent
        var examples: [Example] = []
        var chunk = ""
        var chunkCount = 0
        var chunkLine = 1
        var lines = 0
        func emit() {
            examples.append(Example(source: "", target: chunk, id: "\(name):\(chunkLine)#\(examples.count)", file: path, line: chunkLine))
            chunk = ""
            chunkCount = 0
        }
        let endsWithNewline = data.last == 0x0A
        var lastLine = 0
        LineReader.forEachLine(data) { n, _ in lastLine = n }
        try LineReader.forEachLine(data) { lineNo, bytes in
            lines = lineNo
            guard let s = LineReader.string(bytes) else { try log.bad(path, lineNo, "invalid UTF-8"); return }
            var text = s
            if lineNo < lastLine || endsWithNewline { text.append("\n") }
            for ch in text {
                if chunkCount == 0 { chunkLine = lineNo }
                chunk.append(ch)
                chunkCount += 1
                if chunkCount == length { emit() }
            }
        }
        if chunkCount > 0 && !dropLast { emit() }
        log.report.lines = lines
        log.report.examples = examples.count
        return ReadResult(examples: examples, report: log.report)
    }
}
