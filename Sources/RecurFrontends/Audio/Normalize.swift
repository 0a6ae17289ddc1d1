import Foundation
import RecurCore

/// Cepstral mean and variance normalisation of (T, D) feature matrices.
public enum Normalize {
    /// Per-utterance CMVN in place: each column to mean 0 and (when `variance`)
    /// standard deviation 1 (population std, floored at 1e-5).
    public static func utteranceCMVN(_ x: Tensor, variance: Bool) {
        precondition(x.rank == 2, "CMVN needs (T, D) features")
        let T = x.shape[0], D = x.shape[1]
        if T == 0 { return }
        var sum = [Double](repeating: 0, count: D), sq = sum
        for t in 0..<T {
            let row = x.data + t * D
            for d in 0..<D { let v = Double(row[d]); sum[d] += v; sq[d] += v * v }
        }
        var mean = [Float](repeating: 0, count: D), inv = [Float](repeating: 1, count: D)
        for d in 0..<D {
            let m = sum[d] / Double(T)
            mean[d] = Float(m)
            if variance { inv[d] = Float(1 / max(max(sq[d] / Double(T) - m * m, 0).squareRoot(), 1e-5)) }
        }
        apply(x, mean: mean, invStd: inv)
    }

    /// x[t, d] = (x[t, d] - mean[d]) · invStd[d], in place.
    public static func apply(_ x: Tensor, mean: [Float], invStd: [Float]) {
        let T = x.shape[0], D = x.shape[1]
        precondition(mean.count == D && invStd.count == D, "CMVN statistics of dimension \(mean.count) for features of \(D)")
        mean.withUnsafeBufferPointer { m in
            invStd.withUnsafeBufferPointer { s in
                for t in 0..<T {
                    let row = x.data + t * D
                    for d in 0..<D { row[d] = (row[d] - m[d]) * s[d] }
                }
            }
        }
    }
}

/// Global CMVN statistics accumulated over a corpus and stored as JSON:
/// `{"format": "recur-cmvn-1", "count": N, "sum": [...], "sum_squares": [...]}`.
public struct CMVNStats: Codable, Sendable, Equatable {
    public var format = "recur-cmvn-1"
    public var count: Int
    public var sum: [Double]
    public var sumSquares: [Double]

    enum CodingKeys: String, CodingKey { case format, count, sum, sumSquares = "sum_squares" }

    public init(dimension: Int) {
        count = 0
        sum = [Double](repeating: 0, count: dimension)
        sumSquares = sum
    }

    public var dimension: Int { sum.count }
    public var mean: [Double] { sum.map { count > 0 ? $0 / Double(count) : 0 } }
    public var std: [Double] {
        zip(sum, sumSquares).map { s, q in
            guard count > 0 else { return 1 }
            let m = s / Double(count)
            return max(q / Double(count) - m * m, 0).squareRoot()
        }
    }

    /// Adds every frame of `x` (T, dimension).
    public mutating func accumulate(_ x: Tensor) {
        precondition(x.rank == 2 && x.shape[1] == dimension, "CMVN stats of dimension \(dimension) given \(x.shape)")
        for t in 0..<x.shape[0] {
            let row = x.data + t * dimension
            for d in 0..<dimension { let v = Double(row[d]); sum[d] += v; sumSquares[d] += v * v }
        }
        count += x.shape[0]
    }

    public func save(_ path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try NPY.writeAtomically(try enc.encode(self), to: path)
    }

    public static func load(_ path: String) throws -> CMVNStats {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecurError(.io, "cannot read CMVN statistics", file: path)
        }
        let s: CMVNStats
        do { s = try JSONDecoder().decode(CMVNStats.self, from: data) } catch {
            throw RecurError(.format, "not CMVN statistics (recur-cmvn-1 JSON): \(error)", file: path)
        }
        guard s.format == "recur-cmvn-1", s.count > 0, s.sum.count == s.sumSquares.count, !s.sum.isEmpty else {
            throw RecurError(.format, "CMVN statistics are empty or inconsistent", file: path)
        }
        return s
    }
}

/// Delta features: d[t] = Σ_{n=1..2} n·(c[t+n] − c[t−n]) / (2·Σ n²), frames
/// beyond the edges replicated (Kaldi's add-deltas, torchaudio.functional.compute_deltas(win_length=5)).
public enum Deltas {
    /// One order of deltas of x (T, D): (T, D).
    public static func delta(_ x: Tensor, window N: Int = 2) -> Tensor {
        let T = x.shape[0], D = x.shape[1]
        let out = Tensor(zeros: [T, D])
        var denom: Float = 0
        for n in 1...N { denom += Float(n * n) }
        denom *= 2
        for t in 0..<T {
            let o = out.data + t * D
            for n in 1...N {
                let a = x.data + min(t + n, T - 1) * D, b = x.data + max(t - n, 0) * D
                let w = Float(n) / denom
                for d in 0..<D { o[d] += w * (a[d] - b[d]) }
            }
        }
        return out
    }

    /// [x, Δx, ΔΔx] up to `order` side by side: (T, D·(order+1)).
    public static func append(_ x: Tensor, order: Int) -> Tensor {
        let T = x.shape[0], D = x.shape[1]
        var parts = [x]
        for _ in 0..<order { parts.append(delta(parts.last!)) }
        let out = Tensor(zeros: [T, D * parts.count])
        for t in 0..<T {
            for (i, p) in parts.enumerated() {
                (out.data + t * D * parts.count + i * D).update(from: p.data + t * D, count: D)
            }
        }
        return out
    }
}
