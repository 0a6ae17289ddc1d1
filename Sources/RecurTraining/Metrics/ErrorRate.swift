import RecurCore

// Word and character error rates as jiwer 4 computes them (process_words,
// process_characters) with its default transforms:
//
//   WER (`wer_default`): runs of two or more whitespace characters become one
//   space (RemoveMultipleSpaces: `\s\s+` → " "), the line is stripped, then
//   split on " " (a lone tab or other whitespace stays inside a word), empty
//   words dropped. No lowercasing, no punctuation removal.
//   CER (`cer_default`): the line is stripped, then every code point is a
//   unit, spaces included.
//
// The rate is (S + D + I) / (reference units) summed over the corpus: the
// total Levenshtein distance over the total reference length. When every
// reference is empty, jiwer returns the number of insertions itself (not a
// rate), and so does this.

/// Edit counts of hypotheses against references, and the error rate.
public struct ErrorRateResult: Sendable, Equatable {
    public var hits = 0
    public var substitutions = 0
    public var deletions = 0
    public var insertions = 0
    /// Units (words or characters) in the references.
    public var referenceLength = 0
    /// Units in the hypotheses.
    public var hypothesisLength = 0

    public init() {}

    /// S + D + I: the Levenshtein distance.
    public var errors: Int { substitutions + deletions + insertions }

    /// jiwer's `wer`/`cer`: errors / reference units; the insertion count when
    /// the references are empty.
    public var rate: Double {
        referenceLength == 0 ? Double(insertions) : Double(errors) / Double(hits + substitutions + deletions)
    }

    public static func += (a: inout ErrorRateResult, b: ErrorRateResult) {
        a.hits += b.hits
        a.substitutions += b.substitutions
        a.deletions += b.deletions
        a.insertions += b.insertions
        a.referenceLength += b.referenceLength
        a.hypothesisLength += b.hypothesisLength
    }
}

/// WER and CER (jiwer's defaults).
public enum ErrorRate {
    /// The words of a line under jiwer's `wer_default`.
    public static func words(_ line: String) -> [[Unicode.Scalar]] {
        // RemoveMultipleSpaces, then Strip.
        var collapsed: [Unicode.Scalar] = []
        var run: [Unicode.Scalar] = []
        for s in line.unicodeScalars {
            if PythonText.isSpace(s) {
                run.append(s)
            } else {
                collapsed.append(contentsOf: run.count >= 2 ? [" "] : run)
                run.removeAll(keepingCapacity: true)
                collapsed.append(s)
            }
        }
        // A trailing run is stripped whatever its length, and so is a leading one.
        guard let first = collapsed.firstIndex(where: { !PythonText.isSpace($0) }) else { return [] }
        // ReduceToListOfListOfWords: split on " " exactly, dropping empty words.
        return collapsed[first...].split(separator: " ", omittingEmptySubsequences: true).map(Array.init)
    }

    /// The characters of a line under jiwer's `cer_default`.
    public static func characters(_ line: String) -> [Unicode.Scalar] {
        Array(PythonText.strip(line).unicodeScalars)
    }

    /// Corpus WER: `references[i]` is the reference of `hypotheses[i]`.
    public static func wer(references: [String], hypotheses: [String]) throws -> ErrorRateResult {
        try check(references, hypotheses, "WER")
        var ids = TokenIDs()
        var total = ErrorRateResult()
        for (r, h) in zip(references, hypotheses) {
            total += align(reference: ids.ids(words(r)), hypothesis: ids.ids(words(h)))
        }
        return total
    }

    /// Corpus CER: `references[i]` is the reference of `hypotheses[i]`.
    public static func cer(references: [String], hypotheses: [String]) throws -> ErrorRateResult {
        try check(references, hypotheses, "CER")
        var total = ErrorRateResult()
        for (r, h) in zip(references, hypotheses) {
            total += align(reference: characters(r), hypothesis: characters(h))
        }
        return total
    }

    static func check(_ references: [String], _ hypotheses: [String], _ metric: String) throws {
        guard references.count == hypotheses.count else {
            throw RecurError(.shape, "\(metric): \(references.count) references but \(hypotheses.count) hypotheses")
        }
    }

    /// The counts of the minimal (Levenshtein) alignment jiwer reports: its
    /// rapidfuzz `opcodes` (common prefix and suffix matched first, then
    /// Hyyrö's backtrace from the end: a deletion when the cell above is one
    /// less, else an insertion when, one column left, the cell is one less
    /// than the cell above it, else a diagonal step). The same split between
    /// substitutions, deletions and insertions as jiwer, not just the same total.
    public static func align<T: Equatable>(reference r: [T], hypothesis h: [T]) -> ErrorRateResult {
        var result = ErrorRateResult()
        result.referenceLength = r.count
        result.hypothesisLength = h.count
        var prefix = 0
        while prefix < r.count, prefix < h.count, r[prefix] == h[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < r.count - prefix, suffix < h.count - prefix,
              r[r.count - 1 - suffix] == h[h.count - 1 - suffix] { suffix += 1 }
        let a = r[prefix..<(r.count - suffix)], b = h[prefix..<(h.count - suffix)]
        let n = a.count, m = b.count
        let w = m + 1
        // d[i * w + j]: distance between a[..<i] and b[..<j].
        var d = [Int](repeating: 0, count: (n + 1) * w)
        for j in 0...m { d[j] = j }
        for i in stride(from: 1, through: n, by: 1) {
            d[i * w] = i
            let ai = a[a.startIndex + i - 1]
            for j in stride(from: 1, through: m, by: 1) {
                let sub = d[(i - 1) * w + j - 1] + (ai == b[b.startIndex + j - 1] ? 0 : 1)
                d[i * w + j] = min(sub, d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1)
            }
        }
        var i = n, j = m
        while i > 0 && j > 0 {
            if d[i * w + j] - d[(i - 1) * w + j] == 1 {
                result.deletions += 1
                i -= 1
            } else {
                j -= 1
                if j > 0 && d[i * w + j] - d[(i - 1) * w + j] == -1 {
                    result.insertions += 1
                } else {
                    i -= 1
                    if a[a.startIndex + i] != b[b.startIndex + j] { result.substitutions += 1 }
                }
            }
        }
        result.deletions += i
        result.insertions += j
        result.hits = r.count - result.substitutions - result.deletions
        return result
    }
}
