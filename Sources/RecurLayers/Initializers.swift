import Foundation
import RecurCore

// Parameter initializers, after torch.nn.init. Every draw comes from the RNG
// passed in, element by element in row-major order, so a seed fixes the bits.
//
// Fans of a tensor of shape (out, in, k...): fanIn = in·Πk, fanOut = out·Πk;
// a 1-D tensor has fanIn = fanOut = its length.
//
//   uniform(bound)          U(-bound, bound)
//   recurrentDefault(H)     U(±1/√H): torch.nn.RNN/LSTM/GRU's default for every weight and bias
//   kaimingUniformLinear    U(±1/√fanIn): torch.nn.Linear's default weight (kaiming_uniform_, a=√5)
//   xavierUniform(gain)     U(±gain·√(6/(fanIn+fanOut)))
//   xavierNormal(gain)      N(0, gain·√(2/(fanIn+fanOut)))
//   orthogonal(gain)        gain·Q, Q from the QR of a Gaussian matrix with R's diagonal made
//                           positive (torch's orthogonal_); rows > cols gives orthonormal
//                           columns, rows < cols orthonormal rows
//   orthogonalBlocks(G)     a (G·H, H) matrix as G stacked orthogonal H×H blocks: one per gate
//                           of an LSTM (G=4) or GRU (G=3) weight_hh
//   zeros, constant(c)

public enum Initializer {
    /// (fanIn, fanOut) as torch.nn.init computes them.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        if shape.count < 2 { let n = shape.first ?? 1; return (n, n) }
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// U(-bound, bound) in every element.
    public static func uniform(_ t: Tensor, bound: Float, rng: inout RNG) {
        rng.fillUniform(t, -bound, bound)
    }

    /// U(±1/√H), PyTorch's default for every weight and bias of an RNN/LSTM/GRU with hidden size H.
    public static func recurrentDefault(_ t: Tensor, hiddenSize: Int, rng: inout RNG) {
        precondition(hiddenSize > 0)
        uniform(t, bound: 1 / Float(hiddenSize).squareRoot(), rng: &rng)
    }

    /// torch.nn.Linear's default weight: kaiming_uniform_(a=√5), i.e. U(±1/√fanIn).
    public static func kaimingUniformLinear(_ t: Tensor, rng: inout RNG) {
        let fanIn = max(fans(t.shape).fanIn, 1)
        uniform(t, bound: 1 / Float(fanIn).squareRoot(), rng: &rng)
    }

    /// Xavier/Glorot uniform: U(±gain·√(6/(fanIn+fanOut))).
    public static func xavierUniform(_ t: Tensor, gain: Float = 1, rng: inout RNG) {
        let (i, o) = fans(t.shape)
        uniform(t, bound: gain * (6 / Float(max(i + o, 1))).squareRoot(), rng: &rng)
    }

    /// Xavier/Glorot normal: N(0, gain·√(2/(fanIn+fanOut))).
    public static func xavierNormal(_ t: Tensor, gain: Float = 1, rng: inout RNG) {
        let (i, o) = fans(t.shape)
        rng.fillNormal(t, mean: 0, std: gain * (2 / Float(max(i + o, 1))).squareRoot())
    }

    /// A (rows, cols) matrix (higher ranks are flattened to (shape[0], rest))
    /// with orthonormal columns (rows ≥ cols) or rows (rows < cols), times `gain`.
    public static func orthogonal(_ t: Tensor, gain: Float = 1, rng: inout RNG) {
        precondition(t.rank >= 2, "orthogonal initialization needs at least 2 dimensions, got \(t.shape)")
        let rows = t.shape[0], cols = t.count / max(rows, 1)
        if rows == 0 || cols == 0 { return }
        // Draw the Gaussian matrix in t's row-major order, as torch does.
        let a = Tensor(zeros: [rows, cols])
        for i in 0..<a.count { a.data[i] = rng.normal() }
        let tall = rows >= cols
        let m = tall ? rows : cols, n = tall ? cols : rows
        // The n vectors of length m to orthonormalize, one per row of `q`:
        // the columns of a when tall, its rows when wide.
        let q = tall ? Tensor(zeros: [n, m]) : a
        if tall { for i in 0..<rows { for j in 0..<cols { q.data[j * m + i] = a.data[i * cols + j] } } }
        orthonormalizeRows(q.data, n: n, m: m)
        for i in 0..<rows {
            for j in 0..<cols {
                t.data[i * cols + j] = gain * (tall ? q.data[j * m + i] : q.data[i * m + j])
            }
        }
    }

    /// A (G·H, H) recurrent matrix as G orthogonal H×H blocks, one per gate
    /// (LSTM weight_hh: G = 4, GRU: G = 3, plain RNN: G = 1).
    public static func orthogonalBlocks(_ t: Tensor, blocks: Int, gain: Float = 1, rng: inout RNG) {
        precondition(t.rank == 2 && blocks > 0 && t.shape[0] % blocks == 0,
                     "orthogonal blocks: \(t.shape) does not split into \(blocks) row blocks")
        let h = t.shape[0] / blocks
        for g in 0..<blocks { orthogonal(t.slice(g * h ..< (g + 1) * h), gain: gain, rng: &rng) }
    }

    public static func zeros(_ t: Tensor) { t.zero() }

    public static func constant(_ t: Tensor, _ value: Float) { t.fill(value) }

    /// Classical Gram–Schmidt with reorthogonalization (CGS2, two BLAS gemv
    /// passes per vector) over the n rows (length m ≥ n) of `q`, in place.
    /// The result equals the Q of a QR factorization whose R has a positive
    /// diagonal (torch's sign convention). A (measure-zero) dependent vector
    /// is replaced by a unit vector orthogonal to the ones before it.
    static func orthonormalizeRows(_ q: UnsafeMutablePointer<Float>, n: Int, m: Int) {
        let r = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        defer { r.deallocate() }
        func project(_ v: UnsafeMutablePointer<Float>, _ j: Int) {
            guard j > 0 else { return }
            for _ in 0..<2 {
                // r = Q[0..<j] · v;  v -= Q[0..<j]ᵀ · r
                BLAS.gemv(.none, rows: j, cols: m, a: q, lda: m, x: v, y: r)
                BLAS.gemv(.transpose, rows: j, cols: m, alpha: -1, a: q, lda: m, x: r, beta: 1, y: v)
            }
        }
        for j in 0..<n {
            let v = q + j * m
            let before = Kernels.sumOfSquares(m, v).squareRoot()
            project(v, j)
            var norm = Kernels.sumOfSquares(m, v).squareRoot()
            if norm <= 1e-4 * before || norm == 0 {
                // Pick the unit vector e_k least covered by the vectors so far.
                var bestK = 0, bestCover = Double.infinity
                for k in 0..<m {
                    var cover = 0.0
                    for i in 0..<j { cover += Double(q[i * m + k]) * Double(q[i * m + k]) }
                    if cover < bestCover { bestCover = cover; bestK = k }
                }
                v.update(repeating: 0, count: m)
                v[bestK] = 1
                project(v, j)
                norm = Kernels.sumOfSquares(m, v).squareRoot()
            }
            Kernels.scale(m, Float(1 / norm), v)
        }
    }
}
