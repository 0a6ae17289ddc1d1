import CBLAS
import CDNNL
import Foundation

/// Whether a matrix operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transpose
    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// Row-major BLAS through OpenBLAS, with large matrix products through
/// oneDNN's sgemm (`GEMMEngine`). Shapes follow BLAS: `op(A)` is m×k,
/// `op(B)` is k×n, `C` is m×n; leading dimensions are row strides, so
/// sub-matrices of larger ones work. `ReferenceBLAS` holds the naive loops
/// the tests compare against.
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C. Products with one row or one
    /// column go to OpenBLAS's `sgemv` (an M=1 sgemm is about 5x slower on Debian's
    /// OpenBLAS); the others to the library `GEMMEngine.choose` picks, unless `engine` says.

    public static func gemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                            engine: GEMMEngine? = nil) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            else if beta != 1 { for i in 0..<m { scal(n: n, alpha: beta, x: c + i * ldc) } }
            return
        }
        if m == 1 {
            // c (1×n) = op(B)ᵀ · a, with a's k values strided by lda when A is transposed.
            let incx = transA == .none ? 1 : lda
            if transB == .none {
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb),
                            a, Int32(incx), beta, c, 1)
            } else {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb),
                            a, Int32(incx), beta, c, 1)
            }
            return
        }
        if n == 1 {
            // c (m×1, stride ldc) = op(A) · b, with b's k values strided by ldb unless B is transposed.
            let incx = transB == .none ? ldb : 1
            if transA == .none {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(k), alpha, a, Int32(lda),
                            b, Int32(incx), beta, c, Int32(ldc))
            } else {
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(m), alpha, a, Int32(lda),
                            b, Int32(incx), beta, c, Int32(ldc))
            }
            return
        }
        if (engine ?? GEMMEngine.choose(transB, m: m, n: n, k: k)) == .oneDNN {
            GEMMEngine.matchThreads()
            // On failure (no memory for its packed copies) C is untouched and OpenBLAS does the product.
            if dnnl_sgemm(transA == .none ? 0x4E : 0x54, transB == .none ? 0x4E : 0x54,  // "N", "T"
                          Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
                == dnnl_success { return }
        }
        cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// dst (cols × rows, leading dimension ldDst) = srcᵀ, src (rows × cols, leading dimension ldSrc):
    /// OpenBLAS's `somatcopy`. Products x·Wᵀ with few rows x, repeated at every time step, are
    /// about twice as fast as x·Wt with Wt = Wᵀ made once (16 × 384 × 128: 14 µs against 25 µs on
    /// one core): OpenBLAS repacks a transposed W at every call, and takes its unpacked
    /// small-matrix kernels only for the untransposed form.
    public static func transpose(rows: Int, cols: Int, _ src: UnsafePointer<Float>, ldSrc: Int,
                                 into dst: UnsafeMutablePointer<Float>, ldDst: Int) {
        guard rows > 0 && cols > 0 else { return }
        cblas_somatcopy(CblasRowMajor, CblasTrans, Int32(rows), Int32(cols), 1, src, Int32(ldSrc), dst, Int32(ldDst))
    }

    /// y = alpha · op(A) · x + beta · y, with A stored rows×cols.

    public static func gemv(_ trans: Transpose, rows: Int, cols: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>, incx: Int = 1,
                            beta: Float = 0, y: UnsafeMutablePointer<Float>, incy: Int = 1) {
        if rows == 0 || cols == 0 { return }
        cblas_sgemv(CblasRowMajor, trans.cblas, Int32(rows), Int32(cols), alpha, a, Int32(lda),
                    x, Int32(incx), beta, y, Int32(incy))
    }

    /// y += alpha · x

    public static func axpy(n: Int, alpha: Float, x: UnsafePointer<Float>, incx: Int = 1,
                            y: UnsafeMutablePointer<Float>, incy: Int = 1) {
        if n > 0 { cblas_saxpy(Int32(n), alpha, x, Int32(incx), y, Int32(incy)) }
    }

    /// x *= alpha

    public static func scal(n: Int, alpha: Float, x: UnsafeMutablePointer<Float>, incx: Int = 1) {
        if n > 0 { cblas_sscal(Int32(n), alpha, x, Int32(incx)) }
    }

    /// Σ x·y

    public static func dot(n: Int, x: UnsafePointer<Float>, incx: Int = 1,
                           y: UnsafePointer<Float>, incy: Int = 1) -> Float {
        n > 0 ? cblas_sdot(Int32(n), x, Int32(incx), y, Int32(incy)) : 0
    }

    /// C = alpha · op(A) · op(B) + beta · C on whole 2-D tensors.
    public static func gemm(_ a: Tensor, _ transA: Transpose = .none, _ b: Tensor, _ transB: Transpose = .none,
                            into c: Tensor, alpha: Float = 1, beta: Float = 0) {
        precondition(a.rank == 2 && b.rank == 2 && c.rank == 2, "gemm needs 2-D tensors")
        let (m, k) = transA == .none ? (a.shape[0], a.shape[1]) : (a.shape[1], a.shape[0])
        let (kb, n) = transB == .none ? (b.shape[0], b.shape[1]) : (b.shape[1], b.shape[0])
        precondition(k == kb && c.shape == [m, n],
                     "gemm shapes: op(A) \(m)×\(k), op(B) \(kb)×\(n), C \(c.shape)")
        gemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a.data, lda: a.shape[1],
             b: b.data, ldb: b.shape[1], beta: beta, c: c.data, ldc: n)
    }

    /// A new m×n tensor op(A) · op(B).
    public static func matmul(_ a: Tensor, _ transA: Transpose = .none, _ b: Tensor, _ transB: Transpose = .none) -> Tensor {
        let m = transA == .none ? a.shape[0] : a.shape[1]
        let n = transB == .none ? b.shape[1] : b.shape[0]
        let c = Tensor(zeros: [m, n])
        gemm(a, transA, b, transB, into: c)
        return c
    }
}

