import Foundation

// The safetensors format (https://github.com/huggingface/safetensors):
//
//   8 bytes   N, the header length, unsigned 64-bit little-endian
//   N bytes   a JSON object, UTF-8, padded with spaces:
//               {"__metadata__": {"key": "value", ...},           (optional)
//                "name": {"dtype": "F32", "shape": [2, 3],
//                         "data_offsets": [begin, end]}, ...}
//   the rest  the data section: each tensor's elements, row-major and
//             little-endian, at [begin, end) counted from the section start.
//
// The reader checks everything against the file length before it allocates,
// and accepts exactly what the Python package accepts: tensors cover the data
// section with no gap and no overlap, in any header order.

/// The element types Recur reads and writes.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", i32 = "I32", i64 = "I64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f16: 2
        case .f32, .i32: 4
        case .i64: 8
        }
    }

    /// The Python package lays tensors out by dtype, larger types first
    /// (its `Dtype` enum order, descending), then by name.
    fileprivate var layoutRank: Int {
        switch self {
        case .f16: 0
        case .i32: 1
        case .f32: 2
        case .i64: 3
        }
    }
}

/// Where one tensor lives in a safetensors file.
public struct SafeTensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Elements: the product of `shape` (1 for a scalar, shape `[]`).
    public let count: Int
    /// Byte range within the data section (after the header).
    public let byteRange: Range<Int>
}

/// A safetensors file read into memory, its header checked.
///
///     let file = try SafeTensorsFile(path: "model.safetensors")
///     let w = try file.floats("decoder.weight")       // F32 or F16 -> Tensor
///     let ids = try file.int64s("vocab.ids")
///     print(file.metadata["format"] ?? "-")
public struct SafeTensorsFile: Sendable {
    /// The path named in errors.
    public let path: String
    /// Tensor names in the order the header lists them.
    public let names: [String]
    /// The `__metadata__` map (empty when the file has none).
    public let metadata: [String: String]
    private let entries: [String: SafeTensorsEntry]
    private let bytes: Data
    private let dataStart: Int

    /// Reads the whole file at `path` into memory and checks its header.
    public init(path: String) throws {
        try self.init(data: Self.readFile(path), path: path)
    }

    /// Checks the safetensors bytes `data`; `path` only names them in errors.
    public init(data: Data, path: String) throws {
        self.path = path
        self.bytes = data
        do {
            let (header, dataStart) = try Self.headerBytes(data)
            self.dataStart = dataStart
            let json: JSONValue
            do {
                json = try JSONValue.parseDocument(header, maxDepth: Self.maxHeaderDepth)
            } catch let e as JSONSyntaxError {
                throw RecurError(.format, "header is not valid JSON: \(e.reason) at header byte \(e.offset)")
            }
            let (names, metadata, entries) = try Self.parseHeader(json, dataLength: data.count - dataStart)
            self.names = names
            self.metadata = metadata
            self.entries = entries
        } catch let error as RecurError {
            throw error.naming(path)
        }
    }

