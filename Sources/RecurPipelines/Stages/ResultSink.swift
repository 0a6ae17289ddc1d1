import Foundation
import RecurCore

/// How a decoding command writes its records on stdout.
public enum ResultFormat: String, Sendable, CaseIterable {
    /// One line of text per record.
    case txt
    /// One JSON object per record.
    case jsonl
    /// SubRip cues, numbered from 1, times from each record's `start`/`end`
    /// (else its source's).
    case srt
    /// WebVTT: the `WEBVTT` header, then one cue per record.
    case vtt

    public var subtitle: SubtitleFormat? {
        switch self {
        case .srt: return .srt
        case .vtt: return .vtt
        default: return nil
        }
    }
}

/// Writes records as they come (one write per record, flushed: see
/// `RecordWriter`) in a `ResultFormat`, and attention pictures into a folder.
public final class ResultSink {
    public let format: ResultFormat
    public let writer: RecordWriter
    /// Where attention pictures go (nil: none are written).
    public let pictureFolder: String?
    private var cues = 0
    private var pictures = 0

    public init(format: ResultFormat, pictureFolder: String? = nil, fd: Int32 = 1) throws {
        self.format = format
        writer = RecordWriter(fd: fd, format: format == .jsonl ? .jsonl : .plain)
        self.pictureFolder = pictureFolder
        if let pictureFolder {
            do {
                try FileManager.default.createDirectory(atPath: pictureFolder, withIntermediateDirectories: true)
            } catch {
                throw RecurError(.io, "cannot make the folder for attention pictures", file: pictureFolder)
            }
        }
    }

    /// Writes one record (a subtitle cue needs times: an error naming the record otherwise).
    public func write(_ r: StageRecord) throws {
        switch format {
        case .txt, .jsonl:
            try writer.write(r)
        case .srt, .vtt:
            guard r.start ?? r.source?.start != nil, r.end ?? r.source?.end != nil else {
                throw RecurError(.format, "no start and end times: --format \(format.rawValue) needs timed records (subtitles, or transcribe's)")
            }
            let cue = try SubtitleCue(record: r)
            var text = ""
            if format == .vtt && cues == 0 { text += "WEBVTT\n\n" }
            cues += 1
            let f = format.subtitle!
            if format == .srt { text += "\(cues)\n" }
            text += "\(SubtitleDocument.time(cue.startMillis, f)) --> \(SubtitleDocument.time(cue.endMillis, f))\n"
            let body = SubtitleDocument.clean(cue.text)
            text += (body.isEmpty ? " " : body) + "\n"
            // The blank line after the cue goes out with it, in one write.
            try writer.writeLine(text)
        }
    }

    /// Writes a result's records, and its pictures as `NNNN-<name>.png`
    /// (numbered in output order) when a folder was given.
    public func write(_ result: StageResult) throws {
        for (i, r) in result.records.enumerated() {
            try write(r)
            if let folder = pictureFolder, i < result.pictures.count, let p = result.pictures[i] {
                pictures += 1
                let path = (folder as NSString).appendingPathComponent(String(format: "%04d-", pictures) + Self.pictureName(r) + ".png")
                try p.write(to: path)
            }
        }
    }

    /// A file-name-safe name for a record: the input's stem, its line or start time.
    static func pictureName(_ r: StageRecord) -> String {
        guard let s = r.source else { return "input" }
        var stem = s.file == "<stdin>" ? "stdin" : ((s.file as NSString).lastPathComponent as NSString).deletingPathExtension
        if let l = s.line { stem += "-\(l)" }
        if let c = s.cue { stem += "-cue\(c)" }
        if let a = s.start { stem += String(format: "-%.2fs", a) }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        return String(stem.map { allowed.contains($0) ? $0 : "_" })
    }
}
