import RecurCore

/// The token ids decoding needs from the target vocabulary.
public struct SpecialTokens: Sendable, Equatable {
    /// Padding: never fed or produced by the decoders here (finished rows are
    /// dropped from the batch instead of padded); carried for the model.
    public var pad: Int
    /// Beginning of sequence: the first token fed to every hypothesis.
    public var bos: Int
    /// End of sequence: choosing it finishes a hypothesis.
    public var eos: Int

    public init(pad: Int, bos: Int, eos: Int) {
        self.pad = pad
        self.bos = bos
        self.eos = eos
    }
}

/// What one decoder step returns.
///
/// The tensors may be views into the scorer's own workspace: the decoders
/// read them before the next call of `step` or `select` and never keep them.
public struct StepOutput<State> {
    /// Log-probabilities over the target vocabulary, `(rows, V)`: row r is
    /// log p(next token | hypothesis r). Each row should be normalised (a
    /// log-softmax), so every entry is ≤ 0; beam search's early stop relies on it.
    public var logProbs: Tensor
    /// The decoder state after consuming the tokens, one row per hypothesis.
    public var state: State
    /// Optional attention weights used for this step, `(rows, W)` with W at
    /// least the longest source length among the rows (row r's first
    /// `sourceLength` entries are kept). Nil when the model has no attention.
    public var attention: Tensor?

    public init(logProbs: Tensor, state: State, attention: Tensor? = nil) {
        self.logProbs = logProbs
        self.state = state
        self.attention = attention
    }
}

/// A model as the decoding algorithms see it: a batch of sources already
/// encoded (the model keeps each source's encoder output and attention
/// projections), and a decoder that advances a batch of hypotheses one token
/// at a time. Rows of a state are hypotheses; several rows may belong to the
/// same source (beam search, several samples), and the scorer keeps track of
/// which source each row attends to.
///
/// Call order used by every decoder here:
/// `initialState(sources:)` once, then `step` with BOS (and a prime, if any),
/// then repeatedly `step` with the chosen tokens, and `select` whenever rows
/// are reordered, duplicated (beam expansion) or dropped (finished).
public protocol StepScorer {
    /// The decoder state of a batch of hypotheses (for an LSTM: h and c, the
    /// input-feeding vector, each row's source index).
    associatedtype State

    /// Target vocabulary size V (the columns of `StepOutput.logProbs`).
    var vocabularySize: Int { get }
    /// BOS, EOS and PAD of the target vocabulary.
    var specials: SpecialTokens { get }
    /// How many sources were encoded (for a language model: how many
    /// independent generations; each has length 0).
    var sourceCount: Int { get }
    /// The length of source `source` in attention positions (frames after
    /// reduction, grid cells, tokens); used for length limits relative to the
    /// source and to trim attention rows.
    func sourceLength(_ source: Int) -> Int

    /// A state with one row per entry of `sources`: row r is the decoder's
    /// initial state (from the bridge) for source `sources[r]`. Entries may repeat.
    func initialState(sources: [Int]) throws -> State

    /// Feeds `tokens[r]` to row r of `state` (tokens.count == rows) and returns
    /// the log-probabilities of the next token and the new state.
    func step(_ state: State, tokens: [Int]) throws -> StepOutput<State>

    /// A state whose row i is row `rows[i]` of `state`. Indices may repeat or
    /// be omitted (beam reordering, dropping finished hypotheses).
    func select(_ state: State, rows: [Int]) throws -> State
}