    /// Whether a tensor named `name` exists.
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The dtype, shape and location of `name`.
    public func entry(_ name: String) throws -> SafeTensorsEntry {
        guard let e = entries[name] else {
            let known = names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", …" : "")
            throw RecurError(.format, "no tensor named '\(name)' (the file has \(names.count): \(known))", file: path)
        }
        return e
    }

    public func dtype(_ name: String) throws -> SafeTensorsDType { try entry(name).dtype }
    public func shape(_ name: String) throws -> [Int] { try entry(name).shape }

    /// A new tensor with the values of `name`, an F32 or F16 tensor.
    public func floats(_ name: String) throws -> Tensor {
        let e = try entry(name)
        let t = Tensor(zeros: e.shape)
        try copyFloats(e, into: t.data)
        return t
    }

    /// Copies the values of `name` (F32 or F16) into `tensor`, whose shape must
    /// match exactly: for loading straight into parameter views.
    public func load(_ name: String, into tensor: Tensor) throws {
        let e = try entry(name)
        guard e.shape == tensor.shape else {
            throw RecurError(.shape, "tensor '\(name)' has shape \(e.shape), expected \(tensor.shape)", file: path)
        }
        try copyFloats(e, into: tensor.data)
    }

    /// The values of `name`, an I32 tensor (row-major; the shape is `shape(name)`).
    public func int32s(_ name: String) throws -> [Int32] {
        try integers(name, .i32, as: Int32.self)
    }

    /// The values of `name`, an I64 tensor (row-major; the shape is `shape(name)`).
    public func int64s(_ name: String) throws -> [Int64] {
        try integers(name, .i64, as: Int64.self)
    }

    /// The values of `name`, an I32 or I64 tensor, as `Int`.
    public func ints(_ name: String) throws -> [Int] {
        try dtype(name) == .i32 ? int32s(name).map(Int.init) : int64s(name).map(Int.init)
    }

    private func copyFloats(_ e: SafeTensorsEntry, into destination: UnsafeMutablePointer<Float>) throws {
        guard e.dtype == .f32 || e.dtype == .f16 else {
            throw RecurError(.format, "tensor '\(e.name)' is \(e.dtype.rawValue), not F32 or F16", file: path)
        }
        bytes.withUnsafeBytes { raw in
            let source = raw.baseAddress! + dataStart + e.byteRange.lowerBound
            if e.dtype == .f16 {
                Float16Conversion.floats(fromHalves: source, count: e.count, into: destination)
            } else {
                destination.withMemoryRebound(to: UInt32.self, capacity: e.count) {
                    Self.loadLittleEndian(source, count: e.count, into: $0)
                }
            }
        }
    }

    private func integers<T: FixedWidthInteger>(_ name: String, _ dtype: SafeTensorsDType, as: T.Type) throws -> [T] {
        let e = try entry(name)
        guard e.dtype == dtype else {
            throw RecurError(.format, "tensor '\(name)' is \(e.dtype.rawValue), not \(dtype.rawValue)", file: path)
        }
        return bytes.withUnsafeBytes { raw in
            let source = raw.baseAddress! + dataStart + e.byteRange.lowerBound
            return [T](unsafeUninitializedCapacity: e.count) { buffer, initialized in
                if let base = buffer.baseAddress { Self.loadLittleEndian(source, count: e.count, into: base) }
                initialized = e.count
            }
        }
    }

    private static func loadLittleEndian<T: FixedWidthInteger>(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<T>) {
        #if _endian(little)
        UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * MemoryLayout<T>.size)
        #else
        for i in 0 ..< count {
            destination[i] = T(littleEndian: source.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
        }
        #endif
    }

    private static func readFile(_ path: String) throws -> Data {
        func failure(_ what: String) -> RecurError {
            RecurError(.io, "cannot read safetensors file: \(what)", file: path)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw failure((info.st_mode & S_IFMT) == S_IFDIR ? "it is a directory" : "not a regular file")
        }
        var data = Data(count: Int(info.st_size))
        let got = data.withUnsafeMutableBytes { buffer -> Int in
            var done = 0
            while done < buffer.count {
                let n = read(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return n < 0 ? -1 : done }
                done += n
            }
            return done
        }
        guard got == data.count else {
            throw failure(got < 0 ? String(cString: strerror(errno)) : "the file shrank while being read")
        }
        return data
    }

    /// The header's bytes and where the data section starts.
    private static func headerBytes(_ data: Data) throws -> ([UInt8], Int) {
        guard data.count >= 8 else {
            throw RecurError(.format, "file is \(data.count) bytes, too short for a safetensors header")
        }
        let n = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(data.count - 8) else {
            throw RecurError(.format, "header length \(n) runs past the end of the file (\(data.count) bytes): truncated, or not a safetensors file")
        }
        let start = data.startIndex + 8
        return ([UInt8](data[start ..< start + Int(n)]), 8 + Int(n))
    }

    /// Arrays and objects in the header nest at most this deep (a real
    /// header needs 3).
    private static let maxHeaderDepth = 64

    private static let otherDTypes: Set<String> = [
        "BOOL", "U8", "I8", "I16", "U16", "BF16", "U32", "U64", "F64", "C64",
        "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2",
    ]

    private static func parseHeader(_ json: JSONValue, dataLength: Int) throws
        -> ([String], [String: String], [String: SafeTensorsEntry])
    {
        func bad(_ reason: String) -> RecurError { RecurError(.format, reason) }
        guard case .object(let members) = json else { throw bad("header is not a JSON object") }
        var names: [String] = []
        var metadata: [String: String] = [:]
        var entries: [String: SafeTensorsEntry] = [:]
        for (name, value) in members.pairs {
            if name == "__metadata__" {
                if case .null = value { continue }
                guard case .object(let pairs) = value else { throw bad("__metadata__ is not a JSON object") }
                for (key, v) in pairs.pairs {
                    guard case .string(let s) = v else { throw bad("__metadata__ value for '\(key)' is not a string") }
                    metadata[key] = s
                }
                continue
            }
            func field(_ key: String) throws -> JSONValue {
                guard case .object(let fields) = value else { throw bad("tensor '\(name)': entry is not a JSON object") }
                guard let v = fields[key] else { throw bad("tensor '\(name)': no \(key)") }
                return v
            }
            func integers(_ key: String) throws -> [Int] {
                guard case .array(let items) = try field(key) else { throw bad("tensor '\(name)': \(key) is not an array") }
                return try items.map {
                    guard case .number(let text) = $0, let n = Int(text) else {
                        throw bad("tensor '\(name)': \(key) holds \(Self.describe($0)), not an integer in range")
                    }
                    guard n >= 0 else { throw bad("tensor '\(name)': \(key) holds a negative number \(n)") }
                    return n
                }
            }
            guard case .string(let typeName) = try field("dtype") else { throw bad("tensor '\(name)': dtype is not a string") }
            guard let dtype = SafeTensorsDType(rawValue: typeName) else {
                throw otherDTypes.contains(typeName)
                    ? RecurError(.unsupported, "tensor '\(name)': dtype \(typeName) is not supported (Recur reads F32, F16, I32, I64)")
                    : bad("tensor '\(name)': unknown dtype '\(typeName)'")
            }
            let shape = try integers("shape")
            let offsets = try integers("data_offsets")
            guard offsets.count == 2 else { throw bad("tensor '\(name)': data_offsets has \(offsets.count) numbers, not 2") }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin <= end else { throw bad("tensor '\(name)': data_offsets [\(begin), \(end)] are reversed") }
            guard end <= dataLength else {
                throw bad("tensor '\(name)': data_offsets [\(begin), \(end)] run past the end of the data (\(dataLength) bytes; truncated?)")
            }
            var count = 1
            for d in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else { throw bad("tensor '\(name)': shape \(shape) is absurdly large") }
                count = product
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, byteCount == end - begin else {
                throw bad("tensor '\(name)': shape \(shape) of \(typeName) needs \(overflow ? "too many" : String(byteCount)) bytes but data_offsets [\(begin), \(end)] span \(end - begin)")
            }
            names.append(name)
            entries[name] = SafeTensorsEntry(name: name, dtype: dtype, shape: shape, count: count, byteRange: begin ..< end)
        }
        // The tensors must tile the data section exactly (empty ones may sit
        // anywhere in it).
        let sorted = entries.values.filter { !$0.byteRange.isEmpty }.sorted { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        var covered = 0
        var previous: String?
        for e in sorted {
            if e.byteRange.lowerBound < covered {
                throw bad("tensors '\(previous ?? "")' and '\(e.name)' overlap (data_offsets \(e.byteRange.lowerBound) < \(covered))")
            }
            if e.byteRange.lowerBound > covered {
                throw bad("\(e.byteRange.lowerBound - covered) bytes of the data before tensor '\(e.name)' belong to no tensor")
            }
            covered = e.byteRange.upperBound
            previous = e.name
        }
        guard covered == dataLength else {
            throw bad("\(dataLength - covered) bytes after the last tensor belong to no tensor")
        }
        return (names, metadata, entries)
    }
}

