import RecurCore
import RecurModels

/// A `Seq2Seq` model with its parameters and a batch of encoded sources, as
/// the decoders (greedy, beam, sampling) see it.
public final class Seq2SeqScorer: StepScorer {
    public typealias State = Seq2SeqDecoderState

    public let model: Seq2Seq
    public let store: ParameterStore
    public let encoding: Seq2SeqEncoding

    /// Encodes `sources` (token ids without BOS/EOS, each at least one token).
    public init(model: Seq2Seq, store: ParameterStore, sources: [[Int]]) throws {
        self.model = model
        self.store = store
        encoding = try model.encode(store, sources: sources)
    }

    /// Encodes any kind of source (token ids, speech frames, image cells).
    public init(model: Seq2Seq, store: ParameterStore, sources: SourceBatch) throws {
        self.model = model
        self.store = store
        encoding = try model.encode(store, sources: sources)
    }

    public var vocabularySize: Int { model.config.targetVocabularySize }
    public var specials: SpecialTokens {
        SpecialTokens(pad: model.config.pad, bos: model.config.bos, eos: model.config.eos)
    }
    public var sourceCount: Int { encoding.lengths.count }
    public func sourceLength(_ source: Int) -> Int { encoding.lengths[source] }

    public func initialState(sources: [Int]) throws -> State {
        try model.initialState(encoding, sources: sources)
    }

    public func step(_ state: State, tokens: [Int]) throws -> StepOutput<State> {
        let out = try model.decodeStep(store, encoding, state, tokens: tokens)
        return StepOutput(logProbs: out.logProbs, state: out.state, attention: out.attention)
    }

    public func select(_ state: State, rows: [Int]) throws -> State {
        try model.select(state, rows: rows)
    }
}
