import Foundation
import RecurCore

/// Where a record came from: the input file, and the line (text inputs), the
/// cue (subtitle inputs) or the time span in seconds (audio inputs).
///
/// JSON: `{"file":"talk.wav","start":1.2,"end":3.4}` or `{"file":"notes.txt","line":3}`.
/// Keys this type does not know are kept in `extra` and written back.
public struct StageSource: Sendable, Equatable, Codable {
    /// The input as named on the command line; `<stdin>` for standard input.
    public var file: String
    /// 1-based line number in a text input.
    public var line: Int?
    /// 1-based cue number in a subtitle input.
    public var cue: Int?
    /// Start and end of the span in the input, in seconds.
    public var start: Double?
    public var end: Double?
    /// Keys written by other versions or tools, kept in order.
    public var extra: JSONObject

    public init(file: String, line: Int? = nil, cue: Int? = nil, start: Double? = nil, end: Double? = nil,
                extra: JSONObject = JSONObject()) {
        self.file = file
        self.line = line
        self.cue = cue
        self.start = start
        self.end = end
        self.extra = extra
    }

    static let known: Set<String> = ["file", "line", "cue", "start", "end"]

    public init(json: JSONObject) throws {
        file = try json.string("file", in: "source") ?? ""
        line = try json.int("line", in: "source")
        cue = try json.int("cue", in: "source")
        start = try json.double("start", in: "source")
        end = try json.double("end", in: "source")
        extra = json.without(StageSource.known)
    }

    public var json: JSONObject {
        var o = JSONObject()
        o["file"] = .string(file)
        if let line { o["line"] = JSONValue(line) }
        if let cue { o["cue"] = JSONValue(cue) }
        if let start { o["start"] = JSONValue(start) }
        if let end { o["end"] = JSONValue(end) }
        for p in extra.pairs where o[p.key] == nil { o[p.key] = p.value }
        return o
    }

    public init(from decoder: Decoder) throws {
        guard case .object(let o) = try JSONValue(from: decoder) else {
            throw RecurError(.format, "\"source\" must be an object")
        }
        try self.init(json: o)
    }

    public func encode(to encoder: Encoder) throws { try JSONValue.object(json).encode(to: encoder) }
}

/// One hypothesis of an n-best list: its text and score (log-probability,
/// higher is better). Unknown keys are kept in `extra`.
public struct Hypothesis: Sendable, Equatable, Codable {
    public var text: String
    public var score: Double?
    public var extra: JSONObject

    public init(text: String, score: Double? = nil, extra: JSONObject = JSONObject()) {
        self.text = text
        self.score = score
        self.extra = extra
    }

    public init(json: JSONObject) throws {
        guard let t = try json.string("text", in: "nbest entry") else {
            throw RecurError(.format, "an \"nbest\" entry has no \"text\"")
        }
        text = t
        score = try json.double("score", in: "nbest entry")
        extra = json.without(["text", "score"])
    }

    public var json: JSONObject {
        var o = JSONObject()
        o["text"] = .string(text)
        if let score { o["score"] = JSONValue(score) }
        for p in extra.pairs where o[p.key] == nil { o[p.key] = p.value }
        return o
    }

    public init(from decoder: Decoder) throws {
        guard case .object(let o) = try JSONValue(from: decoder) else {
            throw RecurError(.format, "an \"nbest\" entry must be an object")
        }
        try self.init(json: o)
    }

    public func encode(to encoder: Encoder) throws { try JSONValue.object(json).encode(to: encoder) }
}

/// One line of JSON Lines between stages: what a stage produced for one piece
/// of input, and where that input came from.
///
/// Schema (every key but `text` may be absent; written in this order, then any
/// other keys in the order they were read or added):
///
/// | key       | type                              | meaning |
/// |-----------|-----------------------------------|---------|
/// | `source`  | object `{file, line?, cue?, start?, end?}` | the original input; kept unchanged by every later stage |
/// | `stage`   | string                            | the task that made `text`: `transcribe`, `caption`, `translate`, ... |
/// | `model`   | string                            | the model that made `text` |
/// | `text`    | string                            | the result (or, for an input line, the line) |
/// | `score`   | number                            | log-probability of `text` (higher is better) |
/// | `nbest`   | array of `{text, score}`          | the best hypotheses, best first |
/// | `start`   | number                            | speech: segment start in seconds |
/// | `end`     | number                            | speech: segment end in seconds |
/// | `history` | array of `{stage, model, text, score?, nbest?}` | earlier stages' results, oldest first (see `advanced`) |
///
/// Any other key (a later stage's own fields, or a user's) is kept in `extra`:
/// a record read and written back loses nothing, including unknown keys
/// inside `source` and `nbest` entries.
public struct StageRecord: Sendable, Equatable, Codable {
    public var source: StageSource?
    public var stage: String?
    public var model: String?
    public var text: String
    public var score: Double?
    public var nbest: [Hypothesis]?
    public var start: Double?
    public var end: Double?
    /// Earlier stages' results, oldest first, each an object with the keys
    /// `stage`, `model`, `text`, `score`, `nbest` it had.
    public var history: [JSONObject]
    /// Every other key, in order.
    public var extra: JSONObject

    public init(source: StageSource? = nil, stage: String? = nil, model: String? = nil, text: String,
                score: Double? = nil, nbest: [Hypothesis]? = nil, start: Double? = nil, end: Double? = nil,
                history: [JSONObject] = [], extra: JSONObject = JSONObject()) {
        self.source = source
        self.stage = stage
        self.model = model
        self.text = text
        self.score = score
        self.nbest = nbest
        self.start = start
        self.end = end
        self.history = history
        self.extra = extra
    }

