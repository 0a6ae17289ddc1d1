import Foundation
import RecurCore
import RecurDecoding
import RecurModels
import RecurTraining

/// What a stage reads.
public enum StageInputKind: String, Sendable, CaseIterable {
    /// Text lines or stage records (translate).
    case text
    /// Audio files, one record per file with `source.file` the path (transcribe).
    case audio
    /// Image files, one record per file with `source.file` the path (caption).
    case image
    /// Nothing: the stage makes text on its own (generate); an input record's
    /// text, if any, is a prime.
    case none
}

/// What a stage writes: every model stage writes text records.
public enum StageOutputKind: String, Sendable { case text }

/// What one input became: its records (one for a sentence, a picture or a
/// short recording; one per segment of a long recording) and, when asked
/// for, one attention picture per record.
public struct StageResult: @unchecked Sendable {
    public var records: [StageRecord]
    /// Parallel to `records` (nil where none could be drawn); empty unless
    /// the stage keeps attention.
    public var pictures: [AttentionPicture?]

    public init(records: [StageRecord], pictures: [AttentionPicture?] = []) {
        self.records = records
        self.pictures = pictures
    }
}

/// A step of a pipeline: a model and its options, turning input records into
/// text records. The same object serves `recur translate` (and the other
/// commands) and `recur run`, so a shell pipe and an in-process pipeline give
/// the same records.
///
/// Records out are `input.advanced(stage:model:text:score:nbest:)`: the
/// input's `source`, `start`/`end` and extra keys pass through untouched, the
/// previous stage's result moves to `history`, and `text`, `score` (the
/// model's log-probability of the text), `nbest` (best first, each with its
/// log-probability and `norm_score`, the length-penalised score beam search
/// ranks by), `stage` and `model` are this stage's. The record itself also
/// carries `norm_score`.
public protocol Stage: AnyObject, Sendable {
    /// The task name written as `stage`: translate, transcribe, caption, generate.
    var task: String { get }
    var inputKind: StageInputKind { get }
    var outputKind: StageOutputKind { get }
    /// The model name written as `model`.
    var modelName: String { get }
    /// Processes inputs together (batched decoding); one result per input, in
    /// order. A failed input (unreadable file, empty line) is a failure at its
    /// place, the others go on. Thread-safe: may be called from several
    /// threads at once (`--jobs`).
    func process(_ inputs: [StageRecord]) -> [Result<StageResult, Error>]
}

extension Stage {
    public var outputKind: StageOutputKind { .text }

    /// One input.
    public func process(_ input: StageRecord) throws -> StageResult {
        try process([input])[0].get()
    }
}

/// Options every decoding stage takes.
public struct StageOptions: Sendable {
    /// Beam, n-best, lengths, length penalty, batch size.
    public var decode: DecodeSettings
    /// Keep attention pictures in the results.
    public var attention: Bool

    public init(decode: DecodeSettings = DecodeSettings(), attention: Bool = false) {
        self.decode = decode
        self.attention = attention
    }
}

extension StageRecord {
    /// The record a media stage reads for a file: `source.file` the path.
    public static func media(_ path: String) -> StageRecord {
        StageRecord(source: StageSource(file: path), text: "")
    }

    /// The media path of an input record: `source.file`, else the text.
    var mediaPath: String? {
        if let f = source?.file, !f.isEmpty { return f }
        return text.isEmpty ? nil : text
    }

    /// A name for failures: `file:line`, `file (cue n)`, `file`.
    public var inputName: String {
        guard let s = source else { return "input" }
        if let l = s.line { return "\(s.file):\(l)" }
        if let c = s.cue { return "\(s.file) (cue \(c))" }
        if let a = s.start, let b = s.end { return "\(s.file) [\(a)-\(b) s]" }
        return s.file
    }
}

/// Shared by the decoding stages: hypotheses to records.
enum StageOutput {
    /// `input` advanced with the n-best list `hyps` (best first).
    static func record(_ input: StageRecord, task: String, runner: ModelRunner, hyps: [RecurDecoding.Hypothesis],
                       nBest: Int, prefix: [Int] = []) -> StageRecord {
        guard let best = hyps.first else { return blank(input, task: task, runner: runner) }
        let list = hyps.prefix(max(1, nBest)).map { h -> Hypothesis in
            var e = JSONObject()
            e["norm_score"] = JSONValue(Double(h.score))
            return Hypothesis(text: runner.io.text(prefix + h.tokens), score: Double(h.logProb), extra: e)
        }
        var r = input.advanced(stage: task, model: runner.name, text: runner.io.text(prefix + best.tokens),
                               score: Double(best.logProb), nbest: nBest > 1 ? Array(list) : nil)
        r.extra["norm_score"] = JSONValue(Double(best.score))
        return r
    }

    /// `input` advanced with an empty result (a blank input line), no score.
    static func blank(_ input: StageRecord, task: String, runner: ModelRunner) -> StageRecord {
        var r = input.advanced(stage: task, model: runner.name, text: "")
        r.extra["norm_score"] = nil   // the previous stage's: it scored the previous text
        return r
    }
}

/// A thread-safe box for the first error of parallel work.
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: Error?
    func set(_ e: Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
}
