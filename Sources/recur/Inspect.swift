import ArgumentParser
import Foundation
import RecurCore
import RecurFrontends
import RecurModels

/// `recur inspect MODEL`: what a model file or checkpoint holds.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print what a model file holds: task, architecture, parameters, vocabularies, frontend, training state, notes.",
        discussion: """
        Reads and checks the file as loading does (format, metadata, vocabulary hashes) and prints \
        the task, the architecture, the parameter count, how the weights are stored and the file size, \
        each vocabulary's kind, size and content hash, the text normalisation, the audio frontend or \
        image grid signature the model was trained with, the training state of a checkpoint (every \
        top-level field the trainer stored: step, epoch, best validation figure, …) and the notes. \
        --tensors adds one line per tensor; --json prints the same as one JSON object.
        """
    )

    @Argument(help: "The model file (.safetensors).") var model: String
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Flag(help: "List every tensor: name, dtype, shape and element count.") var tensors = false

    func run() throws {
        let m = try ModelFile.read(model)
        if json {
            writeLine(try Self.json(m, tensors: tensors).compactText)
        } else {
            for line in try Self.text(m, tensors: tensors) { writeLine(line) }
        }
    }

    // MARK: - Text

    static func text(_ m: LoadedModel, tensors: Bool) throws -> [String] {
        let d = m.description
        var rows: [(String, String)] = []
        func line(_ label: String, _ value: String) { rows.append((label, value)) }
        line("file", "\(m.path) (\(grouped(m.fileSize)) bytes)")
        line("format", "\(m.format), written by recur \(m.recurVersion)")
        line("task", "\(d.task.rawValue) (\(taskDescription(d.task)))")
        let config = try configJSON(d.config)
        line("architecture", summary(config))
        for (key, value) in configFields(config) { line("  " + key, value) }
        let parameters = m.parameterTensors
        line("parameters", "\(grouped(m.parameterCount)) in \(parameters.count) tensors, stored \(m.storage)")
        line("optimizer", !m.hasOptimizerState ? "none"
             : m.hasTrainingWeights ? "Adam moments and the trained weights included (F32); the parameters are their average (training.ema)"
             : "Adam moments included (F32)")
        for (role, v) in [("source vocab", d.sourceVocabulary), ("target vocab", d.targetVocabulary)] {
            guard let v else { continue }
            line(role, "\(v.kind.rawValue), \(v.count) tokens\(v.kind == .bpe ? ", \(v.merges.count) merges" : ""), \(v.hash)")
        }
        if d.task == .classify, let v = d.targetVocabulary {
            // Class ids are target token ids; the four specials are outputs no label maps to.
            let labels = v.tokens.dropFirst(Vocabulary.specials.count)
            line("labels", "\(labels.count): " + labels.prefix(20).joined(separator: ", ") + (labels.count > 20 ? ", …" : ""))
        }
        if let n = d.normalizer { line("normalizer", n.signature) }
        if let s = m.frontendSignature { line("audio", s.short) }
        if let s = m.imageSignature { line("image", s) }
        if let t = m.training {
            line("training", "")
            switch try? JSONValue.parse(t) {
            case .object(let o)?:
                for (k, v) in o.pairs { line("  " + k, display(v)) }
            case let v?: line("  state", display(v))
            case nil: line("  state", truncated(t))
            }
        }
        if !d.notes.isEmpty {
            line("notes", "")
            for (k, v) in d.notes.sorted(by: { $0.key < $1.key }) { line("  " + k, v) }
        }
        let width = min(rows.map(\.0.count).max() ?? 0, 40) + 2
        var out = rows.map { label, value in
            value.isEmpty ? label : label.padding(toLength: max(width, label.count + 1), withPad: " ", startingAt: 0) + value
        }
        if tensors {
            // Parameters first, then the optimizer moments, each in file order.
            let ordered = m.parameterTensors + m.tensors.filter { $0.name.hasPrefix("optimizer.") }
            let nameWidth = ordered.map(\.name.count).max() ?? 0
            out.append("tensors (\(ordered.count))")
            for e in ordered {
                let shape = "[" + e.shape.map(String.init).joined(separator: ", ") + "]"
                out.append("  " + e.name.padding(toLength: nameWidth + 2, withPad: " ", startingAt: 0)
                           + e.dtype.rawValue + "  " + shape.padding(toLength: max(14, shape.count + 2), withPad: " ", startingAt: 0)
                           + grouped(e.count))
            }
        }
        return out
    }

    static func taskDescription(_ task: ModelTask) -> String {
        switch task {
        case .translate: "text → text"
        case .transcribe: "speech → text"
        case .caption: "image → text"
        case .generate: "language model: text generation"
        case .classify: "text → class"
        }
    }

    /// One line naming the architecture, from the config's JSON (so fields
    /// added later show up in the field list without changes here).
    static func summary(_ config: JSONValue) -> String {
        guard let top = config.objectValue, let kind = top["kind"]?.stringValue else { return "?" }
        let section = top.pairs.first { $0.key != "kind" && $0.value.objectValue != nil }?.value.objectValue ?? JSONObject()
        func string(_ k: String) -> String? { section[k]?.stringValue }
        func int(_ k: String) -> Int? { section[k]?.intValue }
        func flag(_ k: String) -> Bool { if case .bool(true)? = section[k] { return true } else { return false } }
        let cell = string("cell")?.uppercased() ?? "RNN"
        func encoder(layers: Int?, bidirectional: Bool) -> String {
            "\(layers ?? 1)-layer \(bidirectional ? "bidirectional " : "")\(cell) encoder"
        }
        var parts: [String] = []
        let name: String
        switch kind {
        case "seq2seq":
            let source = string("source") ?? "text"
            name = "seq2seq, \(source) source"
            if source == "image" && !flag("imageRNN") {
                parts.append("linear projection of the grid cells")
            } else {
                var e = encoder(layers: int("encoderLayers"), bidirectional: flag("bidirectionalEncoder"))
                if let k = int("frameStack"), k > 1 { e += " reading \(k) frames a step" }
                if let p = int("pyramidLayers"), p > 0 { e += " (\(p) pyramid layer\(p == 1 ? "" : "s"), time ÷\(1 << p))" }
                parts.append(e)
            }
            parts.append("\(cell) decoder with \(string("attention") ?? "?") attention")
            if flag("inputFeeding") { parts.append("input feeding") }
        case "lm":
            name = "language model"
            parts.append("\(int("layers") ?? 1)-layer \(cell)")
        case "classifier":
            name = "classifier"
            parts.append(encoder(layers: int("layers"), bidirectional: flag("bidirectional")))
            if let p = string("pooling") { parts.append("\(p) pooling") }
            if let c = int("classes") { parts.append("\(c) outputs") }
        default:
            name = kind
        }
        if flag("tiedOutputEmbeddings") { parts.append("tied output embeddings") }
        return name + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", "))
    }

    /// Every field of the config as (words, value).
    static func configFields(_ config: JSONValue) -> [(String, String)] {
        guard case .object(let top) = config else { return [] }
        var fields: [(String, String)] = []
        for (key, value) in top.pairs where key != "kind" {
            if case .object(let section) = value {
                for (k, v) in section.pairs { fields.append((words(k), display(v))) }
            } else {
                fields.append((words(key), display(value)))
            }
        }
        return fields
    }

    /// The config as JSON, each object's keys in the order the Swift types
    /// declare their properties (JSONEncoder's own order is not stable).
    static func configJSON(_ c: ModelConfig) throws -> JSONValue {
        let parsed = try JSONValue.parse(String(decoding: try JSONEncoder().encode(c), as: UTF8.self))
        return ordered(parsed, like: c)
    }

    static func ordered(_ v: JSONValue, like value: Any) -> JSONValue {
        guard case .object(let o) = v else { return v }
        var mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional, let some = mirror.children.first?.value { mirror = Mirror(reflecting: some) }
        var children: [String: Any] = [:]
        var order: [String] = []
        for child in mirror.children {
            guard let label = child.label else { continue }
            order.append(label)
            children[label] = child.value
        }
        let keys = order.filter { o[$0] != nil } + o.keys.filter { children[$0] == nil }.sorted()
        return .object(JSONObject(keys.map { k in (k, children[k].map { ordered(o[k]!, like: $0) } ?? o[k]!) }))
    }

    /// `sourceVocabularySize` → `source vocabulary size`, `imageRNN` → `image RNN`.
    static func words(_ key: String) -> String {
        let chars = Array(key)
        var words: [String] = []
        var current = ""
        for (i, ch) in chars.enumerated() {
            let next = i + 1 < chars.count ? chars[i + 1] : nil
            let boundary = ch.isUppercase && !current.isEmpty
                && (current.last!.isLowercase || current.last!.isNumber || (next?.isLowercase ?? false))
            if ch == "_" || ch == "-" {
                if !current.isEmpty { words.append(current) }
                current = ""
                continue
            }
            if boundary {
                words.append(current)
                current = ""
            }
            current.append(ch)
        }
        if !current.isEmpty { words.append(current) }
        return words.map { w in w.count > 1 && w.allSatisfy(\.isUppercase) ? w : w.lowercased() }.joined(separator: " ")
    }

    static func display(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .number(let n): return n
        case .bool(let b): return b ? "yes" : "no"
        case .null: return "-"
        case .array, .object: return truncated(v.compactText)
        }
    }

    static func truncated(_ s: String, limit: Int = 120) -> String {
        s.count <= limit ? s : String(s.prefix(limit - 1)) + "…"
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (n < 0 ? "-" : "") + out
    }

    // MARK: - JSON

    static func json(_ m: LoadedModel, tensors: Bool) throws -> JSONValue {
        let d = m.description
        var o = JSONObject()
        o["path"] = .string(m.path)
        o["file_bytes"] = JSONValue(m.fileSize)
        o["format"] = .string(m.format)
        o["recur_version"] = .string(m.recurVersion)
        o["task"] = .string(d.task.rawValue)
        let config = try configJSON(d.config)
        o["architecture"] = .string(summary(config))
        o["config"] = config
        o["parameter_count"] = JSONValue(m.parameterCount)
        o["parameter_tensors"] = JSONValue(m.parameterTensors.count)
        o["storage"] = .string(m.storage)
        o["optimizer_state"] = .bool(m.hasOptimizerState)
        func vocab(_ v: Vocabulary?) -> JSONValue {
            guard let v else { return .null }
            var x = JSONObject([("kind", .string(v.kind.rawValue)), ("size", JSONValue(v.count)), ("hash", .string(v.hash))])
            if v.kind == .bpe { x["merges"] = JSONValue(v.merges.count) }
            return .object(x)
        }
        o["source_vocabulary"] = vocab(d.sourceVocabulary)
        o["target_vocabulary"] = vocab(d.targetVocabulary)
        o["normalizer"] = d.normalizer.map { .string($0.signature) } ?? .null
        o["frontend_signature"] = m.frontendSignature.map { .string($0.short) } ?? .null
        o["image_signature"] = m.imageSignature.map { .string($0) } ?? .null
        if let t = m.training {
            o["training"] = (try? JSONValue.parse(t)) ?? .string(t)
        } else {
            o["training"] = .null
        }
        o["notes"] = .object(JSONObject(d.notes.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
        if tensors {
            let ordered = m.parameterTensors + m.tensors.filter { $0.name.hasPrefix("optimizer.") }
            o["tensors"] = .array(ordered.map { e in
                .object(JSONObject([("name", .string(e.name)), ("dtype", .string(e.dtype.rawValue)),
                                    ("shape", .array(e.shape.map { JSONValue($0) }))]))
            })
        }
        return .object(o)
    }
}
