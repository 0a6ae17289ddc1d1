// The n-gram counting shared by BLEU, chrF, caption BLEU and CIDEr-D, and the
// exact-text helpers they rely on.
//
// The reference implementations (sacrebleu, jiwer, pycocoevalcap) are Python:
// they compare strings code point by code point and split on Python's notion
// of whitespace. Swift's `String` compares by canonical equivalence ("é" equals
// "e\u{301}"), so tokens here are compared as arrays of Unicode scalars, and
// interned to integers (`TokenIDs`); n-grams are numbered (`NGramIndex`) so
// that counting them allocates nothing per n-gram.

/// Numbers n-grams: each distinct n-gram gets one integer id, made from the id
/// of its (n-1)-gram prefix and its last element, so that counting n-grams
/// needs a dictionary lookup per n-gram and no array. Counts compared with
/// each other must come from the same index.
public struct NGramIndex<Element: Hashable & Sendable>: Sendable {
    struct Key: Hashable, Sendable {
        let prefix: Int
        let last: Element
    }
    private var ids: [Key: Int] = [:]

    public init() {}

    /// The number of distinct n-grams numbered so far.
    public var count: Int { ids.count }

    /// The id of the n-gram `prefix` (an id, or -1 for none) + `last`.
    @inline(__always)
    mutating func id(prefix: Int, last: Element) -> Int {
        let key = Key(prefix: prefix, last: last)
        if let id = ids[key] { return id }
        let id = ids.count
        ids[key] = id
        return id
    }
}

/// Counts of every n-gram of orders 1...maxOrder in one sequence, by order.
///
/// The sequence holds token ids (word n-grams) or Unicode scalars (character
/// n-grams); the n-grams are numbered by an `NGramIndex` shared by everything
/// compared with them. `byOrder[n - 1]` maps the id of each n-gram of order n
/// to the number of times it occurs.
public struct NGramCounts: Sendable {
    /// `byOrder[n - 1]`: id of an n-gram of order n → count.
    public private(set) var byOrder: [[Int: Int]]
    /// The length of the counted sequence.
    public let length: Int

    /// Counts the n-grams of orders 1...maxOrder of `sequence` (none when
    /// `maxOrder` < 1; an order longer than the sequence has no n-grams).
    public init<Element>(_ sequence: [Element], maxOrder: Int, index: inout NGramIndex<Element>) {
        length = sequence.count
        byOrder = Array(repeating: [:], count: max(0, maxOrder))
        guard maxOrder >= 1 else { return }
        for start in sequence.indices {
            var gram = -1
            for n in 1...min(maxOrder, sequence.count - start) {
                gram = index.id(prefix: gram, last: sequence[start + n - 1])
                byOrder[n - 1][gram, default: 0] += 1
            }
        }
    }

    /// The highest order counted.
    public var maxOrder: Int { byOrder.count }

    /// The number of n-grams of order `n` (with repetitions).
    public func total(order n: Int) -> Int {
        max(0, length - n + 1)
    }

    /// Keeps, for every n-gram, the larger of its counts here and in `other`:
    /// the reference side of BLEU with several references.
    public mutating func formMaximum(_ other: NGramCounts) {
        while byOrder.count < other.byOrder.count { byOrder.append([:]) }
        for (k, counts) in other.byOrder.enumerated() {
            for (gram, c) in counts where c > byOrder[k][gram, default: 0] {
                byOrder[k][gram] = c
            }
        }
    }

    /// Σ over the n-grams of order `n` here of min(count here, count in
    /// `reference`): the clipped matches of BLEU and chrF.
    public func clippedMatches(in reference: NGramCounts, order n: Int) -> Int {
        guard n <= reference.byOrder.count else { return 0 }
        let ref = reference.byOrder[n - 1]
        var matches = 0
        for (gram, c) in byOrder[n - 1] {
            if let r = ref[gram] { matches += min(c, r) }
        }
        return matches
    }
}

/// Interns tokens to small integers, comparing them by their exact Unicode
/// scalars (as Python does), not by Swift's canonical equivalence.
public struct TokenIDs: Sendable {
    private var ids: [[Unicode.Scalar]: Int] = [:]

    public init() {}

    /// The id of `token`, assigning the next one to a token not seen before.
    public mutating func id(_ token: [Unicode.Scalar]) -> Int {
        if let id = ids[token] { return id }
        let id = ids.count
        ids[token] = id
        return id
    }

    /// The ids of `tokens`, in order.
    public mutating func ids(_ tokens: [[Unicode.Scalar]]) -> [Int] {
        tokens.map { id($0) }
    }
}

/// Python's `str` whitespace and splitting, on Unicode scalars.
public enum PythonText {
    /// `str.isspace()` for one code point: the characters Python's `str.split()`,
    /// `strip()` and regular-expression `\s` treat as whitespace.
    public static func isSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A,
             0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `str.split()`: the runs of non-whitespace code points.
    public static func split(_ scalars: some Collection<Unicode.Scalar>) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for s in scalars {
            if isSpace(s) {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
            } else {
                current.append(s)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// `str.split()` of a string.
    public static func split(_ text: String) -> [[Unicode.Scalar]] {
        split(text.unicodeScalars)
    }

    /// `str.strip()`.
    public static func strip(_ text: String) -> String {
        let s = Array(text.unicodeScalars)
        guard let first = s.firstIndex(where: { !isSpace($0) }),
              let last = s.lastIndex(where: { !isSpace($0) }) else { return "" }
        return string(s[first...last])
    }

    /// `str.rstrip()`.
    public static func rstrip(_ text: String) -> String {
        let s = Array(text.unicodeScalars)
        guard let last = s.lastIndex(where: { !isSpace($0) }) else { return "" }
        return string(s[...last])
    }

    /// A string made of exactly these scalars.
    public static func string(_ scalars: some Sequence<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
