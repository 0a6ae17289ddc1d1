import Foundation
import RecurCore

// BLEU as sacrebleu 2.x computes it (metrics/bleu.py): 13a tokenization,
// n-grams of orders 1...4 clipped by the maximum count over the references,
// the closest reference length per segment for the brevity penalty (ties to
// the shorter), corpus statistics summed over segments, and "exp" smoothing
// (mteval-v13a's: the k-th order with no match gets precision 1 / (2^k · total)).

/// The sufficient statistics of BLEU for one segment or a whole corpus
/// (sacrebleu's `[hyp_len, ref_len] + correct + total`).
public struct BLEUStatistics: Sendable, Equatable {
    public var hypothesisLength: Int
    public var referenceLength: Int
    /// Clipped matches per order (index n - 1).
    public var matches: [Int]
    /// Hypothesis n-grams per order.
    public var totals: [Int]

    public init(maxOrder: Int) {
        hypothesisLength = 0
        referenceLength = 0
        matches = Array(repeating: 0, count: maxOrder)
        totals = Array(repeating: 0, count: maxOrder)
    }

    /// Adds another segment's statistics.
    public static func += (a: inout BLEUStatistics, b: BLEUStatistics) {
        a.hypothesisLength += b.hypothesisLength
        a.referenceLength += b.referenceLength
        for k in a.matches.indices {
            a.matches[k] += b.matches[k]
            a.totals[k] += b.totals[k]
        }
    }
}

/// A BLEU score on the 0-100 scale with the figures sacrebleu prints beside it.
public struct BLEUScore: Sendable {
    /// BLEU, 0-100.
    public let score: Double
    /// Clipped matches per order.
    public let counts: [Int]
    /// Hypothesis n-grams per order.
    public let totals: [Int]
    /// Precisions per order, 0-100 (smoothed where the smoothing says so).
    public let precisions: [Double]
    public let brevityPenalty: Double
    public let hypothesisLength: Int
    public let referenceLength: Int
    /// sacrebleu's signature (see `MetricSignature`).
    public let signature: String

    /// hypothesis length / reference length (0 for an empty reference side).
    public var ratio: Double { referenceLength > 0 ? Double(hypothesisLength) / Double(referenceLength) : 0 }

    /// sacrebleu's verbose part: `60.0/33.3/25.0/0.0 (BP = 1.000 ratio = 1.000 hyp_len = 5 ref_len = 5)`.
    public var verbose: String {
        let p = precisions.map { String(format: "%.1f", $0) }.joined(separator: "/")
        return p + String(format: " (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)",
                          brevityPenalty, ratio, hypothesisLength, referenceLength)
    }

    /// sacrebleu's text line: `BLEU|<signature> = 42.1 <verbose>` with `width` decimals.
    public func formatted(width: Int = 1) -> String {
        "BLEU|\(signature) = \(String(format: "%.\(width)f", score)) \(verbose)"
    }
}

/// sacrebleu's BLEU.
///
/// The defaults are sacrebleu's `BLEU()` for corpus BLEU; `BLEU.sentence` is
/// `sacrebleu.sentence_bleu`'s (the same with effective order on).
///
///     let bleu = try BLEU().corpusScore(hypotheses: hyps, references: refs.map { [$0] })
///     print(bleu.formatted())   // BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:... = 42.1 ...
public struct BLEU: Sendable {
    /// How precisions of orders with no match are smoothed (Chen & Cherry 2014).
    public enum Smoothing: Sendable, Equatable {
        /// No smoothing: one order with no match makes BLEU 0.
        case none
        /// Method 1: a zero count becomes `value` (sacrebleu's default 0.1).
        case floor(Double)
        /// Method 2: `value` is added to counts and totals of orders 2 and up (default 1).
        case addK(Double)
        /// Method 3, mteval-v13a's and sacrebleu's default.
        case exp

        /// sacrebleu's name for the signature: `exp`, `none`, `floor[0.10]`, `add-k[1.00]`.
        public var signature: String {
            switch self {
            case .none: return "none"
            case .exp: return "exp"
            case .floor(let v): return String(format: "floor[%.2f]", v)
            case .addK(let v): return String(format: "add-k[%.2f]", v)
            }
        }
    }

    /// How lines become tokens.
    public enum Tokenization: String, Sendable {
        /// sacrebleu's default `13a`.
        case thirteenA = "13a"
        /// Split on whitespace only (sacrebleu's `none`).
        case none = "none"
    }

    public var lowercase: Bool
    public var tokenization: Tokenization
    public var smoothing: Smoothing
    public var maxOrder: Int
    /// Average only the orders up to the last one with any hypothesis n-gram
    /// (sacrebleu's `effective_order`; on for sentence BLEU).
    public var effectiveOrder: Bool

    public init(lowercase: Bool = false, tokenization: Tokenization = .thirteenA, smoothing: Smoothing = .exp,
                maxOrder: Int = 4, effectiveOrder: Bool = false) {
        self.lowercase = lowercase
        self.tokenization = tokenization
        self.smoothing = smoothing
        self.maxOrder = max(1, maxOrder)
        self.effectiveOrder = effectiveOrder
    }

