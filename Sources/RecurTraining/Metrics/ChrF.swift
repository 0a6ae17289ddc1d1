import Foundation
import RecurCore

// chrF and chrF++ as sacrebleu 2.x computes them (metrics/chrf.py): character
// n-grams of orders 1...6 with whitespace removed, optionally word n-grams of
// orders 1...wordOrder after splitting punctuation off word ends, statistics
// [hyp, ref, match] per order from the best-scoring reference of each segment,
// summed over the corpus; precision and recall averaged over the orders that
// have n-grams on both sides, then F-beta with beta = 2.

/// A chrF score on the 0-100 scale.
public struct ChrFScore: Sendable {
    /// chrF, 0-100.
    public let score: Double
    /// sacrebleu's name: `chrF2`, `chrF2++` for word order 2.
    public let name: String
    /// sacrebleu's signature (see `MetricSignature`).
    public let signature: String

    /// sacrebleu's text line: `chrF2|<signature> = 61.5` with `width` decimals.
    public func formatted(width: Int = 1) -> String {
        "\(name)|\(signature) = \(String(format: "%.\(width)f", score))"
    }
}

/// sacrebleu's CHRF; the defaults are sacrebleu's `CHRF()` (chrF2), and
/// `ChrF.plusPlus` is `CHRF(word_order=2)` (chrF++).
public struct ChrF: Sendable {
    public var charOrder: Int
    public var wordOrder: Int
    public var beta: Int
    public var lowercase: Bool
    /// Keep whitespace inside character n-grams.
    public var whitespace: Bool
    /// Average F over all orders with epsilon for empty ones (chrF++.py's way)
    /// instead of sacrebleu's default effective order.
    public var epsSmoothing: Bool

    public init(charOrder: Int = 6, wordOrder: Int = 0, beta: Int = 2, lowercase: Bool = false,
                whitespace: Bool = false, epsSmoothing: Bool = false) {
        self.charOrder = max(1, charOrder)
        self.wordOrder = max(0, wordOrder)
        self.beta = beta
        self.lowercase = lowercase
        self.whitespace = whitespace
        self.epsSmoothing = epsSmoothing
    }

    /// chrF++: word n-grams up to order 2 beside the character n-grams.
    public static let plusPlus = ChrF(wordOrder: 2)

    /// `chrF2`, `chrF2++`, ...
    public var name: String { "chrF\(beta)" + String(repeating: "+", count: wordOrder) }

    /// sacrebleu's signature for these settings.
    public func signature(nrefs: String) -> String {
        "nrefs:\(nrefs)|case:\(lowercase ? "lc" : "mixed")|eff:\(epsSmoothing ? "no" : "yes")"
            + "|nc:\(charOrder)|nw:\(wordOrder)|space:\(whitespace ? "yes" : "no")|version:\(MetricSignature.version)"
    }

    /// The n-grams of one line: characters, then words.
    struct Grams {
        let chars: NGramCounts
        let words: NGramCounts
    }

    /// What numbers the tokens and n-grams of one segment.
    struct Indexes {
        var tokens = TokenIDs()
        var words = NGramIndex<Int>()
        var chars = NGramIndex<Unicode.Scalar>()
    }

    func grams(_ line: String, _ ix: inout Indexes) -> Grams {
        let text = lowercase ? line.lowercased() : line
        let scalars = Array(text.unicodeScalars)
        let chars = whitespace ? scalars : scalars.filter { !PythonText.isSpace($0) }
        var words: [Int] = []
        if wordOrder > 0 { words = ix.tokens.ids(Self.wordsSplittingPunctuation(scalars)) }
        return Grams(chars: NGramCounts(chars, maxOrder: charOrder, index: &ix.chars),
                     words: NGramCounts(words, maxOrder: wordOrder, index: &ix.words))
    }

