import Foundation
import RecurCore
import RecurDecoding
import RecurFrontends
import RecurModels

/// A model file loaded for use: the model, its weights, and its way in and
/// out (`TaskIO`). Commands and pipelines decode through it, so one model
/// answers the same way everywhere.
public final class ModelRunner: @unchecked Sendable {
    public let path: String
    public let loaded: LoadedModel
    public let model: any SequenceModel
    public let store: ParameterStore
    public let io: TaskIO
    /// The GNMT length penalty α beam search uses unless told otherwise (the model's `length_penalty` note, else 0).
    public let lengthPenalty: Float
    /// The beam size the model's notes ask for (`recur export --beam`), or nil.
    public let beam: Int?
    /// The language model the model's notes fuse by default (`recur export --lm`), or nil.
    public let languageModel: (name: String, weight: Float?)?

    /// Loads `path`; with `task`, refuses a model made for another task, saying which command runs it.
    public init(path: String, task: ModelTask? = nil) throws {
        self.path = path
        loaded = try ModelFile.read(path)
        let d = loaded.description
        if let task, d.task != task {
            throw RecurError(.usage, "this is a \(d.task.rawValue) model, not a \(task.rawValue) model: run it with `recur \(d.task.rawValue)`",
                             file: path)
        }
        do {
            lengthPenalty = try d.defaultLengthPenalty
            beam = try d.defaultBeam
            languageModel = try d.defaultLanguageModel
        } catch let e as RecurError {
            throw RecurError(e.kind, e.reason, file: path)
        }
        (model, store) = try loaded.instantiate()
        io = try TaskIO(task: d.task, sourceVocabulary: d.sourceVocabulary, targetVocabulary: d.targetVocabulary,
                        normalizer: d.normalizer ?? TextNormalizer(), audio: d.audio, image: d.image)
    }

    /// The model's name for records: the file name without `.safetensors`.
    public var name: String {
        let base = (path as NSString).lastPathComponent
        return base.hasSuffix(".safetensors") ? String(base.dropLast(".safetensors".count)) : base
    }

    /// The source of one raw input (a sentence, or a WAV/PNG path).
    public func prepare(_ input: String) throws -> PreparedSource { try io.prepare(input) }

    /// n-best hypotheses per source (an encoder-decoder model).
    public func decode(_ sources: [PreparedSource], settings: DecodeSettings) throws -> [[Hypothesis]] {
        guard let s2s = model as? Seq2Seq else {
            throw RecurError(.usage, "a \(loaded.description.task.rawValue) model does not decode sources", file: path)
        }
        return try TaskDecoding.decode(s2s, store, sources, settings: settings)
    }

    /// The language model of `runner` fused into this model's decoding with
    /// `weight` (`--lm`, `--lm-weight`): refused, naming the language model's
    /// file, when it is not a language model or its vocabulary does not cover
    /// this model's target vocabulary.
    public func fusion(with runner: ModelRunner, weight: Float) throws -> LanguageModelFusion {
        guard let lm = runner.model as? LanguageModel, let lmTokens = runner.io.targetTokenizer?.vocabulary.tokens else {
            throw RecurError(.usage, "this is a \(runner.loaded.description.task.rawValue) model, not a language model (made by a `task: generate` recipe)",
                             file: runner.path)
        }
        guard model is Seq2Seq, let tokens = io.targetTokenizer?.vocabulary.tokens else {
            throw RecurError(.usage, "a \(loaded.description.task.rawValue) model does not decode with a language model", file: path)
        }
        do {
            return try LanguageModelFusion(model: lm, store: runner.store, languageModelTokens: lmTokens, targetTokens: tokens, weight: weight)
        } catch let e as RecurError {
            throw RecurError(.usage, e.reason, file: runner.path)
        }
    }

    /// The `top` most probable classes of each source, best first, as (label, log-probability) (a classifier).
    public func classify(_ sources: [PreparedSource], top: Int = 1, batchSize: Int = 32) throws -> [[(label: String, logProb: Float)]] {
        guard let classifier = model as? Classifier else {
            throw RecurError(.usage, "a \(loaded.description.task.rawValue) model does not classify sources", file: path)
        }
        return try TaskClassification.rank(classifier, store, sources, top: top, batchSize: batchSize).map { row in
            row.map { (label: io.text([$0.id]), logProb: $0.logProb) }
        }
    }

    /// The text of a hypothesis.
    public func text(_ h: Hypothesis) -> String { io.text(h.tokens) }

    /// The target pieces of a hypothesis (for attention pictures), EOS included.
    public func pieces(_ h: Hypothesis) -> [String] {
        guard let v = io.targetTokenizer?.vocabulary else { return [] }
        return (h.tokens + [Vocabulary.eos]).map { $0 >= 0 && $0 < v.count ? v.tokens[$0] : "<unk>" }
    }
}
