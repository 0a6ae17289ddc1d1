import RecurCore

/// What a model file is for: the command that runs it.
public enum ModelTask: String, Codable, Sendable, CaseIterable {
    /// text → text (`recur translate`)
    case translate
    /// speech frames → text (`recur transcribe`)
    case transcribe
    /// image grid cells → text (`recur caption`)
    case caption
    /// a language model (`recur generate`)
    case generate
    /// a sequence → one class (`recur classify`)
    case classify

    /// The modality of the task's input.
    public var source: SourceKind {
        switch self {
        case .translate: return .text
        case .transcribe: return .speech
        case .caption: return .image
        case .generate: return .none
        case .classify: return .text
        }
    }
}

/// The kind of input an encoder reads.
public enum SourceKind: String, Codable, Sendable, CaseIterable {
    case none, text, speech, image
}

/// The whole architecture of a model, as saved with it: exactly one of the
/// per-kind configurations is set.
public struct ModelConfig: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case seq2seq, languageModel = "lm", classifier }
    public var kind: Kind
    public var seq2seq: Seq2SeqConfig?
    public var languageModel: LanguageModelConfig?
    public var classifier: ClassifierConfig?

    public init(seq2seq: Seq2SeqConfig) {
        kind = .seq2seq
        self.seq2seq = seq2seq
    }

    public init(languageModel: LanguageModelConfig) {
        kind = .languageModel
        self.languageModel = languageModel
    }

    public init(classifier: ClassifierConfig) {
        kind = .classifier
        self.classifier = classifier
    }

    /// Builds the model this configuration describes (throws when inconsistent).
    public func makeModel() throws -> any SequenceModel {
        switch kind {
        case .seq2seq:
            guard let seq2seq else { throw RecurError(.value, "model config: kind seq2seq without a seq2seq section") }
            return try Seq2Seq(config: seq2seq)
        case .languageModel:
            guard let languageModel else { throw RecurError(.value, "model config: kind lm without a languageModel section") }
            return try LanguageModel(config: languageModel)
        case .classifier:
            guard let classifier else { throw RecurError(.value, "model config: kind classifier without a classifier section") }
            return try Classifier(config: classifier)
        }
    }
}
