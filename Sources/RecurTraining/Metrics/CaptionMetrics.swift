import Foundation
import RecurCore

// Caption metrics as the COCO caption evaluation (pycocoevalcap 1.2) computes
// them on tokenized captions: its scorers split each caption on whitespace and
// nothing else (the COCO pipeline runs its Java PTB tokenizer before them,
// lowercasing and dropping punctuation; give these functions captions already
// tokenized that way, e.g. with `CaptionMetrics.simpleTokenize`).
//
// Caption BLEU (bleu_scorer.py, option "closest") differs from sacrebleu's:
// no 13a tokenization, no smoothing but tiny constants (correct + 1e-15) /
// (total + 1e-9), BLEU-k for every k up to 4 from one running product, and the
// brevity penalty uses for each image the reference length closest to the
// hypothesis length (ties to the shorter), exp(1 - 1/ratio) when ratio < 1.
//
// CIDEr-D (cider_scorer.py, which is CIDEr-D despite its name): TF-IDF vectors
// of the n-grams of orders 1...4, document frequencies from the references
// (the number of images whose references contain the n-gram), idf = log(images)
// - log(max(1, df)); per order the clipped cosine Σ min(h, r)·r / (|h|·|r|)
// times a Gaussian length penalty exp(-(Δ²)/(2σ²)) with σ = 6, summed over the
// references, averaged over orders and references, times 10; the corpus score
// is the mean over images. As in pycocoevalcap, the "length" in Δ is the
// number of bigrams (its `n == 1` with zero-based orders); that gives the same
// Δ as word counts except against an empty caption, whose similarity is 0
// either way.

/// Caption BLEU-1...BLEU-n (0-1 scale, as pycocoevalcap reports it).
public struct CaptionBLEUScore: Sendable {
    /// Corpus BLEU-k at index k - 1.
    public let bleu: [Double]
    /// Per image, BLEU-k at index k - 1.
    public let perImage: [[Double]]
    /// Summed hypothesis length and summed closest reference length.
    public let hypothesisLength: Int
    public let referenceLength: Int
}

/// CIDEr-D (pycocoevalcap's scale: about 0-10, ×10 included).
public struct CIDErScore: Sendable {
    public let score: Double
    public let perImage: [Double]
}

/// The COCO caption metrics.
public enum CaptionMetrics {
    /// Caption BLEU. `references[i]` holds the (tokenized) reference captions
    /// of image i, at least one; `hypotheses[i]` its tokenized caption.
    public static func bleu(hypotheses: [String], references: [[String]], maxOrder: Int = 4) throws -> CaptionBLEUScore {
        try MetricSignature.check(hypotheses: hypotheses.count, references: references, metric: "caption BLEU")
        let n = max(1, maxOrder)
        let small = 1e-9, tiny = 1e-15
        var correct = [Int](repeating: 0, count: n), guess = [Int](repeating: 0, count: n)
        var testLength = 0, refLength = 0
        var perImage: [[Double]] = []
        for (h, refs) in zip(hypotheses, references) {
            var ids = TokenIDs()
            var index = NGramIndex<Int>()
            var refMax: NGramCounts? = nil
            var lengths: [Int] = []
            for r in refs {
                let c = NGramCounts(ids.ids(PythonText.split(r)), maxOrder: n, index: &index)
                lengths.append(c.length)
                if refMax == nil { refMax = c } else { refMax!.formMaximum(c) }
            }
            let hyp = NGramCounts(ids.ids(PythonText.split(h)), maxOrder: n, index: &index)
            let reflen = BLEU.closestLength(to: hyp.length, among: lengths)
            var c = [Int](repeating: 0, count: n), g = [Int](repeating: 0, count: n)
            for k in 1...n {
                g[k - 1] = max(0, hyp.length - k + 1)
                c[k - 1] = hyp.clippedMatches(in: refMax!, order: k)
                correct[k - 1] += c[k - 1]
                guess[k - 1] += g[k - 1]
            }
            testLength += hyp.length
            refLength += reflen
            perImage.append(bleuValues(correct: c, guess: g, testLength: hyp.length, refLength: reflen))
        }
        return CaptionBLEUScore(
            bleu: bleuValues(correct: correct, guess: guess, testLength: testLength, refLength: refLength),
            perImage: perImage, hypothesisLength: testLength, referenceLength: refLength)

        func bleuValues(correct: [Int], guess: [Int], testLength: Int, refLength: Int) -> [Double] {
            var values: [Double] = []
            var product = 1.0
            for k in 0..<n {
                product *= (Double(correct[k]) + tiny) / (Double(guess[k]) + small)
                values.append(Foundation.pow(product, 1.0 / Double(k + 1)))
            }
            let ratio = (Double(testLength) + tiny) / (Double(refLength) + small)
            if ratio < 1 {
                let bp = Foundation.exp(1 - 1 / ratio)
                for k in 0..<n { values[k] *= bp }
            }
            return values
        }
    }

