import RecurCore

/// What Recur's sacrebleu-style signatures say about themselves.
///
/// sacrebleu ends its signatures with `version:<sacrebleu version>`. Recur's
/// BLEU and chrF are its own code, held by tests to the output of one sacrebleu
/// release (`scripts/make_metric_fixtures.py`), so Recur's signatures keep
/// every other field exactly as sacrebleu writes it and say both in the last:
/// `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:recur-0.1.0+sacrebleu-2.6.0`.
public enum MetricSignature {
    /// The sacrebleu release the fixtures were computed with.
    public static let sacrebleuVersion = "2.6.0"
    /// The jiwer release the WER/CER fixtures were computed with.
    public static let jiwerVersion = "4.0.0"
    /// The pycocoevalcap release the caption fixtures were computed with.
    public static let pycocoevalcapVersion = "1.2"

    /// The `version` field of Recur's signatures.
    public static var version: String { "recur-\(RecurVersion.version)+sacrebleu-\(sacrebleuVersion)" }

    /// sacrebleu's `nrefs` field: the number of references per segment, or
    /// `var` when segments have different numbers.
    public static func nrefs(_ references: [[String]]) -> String {
        let counts = Set(references.map(\.count))
        if counts.count == 1, let n = counts.first { return String(n) }
        return counts.isEmpty ? "0" : "var"
    }

    /// Checks that there is one list of references per hypothesis and at least
    /// one reference in each.
    static func check(hypotheses: Int, references: [[String]], metric: String) throws {
        guard hypotheses == references.count else {
            throw RecurError(.shape, "\(metric): \(hypotheses) hypotheses but \(references.count) reference sets")
        }
        if let i = references.firstIndex(where: { $0.isEmpty }) {
            throw RecurError(.value, "\(metric): segment \(i + 1) has no reference")
        }
    }
}