extension SafeTensorsFile {
    /// `v` for an error message: scalars as written, containers by kind.
    fileprivate static func describe(_ v: JSONValue) -> String {
        switch v {
        case .object, .array: v.kindName
        case .string(let s): "\"\(s)\""
        case .number(let n): n
        case .bool(let b): "\(b)"
        case .null: "null"
        }
    }
}

/// Builds a safetensors file: add tensors and metadata, then `write(to:)`.
///
/// Values are copied when added. The file is laid out exactly as the Python
/// `safetensors` package lays it out (tensors ordered I64, F32, I32, F16, then
/// by name; compact JSON padded with spaces to 8 bytes; metadata keys sorted),
/// so for the same content the bytes match.
///
///     var w = SafeTensorsWriter(metadata: ["format": "recur-1"])
///     try w.add("encoder.weight", weights, as: .f16)
///     try w.add("step", int64s: [1200])
///     try w.write(to: "model.safetensors")
public struct SafeTensorsWriter: Sendable {
    /// How floating-point tensors are stored.
    public enum FloatFormat: Sendable { case f32, f16 }

    /// The `__metadata__` map (written only when not empty).
    public var metadata: [String: String]

    /// Each tensor's data as it goes in the file (little-endian bytes).
    private var items: [(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8])] = []

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds `tensor`, stored as F32 or as F16 (rounded to nearest even).
    public mutating func add(_ name: String, _ tensor: Tensor, as format: FloatFormat = .f32) throws {
        try checkName(name)
        switch format {
        case .f32:
            let bits = tensor.data.withMemoryRebound(to: UInt32.self, capacity: tensor.count) {
                littleEndianBytes(UnsafeBufferPointer(start: $0, count: tensor.count))
            }
            items.append((name, .f32, tensor.shape, bits))
        case .f16:
            let halves = [UInt16](unsafeUninitializedCapacity: tensor.count) { buffer, initialized in
                if let base = buffer.baseAddress {
                    Float16Conversion.halves(fromFloats: tensor.data, count: tensor.count, into: base)
                }
                initialized = tensor.count
            }
            items.append((name, .f16, tensor.shape, halves.withUnsafeBufferPointer(littleEndianBytes)))
        }
    }

    /// Adds 32-bit integers with `shape` (default: one axis of `values.count`).
    public mutating func add(_ name: String, int32s values: [Int32], shape: [Int]? = nil) throws {
        let shape = try checkShape(name, shape, values.count)
        items.append((name, .i32, shape, values.withUnsafeBufferPointer(littleEndianBytes)))
    }

    /// Adds 64-bit integers with `shape` (default: one axis of `values.count`).
    public mutating func add(_ name: String, int64s values: [Int64], shape: [Int]? = nil) throws {
        let shape = try checkShape(name, shape, values.count)
        items.append((name, .i64, shape, values.withUnsafeBufferPointer(littleEndianBytes)))
    }

    /// Tensor names in the order the file lays them out.
    public var names: [String] { ordered.map(\.name) }

    /// Writes the file atomically (see `AtomicFile`).
    public func write(to path: String) throws {
        try AtomicFile.write(to: path) { out in try emit { try out.write($0) } }
    }

    /// The whole file as bytes.
    public func serialized() -> Data {
        var data = Data()
        emit { data.append(contentsOf: $0) }
        return data
    }

    private func checkName(_ name: String) throws {
        guard name != "__metadata__" else {
            throw RecurError(.usage, "safetensors: '__metadata__' cannot name a tensor")
        }
        guard !items.contains(where: { $0.name == name }) else {
            throw RecurError(.usage, "safetensors: tensor '\(name)' added twice")
        }
    }

    private func checkShape(_ name: String, _ shape: [Int]?, _ count: Int) throws -> [Int] {
        try checkName(name)
        let shape = shape ?? [count]
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw RecurError(.shape, "safetensors: tensor '\(name)' has \(count) values, not shape \(shape)")
        }
        return shape
    }

    private var ordered: [(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8])] {
        items.sorted {
            $0.dtype.layoutRank != $1.dtype.layoutRank
                ? $0.dtype.layoutRank > $1.dtype.layoutRank
                : $0.name.utf8.lexicographicallyPrecedes($1.name.utf8)
        }
    }

    /// Hands the file's bytes to `sink`, in order.
    private func emit(_ sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let items = ordered
        var json = "{"
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            fields.append("\"__metadata__\":{" + pairs.map { jsonString($0.key) + ":" + jsonString($0.value) }.joined(separator: ",") + "}")
        }
        var offset = 0
        for item in items {
            let size = item.bytes.count
            let shape = item.shape.map(String.init).joined(separator: ",")
            fields.append(jsonString(item.name) + ":{\"dtype\":\"\(item.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        json += fields.joined(separator: ",") + "}"
        var header = Array(json.utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try sink($0) }
        try header.withUnsafeBytes { try sink($0) }
        for item in items {
            try item.bytes.withUnsafeBytes { try sink($0) }
        }
    }
}

/// The little-endian bytes of `values`.
private func littleEndianBytes<T: FixedWidthInteger>(_ values: UnsafeBufferPointer<T>) -> [UInt8] {
    #if _endian(little)
    return Array(UnsafeRawBufferPointer(values))
    #else
    return values.map(\.littleEndian).withUnsafeBytes { Array($0) }
    #endif
}

/// `s` as a JSON string literal, escaped the way serde_json (the Python
/// package's encoder) escapes it.
private func jsonString(_ s: String) -> String {
    var out = ""
    JSONValue.writeString(s, to: &out, escaping: .serde)
    return out
}
