// A deterministic train/validation split, optionally grouped by a key.
//
// Assignment is hash-based. Every example has a group key (its id, its source,
// its target, a field parsed from its file name, or anything a closure
// returns); the key's UTF-8 bytes are hashed with FNV-1a (64 bit) and mixed
// with the seed through the SplitMix64 finaliser, giving a number u in [0, 1)
// that depends only on (key, seed): never on the order, the size of the
// dataset or the process (Swift's `Hasher` is randomized per process and is
// not used).
//
// - `.fraction(f)`: a group goes to validation when u < f. The validation
//   share is f on average, not exactly. Stable under appending: growing the
//   data by appending never moves an existing example to the other side.
// - `.count(k)`: the k groups with the smallest u (ties by key) go to
//   validation: exactly k groups. Under appending a new group with a smaller u
//   may push an old one out of validation into training, but an example that
//   was in training never moves into validation (the validation set of the
//   grown data is a subset of the old validation set plus new examples).
//
// All examples with the same key land on the same side, so grouping by
// speaker (`.fileName(pattern, field: "speaker")`) holds out whole speakers
// and grouping captions by `.source` (the image) keeps the captions of one
// image on one side.
import Foundation
import RecurCore

/// A file-name template with `{field}` placeholders, e.g. FSDD's
/// `{digit}_{speaker}_{index}.wav`. Each field matches one or more characters
/// (the shortest match that lets the rest of the template match); the rest is
/// literal text. Without a `/` in the template it matches a path's last component.
public struct FileNamePattern: Sendable, Equatable, CustomStringConvertible {
    enum Part: Sendable, Equatable { case literal([Character]), field(String) }
    public let template: String
    let parts: [Part]
    /// The field names in order.
    public let fields: [String]