    /// sacrebleu's `_remove_punctuation`: each whitespace-separated word of
    /// more than one character loses one ASCII punctuation character from its
    /// end, or else from its start, as a token of its own.
    static func wordsSplittingPunctuation(_ scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        func isPunct(_ c: Unicode.Scalar) -> Bool {
            switch c.value {
            case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: return true
            default: return false
            }
        }
        var out: [[Unicode.Scalar]] = []
        for w in PythonText.split(scalars) {
            if w.count == 1 {
                out.append(w)
            } else if isPunct(w[w.count - 1]) {
                out.append(Array(w.dropLast())); out.append([w[w.count - 1]])
            } else if isPunct(w[0]) {
                out.append([w[0]]); out.append(Array(w.dropFirst()))
            } else {
                out.append(w)
            }
        }
        return out
    }

    /// [hyp count, ref count, matches] per order (characters first), 3 ×
    /// (charOrder + wordOrder) numbers (sacrebleu's `_get_match_statistics`).
    func matchStatistics(_ h: Grams, _ r: Grams) -> [Int] {
        var stats: [Int] = []
        stats.reserveCapacity(3 * (charOrder + wordOrder))
        func add(_ hc: NGramCounts, _ rc: NGramCounts, _ n: Int) {
            let refTotal = rc.total(order: n)
            // sacrebleu counts no hypothesis n-grams when the reference has none.
            stats.append(rc.byOrder[n - 1].isEmpty ? 0 : hc.total(order: n))
            stats.append(refTotal)
            stats.append(hc.clippedMatches(in: rc, order: n))
        }
        for n in 1...charOrder { add(h.chars, r.chars, n) }
        if wordOrder > 0 { for n in 1...wordOrder { add(h.words, r.words, n) } }
        return stats
    }

    /// The statistics of one segment: those of the reference giving the best F.
    public func statistics(hypothesis: String, references: [String]) -> [Int] {
        var ix = Indexes()
        let h = grams(hypothesis, &ix)
        var best: [Int] = Array(repeating: 0, count: 3 * (charOrder + wordOrder))
        var bestF = -1.0
        for ref in references {
            let stats = matchStatistics(h, grams(ref, &ix))
            let f = fScore(stats)
            if f > bestF { bestF = f; best = stats }
        }
        return best
    }

    /// chrF (0-100) from [hyp, ref, match] statistics per order (sacrebleu's `_compute_f_score`).
    public func fScore(_ stats: [Int]) -> Double {
        let eps = 1e-16
        let factor = Double(beta * beta)
        let orders = stats.count / 3
        var score = 0.0, avgPrec = 0.0, avgRec = 0.0
        var effective = 0
        for i in 0..<orders {
            let nHyp = stats[3 * i], nRef = stats[3 * i + 1], nMatch = Double(stats[3 * i + 2])
            let prec = nHyp > 0 ? nMatch / Double(nHyp) : eps
            let rec = nRef > 0 ? nMatch / Double(nRef) : eps
            let denom = factor * prec + rec
            score += denom > 0 ? (1 + factor) * prec * rec / denom : eps
            if nHyp > 0 && nRef > 0 {
                avgPrec += prec
                avgRec += rec
                effective += 1
            }
        }
        if epsSmoothing { return 100 * score / Double(orders) }
        if effective == 0 {
            avgPrec = 0; avgRec = 0
        } else {
            avgPrec /= Double(effective)
            avgRec /= Double(effective)
        }
        guard avgPrec + avgRec != 0 else { return 0 }
        let f = (1 + factor) * avgPrec * avgRec / (factor * avgPrec + avgRec)
        return 100 * f
    }

    /// Corpus chrF. `references[i]` holds the references of segment i (at least one).
    public func corpusScore(hypotheses: [String], references: [[String]]) throws -> ChrFScore {
        try MetricSignature.check(hypotheses: hypotheses.count, references: references, metric: name)
        var total = Array(repeating: 0, count: 3 * (charOrder + wordOrder))
        for (h, refs) in zip(hypotheses, references) {
            let s = statistics(hypothesis: h, references: refs)
            for k in total.indices { total[k] += s[k] }
        }
        return ChrFScore(score: fScore(total), name: name, signature: signature(nrefs: MetricSignature.nrefs(references)))
    }

    /// chrF of one segment (sacrebleu's `sentence_chrf` with the defaults).
    public func sentenceScore(hypothesis: String, references: [String]) throws -> ChrFScore {
        try corpusScore(hypotheses: [hypothesis], references: [references])
    }
}
