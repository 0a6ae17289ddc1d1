import RecurCore
import RecurTestSupport
import XCTest
import Foundation

/// BLAS wrappers against the naive references, on random shapes including 1
/// and odd sizes, every transpose combination, alpha/beta and strided
/// sub-matrices (leading dimensions larger than the row).
final class BLASTests: XCTestCase {
    func testGemmMatchesReferenceForAllTransposesAndShapes() {
        for engine in GEMMEngine.allCases { checkGemmAgainstReference(engine) }
    }

    private func checkGemmAgainstReference(_ engine: GEMMEngine) {
        var rng = RNG(seed: 7)
        let dims = [1, 2, 3, 7, 16, 33]
        var cases = 0
        for ta in [Transpose.none, .transpose] {
            for tb in [Transpose.none, .transpose] {
                for m in dims { for n in dims { for k in [1, 5, 17] {
                    // Pad every leading dimension so the operands are sub-matrices of larger ones.
                    let (ar, ac) = ta == .none ? (m, k) : (k, m)
                    let (br, bc) = tb == .none ? (k, n) : (n, k)
                    let lda = ac + 3, ldb = bc + 2, ldc = n + 5
                    let a = randomTensor([ar, lda], &rng), b = randomTensor([br, ldb], &rng)
                    let c0 = randomTensor([m, ldc], &rng)
                    let alpha = rng.uniform(-2, 2), beta: Float = [0, 1, 0.5][cases % 3]
                    let c1 = c0.copy(), c2 = c0.copy()
                    BLAS.gemm(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a.data, lda: lda, b: b.data, ldb: ldb,
                              beta: beta, c: c1.data, ldc: ldc, engine: engine)
                    ReferenceBLAS.gemm(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a.data, lda: lda, b: b.data, ldb: ldb,
                                       beta: beta, c: c2.data, ldc: ldc)
                    XCTAssertTrue(allClose(c1.array, c2.array, rtol: 1e-4, atol: 1e-5),
                                  "\(engine) gemm \(ta) \(tb) m=\(m) n=\(n) k=\(k): max diff \(maxAbsDiff(c1.array, c2.array))")
                    // The padding columns of C must be untouched.
                    for i in 0..<m { for j in n..<ldc { XCTAssertEqual(c1[i, j], c0[i, j]) } }
                    cases += 1
                } } }
            }
        }
        XCTAssertEqual(cases, 4 * 36 * 3)
    }

    func testTransposeMatters() {
        // A wrong transpose flag must give a different answer (so the test above can fail).
        let a = Tensor(shape: [2, 2], [1, 2, 3, 4]), b = Tensor(shape: [2, 2], [5, 6, 7, 8])
        let ab = BLAS.matmul(a, .none, b, .none), abt = BLAS.matmul(a, .none, b, .transpose)
        XCTAssertEqual(ab.array, [19, 22, 43, 50])
        XCTAssertEqual(abt.array, [17, 23, 39, 53])
        XCTAssertEqual(BLAS.matmul(a, .transpose, b, .none).array, [26, 30, 38, 44])
    }

    func testGemmWithZeroInnerDimensionScalesC() {
        let c = Tensor(shape: [2, 2], [1, 2, 3, 4])
        let a = Tensor(zeros: [2, 0]), b = Tensor(zeros: [0, 2])
        BLAS.gemm(a, .none, b, .none, into: c, beta: 0.5)
        XCTAssertEqual(c.array, [0.5, 1, 1.5, 2])
    }

    func testGemvMatchesReference() {
        var rng = RNG(seed: 3)
        for t in [Transpose.none, .transpose] {
            for (rows, cols) in [(1, 1), (1, 9), (9, 1), (13, 7), (64, 33)] {
                let lda = cols + 4
                let a = randomTensor([rows, lda], &rng)
                let xn = t == .none ? cols : rows, yn = t == .none ? rows : cols
                for (incx, incy) in [(1, 1), (2, 3)] {
                    let x = randomTensor([xn * incx], &rng), y0 = randomTensor([yn * incy], &rng)
                    let y1 = y0.copy(), y2 = y0.copy()
                    BLAS.gemv(t, rows: rows, cols: cols, alpha: 1.5, a: a.data, lda: lda, x: x.data, incx: incx,
                              beta: 0.25, y: y1.data, incy: incy)
                    ReferenceBLAS.gemv(t, rows: rows, cols: cols, alpha: 1.5, a: a.data, lda: lda, x: x.data, incx: incx,
                                       beta: 0.25, y: y2.data, incy: incy)
                    XCTAssertTrue(allClose(y1.array, y2.array, rtol: 1e-4, atol: 1e-5), "gemv \(t) \(rows)x\(cols)")
                }
            }
        }
    }

    func testVectorOpsMatchReference() {
        var rng = RNG(seed: 11)
        for n in [1, 2, 7, 8, 9, 100, 1001] {
            for (incx, incy) in [(1, 1), (2, 1), (1, 3)] {
                let x = randomTensor([n * incx], &rng), y0 = randomTensor([n * incy], &rng)
                let y1 = y0.copy(), y2 = y0.copy()
                BLAS.axpy(n: n, alpha: -0.75, x: x.data, incx: incx, y: y1.data, incy: incy)
                ReferenceBLAS.axpy(n: n, alpha: -0.75, x: x.data, incx: incx, y: y2.data, incy: incy)
                XCTAssertTrue(allClose(y1.array, y2.array), "axpy n=\(n)")
                XCTAssertEqual(BLAS.dot(n: n, x: x.data, incx: incx, y: y0.data, incy: incy),
                               ReferenceBLAS.dot(n: n, x: x.data, incx: incx, y: y0.data, incy: incy),
                               accuracy: 1e-4 * Float(n))
                let s1 = x.copy(), s2 = x.copy()
                BLAS.scal(n: n, alpha: 3, x: s1.data, incx: incx)
                ReferenceBLAS.scal(n: n, alpha: 3, x: s2.data, incx: incx)
                XCTAssertEqual(s1.array, s2.array)
            }
        }
    }

