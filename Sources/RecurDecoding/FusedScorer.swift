import Foundation
import RecurCore
import RecurModels

/// How the tokens of a model's target vocabulary are scored and fed by a
/// language model with a vocabulary of its own (shallow fusion).
///
/// Target token t is matched by string: the language-model tokens equal to
/// it, or, when the target vocabulary has no uppercase letter (a lowercased
/// model), those equal to it once lowercased (t = "i" matches "i" and "I").
/// BOS and EOS match the language model's BOS and EOS. The language model
/// scores t with the log of the summed probability of its matches, and is
/// fed the match it found most probable; a token without a match is scored
/// and fed as the language model's `fallback` (its `<unk>`).
public struct FusionMap: Sendable, Equatable {
    /// Per target token: its language-model tokens (empty: `fallback`).
    public let candidates: [[Int]]
    /// The language-model token for target tokens without a match.
    public let fallback: Int
    /// Target tokens (other than the specials) without a match.
    public let unmatched: [Int]

    /// Throws unless `weight` is a finite λ ≥ 0.
    static func checkWeight(_ weight: Float) throws {
        guard weight.isFinite, weight >= 0 else {
            throw RecurError(.value, "language model weight must be finite and not negative, got \(weight)")
        }
    }

    public init(candidates: [[Int]], fallback: Int, unmatched: [Int] = []) {
        self.candidates = candidates
        self.fallback = fallback
        self.unmatched = unmatched
    }

    /// Matches `target` (a model's target vocabulary, specials first) with
    /// `languageModel` (the language model's), both in Recur's layout: PAD,
    /// BOS, EOS, UNK at 0…3. Throws when more than `maxUnmatched` of the
    /// target's other tokens find no match: the language model was made for
    /// other text or another tokenization.
    public init(target: [String], languageModel lm: [String], maxUnmatched: Double = 0.1) throws {
        let bos = 1, eos = 2, unk = 3  // PAD (0) keeps the fallback: no model scores it above -inf
        guard target.count > unk, lm.count > unk else {
            throw RecurError(.value, "language model fusion: a vocabulary lacks the four special tokens")
        }
        let foldCase = !target.dropFirst(4).contains { $0 != $0.lowercased() }
        var byKey: [String: [Int]] = [:]
        for (id, s) in lm.enumerated().dropFirst(4) { byKey[foldCase ? s.lowercased() : s, default: []].append(id) }
        var candidates = [[Int]](repeating: [], count: target.count)
        candidates[bos] = [bos]
        candidates[eos] = [eos]
        candidates[unk] = [unk]
        var unmatched: [Int] = []
        for (id, s) in target.enumerated().dropFirst(4) {
            if let c = byKey[s] { candidates[id] = c } else { unmatched.append(id) }
        }
        let others = max(target.count - 4, 1)
        if Double(unmatched.count) > maxUnmatched * Double(others) {
            let examples = unmatched.prefix(5).map { "'\(target[$0])'" }.joined(separator: ", ")
            throw RecurError(.value, "the language model's vocabulary lacks \(unmatched.count) of the model's \(target.count - 4) tokens "
                                 + "(\(examples)\(unmatched.count > 5 ? ", …" : "")): it was made for other text or another tokenization")
        }
        self.init(candidates: candidates, fallback: unk, unmatched: unmatched)
    }
}

/// The decoder state of a fused scorer: the model's, the language model's,
/// and the language model's last log-probabilities (to feed each chosen
/// token as its most probable match).
public struct FusedState<Main, LM> {
    public var main: Main
    public var lm: LM
    /// `(rows, V_lm)`; its own storage (not a view into a workspace).
    public var lmLogProbs: Tensor
}

/// Shallow fusion (Gulcehre et al. 2015, as in ESPnet's `--lm-weight` and
/// DeepSpeech's scorer): the next-token score of a hypothesis is
/// `log p_model(t | x, y) + weight · log p_lm(t | y)`. The language model
/// reads the hypothesis's own tokens from BOS on; it does not see the source.
/// The fused rows are not normalised, but every entry stays ≤ 0, as the
/// decoders require. The hypotheses' `logProb` and `score` are the fused ones.
public final class FusedScorer<Main: StepScorer, LM: StepScorer>: StepScorer {
    public typealias State = FusedState<Main.State, LM.State>

    public let main: Main
    public let lm: LM
    public let map: FusionMap
    public let weight: Float

    /// `lm` must have one source (each row starts from its initial state).
    public init(main: Main, lm: LM, map: FusionMap, weight: Float) throws {
        try FusionMap.checkWeight(weight)
        guard map.candidates.count == main.vocabularySize else {
            throw RecurError(.value, "fusion map of \(map.candidates.count) tokens for a model vocabulary of \(main.vocabularySize)")
        }
        let v = lm.vocabularySize
        guard (0..<v).contains(map.fallback), map.candidates.allSatisfy({ $0.allSatisfy { (0..<v).contains($0) } }) else {
            throw RecurError(.value, "fusion map names tokens outside the language model's vocabulary of \(v)")
        }
        guard lm.sourceCount >= 1 else { throw RecurError(.value, "the language model scorer has no source") }
        self.main = main
        self.lm = lm
        self.map = map
        self.weight = weight
    }