/// The library that multiplies a matrix product of `BLAS.gemm`.
///
/// oneDNN's sgemm (the JIT GEMM under PyTorch's CPU matrix products) beats
/// Debian's OpenBLAS 0.3.21 on this project's machines by 10–50 % on the
/// products of recurrent layers with few rows: a step's 64 × 2048 × 512
/// `h·W_hhᵀ` (W_hhᵀ made once) in 0.66 ms against 0.87 ms on two threads, the
/// weight gradients summed over all steps (Aᵀ·B) by 20 %. It loses where B is
/// transposed and A has few rows (it repacks B at every call: 1.5 ms against
/// 0.8 ms for that same step as `h·W_hhᵀ`), and on products of under a million
/// multiply-adds (a 16 × 128 × 384 decoder step: 13.7 µs against 13.4 µs on one
/// thread), where its calls cost more than the arithmetic. Measured with
/// `scripts/gemm_engines.c`; `RECUR_GEMM=openblas|onednn` forces one library
/// for comparisons.
public enum GEMMEngine: String, Sendable, CaseIterable {
    case openBLAS = "openblas", oneDNN = "onednn"

    /// Products of fewer multiply-adds stay with OpenBLAS.
    public static let oneDNNMinimum = 1 << 20

    /// The engine `RECUR_GEMM` forces, if any.
    public static let forced: GEMMEngine? = ProcessInfo.processInfo.environment["RECUR_GEMM"]
        .flatMap { GEMMEngine(rawValue: $0.lowercased()) }

    /// oneDNN for products of at least `oneDNNMinimum` multiply-adds, except
    /// A·Bᵀ with fewer than 1,024 rows; OpenBLAS for the rest.
    @inline(__always)
    public static func choose(_ transB: Transpose, m: Int, n: Int, k: Int) -> GEMMEngine {
        if let forced { return forced }
        if m * n * k < oneDNNMinimum || (transB == .transpose && m < 1024) { return .openBLAS }
        return .oneDNN
    }

    /// oneDNN threads with OpenMP, whose thread count belongs to the calling
    /// thread: a worker thread (a data-parallel shard) would otherwise take
    /// every core. Before each product, this sets the calling thread's to
    /// `Threads.count`.
    @inline(__always)
    static func matchThreads() {
        let n = Int32(Threads.count)
        if omp_get_max_threads() != n { omp_set_num_threads(n) }
    }

    /// The threads this thread's last oneDNN product used (OpenMP's count for the thread).
    public static var oneDNNThreads: Int { Int(omp_get_max_threads()) }

    /// oneDNN's version, as "2.6.3".
    public static var oneDNNVersion: String {
        guard let v = dnnl_version() else { return "unknown" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.patch)"
    }
}

/// The naive loops behind every BLAS wrapper, in the same argument order,
/// accumulating in Double. Tests compare `BLAS` against these.
public enum ReferenceBLAS {
    public static func gemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA == .none ? a[i * lda + p] : a[p * lda + i]
                    let bv = transB == .none ? b[p * ldb + j] : b[j * ldb + p]
                    s += Double(av) * Double(bv)
                }
                let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                c[i * ldc + j] = Float(Double(alpha) * s + old)
            }
        }
    }

    public static func gemv(_ trans: Transpose, rows: Int, cols: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>, incx: Int = 1,
                            beta: Float = 0, y: UnsafeMutablePointer<Float>, incy: Int = 1) {
        let (outN, inN) = trans == .none ? (rows, cols) : (cols, rows)
        for i in 0..<outN {
            var s = 0.0
            for j in 0..<inN {
                let av = trans == .none ? a[i * lda + j] : a[j * lda + i]
                s += Double(av) * Double(x[j * incx])
            }
            let old = beta == 0 ? 0 : Double(beta) * Double(y[i * incy])
            y[i * incy] = Float(Double(alpha) * s + old)
        }
    }

    public static func axpy(n: Int, alpha: Float, x: UnsafePointer<Float>, incx: Int = 1,
                            y: UnsafeMutablePointer<Float>, incy: Int = 1) {
        for i in 0..<n { y[i * incy] += alpha * x[i * incx] }
    }

    public static func scal(n: Int, alpha: Float, x: UnsafeMutablePointer<Float>, incx: Int = 1) {
        for i in 0..<n { x[i * incx] *= alpha }
    }

    public static func dot(n: Int, x: UnsafePointer<Float>, incx: Int = 1,
                           y: UnsafePointer<Float>, incy: Int = 1) -> Float {
        var s = 0.0
        for i in 0..<n { s += Double(x[i * incx]) * Double(y[i * incy]) }
        return Float(s)
    }
}