    public init(_ template: String) throws {
        self.template = template
        var parts: [Part] = []
        var fields: [String] = []
        var literal: [Character] = []
        var i = template.startIndex
        while i < template.endIndex {
            let c = template[i]
            if c == "{" {
                guard let close = template[i...].firstIndex(of: "}") else {
                    throw RecurError(.usage, "file-name pattern \(template): unclosed {")
                }
                let name = String(template[template.index(after: i)..<close])
                guard !name.isEmpty, !name.contains("{") else {
                    throw RecurError(.usage, "file-name pattern \(template): bad field name \"\(name)\"")
                }
                if case .field = parts.last, literal.isEmpty {
                    throw RecurError(.usage, "file-name pattern \(template): fields {\(fields.last!)} and {\(name)} need literal text between them")
                }
                if !literal.isEmpty { parts.append(.literal(literal)); literal = [] }
                if fields.contains(name) { throw RecurError(.usage, "file-name pattern \(template): field {\(name)} appears twice") }
                parts.append(.field(name))
                fields.append(name)
                i = template.index(after: close)
            } else {
                if c == "}" { throw RecurError(.usage, "file-name pattern \(template): } without {") }
                literal.append(c)
                i = template.index(after: i)
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        guard !fields.isEmpty else { throw RecurError(.usage, "file-name pattern \(template) has no {field}") }
        self.parts = parts
        self.fields = fields
    }

    public var description: String { template }

    /// The fields parsed from `path` (its last component unless the template
    /// holds a `/`), or nil when it does not match.
    public func match(_ path: String) -> [String: String]? {
        let name = template.contains("/") ? path : (path as NSString).lastPathComponent
        let chars = Array(name)
        var out: [String: String] = [:]
        func go(_ p: Int, _ c: Int) -> Bool {
            if p == parts.count { return c == chars.count }
            switch parts[p] {
            case .literal(let lit):
                guard c + lit.count <= chars.count, Array(chars[c..<(c + lit.count)]) == lit else { return false }
                return go(p + 1, c + lit.count)
            case .field(let f):
                var end = c + 1
                while end <= chars.count {
                    if go(p + 1, end) { out[f] = String(chars[c..<end]); return true }
                    end += 1
                }
                return false
            }
        }
        return go(0, 0) ? out : nil
    }
}

/// What groups examples for the split.
public enum SplitKey: Sendable {
    /// Each example alone (its `id`).
    case id
    /// The source text or file (captions of one image stay together).
    case source
    /// The target text.
    case target
    /// A field parsed from the source file's name (a speaker from
    /// `{digit}_{speaker}_{index}.wav`); a name that does not match is an error.
    case fileName(FileNamePattern, field: String)
    /// Anything else.
    case custom(@Sendable (Example) throws -> String)

    /// The group key of `e`.
    public func key(_ e: Example) throws -> String {
        switch self {
        case .id: return e.id
        case .source: return e.source
        case .target: return e.target
        case .fileName(let p, let field):
            guard let m = p.match(e.source), let v = m[field] else {
                throw RecurError(.format, "line \(e.line): \(e.source) does not match the file-name pattern \(p) (field {\(field)})", file: e.file)
            }
            return v
        case .custom(let f): return try f(e)
        }
    }
}

/// How much goes to validation.
public enum SplitAmount: Sendable, Equatable {
    /// Each group with probability f (0 ≤ f < 1): approximate share, append-stable.
    case fraction(Double)
    /// Exactly k groups (0 ≤ k < number of groups).
    case count(Int)
}

/// The training and validation parts.
public struct SplitResult: Sendable {
    public var train: [Example]
    public var validation: [Example]
    public var trainGroups: Int
    public var validationGroups: Int

    public var summary: String {
        "\(train.count) training examples (\(trainGroups) groups), \(validation.count) validation examples (\(validationGroups) groups)"
    }
}

/// A seeded, hash-based validation split (see the top of Split.swift).
public struct ValidationSplit: Sendable {
    public var amount: SplitAmount
    public var seed: UInt64
    public var key: SplitKey

    public init(_ amount: SplitAmount, seed: UInt64, key: SplitKey = .id) {
        self.amount = amount
        self.seed = seed
        self.key = key
    }

    /// u in [0, 1) for `key`: FNV-1a 64 of the UTF-8 bytes, mixed with the seed.
    public static func unit(_ key: String, seed: UInt64) -> Double {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in key.utf8 {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01B3
        }
        let x = mix(h ^ mix(seed &+ 0x9E37_79B9_7F4A_7C15))
        return Double(x >> 11) * 0x1p-53
    }

    /// The SplitMix64 finaliser.
    static func mix(_ v: UInt64) -> UInt64 {
        var z = v
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// For each key, whether it is held out for validation.
    public func assign(keys: [String]) throws -> [Bool] {
        switch amount {
        case .fraction(let f):
            guard f >= 0, f < 1 else { throw RecurError(.usage, "validation fraction must be in [0, 1), not \(f)") }
            return keys.map { ValidationSplit.unit($0, seed: seed) < f }
        case .count(let k):
            let unique = Array(Set(keys))
            guard k >= 0, k < unique.count else {
                throw RecurError(.usage, "validation count \(k) must be below the number of groups (\(unique.count)), leaving some for training")
            }
            let ranked = unique.map { (u: ValidationSplit.unit($0, seed: seed), key: $0) }
                .sorted { $0.u != $1.u ? $0.u < $1.u : $0.key < $1.key }
            let held = Set(ranked.prefix(k).map(\.key))
            return keys.map { held.contains($0) }
        }
    }

    /// Splits `examples`, keeping their order within each part.
    public func apply(_ examples: [Example]) throws -> SplitResult {
        let keys = try examples.map { try key.key($0) }
        let held = try assign(keys: keys)
        var train: [Example] = [], validation: [Example] = []
        var trainKeys = Set<String>(), validationKeys = Set<String>()
        for (i, e) in examples.enumerated() {
            if held[i] { validation.append(e); validationKeys.insert(keys[i]) }
            else { train.append(e); trainKeys.insert(keys[i]) }
        }
        return SplitResult(train: train, validation: validation, trainGroups: trainKeys.count, validationGroups: validationKeys.count)
    }
}
