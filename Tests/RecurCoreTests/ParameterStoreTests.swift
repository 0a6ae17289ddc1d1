import RecurCore
import RecurTestSupport
import XCTest

final class ParameterStoreTests: XCTestCase {
    func makeStore() -> (ParameterStore, ParameterRef, ParameterRef) {
        var layout = ParameterLayout()
        let w = layout.add("weight_ih_l0", [8, 3])
        let b = layout.add("bias_ih_l0", [8])
        return (ParameterStore(layout), w, b)
    }

    func testViewsAreDisjointAlignedAndShareTheFlatBuffer() {
        let (s, w, b) = makeStore()
        XCTAssertEqual(s.parameterCount, 32)
        XCTAssertEqual(w.offset, 0)
        XCTAssertEqual(b.offset, 32, "each parameter starts on a 16-float boundary")
        XCTAssertEqual(Int(bitPattern: s.value(b).data) % 64, 0)
        s.value(w).fill(1)
        s.value(b).fill(2)
        XCTAssertEqual(s.values.data[23], 1)
        XCTAssertEqual(s.values.data[24], 0, "padding stays zero")
        XCTAssertEqual(s.values.data[32], 2)
        XCTAssertEqual(s.value("bias_ih_l0")?.array, [Float](repeating: 2, count: 8))
        XCTAssertNil(s.value("nope"))
        XCTAssertEqual(s.layout.names, ["weight_ih_l0", "bias_ih_l0"])
    }

    func testZeroGradsAndGlobalNorm() {
        let (s, w, b) = makeStore()
        s.grad(w).fill(1)    // 24 ones
        s.grad(b)[[0]] = 5   // + 25
        XCTAssertEqual(s.gradNorm(), 7, accuracy: 1e-6)
        s.zeroGrads()
        XCTAssertEqual(s.gradNorm(), 0)
    }

    func testCopyBetweenStoresChecksLayout() throws {
        let (a, w, _) = makeStore()
        let (b, _, _) = makeStore()
        var rng = RNG(seed: 1)
        rng.fillUniform(a.value(w), -1, 1)
        a.moment1.fill(3)
        try b.copy(from: a)
        XCTAssertEqual(b.values.array, a.values.array)
        XCTAssertEqual(b.moment1.array.first, 0, "moments not copied unless asked")
        try b.copy(from: a, includingOptimizerState: true)
        XCTAssertEqual(b.moment1.array.first, 3)
        var other = ParameterLayout()
        other.add("x", [2])
        XCTAssertThrowsError(try ParameterStore(other).copy(from: a))
    }
}