    /// CIDEr-D. `references[i]` holds the (tokenized) reference captions of
    /// image i, at least one; the idf comes from these references.
    public static func ciderD(hypotheses: [String], references: [[String]], maxOrder: Int = 4,
                              sigma: Double = 6) throws -> CIDErScore {
        try MetricSignature.check(hypotheses: hypotheses.count, references: references, metric: "CIDEr-D")
        let n = max(1, maxOrder)
        var ids = TokenIDs()
        var index = NGramIndex<Int>()   // one for the corpus: document frequencies count across images
        let hyps = hypotheses.map { NGramCounts(ids.ids(PythonText.split($0)), maxOrder: n, index: &index) }
        let refs = references.map { $0.map { NGramCounts(ids.ids(PythonText.split($0)), maxOrder: n, index: &index) } }

        // Document frequency: in how many images' references each n-gram occurs.
        var df = [Double](repeating: 0, count: index.count)
        for imageRefs in refs {
            var seen = Set<Int>()
            for r in imageRefs { for counts in r.byOrder { for gram in counts.keys { seen.insert(gram) } } }
            for gram in seen { df[gram] += 1 }
        }
        let logImages = Foundation.log(Double(refs.count))

        /// TF-IDF vectors per order, their norms, and the bigram count.
        struct Vector {
            var weights: [[Int: Double]]
            var norms: [Double]
            var length: Int
        }
        func vector(_ c: NGramCounts) -> Vector {
            var v = Vector(weights: Array(repeating: [:], count: n), norms: Array(repeating: 0, count: n), length: 0)
            for k in 0..<n {
                var sq = 0.0
                for (gram, tf) in c.byOrder[k] {
                    let w = Double(tf) * (logImages - Foundation.log(max(1.0, df[gram])))
                    v.weights[k][gram] = w
                    sq += w * w
                    if k == 1 { v.length += tf }
                }
                v.norms[k] = sq.squareRoot()
            }
            return v
        }

        var perImage: [Double] = []
        for (h, imageRefs) in zip(hyps, refs) {
            let vh = vector(h)
            var sums = [Double](repeating: 0, count: n)
            for r in imageRefs {
                let vr = vector(r)
                let delta = Double(vh.length - vr.length)
                let penalty = Foundation.exp(-(delta * delta) / (2 * sigma * sigma))
                for k in 0..<n {
                    var val = 0.0
                    for (gram, wh) in vh.weights[k] {
                        let wr = vr.weights[k][gram] ?? 0
                        val += min(wh, wr) * wr
                    }
                    if vh.norms[k] != 0 && vr.norms[k] != 0 { val /= vh.norms[k] * vr.norms[k] }
                    sums[k] += val * penalty
                }
            }
            let mean = sums.reduce(0, +) / Double(n)
            perImage.append(mean / Double(imageRefs.count) * 10)
        }
        let score = perImage.isEmpty ? 0 : perImage.reduce(0, +) / Double(perImage.count)
        return CIDErScore(score: score, perImage: perImage)
    }
}

extension CaptionMetrics {
    /// The tokens pycocoevalcap removes after its PTB tokenizer (compared after
    /// lowercasing, so `-lrb-` and friends stay, as they do there).
    static let cocoDropped: Set<String> = ["''", "'", "``", "`", ".", "?", "!", ",", ":", "-", "--", "...", ";", "\""]