    /// The settings of `sacrebleu.sentence_bleu`.
    public static let sentence = BLEU(effectiveOrder: true)

    /// The tokens of one line as this BLEU sees them: sacrebleu's
    /// `_preprocess_segment` (lowercase if asked, `rstrip`, tokenize), split on
    /// whitespace.
    public func tokens(_ line: String) -> [[Unicode.Scalar]] {
        let text = lowercase ? line.lowercased() : line
        switch tokenization {
        case .thirteenA: return Tokenizer13a.tokens(PythonText.rstrip(text))
        case .none: return PythonText.split(text)
        }
    }

    /// The statistics of one segment against its references (at least one).
    public func statistics(hypothesis: String, references: [String]) -> BLEUStatistics {
        var ids = TokenIDs()
        var index = NGramIndex<Int>()
        var stats = BLEUStatistics(maxOrder: maxOrder)
        var refCounts: NGramCounts? = nil
        var refLengths: [Int] = []
        for r in references {
            let counts = NGramCounts(ids.ids(tokens(r)), maxOrder: maxOrder, index: &index)
            refLengths.append(counts.length)
            if refCounts == nil { refCounts = counts } else { refCounts!.formMaximum(counts) }
        }
        let hyp = NGramCounts(ids.ids(tokens(hypothesis)), maxOrder: maxOrder, index: &index)
        stats.hypothesisLength = hyp.length
        stats.referenceLength = Self.closestLength(to: hyp.length, among: refLengths)
        for n in 1...maxOrder {
            stats.totals[n - 1] = hyp.total(order: n)
            if let refCounts { stats.matches[n - 1] = hyp.clippedMatches(in: refCounts, order: n) }
        }
        return stats
    }

    /// The reference length closest to `length`, the shorter on a tie
    /// (sacrebleu's `_get_closest_ref_len`); -1 when there is none.
    public static func closestLength(to length: Int, among lengths: [Int]) -> Int {
        var best = -1, bestDiff = -1
        for l in lengths {
            let d = abs(length - l)
            if bestDiff == -1 || d < bestDiff || (d == bestDiff && l < best) { best = l; bestDiff = d }
        }
        return best
    }

    /// Corpus BLEU. `references[i]` holds the references of segment i (at
    /// least one each; their number may vary, which the signature reports as
    /// `nrefs:var`). Throws when the counts differ.
    public func corpusScore(hypotheses: [String], references: [[String]]) throws -> BLEUScore {
        try MetricSignature.check(hypotheses: hypotheses.count, references: references, metric: "BLEU")
        var total = BLEUStatistics(maxOrder: maxOrder)
        for (h, refs) in zip(hypotheses, references) {
            total += statistics(hypothesis: h, references: refs)
        }
        return score(total, signature: signature(nrefs: MetricSignature.nrefs(references)))
    }

    /// BLEU of one segment (with `BLEU.sentence`, sacrebleu's `sentence_bleu`).
    public func sentenceScore(hypothesis: String, references: [String]) throws -> BLEUScore {
        try corpusScore(hypotheses: [hypothesis], references: [references])
    }

    /// sacrebleu's signature for these settings.
    public func signature(nrefs: String) -> String {
        "nrefs:\(nrefs)|case:\(lowercase ? "lc" : "mixed")|eff:\(effectiveOrder ? "yes" : "no")"
            + "|tok:\(tokenization.rawValue)|smooth:\(smoothing.signature)|version:\(MetricSignature.version)"
    }

    /// BLEU from summed statistics (sacrebleu's `compute_bleu`).
    public func score(_ stats: BLEUStatistics, signature: String = "") -> BLEUScore {
        let sys = stats.hypothesisLength, ref = stats.referenceLength
        var bp = 1.0
        if sys < ref { bp = sys > 0 ? Foundation.exp(1 - Double(ref) / Double(sys)) : 0 }
        var precisions = Array(repeating: 0.0, count: maxOrder)
        func result(_ s: Double) -> BLEUScore {
            BLEUScore(score: s, counts: stats.matches, totals: stats.totals, precisions: precisions,
                      brevityPenalty: bp, hypothesisLength: sys, referenceLength: ref, signature: signature)
        }
        guard stats.matches.contains(where: { $0 != 0 }) else { return result(0) }
        var smoothMteval = 1.0
        var order = maxOrder
        for n in 1...maxOrder {
            var correct = Double(stats.matches[n - 1]), total = Double(stats.totals[n - 1])
            if case .addK(let k) = smoothing, n > 1 { correct += k; total += k }
            if total == 0 { break }
            if effectiveOrder { order = n }
            if correct == 0 {
                switch smoothing {
                case .exp:
                    smoothMteval *= 2
                    precisions[n - 1] = 100 / (smoothMteval * total)
                case .floor(let v):
                    precisions[n - 1] = 100 * v / total
                case .none, .addK:
                    break
                }
            } else {
                precisions[n - 1] = 100 * correct / total
            }
        }
        // sacrebleu's my_log: log(0) is floored to -9999999999.
        let logSum = precisions[0..<order].reduce(0.0) { $0 + ($1 == 0 ? -9_999_999_999 : Foundation.log($1)) }
        return result(bp * Foundation.exp(logSum / Double(order)))
    }
}
