import RecurCore

/// One validation metric chosen by name (in a recipe, `--metric`), scored the
/// same way as `recur score`, with the signature to store beside the best
/// figure in a checkpoint.
///
///     let metric = try TaskMetric(name: "bleu")
///     let value = try metric.score(hypotheses: decoded, references: refs.map { [$0] })
///     if metric.isBetter(value, than: best) { ... }
public enum TaskMetric: String, CaseIterable, Sendable {
    /// sacrebleu corpus BLEU, 0-100.
    case bleu
    /// sacrebleu chrF2, 0-100.
    case chrf
    /// sacrebleu chrF2++, 0-100.
    case chrfPlusPlus = "chrf++"
    /// jiwer word error rate (a fraction; lower is better).
    case wer
    /// jiwer character error rate (a fraction; lower is better).
    case cer
    /// COCO caption BLEU-4, 0-1, on tokenized captions.
    case captionBLEU4 = "caption-bleu4"
    /// COCO CIDEr-D (×10 scale) on tokenized captions.
    case ciderD = "cider-d"
    /// Exact-match accuracy, 0-100: the share of hypotheses equal to one of
    /// their references, comparing words separated by whitespace.
    case exact

    /// The metric named `name` (a raw value, case-insensitive).
    public init(name: String) throws {
        guard let m = TaskMetric(rawValue: name.lowercased()) else {
            throw RecurError(.usage, "unknown metric \(name); known: \(TaskMetric.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = m
    }

    /// True when a larger value is better.
    public var higherIsBetter: Bool { self != .wer && self != .cer }

    /// Whether `a` improves on `b` (any value improves on nil).
    public func isBetter(_ a: Double, than b: Double?) -> Bool {
        guard let b else { return true }
        return higherIsBetter ? a > b : a < b
    }

    /// The metric of `hypotheses` against `references` (`references[i]`: the
    /// references of segment i; WER and CER use the first of each).
    /// `lowercase`: BLEU and chrF compare lowercased text (sacrebleu `-lc`),
    /// as for a model that writes lowercase and whose references were lowercased.
    public func score(hypotheses: [String], references: [[String]], lowercase: Bool = false) throws -> Double {
        switch self {
        case .bleu: return try BLEU(lowercase: lowercase).corpusScore(hypotheses: hypotheses, references: references).score
        case .chrf:
            var c = ChrF()
            c.lowercase = lowercase
            return try c.corpusScore(hypotheses: hypotheses, references: references).score
        case .chrfPlusPlus:
            var c = ChrF.plusPlus
            c.lowercase = lowercase
            return try c.corpusScore(hypotheses: hypotheses, references: references).score
        case .wer, .cer:
            try MetricSignature.check(hypotheses: hypotheses.count, references: references, metric: rawValue.uppercased())
            let firsts = references.map { $0[0] }
            let r = self == .wer ? try ErrorRate.wer(references: firsts, hypotheses: hypotheses)
                                 : try ErrorRate.cer(references: firsts, hypotheses: hypotheses)
            return r.rate
        case .captionBLEU4: return try CaptionMetrics.bleu(hypotheses: hypotheses, references: references).bleu[3]
        case .ciderD: return try CaptionMetrics.ciderD(hypotheses: hypotheses, references: references).score
        case .exact:
            try MetricSignature.check(hypotheses: hypotheses.count, references: references, metric: "exact match")
            guard !hypotheses.isEmpty else { return 0 }
            func words(_ s: String) -> [Substring] { s.split(whereSeparator: { $0.isWhitespace }) }
            let hits = zip(hypotheses, references).filter { h, refs in refs.contains { words($0) == words(h) } }.count
            return 100 * Double(hits) / Double(hypotheses.count)
        }
    }

    /// A signature to store with a figure: sacrebleu's for BLEU and chrF (with
    /// `nrefs` as given), the reference implementation's name and version otherwise.
    public func signature(nrefs: Int = 1, lowercase: Bool = false) -> String {
        switch self {
        case .bleu: return BLEU(lowercase: lowercase).signature(nrefs: String(nrefs))
        case .chrf:
            var c = ChrF()
            c.lowercase = lowercase
            return c.signature(nrefs: String(nrefs))
        case .chrfPlusPlus:
            var c = ChrF.plusPlus
            c.lowercase = lowercase
            return c.signature(nrefs: String(nrefs))
        case .wer, .cer:
            return "\(rawValue):jiwer-default|version:recur-\(RecurVersion.version)+jiwer-\(MetricSignature.jiwerVersion)"
        case .exact:
            return "exact:whitespace-words|nrefs:\(nrefs)|version:recur-\(RecurVersion.version)"
        case .captionBLEU4, .ciderD:
            return "\(rawValue):coco|version:recur-\(RecurVersion.version)+pycocoevalcap-\(MetricSignature.pycocoevalcapVersion)"
        }
    }
}
