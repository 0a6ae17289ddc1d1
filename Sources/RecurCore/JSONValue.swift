import Foundation

/// A JSON value that keeps everything it was read with: object keys in their
/// order and numbers as their literal text, so a value read and written back
/// is the same bytes (apart from whitespace, which is always compact).
///
/// One strict RFC 8259 parser serves every JSON reader in Recur (the pipeline
/// records and the safetensors header): duplicate keys, invalid UTF-8, lone
/// surrogates, raw control characters in strings, leading zeros and nesting
/// past a depth limit are all errors, so no input can exhaust the stack.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number, kept as its JSON literal (for example `-1.50e3`).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A number from a Double: integral values within ±2^53 are written
    /// without a fraction, others in Swift's shortest round-trip form;
    /// NaN and infinities, which JSON cannot hold, become `null`.
    public init(_ value: Double) {
        self = JSONValue.number(value).map { .number($0) } ?? .null
    }

    public init(_ value: Int) { self = .number(String(value)) }

    /// The JSON literal for `value`, or nil when it is not finite.
    static func number(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            return value == 0 ? "0" : String(Int64(value))
        }
        return value.description
    }

    public var doubleValue: Double? {
        if case .number(let s) = self { return Double(s) }
        return nil
    }

    /// The value as an Int when it is an integral number that fits.
    public var intValue: Int? {
        guard case .number(let s) = self else { return nil }
        if let i = Int(s) { return i }
        if let d = Double(s), d == d.rounded(), abs(d) < 9_007_199_254_740_992 { return Int(d) }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The kind of value, for error messages ("a string", "an object", ...).
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON object whose keys keep their order (first insertion wins the place;
/// assigning an existing key keeps its place).
public struct JSONObject: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var values: [String: JSONValue] = [:]

    public init() {}

    public init(_ pairs: [(String, JSONValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public var isEmpty: Bool { keys.isEmpty }
    public var count: Int { keys.count }

    public subscript(key: String) -> JSONValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// The pairs in key order.
    public var pairs: [(key: String, value: JSONValue)] { keys.map { ($0, values[$0]!) } }

    /// Equal when both have the same keys in the same order with equal values.
    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.keys == b.keys && a.values == b.values
    }
}

// MARK: - Writing

/// How strings are escaped when written.
enum JSONStringEscaping {
    /// Quotes, backslashes, C0 controls, DEL, U+2028 and U+2029 escaped: the
    /// output is one line and safe to embed in JavaScript.
    case compact
    /// Exactly what serde_json (the Python safetensors package's encoder)
    /// escapes: quotes, backslashes and C0 controls only.
    case serde
}

extension JSONValue {
    /// Compact JSON text (no spaces or newlines), keys in their kept order.
    public var compactText: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let s): out += s
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(to: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, p) in o.pairs.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(p.key, to: &out)
                out += ":"
                p.value.write(to: &out)
            }
            out += "}"
        }
    }

    /// Writes `s` as a JSON string: quotes, backslashes and control characters
    /// escaped (`\b \f \n \r \t` short, others as lowercase `\u00XX`),
    /// everything else as UTF-8 (so the output never holds a raw newline and
    /// stays one line). `.compact` also escapes DEL, U+2028 and U+2029.
    static func writeString(_ s: String, to out: inout String, escaping: JSONStringEscaping = .compact) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                // DEL, U+2028 and U+2029 are escaped in the compact style only.
                let compactOnly = u.value == 0x7F || u.value == 0x2028 || u.value == 0x2029
                if u.value < 0x20 || (compactOnly && escaping == .compact) {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

// MARK: - Reading

/// Why a JSON text was rejected and at which byte (0-based).
struct JSONSyntaxError: Error {
    let reason: String
    let offset: Int
}

extension JSONValue {
    /// The default nesting limit of `parse`: arrays and objects inside one
    /// another at most this deep.
    public static let defaultMaxDepth = 512

    /// Parses one JSON text (surrounding whitespace allowed). Errors are
    /// `RecurError(.format, ...)` giving the column (1-based, in bytes).
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws -> JSONValue {
        try parse(utf8: Array(text.utf8), maxDepth: maxDepth)
    }

    /// Parses one JSON text given as UTF-8 bytes (invalid UTF-8 in a string
    /// is an error). Errors are `RecurError(.format, ...)` giving the column
    /// (1-based, in bytes).
    public static func parse(utf8 bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws -> JSONValue {
        do {
            return try parseDocument(bytes, maxDepth: maxDepth)
        } catch let e as JSONSyntaxError {
            throw RecurError(.format, "invalid JSON at column \(e.offset + 1): \(e.reason)")
        }
    }

    /// Parses one JSON text, throwing `JSONSyntaxError` so callers can word
    /// the error their own way.
    static func parseDocument(_ bytes: [UInt8], maxDepth: Int) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { buf in
            var p = JSONParser(bytes: buf, maxDepth: maxDepth)
            let v = try p.value()
            p.skipSpace()
            guard p.i == buf.count else { throw p.fail("unexpected bytes after the JSON value") }
            return v
        }
    }
}

/// A strict JSON parser (RFC 8259) over UTF-8 bytes.
private struct JSONParser {
    let b: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var i = 0
    var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        b = bytes
        self.maxDepth = maxDepth
    }

    func fail(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(reason: reason, offset: i) }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    mutating func expect(_ c: UInt8) throws {
        skipSpace()
        guard i < b.count, b[i] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        i += 1
    }

    mutating func value() throws -> JSONValue {
        skipSpace()
        guard i < b.count else { throw fail("unexpected end") }
        switch b[i] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            depth += 1
            guard depth <= maxDepth else { throw fail("nesting too deep") }
            defer { depth -= 1 }
            return b[i] == UInt8(ascii: "{") ? try object() : try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count, memcmp(b.baseAddress! + i, word.utf8Start, n) == 0 else { throw fail("unexpected character") }
        i += n
    }

    mutating func object() throws -> JSONValue {
        i += 1
        var o = JSONObject()
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
        while true {
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let key = try string()
            guard o[key] == nil else { throw fail("duplicate key '\(key)'") }
            try expect(UInt8(ascii: ":"))
            o[key] = try value()
            skipSpace()
            guard i < b.count else { throw fail("unexpected end") }
            i += 1
            if b[i - 1] == UInt8(ascii: "}") { return .object(o) }
            guard b[i - 1] == UInt8(ascii: ",") else { i -= 1; throw fail("expected ',' or '}'") }
        }
    }

    mutating func array() throws -> JSONValue {
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array([]) }
        while true {
            items.append(try value())
            skipSpace()
            guard i < b.count else { throw fail("unexpected end") }
            i += 1
            if b[i - 1] == UInt8(ascii: "]") { return .array(items) }
            guard b[i - 1] == UInt8(ascii: ",") else { i -= 1; throw fail("expected ',' or ']'") }
        }
    }

    mutating func digits() -> Int {
        let s = i
        while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") { i += 1 }
        return i - s
    }

    mutating func number() throws -> String {
        let start = i
        if b[i] == UInt8(ascii: "-") { i += 1 }
        let first = i
        guard digits() > 0 else { throw fail("bad number") }
        guard b[first] != UInt8(ascii: "0") || i == first + 1 else { throw fail("number with a leading zero") }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw fail("bad number") }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw fail("bad number") }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: b[start ..< i]), as: UTF8.self)
    }

    mutating func string() throws -> String {
        i += 1  // the opening quote
        var out: [UInt8] = []
        var runStart = i
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart ..< i]))
                i += 1
                guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
                return s
            }
            if c < 0x20 { i += 1; throw fail("control character in a string") }
            if c != UInt8(ascii: "\\") { i += 1; continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart ..< i]))
            i += 1
            guard i < b.count else { throw fail("unterminated string") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800 ..< 0xDC00).contains(code) {  // a surrogate pair
                    guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                        throw fail("lone surrogate in a string")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00 ..< 0xE000).contains(low) else { throw fail("lone surrogate in a string") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw fail("lone surrogate in a string") }
                out.append(contentsOf: String(scalar).utf8)
            default:
                throw fail("bad escape in a string")
            }
            runStart = i
        }
    }

    mutating func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0 ..< 4 {
            guard i < b.count else { throw fail("bad \\u escape") }
            let c = b[i]
            let d: UInt32
            switch c {
            case 0x30 ... 0x39: d = UInt32(c - 0x30)
            case 0x41 ... 0x46: d = UInt32(c - 0x41 + 10)
            case 0x61 ... 0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}

// MARK: - Codable

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension JSONValue: Codable {
    /// Decodes any JSON value. Through `JSONDecoder` object keys come back
    /// sorted (the decoder does not give their order) and numbers as Doubles;
    /// `JSONValue.parse` keeps both exactly.
    public init(from decoder: Decoder) throws {
        if let c = try? decoder.container(keyedBy: AnyKey.self) {
            var o = JSONObject()
            for key in c.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                o[key.stringValue] = try c.decode(JSONValue.self, forKey: key)
            }
            self = .object(o)
            return
        }
        if var c = try? decoder.unkeyedContainer() {
            var a: [JSONValue] = []
            while !c.isAtEnd { a.append(try c.decode(JSONValue.self)) }
            self = .array(a)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .number(String(i)) }
        else if let d = try? c.decode(Double.self) { self = JSONValue(d) }
        else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .number(let s):
            var c = encoder.singleValueContainer()
            if let i = Int64(s) { try c.encode(i) } else { try c.encode(Double(s) ?? 0) }
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .array(let a):
            var c = encoder.unkeyedContainer()
            for v in a { try c.encode(v) }
        case .object(let o):
            var c = encoder.container(keyedBy: AnyKey.self)
            for p in o.pairs { try c.encode(p.value, forKey: AnyKey(stringValue: p.key)) }
        }
    }
}
