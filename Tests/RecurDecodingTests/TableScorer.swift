import Foundation
import RecurCore
import RecurDecoding

/// A hand-built "model" for decoding tests, as OpenNMT-py's tests use: the
/// next-token distribution is a function of (source, tokens fed after BOS),
/// given by a table or a small deterministic function. It checks that the
/// decoders use it as the protocol says (BOS first, one token per row, row
/// indices in range) and counts its calls.
///
/// Vocabulary: 0 PAD, 1 BOS, 2 EOS, 3… real tokens (a = 3, b = 4, c = 5, …).
final class TableScorer: StepScorer {
    struct State {
        /// Per row: the source index and every token fed so far (BOS first).
        var source: [Int]
        var fed: [[Int]]
    }

    static let pad = 0, bos = 1, eos = 2, a = 3, b = 4, c = 5, d = 6

    let vocabularySize: Int
    let specials = SpecialTokens(pad: TableScorer.pad, bos: TableScorer.bos, eos: TableScorer.eos)
    /// Per source: the key passed to `probabilities` and its length.
    let sources: [(key: Int, length: Int)]
    /// (source key, tokens fed after BOS) → unnormalised probabilities over the vocabulary.
    let probabilities: (Int, [Int]) -> [Float]
    let withAttention: Bool
    private(set) var stepCalls = 0
    private(set) var selectCalls = 0

    init(vocabularySize: Int, sources: [(key: Int, length: Int)], withAttention: Bool = false,
         probabilities: @escaping (Int, [Int]) -> [Float]) {
        self.vocabularySize = vocabularySize
        self.sources = sources
        self.withAttention = withAttention
        self.probabilities = probabilities
    }

    /// A scorer over a fixed table keyed by the tokens fed after BOS; a
    /// prefix missing from the table gets `otherwise`.
    convenience init(vocabularySize: Int, table: [[Int]: [Float]], otherwise: [Float], sourceLengths: [Int] = [1]) {
        self.init(vocabularySize: vocabularySize, sources: sourceLengths.map { (0, $0) }) { _, prefix in
            table[prefix] ?? otherwise
        }
    }

    /// The same scorer restricted to one source (to compare batched decoding with decoding alone).
    func only(_ source: Int) -> TableScorer {
        TableScorer(vocabularySize: vocabularySize, sources: [sources[source]], withAttention: withAttention,
                    probabilities: probabilities)
    }

    var sourceCount: Int { sources.count }
    func sourceLength(_ source: Int) -> Int { sources[source].length }

    /// Normalised log-probabilities after `prefix` (tokens after BOS) for source index `source`.
    func logProbs(source: Int, prefix: [Int]) -> [Float] {
        let p = probabilities(sources[source].key, prefix)
        precondition(p.count == vocabularySize, "table row of \(p.count) for vocabulary \(vocabularySize)")
        let total = p.reduce(0, +)
        return p.map { Foundation.log($0 / total) }
    }

    /// The attention weights the scorer reports after `prefix`: any fixed function
    /// of (source, prefix), so tests can check that beam search keeps each
    /// hypothesis's own rows.
    func attentionRow(source: Int, prefix: [Int]) -> [Float] {
        let h = prefix.reduce(sources[source].key * 13 + prefix.count * 3) { $0 &* 31 &+ $1 }
        return (0..<sources[source].length).map { Float(((h &+ $0 * 7) % 11 + 11) % 11) }
    }

    func initialState(sources rows: [Int]) throws -> State {
        guard rows.allSatisfy({ (0..<sources.count).contains($0) }) else {
            throw RecurError(.value, "initialState: source out of range \(rows)")
        }
        return State(source: rows, fed: Array(repeating: [], count: rows.count))
    }

    func step(_ state: State, tokens: [Int]) throws -> StepOutput<State> {
        stepCalls += 1
        let rows = tokens.count
        guard rows == state.source.count else { throw RecurError(.shape, "step: \(rows) tokens for \(state.source.count) rows") }
        var next = state
        let v = vocabularySize
        let lp = Tensor(zeros: [rows, v])
        let width = (sources.map(\.length).max() ?? 0) + 1  // wider than any source: the decoders trim
        let att = withAttention ? Tensor(zeros: [rows, width]) : nil
        for r in 0..<rows {
            let token = tokens[r]
            if next.fed[r].isEmpty != (token == TableScorer.bos) {
                throw RecurError(.value, "step: BOS must be fed first and only first (row \(r), token \(token))")
            }
            guard (0..<v).contains(token), token != TableScorer.eos, token != TableScorer.pad else {
                throw RecurError(.value, "step: token \(token) should never be fed")
            }
            next.fed[r].append(token)
            let prefix = Array(next.fed[r].dropFirst())
            let row = logProbs(source: state.source[r], prefix: prefix)
            for t in 0..<v { lp[r, t] = row[t] }
            if let att {
                for (j, x) in attentionRow(source: state.source[r], prefix: prefix).enumerated() { att[r, j] = x }
                att[r, width - 1] = 99  // padding that must never show up
            }
        }
        return StepOutput(logProbs: lp, state: next, attention: att)
    }

    func select(_ state: State, rows: [Int]) throws -> State {
        selectCalls += 1
        guard rows.allSatisfy({ (0..<state.source.count).contains($0) }) else {
            throw RecurError(.value, "select: rows \(rows) out of range for \(state.source.count)")
        }
        return State(source: rows.map { state.source[$0] }, fed: rows.map { state.fed[$0] })
    }
}

/// A deterministic pseudo-random table: after each prefix the tokens from EOS
/// on get the weights 1, 2, …, n in an order that depends on (key, prefix),
/// each plus a fraction below 1/2, so no two tokens (and in practice no two
/// outputs) tie and the margins are wide; PAD and BOS get 0.
func scrambledTable(vocabularySize v: Int, eosWeightScale: Float = 1) -> (Int, [Int]) -> [Float] {
    { key, prefix in
        var h: UInt64 = 0x9E37_79B9 &+ UInt64(key) &* 0x1000_0001
        for t in prefix { h = (h ^ UInt64(t &+ 1)) &* 0x100_0000_01B3 }
        var rng = RNG(seed: h)
        var order = Array(1...(v - 2)).map(Float.init)
        rng.shuffle(&order)
        var w = [Float](repeating: 0, count: v)
        for t in 2..<v { w[t] = order[t - 2] + 0.5 * rng.uniform() }
        w[TableScorer.eos] *= eosWeightScale
        return w
    }
}
