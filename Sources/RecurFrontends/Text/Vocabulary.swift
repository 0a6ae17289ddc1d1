import Foundation
import RecurCore

/// A vocabulary: pieces and their ids.
///
/// File format (`NAME.vocab`): UTF-8, one piece per line, line number − 1 =
/// id, the four specials first: `<pad>` 0, `<s>` 1, `</s>` 2, `<unk>` 3. A BPE
/// vocabulary also has its merges beside it in `NAME.merges` (first line
/// `#recur-bpe-merges v1`, then one merge per line, `left right`, rank order).
/// The kind is found from the files: merges present → BPE; every other piece
/// one Unicode scalar → char; otherwise word.
///
/// `hash` is FNV-1a 64 of the vocabulary file as `write` writes it (for BPE, continued over
/// a zero byte and the merges file), written `fnv1a64:` and 16 hex
/// digits: models record it and refuse a vocabulary that differs.
public struct Vocabulary: Sendable {
    public static let specials = ["<pad>", "<s>", "</s>", "<unk>"]
    public static let pad = 0, bos = 1, eos = 2, unk = 3
    public static let mergesHeader = "#recur-bpe-merges v1"

    public let kind: TokenizerKind
    public let tokens: [String]
    public let merges: [BPEMerge]
    public let idOf: [String: Int]

    public var count: Int { tokens.count }

    /// A vocabulary of `tokens` (the specials are put first when missing).
    public init(kind: TokenizerKind, tokens: [String], merges: [BPEMerge] = []) {
        var all = Vocabulary.specials
        for t in tokens where !Vocabulary.specials.contains(t) { all.append(t) }
        self.kind = kind
        self.tokens = all
        self.merges = merges
        var m: [String: Int] = [:]
        for (i, t) in all.enumerated() where m[t] == nil { m[t] = i }
        idOf = m
    }

    public func id(_ piece: String) -> Int? { idOf[piece] }

    /// The file contents: one piece per line.
    public var fileText: String { tokens.joined(separator: "\n") + "\n" }
    /// The merges file contents (BPE only).
    public var mergesText: String {
        ([Vocabulary.mergesHeader] + merges.map { "\($0.left) \($0.right)" }).joined(separator: "\n") + "\n"
    }

    /// The content hash (see the type's documentation).
    public var hash: String {
        var h = FNV1a64()
        h.update(Array(fileText.utf8))
        if kind == .bpe {
            h.update([0])
            h.update(Array(mergesText.utf8))
        }
        return h.hex
    }

    /// Where the merges of the vocabulary at `path` live.
    public static func mergesPath(for path: String) -> String {
        path.hasSuffix(".vocab") ? String(path.dropLast(6)) + ".merges" : path + ".merges"
    }

    /// Writes the vocabulary (and, for BPE, its merges) atomically.
    public func write(to path: String) throws {
        if kind == .bpe { try NPY.writeAtomically(Data(mergesText.utf8), to: Vocabulary.mergesPath(for: path)) }
        try NPY.writeAtomically(Data(fileText.utf8), to: path)
    }