    /// A close approximation, in Swift, of the COCO evaluation's caption
    /// preprocessing: Stanford's PTBTokenizer with `-lowerCase` followed by
    /// pycocoevalcap's punctuation filter. It lowercases; splits on whitespace;
    /// splits off brackets (as `-lrb-` `-rrb-` `-lsb-` `-rsb-` `-lcb-` `-rcb-`,
    /// which COCO keeps), quotes, and trailing runs of `. , ! ? ; :` (a run of
    /// one repeated mark is one token: `!!!`); keeps the final period of
    /// dotted abbreviations (`u.s.a.`), decimal numbers and hyphenated words;
    /// keeps the period of a few abbreviations (`mr.`, `mt.`, `st.`, ...);
    /// splits the clitics `n't 's 're 've 'll 'd 'm`, `cannot`, `gonna`,
    /// `wanna`, `gotta`, and `$`/`%` from numbers;
    /// then drops the marks COCO drops. It reproduces the Java tokenizer on
    /// ordinary captions (the fixture `ptb_tokenized`), not on every input.
    public static func cocoTokenize(_ caption: String) -> String {
        let text = caption.lowercased().replacingOccurrences(of: "\u{2019}", with: "'")
            .replacingOccurrences(of: "\u{2018}", with: "'")
            .replacingOccurrences(of: "\u{201C}", with: "\"").replacingOccurrences(of: "\u{201D}", with: "\"")
        var out: [String] = []
        for w in PythonText.split(text) {
            for t in cocoSplitWord(w) where !cocoDropped.contains(t) { out.append(t) }
        }
        return out.joined(separator: " ")
    }

    static let clitics = ["n't", "'s", "'re", "'ve", "'ll", "'d", "'m"]
    /// Words the PTB tokenizer splits in two.
    static let splitWords: [String: [String]] = ["cannot": ["can", "not"], "gonna": ["gon", "na"],
                                                 "wanna": ["wan", "na"], "gotta": ["got", "ta"]]
    /// Abbreviations that keep their period (PTB keeps it, and COCO then keeps the token).
    static let abbreviations: Set<String> = ["mr", "mrs", "ms", "dr", "mt", "st", "jr", "sr", "vs", "prof", "etc"]

    static func cocoSplitWord(_ word: [Unicode.Scalar]) -> [String] {
        var w = word[...]
        var front: [String] = [], back: [String] = []
        let brackets: [Unicode.Scalar: String] = ["(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-",
                                                  "{": "-lcb-", "}": "-rcb-"]
        let word = PythonText.string(w)
        if clitics.contains(word) { return [word] }
        // Leading brackets, quotes, and `$` before a digit.
        while let c = w.first {
            if let b = brackets[c], c == "(" || c == "[" || c == "{" { front.append(b); w = w.dropFirst() }
            else if c == "\"" || c == "'" || c == "`" { front.append(String(c)); w = w.dropFirst() }
            else if c == "$", w.count > 1 { front.append("$"); w = w.dropFirst() }
            else { break }
        }
        // Trailing brackets, quotes and runs of one punctuation mark.
        while let c = w.last {
            if let b = brackets[c], c == ")" || c == "]" || c == "}" { back.insert(b, at: 0); w = w.dropLast(); continue }
            if c == "\"" || c == "`" || c == "'" {
                back.insert(String(c), at: 0); w = w.dropLast(); continue
            }
            if c == "%", w.count > 1 { back.insert("%", at: 0); w = w.dropLast(); continue }
            guard ".,!?;:".unicodeScalars.contains(c) else { break }
            let rest = w.dropLast()
            if c == ".", let last = rest.last, last.properties.isAlphabetic,
               rest.allSatisfy({ $0 == "." || $0.properties.isAlphabetic }),
               rest.contains(".") || abbreviations.contains(PythonText.string(rest)) {
                break   // a dotted or known abbreviation keeps its period
            }
            var run = 0
            while run < w.count, w[w.index(w.endIndex, offsetBy: -run - 1)] == c { run += 1 }
            back.insert(String(repeating: String(c), count: run), at: 0)
            w = w.dropLast(run)
        }
        var middle: [String] = []
        if !w.isEmpty {
            let s = PythonText.string(w)
            if let split = splitWords[s] {
                middle = split
            } else if let clitic = clitics.first(where: { s.hasSuffix($0) && s.count > $0.count }) {
                middle = [String(s.dropLast(clitic.count)), clitic]
            } else {
                middle = [s]
            }
        }
        return front + middle + back
    }
}
