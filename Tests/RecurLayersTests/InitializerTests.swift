import RecurCore
import RecurLayers
import RecurTestSupport
import XCTest

final class InitializerTests: XCTestCase {
    private func stats(_ t: Tensor) -> (mean: Double, std: Double, maxAbs: Float) {
        let n = Double(t.count)
        let mean = t.buffer.reduce(0.0) { $0 + Double($1) } / n
        let v = t.buffer.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return (mean, v.squareRoot(), t.buffer.map(abs).max() ?? 0)
    }

    func testUniformFamilies() {
        var rng = RNG(seed: 1)
        let t = Tensor(zeros: [200, 300])
        // RNN default U(±1/√H), H = 64.
        Initializer.recurrentDefault(t, hiddenSize: 64, rng: &rng)
        var s = stats(t)
        XCTAssertLessThanOrEqual(s.maxAbs, 0.125)
        XCTAssertGreaterThan(s.maxAbs, 0.124)
        XCTAssertEqual(s.mean, 0, accuracy: 0.002)
        XCTAssertEqual(s.std, 0.125 / 3.0.squareRoot(), accuracy: 0.002)
        // Linear default: U(±1/√fanIn), fanIn = 300.
        Initializer.kaimingUniformLinear(t, rng: &rng)
        s = stats(t)
        XCTAssertLessThanOrEqual(Double(s.maxAbs), 1 / 300.0.squareRoot())
        XCTAssertEqual(s.std, 1 / 900.0.squareRoot(), accuracy: 0.001)
        // Xavier uniform: bound gain·√(6/(300+200)).
        Initializer.xavierUniform(t, gain: 2, rng: &rng)
        s = stats(t)
        let bound = 2 * (6.0 / 500).squareRoot()
        XCTAssertLessThanOrEqual(Double(s.maxAbs), bound + 1e-6)
        XCTAssertGreaterThan(Double(s.maxAbs), 0.99 * bound)
        XCTAssertEqual(s.std, bound / 3.0.squareRoot(), accuracy: 0.003)
    }

    func testXavierNormal() {
        var rng = RNG(seed: 2)
        let t = Tensor(zeros: [300, 200])
        Initializer.xavierNormal(t, rng: &rng)
        let s = stats(t)
        XCTAssertEqual(s.mean, 0, accuracy: 0.001)
        XCTAssertEqual(s.std, (2.0 / 500).squareRoot(), accuracy: 0.001)
    }

    func testFans() {
        XCTAssertEqual(Initializer.fans([3, 4]).fanIn, 4)
        XCTAssertEqual(Initializer.fans([3, 4]).fanOut, 3)
        XCTAssertEqual(Initializer.fans([3, 4, 5]).fanIn, 20)
        XCTAssertEqual(Initializer.fans([7]).fanIn, 7)
    }

    /// max |MᵀM - gain²·I| over the columns (tall) or rows (wide) of t.
    private func orthogonalityError(_ t: Tensor, gain: Double = 1) -> Double {
        let r = t.shape[0], c = t.shape[1]
        let tall = r >= c
        let n = tall ? c : r, len = tall ? r : c
        // Gram matrix in Double through BLAS (debug builds are slow in scalar loops).
        let vecs = Tensor(zeros: [n, len])
        for i in 0..<r { for j in 0..<c { vecs.data[tall ? j * len + i : i * len + j] = t.data[i * c + j] } }
        let gram = Tensor(zeros: [n, n])
        BLAS.gemm(vecs, .none, vecs, .transpose, into: gram)
        var err = 0.0
        for a in 0..<n { for b in 0..<n { err = max(err, abs(Double(gram.data[a * n + b]) - (a == b ? gain * gain : 0))) } }
        return err
    }

    func testOrthogonal() {
        var rng = RNG(seed: 3)
        for shape in [[16, 16], [20, 6], [5, 17], [1, 4], [4, 1], [96, 96], [40, 128]] {
            let t = Tensor(zeros: shape)
            Initializer.orthogonal(t, rng: &rng)
            XCTAssertLessThan(orthogonalityError(t), 1e-5, "\(shape)")
        }
        let g = Tensor(zeros: [8, 8])
        Initializer.orthogonal(g, gain: 1.5, rng: &rng)
        XCTAssertLessThan(orthogonalityError(g, gain: 1.5), 1e-5)
        // Per-gate blocks of an LSTM weight_hh (4H, H).
        let h = 6
        let w = Tensor(zeros: [4 * h, h])
        Initializer.orthogonalBlocks(w, blocks: 4, rng: &rng)
        for k in 0..<4 { XCTAssertLessThan(orthogonalityError(w.slice(k * h ..< (k + 1) * h)), 1e-5) }
        XCTAssertGreaterThan(orthogonalityError(w), 0.1, "the stacked matrix as a whole is not orthonormal")
    }

    func testReproducibleBySeed() {
        func draw(_ seed: UInt64) -> [[Float]] {
            var rng = RNG(seed: seed)
            let a = Tensor(zeros: [5, 7]), b = Tensor(zeros: [5, 7]), c = Tensor(zeros: [5, 7]), d = Tensor(zeros: [12, 4])
            Initializer.xavierUniform(a, rng: &rng)
            Initializer.xavierNormal(b, rng: &rng)
            Initializer.recurrentDefault(c, hiddenSize: 7, rng: &rng)
            Initializer.orthogonalBlocks(d, blocks: 3, rng: &rng)
            return [a.array, b.array, c.array, d.array]
        }
        XCTAssertEqual(draw(10), draw(10))
        XCTAssertNotEqual(draw(10), draw(11))
    }

    func testZerosAndConstant() {
        let t = Tensor(shape: [3], [1, 2, 3])
        Initializer.constant(t, 0.5)
        XCTAssertEqual(t.array, [0.5, 0.5, 0.5])
        Initializer.zeros(t)
        XCTAssertEqual(t.array, [0, 0, 0])
    }
}