    /// Reads and checks a vocabulary file (and its merges, when there).
    /// `kind` overrides the kind found from the files.
    public static func load(_ path: String, kind forced: TokenizerKind? = nil) throws -> Vocabulary {
        let lines = try readLines(path)
        guard !lines.isEmpty else { throw RecurError(.format, "empty vocabulary file", file: path) }
        for (i, s) in specials.enumerated() {
            guard i < lines.count, lines[i] == s else {
                throw RecurError(.format, "line \(i + 1) must be the special \(s) (specials first: \(specials.joined(separator: " ")))", file: path)
            }
        }
        var seen: [String: Int] = [:]
        for (i, t) in lines.enumerated() {
            guard !t.isEmpty else { throw RecurError(.format, "line \(i + 1) is empty", file: path) }
            guard !t.unicodeScalars.contains(where: { TextNormalizer.isSpace($0) }) else {
                throw RecurError(.format, "line \(i + 1) holds white space inside a piece", file: path)
            }
            if let j = seen[t] { throw RecurError(.format, "line \(i + 1) repeats the piece '\(t)' of line \(j + 1)", file: path) }
            seen[t] = i
        }
        let mp = mergesPath(for: path)
        var merges: [BPEMerge] = []
        let hasMerges = FileManager.default.fileExists(atPath: mp)
        if hasMerges && forced != .char && forced != .word {
            let ml = try readLines(mp)
            guard ml.first == mergesHeader else {
                throw RecurError(.format, "first line must be '\(mergesHeader)'", file: mp)
            }
            for (i, l) in ml.enumerated().dropFirst() {
                // Split on the byte: " " plus a combining mark is one Character.
                let parts = l.utf8.split(separator: 0x20, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw RecurError(.format, "line \(i + 1): a merge is two pieces separated by one space", file: mp)
                }
                let m = BPEMerge(String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self))
                guard seen[m.left] != nil, seen[m.right] != nil, seen[m.merged] != nil else {
                    throw RecurError(.format, "line \(i + 1): merge '\(m)' uses a piece that is not in \(path)", file: mp)
                }
                merges.append(m)
            }
        }
        let kind: TokenizerKind
        if let forced {
            kind = forced
        } else if hasMerges {
            kind = .bpe
        } else if lines.dropFirst(specials.count).allSatisfy({ $0.unicodeScalars.count == 1 }) {
            kind = .char
        } else {
            kind = .word
        }
        if kind == .bpe && !hasMerges {
            throw RecurError(.format, "a BPE vocabulary needs its merges in \(mp)", file: path)
        }
        return Vocabulary(kind: kind, tokens: lines, merges: merges)
    }

    /// The lines of a UTF-8 text file (a final newline is not an empty line).
    static func readLines(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecurError(.io, FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file", file: path)
        }
        var lines: [String] = []
        var n = 0
        for raw in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            n += 1
            guard let s = String(validating: raw, as: UTF8.self) else {
                throw RecurError(.format, "line \(n): invalid UTF-8", file: path)
            }
            lines.append(s.hasSuffix("\r") ? String(s.dropLast()) : s)
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// Builds vocabularies from normalized text lines.
public struct VocabularyBuilder {
    public let kind: TokenizerKind
    /// Most pieces in the vocabulary, the 4 specials included (0: no limit).
    public let maxSize: Int
    /// Pieces seen fewer times are left out (BPE: scalars of the alphabet and pairs to merge).
    public let minFrequency: Int
    private var counts: [String: Int] = [:]

    public init(kind: TokenizerKind, maxSize: Int, minFrequency: Int) {
        self.kind = kind
        self.maxSize = maxSize
        self.minFrequency = max(minFrequency, 1)
    }

    /// Counts one normalized line.
    public mutating func add(normalized line: String) {
        switch kind {
        case .char: for p in Pretokenizer.characters(line) { counts[p, default: 0] += 1 }
        case .word, .bpe: for p in Pretokenizer.words(line) { counts[p, default: 0] += 1 }
        }
    }

    /// The vocabulary of everything added.
    public func build() -> Vocabulary {
        let room = maxSize > 0 ? max(maxSize - Vocabulary.specials.count, 0) : Int.max
        switch kind {
        case .char, .word:
            // Most frequent first; ties by UTF-8 byte order.
            let kept = counts.filter { $0.value >= minFrequency && !Vocabulary.specials.contains($0.key) }
                .sorted { $0.value != $1.value ? $0.value > $1.value : Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
                .prefix(room).map(\.key)
            return Vocabulary(kind: kind, tokens: kept)
        case .bpe:
            let (alphabet, merges) = BPELearner.learn(wordCounts: counts, maxTokens: room, minFrequency: minFrequency)
            var tokens = alphabet
            var have = Set(alphabet)
            for m in merges where have.insert(m.merged).inserted { tokens.append(m.merged) }
            return Vocabulary(kind: .bpe, tokens: tokens, merges: merges)
        }
    }
}

/// FNV-1a, 64 bits: a small, well-known content hash (not cryptographic).
public struct FNV1a64: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}
    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for b in bytes {
            value ^= UInt64(b)
            value = value &* 0x0000_0100_0000_01b3
        }
    }
    public var hex: String {
        let h = String(value, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - h.count) + h
    }
}
