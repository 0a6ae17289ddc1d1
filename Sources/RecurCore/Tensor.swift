import Foundation

/// Owned, 64-byte aligned `Float` memory. A `Tensor` keeps the storage it
/// views alive; the storage frees its memory when the last view goes.
public final class TensorStorage: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let count: Int

    /// `count` zeroed floats, 64-byte aligned (a cache line, an AVX-512 vector).
    public init(count: Int) {
        precondition(count >= 0, "negative storage size")
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        memset(raw, 0, bytes)
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    deinit { free(base) }
}

/// A shaped, contiguous, row-major view over `Float` memory.
///
/// A tensor either views `TensorStorage` (which it keeps alive) or borrows
/// memory someone else owns (`init(borrowing:shape:)`; the owner must outlive
/// every use). Copying a `Tensor` value copies the view, not the numbers:
/// `copy()` makes new storage.
///
/// Concurrency rule: any number of threads may read a tensor at once. Threads
/// may write concurrently only to disjoint element ranges (for example
/// disjoint rows from `parallelFor`), and nobody may read a range while
/// another thread writes it. Recur's own kernels keep to this; callers
/// sharing a tensor across tasks must too.
public struct Tensor: @unchecked Sendable {
    public let data: UnsafeMutablePointer<Float>
    public let shape: [Int]
    public let count: Int
    public let owner: TensorStorage?

    /// A new zero-filled tensor.
    public init(zeros shape: [Int]) {
        let n = Tensor.elementCount(shape)
        let s = TensorStorage(count: n)
        self.init(storage: s, offset: 0, shape: shape)
    }

    public init(shape: [Int], repeating value: Float) {
        self.init(zeros: shape)
        if value != 0 { fill(value) }
    }

    /// A new tensor holding `values` (row-major).
    public init(shape: [Int], _ values: [Float]) {
        precondition(Tensor.elementCount(shape) == values.count,
                     "shape \(shape) holds \(Tensor.elementCount(shape)) values, got \(values.count)")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { src in
            if let b = src.baseAddress { data.update(from: b, count: values.count) }
        }
    }

    /// A view of `storage` starting at element `offset`.
    public init(storage: TensorStorage, offset: Int, shape: [Int]) {
        let n = Tensor.elementCount(shape)
        precondition(offset >= 0 && offset + n <= storage.count,
                     "view [\(offset), \(offset + n)) outside storage of \(storage.count)")
        self.data = storage.base + offset
        self.shape = shape
        self.count = n
        self.owner = storage
    }

    /// A view of memory the caller owns and keeps alive while the tensor is used.
    public init(borrowing pointer: UnsafeMutablePointer<Float>, shape: [Int]) {
        self.data = pointer
        self.shape = shape
        self.count = Tensor.elementCount(shape)
        self.owner = nil
    }

    private init(data: UnsafeMutablePointer<Float>, shape: [Int], owner: TensorStorage?) {
        self.data = data
        self.shape = shape
        self.count = Tensor.elementCount(shape)
        self.owner = owner
    }

    public static func elementCount(_ shape: [Int]) -> Int {
        var n = 1
        for d in shape {
            precondition(d >= 0, "negative dimension in shape \(shape)")
            n *= d
        }
        return n
    }

    public var rank: Int { shape.count }
    /// Elements per index of the first axis.
    public var rowSize: Int { shape.isEmpty ? 1 : (shape[0] == 0 ? Tensor.elementCount(Array(shape.dropFirst())) : count / shape[0]) }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    public var array: [Float] { Array(buffer) }

    /// Index `i` of the first axis, without copying: shape `shape[1...]`.
    public subscript(i: Int) -> Tensor {
        precondition(rank >= 1 && i >= 0 && i < shape[0], "index \(i) out of range for shape \(shape)")
        return Tensor(data: data + i * rowSize, shape: Array(shape.dropFirst()), owner: owner)
    }

    /// Indices `range` of the first axis, without copying.
    public func slice(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "slice \(range) out of range for shape \(shape)")
        var s = shape
        s[0] = range.count
        return Tensor(data: data + range.lowerBound * rowSize, shape: s, owner: owner)
    }

    /// The same numbers under another shape with as many elements, without copying.
    /// One dimension may be -1 and is then inferred.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let k = s.firstIndex(of: -1) {
            let rest = s.enumerated().reduce(1) { $1.offset == k ? $0 : $0 * $1.element }
            precondition(rest > 0 && count % rest == 0, "cannot reshape \(shape) to \(newShape)")
            s[k] = count / rest
        }
        precondition(Tensor.elementCount(s) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(data: data, shape: s, owner: owner)
    }

    /// New storage holding a copy of these numbers.
    public func copy() -> Tensor {
        let t = Tensor(zeros: shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// Copies `other`'s numbers (same element count) into this tensor's memory.
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    public func fill(_ value: Float) {
        if value == 0 { memset(data, 0, count * MemoryLayout<Float>.stride); return }
        data.update(repeating: value, count: count)
    }

    public func zero() { fill(0) }

    /// Element access by full index (for tests and setup, not hot loops).
    public subscript(index: [Int]) -> Float {
        get { data[flatIndex(index)] }
        nonmutating set { data[flatIndex(index)] = newValue }
    }

    public subscript(i: Int, j: Int) -> Float {
        get { data[flatIndex([i, j])] }
        nonmutating set { data[flatIndex([i, j])] = newValue }
    }

    public func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == rank, "index \(index) for shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "index \(index) out of range for shape \(shape)")
            flat = flat * d + i
        }
        return flat
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = buffer.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(head)\(count > 8 ? ", …" : "")])"
    }
}
