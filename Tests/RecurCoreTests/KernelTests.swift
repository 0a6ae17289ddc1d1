import Foundation
import RecurCore
import RecurTestSupport
import XCTest

final class KernelTests: XCTestCase {
    /// A dense grid over [lo, hi] plus the special values, length not a multiple of 8.
    func grid(_ lo: Float, _ hi: Float, _ n: Int) -> [Float] {
        (0..<n).map { lo + (hi - lo) * Float($0) / Float(n - 1) } + [0, -0.0, 1e-8, -1e-8, 3e-4, -3e-4]
    }

    func check(_ name: String, _ kernel: (Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
               _ xs: [Float], _ reference: (Double) -> Double, absTol: Double, relTol: Double = 0) {
        var out = [Float](repeating: .nan, count: xs.count)
        kernel(xs.count, xs, &out)
        var worst = 0.0, at: Float = 0
        for (x, y) in zip(xs, out) {
            let r = reference(Double(x))
            let err = abs(Double(y) - r)
            let allowed = absTol + relTol * abs(r)
            if err / allowed > worst { worst = err / allowed; at = x }
        }
        XCTAssertLessThanOrEqual(worst, 1, "\(name): error \(worst)x the tolerance at x=\(at)")
    }

    func testTanhAccuracy() {
        check("tanh", Kernels.tanh, grid(-20, 20, 400_003), { Foundation.tanh($0) }, absTol: 5e-7)
        // Near zero tanh keeps relative accuracy (it returns x for tiny x).
        check("tanh small", Kernels.tanh, grid(-0.01, 0.01, 10_001), { Foundation.tanh($0) }, absTol: 1e-12, relTol: 1e-6)
    }

    func testSigmoidAccuracy() {
        check("sigmoid", Kernels.sigmoid, grid(-20, 20, 400_003), { 1 / (1 + Foundation.exp(-$0)) }, absTol: 5e-7)
    }

    func testExpAccuracy() {
        check("exp", Kernels.exp, grid(-87.3, 88.72, 200_001), { Foundation.exp($0) }, absTol: 0, relTol: 3e-7)
    }

    func testLogAccuracy() {
        var xs = grid(1e-3, 100, 100_001)
        xs += (0..<2000).map { Float(pow(10.0, Double($0) / 50 - 38)) }  // 1e-38 … 1e2, crosses subnormals? no: min normal 1.18e-38
        xs += [Float.leastNonzeroMagnitude, 1e-40, Float.leastNormalMagnitude, Float.greatestFiniteMagnitude]
        check("log", Kernels.log, xs.filter { $0 > 0 }, { Foundation.log($0) }, absTol: 3e-7, relTol: 3e-7)
    }

    func testSpecialValues() {
        let xs: [Float] = [.infinity, -.infinity, .nan, 0, 100, -100, 1e30, -1e30, 88.7, -90]
        var t = [Float](repeating: 0, count: xs.count), s = t, e = t
        Kernels.tanh(xs.count, xs, &t)
        Kernels.sigmoid(xs.count, xs, &s)
        Kernels.exp(xs.count, xs, &e)
        XCTAssertEqual(Array(t[0...1]), [1, -1])
        XCTAssertTrue(t[2].isNaN)
        XCTAssertEqual(t[3], 0)
        XCTAssertEqual(Array(t[4...7]), [1, -1, 1, -1])
        XCTAssertEqual(Array(s[0...1]), [1, 0])
        XCTAssertTrue(s[2].isNaN)
        XCTAssertEqual(s[3], 0.5)
        XCTAssertEqual(s[4], 1)
        XCTAssertEqual(s[5], 0, accuracy: 1e-30)
        XCTAssertEqual(e[0], .infinity)
        XCTAssertEqual(e[1], 0)
        XCTAssertTrue(e[2].isNaN)
        XCTAssertEqual(e[3], 1)
        XCTAssertEqual(e[6], .infinity)
        XCTAssertEqual(Double(e[8]), Foundation.exp(Double(Float(88.7))), accuracy: 1e32)
        XCTAssertEqual(e[9], 0, accuracy: 1e-37)

        let ls: [Float] = [0, -1, .infinity, .nan, 1, -.infinity]
        var l = [Float](repeating: 0, count: ls.count)
        Kernels.log(ls.count, ls, &l)
        XCTAssertEqual(l[0], -.infinity)
        XCTAssertTrue(l[1].isNaN)
        XCTAssertEqual(l[2], .infinity)
        XCTAssertTrue(l[3].isNaN)
        XCTAssertEqual(l[4], 0)
        XCTAssertTrue(l[5].isNaN)
    }

    func testInPlaceAndTailsAgree() {
        var rng = RNG(seed: 2)
        for n in [1, 7, 8, 9, 15, 16, 17] {
            let x = randomTensor([n], &rng, -3, 3)
            let out = Tensor(zeros: [n])
            Kernels.tanh(n, x.data, out.data)
            let inPlace = x.copy()
            Kernels.tanh(n, inPlace.data, inPlace.data)
            XCTAssertEqual(out.array, inPlace.array, "n=\(n)")
            // The tail (scalar path) computes the same values as the vector lanes.
            let padded = Tensor(zeros: [24])
            padded.data.update(from: x.data, count: n)
            Kernels.tanh(24, padded.data, padded.data)
            XCTAssertEqual(Array(padded.array.prefix(n)), out.array, "n=\(n)")
        }
    }

    func testSoftmaxAndLogSoftmax() {
        var rng = RNG(seed: 9)
        for cols in [1, 3, 8, 13, 100] {
            let rows = 4
            let x = randomTensor([rows, cols], &rng, -30, 30)
            if cols > 1 { x[[0, 0]] = -.infinity }  // a masked entry
            let p = Tensor(zeros: [rows, cols]), lp = Tensor(zeros: [rows, cols])
            Kernels.softmax(rows: rows, cols: cols, x.data, p.data)
            Kernels.logSoftmax(rows: rows, cols: cols, x.data, lp.data)
            for r in 0..<rows {
                let xs = x[r].array.map(Double.init)
                let m = xs.max()!
                let m0 = m == -.infinity ? 0 : m
                let lse = m0 + Foundation.log(xs.reduce(0) { $0 + Foundation.exp($1 - m0) })
                for c in 0..<cols {
                    let ref = xs[c] - lse
                    if ref == -.infinity {
                        XCTAssertEqual(p[r, c], 0)
                        XCTAssertEqual(lp[r, c], -.infinity)
                        continue
                    }
                    XCTAssertEqual(Double(lp[r, c]), ref, accuracy: 2e-5 * max(1, abs(ref)), "logSoftmax r=\(r) c=\(c)")
                    XCTAssertEqual(Double(p[r, c]), Foundation.exp(ref), accuracy: 1e-6, "softmax r=\(r) c=\(c)")
                }
            }
        }
        // A row with every entry -inf has no distribution: NaN, as in PyTorch.
        let masked = Tensor(shape: [1, 3], repeating: -.infinity), mp = Tensor(zeros: [1, 3])
        Kernels.softmax(rows: 1, cols: 3, masked.data, mp.data)
        XCTAssertTrue(mp.array.allSatisfy(\.isNaN), "\(mp.array)")
        Kernels.logSoftmax(rows: 1, cols: 3, masked.data, mp.data)
        XCTAssertTrue(mp.array.allSatisfy(\.isNaN), "\(mp.array)")
        // In place gives the same result.
        let x = Tensor(shape: [2, 3], [1, 2, 3, 3, 2, 1])
        let out = Tensor(zeros: [2, 3])
        Kernels.logSoftmax(rows: 2, cols: 3, x.data, out.data)
        Kernels.logSoftmax(rows: 2, cols: 3, x.data, x.data)
        XCTAssertEqual(x.array, out.array)
    }

    func testProductsAndSums() {
        let a: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9], b: [Float] = [9, 8, 7, 6, 5, 4, 3, 2, 1]
        var out = [Float](repeating: 0, count: 9)
        Kernels.add(9, a, b, &out); XCTAssertEqual(out, [Float](repeating: 10, count: 9))
        Kernels.sub(9, a, b, &out); XCTAssertEqual(out, [-8, -6, -4, -2, 0, 2, 4, 6, 8])
        Kernels.mul(9, a, b, &out); XCTAssertEqual(out, [9, 16, 21, 24, 25, 24, 21, 16, 9])
        Kernels.addMul(9, a, b, &out); XCTAssertEqual(out, [18, 32, 42, 48, 50, 48, 42, 32, 18])
        Kernels.addScaled(9, 0.5, a, &out); XCTAssertEqual(out[0], 18.5)
        Kernels.scale(9, 2, &out); XCTAssertEqual(out[0], 37)
        XCTAssertEqual(Kernels.sum(9, a), 45)
        XCTAssertEqual(Kernels.sumOfSquares(9, a), 285)
        XCTAssertEqual(Kernels.max(9, b), 9)
        var m: [Float] = [1, 2, 3, 4, 5, 6]
        Kernels.addRowVector(rows: 2, cols: 3, [10, 20, 30], &m)
        XCTAssertEqual(m, [11, 22, 33, 14, 25, 36])
        var s: [Float] = [1, 1, 1]
        Kernels.sumRows(rows: 2, cols: 3, m, into: &s)
        XCTAssertEqual(s, [26, 48, 70])
        var r: [Float] = [-1, 0, 2]
        Kernels.relu(3, r, &r)
        XCTAssertEqual(r, [0, 0, 2])
    }
}
