import Foundation
import RecurCore
import RecurFrontends
import RecurModels

/// One example's source, ready for a model: token ids, feature rows, or
/// nothing (a language model).
public enum PreparedSource: @unchecked Sendable {
    case tokens([Int])
    case features(Tensor)
    case none

    /// Positions the encoder reads (tokens, frames, cells).
    public var length: Int {
        switch self {
        case .tokens(let t): return t.count
        case .features(let f): return f.shape[0]
        case .none: return 0
        }
    }
}

extension Array where Element == PreparedSource {
    /// The batch of these sources (all of one kind).
    public func batch() throws -> SourceBatch {
        guard let first else { throw RecurError(.value, "an empty batch") }
        switch first {
        case .none: return .none(count: count)
        case .tokens:
            return .tokens(try map { s -> [Int] in
                guard case .tokens(let t) = s else { throw RecurError(.value, "a batch mixes kinds of source") }
                return t
            })
        case .features:
            return .features(try map { s -> Tensor in
                guard case .features(let f) = s else { throw RecurError(.value, "a batch mixes kinds of source") }
                return f
            })
        }
    }
}

/// A model's way in and out: how one raw input (a sentence, a WAV path, a
/// PNG path) becomes a source, and how target ids become text. Built from a
/// model's description, so training and inference prepare inputs the same way.
public struct TaskIO: @unchecked Sendable {
    public let task: ModelTask
    public let sourceTokenizer: Tokenizer?
    public let targetTokenizer: Tokenizer?
    public let audio: AudioFrontend?
    public let grid: GridFeatures?

    public init(task: ModelTask, sourceVocabulary: Vocabulary?, targetVocabulary: Vocabulary?,
                normalizer: TextNormalizer, audio: AudioConfig?, image: GridFeatureConfig?) throws {
        self.task = task
        sourceTokenizer = sourceVocabulary.map { Tokenizer(vocabulary: $0, normalizer: normalizer) }
        targetTokenizer = targetVocabulary.map { Tokenizer(vocabulary: $0, normalizer: normalizer) }
        switch task.source {
        case .text:
            guard sourceTokenizer != nil else { throw RecurError(.value, "a \(task.rawValue) model needs a source vocabulary") }
        case .speech:
            guard let audio else { throw RecurError(.value, "a transcribe model needs audio frontend settings") }
            self.audio = try AudioFrontend(audio)
            grid = nil
            return
        case .image:
            guard let image else { throw RecurError(.value, "a caption model needs image grid settings") }
            grid = GridFeatures(image)
            self.audio = nil
            return
        case .none: break
        }
        self.audio = nil
        grid = nil
    }

    /// The source of one raw input: the text itself (translate, classify), or
    /// the path of a WAV (transcribe) or PNG (caption) file. Errors name the file.
    public func prepare(_ input: String) throws -> PreparedSource {
        switch task.source {
        case .text:
            let ids = sourceTokenizer!.encode(input)
            guard !ids.isEmpty else { throw RecurError(.value, "empty input line") }
            return .tokens(ids)
        case .speech:
            let f = try audio!.compute(file: input)
            guard f.shape[0] >= 1 else { throw RecurError(.format, "too short to make one frame", file: input) }
            return .features(f)
        case .image:
            let image = try PNGReader().read(path: input)
            return .features(grid!(image))
        case .none:
            return .none
        }
    }

    /// Target token ids of a text (without BOS/EOS); for classify, the one
    /// class id of a label (`<unk>` for a label the model does not know).
    public func targetIds(_ text: String) -> [Int] {
        if task == .classify { return [targetTokenizer?.vocabulary.id(Self.label(text)) ?? Vocabulary.unk] }
        return targetTokenizer?.encode(text) ?? []
    }

    /// The text of target ids; for classify, the label of a class id.
    public func text(_ ids: [Int]) -> String {
        if task == .classify {
            guard ids.count == 1, let v = targetTokenizer?.vocabulary, ids[0] >= 0, ids[0] < v.count else { return "" }
            return v.tokens[ids[0]]
        }
        return targetTokenizer?.decode(ids) ?? ""
    }

    /// The normalised form of a reference, as hypotheses come out (a label: trimmed, never lowercased).
    public func normalizedReference(_ text: String) -> String {
        if task == .classify { return Self.label(text) }
        guard let t = targetTokenizer else { return text }
        return t.normalizer.normalize(text)
    }

    /// A class label as written in data: NFC, white space around it removed.
    static func label(_ text: String) -> String {
        text.precomposedStringWithCanonicalMapping.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