    public var vocabularySize: Int { main.vocabularySize }
    public var specials: SpecialTokens { main.specials }
    public var sourceCount: Int { main.sourceCount }
    public func sourceLength(_ source: Int) -> Int { main.sourceLength(source) }

    public func initialState(sources: [Int]) throws -> State {
        State(main: try main.initialState(sources: sources),
              lm: try lm.initialState(sources: [Int](repeating: 0, count: sources.count)),
              lmLogProbs: Tensor(zeros: [sources.count, lm.vocabularySize]))
    }

    /// The language-model token fed for target token `t` in row `r`: its most
    /// probable match under the last step's log-probabilities (lowest id on ties).
    func lmToken(_ t: Int, row r: Int, _ last: Tensor) -> Int {
        let c = t >= 0 && t < map.candidates.count ? map.candidates[t] : []
        guard var best = c.first else { return map.fallback }
        let v = lm.vocabularySize
        for id in c.dropFirst() where last.data[r * v + id] > last.data[r * v + best] { best = id }
        return best
    }

    public func step(_ state: State, tokens: [Int]) throws -> StepOutput<State> {
        let rows = tokens.count
        let out = try main.step(state.main, tokens: tokens)
        let lmOut = try lm.step(state.lm, tokens: (0..<rows).map { lmToken(tokens[$0], row: $0, state.lmLogProbs) })
        let v = main.vocabularySize, vl = lm.vocabularySize
        guard lmOut.logProbs.shape == [rows, vl] else {
            throw RecurError(.shape, "the language model returned log-probabilities of shape \(lmOut.logProbs.shape) for \(rows) rows")
        }
        let p = out.logProbs.data, q = lmOut.logProbs.data
        for r in 0..<rows {
            let row = q + r * vl
            for t in 0..<v {
                let c = map.candidates[t]
                let s: Float
                switch c.count {
                case 0: s = row[map.fallback]
                case 1: s = row[c[0]]
                default:
                    let m = c.reduce(-Float.infinity) { max($0, row[$1]) }
                    s = m == -.infinity ? m : m + Foundation.log(c.reduce(Float(0)) { $0 + Foundation.exp(row[$1] - m) })
                }
                // 0 · -inf would be NaN: weight 0 leaves the model's scores as they are.
                if weight > 0 { p[r * v + t] += weight * s }
            }
        }
        return StepOutput(logProbs: out.logProbs,
                          state: State(main: out.state, lm: lmOut.state, lmLogProbs: lmOut.logProbs.copy()),
                          attention: out.attention)
    }

    public func select(_ state: State, rows: [Int]) throws -> State {
        let vl = lm.vocabularySize
        let last = Tensor(zeros: [rows.count, vl])
        for (i, r) in rows.enumerated() {
            guard r >= 0, r < state.lmLogProbs.shape[0] else { throw RecurError(.value, "select: row \(r) out of range") }
            (last.data + i * vl).update(from: state.lmLogProbs.data + r * vl, count: vl)
        }
        return State(main: try main.select(state.main, rows: rows), lm: try lm.select(state.lm, rows: rows), lmLogProbs: last)
    }
}

/// A language model for shallow fusion, ready to join any encoder-decoder
/// model whose target vocabulary it covers (`recur transcribe --lm`).
public struct LanguageModelFusion: @unchecked Sendable {
    public let model: LanguageModel
    /// Read only while decoding: one fusion may serve several decoders at once.
    public let store: ParameterStore
    public let map: FusionMap
    public let weight: Float
    /// The weight when none is given (`--lm-weight`): measured best among
    /// 0.1–0.5 for speech with lm-en (beam 5), see models/README.md.
    public static let defaultWeight: Float = 0.2

    /// Matches the vocabularies (`FusionMap`) and checks the weight.
    public init(model: LanguageModel, store: ParameterStore, languageModelTokens: [String], targetTokens: [String],
                weight: Float) throws {
        try FusionMap.checkWeight(weight)
        guard languageModelTokens.count == model.config.vocabularySize else {
            throw RecurError(.value, "language model fusion: \(languageModelTokens.count) tokens for a model of \(model.config.vocabularySize)")
        }
        self.model = model
        self.store = store
        self.map = try FusionMap(target: targetTokens, languageModel: languageModelTokens)
        self.weight = weight
    }

    /// `main` with this language model fused in.
    public func scorer<Main: StepScorer>(over main: Main) throws -> FusedScorer<Main, LanguageModelScorer> {
        try FusedScorer(main: main, lm: try LanguageModelScorer(model: model, store: store), map: map, weight: weight)
    }
}
