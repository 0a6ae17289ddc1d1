import RecurCore

// Embedding: a lookup table, as torch.nn.Embedding.
//
//   ids:    N integers in 0..<V (any layout the caller likes, e.g. (T, B) time-major)
//   weight: (V, E)   "<prefix>weight"
//   y:      (N, E)   row n is weight[ids[n]]
//
// Backward: dW[ids[n]] += dy[n] for every n whose id is not the padding
// index (the padding row gets no gradient, as with padding_idx in PyTorch).
// There is no input gradient; the cache backward needs is the ids.

/// A token embedding table with PyTorch's name and layout.
public final class Embedding {
    public let vocabularySize: Int
    public let embeddingSize: Int
    /// The id whose row gets no gradient (and is initialized to zero), if any.
    public let paddingIndex: Int?
    /// (V, E)
    public let weight: ParameterRef

    /// Registers `prefix + "weight"` (V, E).
    public init(_ layout: inout ParameterLayout, prefix: String, vocabularySize: Int, embeddingSize: Int,
                paddingIndex: Int? = nil) {
        precondition(vocabularySize > 0 && embeddingSize > 0, "Embedding \(prefix): sizes must be positive")
        precondition(paddingIndex.map { $0 >= 0 && $0 < vocabularySize } ?? true,
                     "Embedding \(prefix): padding index \(paddingIndex!) outside 0..<\(vocabularySize)")
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        self.paddingIndex = paddingIndex
        weight = layout.add(prefix + "weight", [vocabularySize, embeddingSize])
    }

    /// PyTorch's default: N(0, 1), with the padding row set to zero.
    public func initialize(_ store: ParameterStore, rng: inout RNG) {
        let w = store.value(weight)
        rng.fillNormal(w)
        if let p = paddingIndex { w[p].zero() }
    }

    private func check<I: BinaryInteger>(_ ids: [I]) throws {
        for (n, id) in ids.enumerated() where id < 0 || id >= vocabularySize {
            throw RecurError(.value, "embedding id \(id) at position \(n) outside the vocabulary 0..<\(vocabularySize)")
        }
    }

    /// The rows of the table for `ids`: a new (N, E) tensor. Throws on an id
    /// outside 0..<V.
    public func forward<I: BinaryInteger>(_ store: ParameterStore, ids: [I]) throws -> Tensor {
        let y = Tensor(zeros: [ids.count, embeddingSize])
        try forward(store, ids: ids, into: y)
        return y
    }

    /// As `forward`, writing into `y` (N, E).
    public func forward<I: BinaryInteger>(_ store: ParameterStore, ids: [I], into y: Tensor) throws {
        precondition(y.count == ids.count * embeddingSize, "Embedding: output \(y.shape) for \(ids.count) ids")
        try check(ids)
        let w = store.value(weight).data
        let e = embeddingSize
        for (n, id) in ids.enumerated() {
            (y.data + n * e).update(from: w + Int(id) * e, count: e)
        }
    }

    /// Accumulates the table gradient from `dy` (N, E) for the same `ids`
    /// given to forward; the padding row is skipped.
    public func backward<I: BinaryInteger>(_ store: ParameterStore, ids: [I], dy: Tensor) throws {
        precondition(dy.count == ids.count * embeddingSize, "Embedding: dy \(dy.shape) for \(ids.count) ids")
        try check(ids)
        let g = store.grad(weight).data
        let e = embeddingSize
        for (n, id) in ids.enumerated() {
            let i = Int(id)
            if i == paddingIndex { continue }
            Kernels.add(e, g + i * e, dy.data + n * e, g + i * e)
        }
    }
}
