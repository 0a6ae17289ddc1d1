import Foundation
import RecurCore

/// What flows between the stages of a pipeline.
public enum PipelineDataKind: String, Sendable, CaseIterable {
    /// Lines or stage records.
    case text
    /// Audio files.
    case audio
    /// PNG files.
    case image
    /// Feature matrices (.npy): nothing in a pipeline reads them.
    case features

    /// The word in "stage 2 (caption) reads images".
    public var noun: String {
        switch self {
        case .text: return "text"
        case .audio: return "audio"
        case .image: return "images"
        case .features: return "features"
        }
    }

    /// Extensions taken from directories given as inputs.
    public var extensions: [String] {
        switch self {
        case .text: return ["txt", "jsonl", "srt", "vtt"]
        case .audio: return ["wav", "flac", "ogg", "aiff", "aif", "mp3", "opus"]
        case .image: return ["png"]
        case .features: return ["npy"]
        }
    }
}

/// A value of a stage option, as written in the pipeline file.
public enum PipelineOptionValue: Sendable, Equatable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)

    public var description: String {
        switch self {
        case .int(let v): return "\(v)"
        case .double(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .string(let v): return v
        }
    }
}

/// One option a task takes in a pipeline file (`options: {beam: 5}`).
public struct PipelineOption: Sendable {
    public enum Kind: Sendable {
        /// A whole number of at least `min`.
        case int(min: Int)
        /// A number of at least `min`.
        case double(min: Double)
        case bool
        case string
        /// One of these words.
        case choice([String])
    }

    public let name: String
    public let kind: Kind
    /// What it does, for `recur run --help` and pipelines/README.md.
    public let help: String

    public init(_ name: String, _ kind: Kind, _ help: String) {
        self.name = name
        self.kind = kind
        self.help = help
    }

    /// What the value must be, for messages.
    public var expected: String {
        switch kind {
        case .int(let min): return "a whole number ≥ \(min)"
        case .double(let min): return "a number ≥ \(Self.number(min))"
        case .bool: return "true or false"
        case .string: return "text"
        case .choice(let words): return "one of " + words.joined(separator: ", ")
        }
    }

    static func number(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)"
    }
}

/// The tasks a pipeline stage can run, with what each reads and writes and
/// the options it takes.
public enum PipelineTask: String, Sendable, CaseIterable {
    case transcribe, caption, translate, generate, classify, features, tokenize

    /// Every task name, in the order of the enum.
    public static var names: [String] { allCases.map(\.rawValue) }

    /// What it reads (features: audio or image, from its `input` option).
    public func reads(_ options: [String: PipelineOptionValue]) -> PipelineDataKind {
        switch self {
        case .transcribe: return .audio
        case .caption: return .image
        case .translate, .generate, .classify, .tokenize: return .text
        case .features:
            if case .string("image")? = options["input"] { return .image }
            return .audio
        }
    }

    public var writes: PipelineDataKind { self == .features ? .features : .text }

    /// The shipped model used when the stage names none (nil: the stage
    /// needs none, or must name one).
    public var defaultModel: String? {
        switch self {
        case .transcribe, .caption, .translate, .generate: return ModelLocator.defaultName(task: rawValue)
        case .tokenize: return "translate-en-fr"
        case .features, .classify: return nil   // no classifier ships: the stage names its model
        }
    }

    static let decoding: [PipelineOption] = [
        PipelineOption("beam", .int(min: 1), "beam size; 1 is greedy (default: 5 for translate, 1 otherwise)"),
        PipelineOption("nbest", .int(min: 1), "hypotheses kept per input, in the records' nbest (default 1)"),
        PipelineOption("length_penalty", .double(min: 0), "GNMT length penalty α; 0: none (default: the model's, else 0)"),
        PipelineOption("max_length", .int(min: 1), "most output tokens (default 200)"),
        PipelineOption("min_length", .int(min: 0), "fewest output tokens (default 0)"),
        PipelineOption("batch_size", .int(min: 1), "inputs decoded together (default 32)"),
        PipelineOption("ban_unk", .bool, "never output <unk> (default false)"),
        PipelineOption("lm", .string, "a language model fused into decoding (as --lm): a shipped model's name or a file; none: not even the model's"),
        PipelineOption("lm_weight", .double(min: 0), "each token scores log p(model) + λ·log p(lm) (default: the model's, else 0.2)"),
    ]

    /// The options the task takes.
    public var options: [PipelineOption] {
        switch self {
        case .translate, .caption:
            return Self.decoding
        case .transcribe:
            return Self.decoding + [
                PipelineOption("max_segment", .double(min: 0), "longest segment in seconds; longer recordings are split at silences (default 30; 0: never)"),
            ]
        case .generate:
            return [
                PipelineOption("temperature", .double(min: 0), "sampling temperature, 0: greedy (default 1)"),
                PipelineOption("top_k", .int(min: 0), "sample among the K most probable tokens, 0: all (default 0)"),
                PipelineOption("length", .int(min: 1), "most tokens generated after the prime (default 200)"),
                PipelineOption("count", .int(min: 1), "texts per input (default 1)"),
                PipelineOption("seed", .int(min: 0), "random seed (default 1)"),
            ]
        case .classify:
            return [
                PipelineOption("top", .int(min: 1), "labels kept per input, best first, in the records' nbest (default 1)"),
                PipelineOption("batch_size", .int(min: 1), "inputs classified together (default 32)"),
            ]
        case .tokenize:
            return [
                PipelineOption("vocab", .string, "a vocabulary file (instead of a model's), relative to the pipeline file"),
                PipelineOption("kind", .choice(["char", "word", "bpe"]), "the vocabulary's tokenizer kind (default: found from the file)"),
                PipelineOption("lowercase", .bool, "lowercase before tokenizing, with vocab (default false)"),
                PipelineOption("side", .choice(["source", "target"]), "which of the model's vocabularies (default source)"),
                PipelineOption("output", .choice(["pieces", "ids"]), "write pieces or ids (default pieces)"),
                PipelineOption("add_bos_eos", .bool, "put <s> and </s> around each line (default false)"),
            ]
        case .features:
            return [
                PipelineOption("input", .choice(["audio", "image"]), "what the stage reads (default audio)"),
                PipelineOption("preset", .choice(["recur", "librosa", "torchaudio", "kaldi"]), "audio frontend preset, without a model (default recur)"),
                PipelineOption("n_mels", .int(min: 1), "mel bands, without a model (default: the preset's)"),
                PipelineOption("grid", .int(min: 1), "image grid cells per side, without a model (default 7)"),
                PipelineOption("size", .int(min: 1), "images are resized to size × size first, without a model (default 224)"),
                PipelineOption("out_dir", .string, "write each input's features to OUT_DIR/<name>.npy (relative to the current folder)"),
            ]
        }
    }

    /// Option names, in order.
    public var optionNames: [String] { options.map(\.name) }
}