    /// A product big enough for oneDNN, through both libraries and the reference, with every
    /// transpose: the choice of library must not change the answer beyond rounding.
    func testBothEnginesAgreeOnLargeProducts() {
        var rng = RNG(seed: 11)
        let m = 260, n = 257, k = 255
        for ta in [Transpose.none, .transpose] {
            for tb in [Transpose.none, .transpose] {
                let a = ta == .none ? randomTensor([m, k], &rng) : randomTensor([k, m], &rng)
                let b = tb == .none ? randomTensor([k, n], &rng) : randomTensor([n, k], &rng)
                let c0 = randomTensor([m, n], &rng)
                var results: [[Float]] = []
                for engine in GEMMEngine.allCases {
                    let c = c0.copy()
                    BLAS.gemm(ta, tb, m: m, n: n, k: k, alpha: 0.75, a: a.data, lda: a.shape[1], b: b.data, ldb: b.shape[1],
                              beta: 0.5, c: c.data, ldc: n, engine: engine)
                    results.append(c.array)
                }
                let ref = c0.copy()
                ReferenceBLAS.gemm(ta, tb, m: m, n: n, k: k, alpha: 0.75, a: a.data, lda: a.shape[1], b: b.data, ldb: b.shape[1],
                                   beta: 0.5, c: ref.data, ldc: n)
                for (engine, r) in zip(GEMMEngine.allCases, results) {
                    XCTAssertTrue(allClose(r, ref.array, rtol: 1e-4, atol: 1e-4),
                                  "\(engine) \(ta) \(tb): max diff \(maxAbsDiff(r, ref.array))")
                }
            }
        }
    }

    func testEngineChoiceFollowsSizeAndTranspose() throws {
        try XCTSkipIf(GEMMEngine.forced != nil, "RECUR_GEMM forces one library")
        XCTAssertEqual(GEMMEngine.choose(.none, m: 64, n: 2048, k: 512), .oneDNN, "a recurrent step, W_hhᵀ made once")
        XCTAssertEqual(GEMMEngine.choose(.none, m: 32, n: 384, k: 128), .oneDNN, "a seq2seq decoder step")
        XCTAssertEqual(GEMMEngine.choose(.none, m: 16, n: 128, k: 384), .openBLAS, "small: the call costs more than the sum")
        XCTAssertEqual(GEMMEngine.choose(.transpose, m: 64, n: 2048, k: 512), .openBLAS, "oneDNN repacks Bᵀ per call")
        XCTAssertEqual(GEMMEngine.choose(.transpose, m: 3200, n: 2048, k: 256), .oneDNN, "all steps' input projections")
    }

    /// oneDNN's thread count is OpenMP's, which belongs to each thread: a product run on
    /// a worker thread must follow `Threads.count` too, not OpenMP's default of all cores.
    func testOneDNNFollowsThreadCountOnWorkerThreads() {
        let before = Threads.count
        defer { Threads.set(before) }
        var rng = RNG(seed: 3)
        let a = randomTensor([8, 8], &rng), b = randomTensor([8, 8], &rng)
        for threads in [1, 5] {  // one of the two differs from any machine's default
            Threads.set(threads)
            let c = Tensor(zeros: [8, 8])
            BLAS.gemm(.none, .none, m: 8, n: 8, k: 8, a: a.data, lda: 8, b: b.data, ldb: 8, c: c.data, ldc: 8, engine: .oneDNN)
            XCTAssertEqual(GEMMEngine.oneDNNThreads, threads, "the calling thread's")
            let seen = Tensor(zeros: [1])
            nonisolated(unsafe) let out = seen.data
            let done = DispatchSemaphore(value: 0)
            Thread {
                let c = Tensor(zeros: [8, 8])
                BLAS.gemm(.none, .none, m: 8, n: 8, k: 8, a: a.data, lda: 8, b: b.data, ldb: 8, c: c.data, ldc: 8,
                          engine: .oneDNN)
                out[0] = Float(GEMMEngine.oneDNNThreads)
                done.signal()
            }.start()
            done.wait()
            XCTAssertEqual(seen.array[0], Float(threads), "a worker thread's oneDNN threads with Threads.count \(threads)")
        }
    }

    func testMatmulAcrossThreadCounts() {
        var rng = RNG(seed: 5)
        let a = randomTensor([70, 90], &rng), b = randomTensor([90, 50], &rng)
        let before = Threads.count
        defer { Threads.set(before) }
        Threads.set(1)
        XCTAssertEqual(Threads.count, 1)
        XCTAssertEqual(Threads.blasThreads, 1)
        let one = BLAS.matmul(a, .none, b, .none)
        Threads.set(2)
        let two = BLAS.matmul(a, .none, b, .none)
        XCTAssertTrue(allClose(one.array, two.array, rtol: 1e-5, atol: 1e-5))
    }
}
