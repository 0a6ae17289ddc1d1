import Foundation
import RecurCore

/// How a finished hypothesis's total log-probability becomes its score.
/// The length L counts every scored step: the tokens and the final EOS.
public enum LengthPenalty: Sendable, Equatable {
    /// score = log p(Y).
    case none
    /// score = log p(Y) / L.
    case average
    /// GNMT (Wu et al. 2016): score = log p(Y) / ((5 + L) / 6)^α.
    /// α = 0 is `.none`; larger α favours longer outputs.
    case gnmt(alpha: Float)

    /// The divisor applied to a log-probability of a hypothesis of length `length`.
    public func divisor(length: Int) -> Float {
        switch self {
        case .none: return 1
        case .average: return Float(max(length, 1))
        case .gnmt(let alpha): return Foundation.pow((5 + Float(length)) / 6, alpha)
        }
    }

    /// The score of a hypothesis with total log-probability `logProb` and length `length`.
    public func score(logProb: Float, length: Int) -> Float {
        logProb / divisor(length: length)
    }
}

/// Options shared by greedy decoding, beam search and sampling.
///
/// Lengths count output tokens, not BOS, not the prime and not EOS. While a
/// hypothesis is shorter than its minimum length EOS is forbidden; when it
/// reaches its maximum length EOS is forced (its log-probability is still the
/// model's), so every result ends with EOS and its length for the penalty is
/// `tokens.count + 1`. A minimum above the maximum is lowered to the maximum.
public struct DecodingOptions: Sendable, Equatable {
    /// Fewest output tokens before EOS may be chosen.
    public var minLength: Int
    /// The minimum is also at least ⌈minLengthRatio × source length⌉.
    public var minLengthRatio: Float
    /// Most output tokens; at this length EOS is forced.
    public var maxLength: Int
    /// When set, the maximum is also at most
    /// ⌈maxLengthRatio × source length⌉ + maxLengthOffset (fairseq's max_len_a/b).
    public var maxLengthRatio: Float?
    public var maxLengthOffset: Int
    /// Scores of finished hypotheses (and the ranking of beam search's n-best).
    public var lengthPenalty: LengthPenalty
    /// Tokens fed after BOS before anything is chosen (a language model's prime
    /// text); their log-probabilities are not part of the result.
    public var prime: [Int]
    /// Tokens never chosen (OpenNMT-py's `--ban_unk_token`, Marian's default for `<unk>`):
    /// their log-probability is taken as -inf at every step, so the search, greedy or
    /// sampling picks among the others (no renormalization: a result's log-probability
    /// is still the model's). EOS cannot be banned.
    public var bannedTokens: [Int]

    public init(minLength: Int = 0, minLengthRatio: Float = 0,
                maxLength: Int = 200, maxLengthRatio: Float? = nil, maxLengthOffset: Int = 0,
                lengthPenalty: LengthPenalty = .none, prime: [Int] = [], bannedTokens: [Int] = []) {
        self.minLength = minLength
        self.minLengthRatio = minLengthRatio
        self.maxLength = maxLength
        self.maxLengthRatio = maxLengthRatio
        self.maxLengthOffset = maxLengthOffset
        self.lengthPenalty = lengthPenalty
        self.prime = prime
        self.bannedTokens = bannedTokens
    }

    /// The (minimum, maximum) output length for a source of `sourceLength`.
    public func lengthBounds(sourceLength: Int) -> (min: Int, max: Int) {
        var hi = maxLength
        if let a = maxLengthRatio {
            hi = Swift.min(hi, Int((a * Float(sourceLength)).rounded(.up)) + maxLengthOffset)
        }
        hi = Swift.max(hi, 0)
        let lo = Swift.max(minLength, Int((minLengthRatio * Float(sourceLength)).rounded(.up)))
        return (Swift.min(lo, hi), hi)
    }

    /// Checks the options against a scorer; throws a `.value` error naming the problem.
    func validate(vocabularySize v: Int, specials: SpecialTokens) throws {
        guard v >= 1 else { throw RecurError(.value, "the scorer's vocabulary is empty") }
        for (name, id) in [("BOS", specials.bos), ("EOS", specials.eos)] where !(0..<v).contains(id) {
            throw RecurError(.value, "\(name) id \(id) is outside the vocabulary of \(v) tokens")
        }
        guard minLength >= 0, maxLength >= 0 else {
            throw RecurError(.value, "length limits must not be negative (min \(minLength), max \(maxLength))")
        }
        guard minLengthRatio >= 0, minLengthRatio.isFinite, (maxLengthRatio ?? 0) >= 0, (maxLengthRatio ?? 0).isFinite else {
            throw RecurError(.value, "length ratios must be finite and not negative")
        }
        if case .gnmt(let alpha) = lengthPenalty, !alpha.isFinite {
            throw RecurError(.value, "length penalty α must be finite")
        }
        if let bad = prime.first(where: { !(0..<v).contains($0) }) {
            throw RecurError(.value, "prime token id \(bad) is outside the vocabulary of \(v) tokens")
        }
        if let bad = bannedTokens.first(where: { !(0..<v).contains($0) }) {
            throw RecurError(.value, "banned token id \(bad) is outside the vocabulary of \(v) tokens")
        }
        if bannedTokens.contains(specials.eos) {
            throw RecurError(.value, "EOS cannot be banned: every output must be able to end")
        }
    }
}

/// Whether EOS may be chosen at the current length.
enum EOSRule: Equatable {
    case forbidden, allowed, forced

    init(length: Int, bounds: (min: Int, max: Int)) {
        if length >= bounds.max { self = .forced } else if length < bounds.min { self = .forbidden } else { self = .allowed }
    }
}