    static let known: Set<String> = ["source", "stage", "model", "text", "score", "nbest", "start", "end", "history"]

    /// A record from a parsed JSON object; errors name the offending key.
    public init(json o: JSONObject) throws {
        if let s = o["source"], s != .null {
            guard case .object(let so) = s else { throw RecurError(.format, "\"source\" must be an object, not \(s.kindName)") }
            source = try StageSource(json: so)
        }
        stage = try o.string("stage", in: "record")
        model = try o.string("model", in: "record")
        guard let t = try o.string("text", in: "record") else {
            throw RecurError(.format, "the record has no \"text\"")
        }
        text = t
        score = try o.double("score", in: "record")
        if let n = o["nbest"], n != .null {
            guard case .array(let a) = n else { throw RecurError(.format, "\"nbest\" must be an array, not \(n.kindName)") }
            nbest = try a.map { v in
                guard case .object(let ho) = v else { throw RecurError(.format, "an \"nbest\" entry must be an object, not \(v.kindName)") }
                return try Hypothesis(json: ho)
            }
        }
        start = try o.double("start", in: "record")
        end = try o.double("end", in: "record")
        history = []
        if let h = o["history"], h != .null {
            guard case .array(let a) = h else { throw RecurError(.format, "\"history\" must be an array, not \(h.kindName)") }
            history = try a.map { v in
                guard case .object(let ho) = v else { throw RecurError(.format, "a \"history\" entry must be an object, not \(v.kindName)") }
                return ho
            }
        }
        extra = o.without(StageRecord.known)
    }

    /// Parses one JSON Lines line.
    public init(jsonLine: String) throws {
        guard case .object(let o) = try JSONValue.parse(jsonLine) else {
            throw RecurError(.format, "a record must be a JSON object")
        }
        try self.init(json: o)
    }

    /// The record as a JSON object, keys in the documented order.
    public var json: JSONObject {
        var o = JSONObject()
        if let source { o["source"] = .object(source.json) }
        if let stage { o["stage"] = .string(stage) }
        if let model { o["model"] = .string(model) }
        o["text"] = .string(text)
        if let score { o["score"] = JSONValue(score) }
        if let nbest { o["nbest"] = .array(nbest.map { .object($0.json) }) }
        if let start { o["start"] = JSONValue(start) }
        if let end { o["end"] = JSONValue(end) }
        if !history.isEmpty { o["history"] = .array(history.map { .object($0) }) }
        for p in extra.pairs where o[p.key] == nil { o[p.key] = p.value }
        return o
    }

    /// Compact one-line JSON, without the newline.
    public var jsonLine: String { JSONValue.object(json).compactText }

    /// The record the next stage writes: `text`, `score`, `nbest`, `stage` and
    /// `model` are this stage's; the previous stage's result (if it had a
    /// stage) moves to the end of `history`; `source`, `start`, `end` and all
    /// extra keys stay as they were. Used both by `recur run` in one process
    /// and by a command reading records from a pipe, so both give the same
    /// records.
    public func advanced(stage: String, model: String?, text: String, score: Double? = nil,
                         nbest: [Hypothesis]? = nil) -> StageRecord {
        var r = self
        if let prev = self.stage {
            var h = JSONObject()
            h["stage"] = .string(prev)
            if let m = self.model { h["model"] = .string(m) }
            h["text"] = .string(self.text)
            if let s = self.score { h["score"] = JSONValue(s) }
            if let n = self.nbest { h["nbest"] = .array(n.map { .object($0.json) }) }
            r.history.append(h)
        }
        r.stage = stage
        r.model = model
        r.text = text
        r.score = score
        r.nbest = nbest
        return r
    }

    public init(from decoder: Decoder) throws {
        guard case .object(let o) = try JSONValue(from: decoder) else {
            throw RecurError(.format, "a record must be a JSON object")
        }
        try self.init(json: o)
    }

    public func encode(to encoder: Encoder) throws { try JSONValue.object(json).encode(to: encoder) }
}

extension JSONObject {
    func string(_ key: String, in what: String) throws -> String? {
        guard let v = self[key] else { return nil }
        if case .null = v { return nil }
        guard case .string(let s) = v else { throw RecurError(.format, "\(what) \"\(key)\" must be a string, not \(v.kindName)") }
        return s
    }

    func double(_ key: String, in what: String) throws -> Double? {
        guard let v = self[key] else { return nil }
        if case .null = v { return nil }
        guard let d = v.doubleValue, d.isFinite else { throw RecurError(.format, "\(what) \"\(key)\" must be a number, not \(v.kindName)") }
        return d
    }

    func int(_ key: String, in what: String) throws -> Int? {
        guard let v = self[key] else { return nil }
        if case .null = v { return nil }
        guard let i = v.intValue else { throw RecurError(.format, "\(what) \"\(key)\" must be an integer, not \(v.kindName)") }
        return i
    }

    /// The other keys, in order. A known key whose value is `null` stays here
    /// (the typed field is nil), so it is written back as it was read.
    func without(_ keys: Set<String>) -> JSONObject {
        var o = JSONObject()
        for p in pairs where !keys.contains(p.key) || p.value == .null { o[p.key] = p.value }
        return o
    }
}
