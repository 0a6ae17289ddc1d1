import RecurCore
import RecurLayers
import RecurTestSupport
import XCTest

final class LinearTests: XCTestCase {
    private func make(_ i: Int, _ o: Int, bias: Bool = true, seed: UInt64 = 1) -> (Linear, ParameterStore, RNG) {
        var layout = ParameterLayout()
        let lin = Linear(&layout, prefix: "proj.", inFeatures: i, outFeatures: o, bias: bias)
        let store = ParameterStore(layout)
        var rng = RNG(seed: seed)
        lin.initialize(store, rng: &rng)
        return (lin, store, rng)
    }

    func testNamesAndShapes() {
        var layout = ParameterLayout()
        _ = Linear(&layout, prefix: "out.", inFeatures: 4, outFeatures: 3)
        XCTAssertEqual(layout.names, ["out.weight", "out.bias"])
        XCTAssertEqual(layout.refs.map(\.shape), [[3, 4], [3]])
    }

    func testGradientCheck() {
        for (n, bias) in [(5, true), (1, true), (3, false)] {
            var (lin, store, rng) = make(4, 3, bias: bias)
            let x = randomTensor([n, 4], &rng)
            let r = randomTensor([n, 3], &rng)
            store.zeroGrads()
            let dx = lin.backward(store, x: x, dy: r)!
            let loss = { projectionLoss(lin.forward(store, x), r) }
            assertGradient(gradCheck("x", values: x, analytic: dx, loss: loss))
            assertGradient(gradCheck("weight", values: store.value(lin.weight), analytic: store.grad(lin.weight), loss: loss))
            if let b = lin.bias {
                assertGradient(gradCheck("bias", values: store.value(b), analytic: store.grad(b), loss: loss))
            }
        }
    }

    func testBackwardAccumulates() {
        var (lin, store, rng) = make(4, 3)
        let x = randomTensor([2, 4], &rng), dy = randomTensor([2, 3], &rng)
        store.zeroGrads()
        lin.backward(store, x: x, dy: dy, inputGradient: false)
        let once = store.grads.copy()
        lin.backward(store, x: x, dy: dy, inputGradient: false)
        for i in 0..<once.count { XCTAssertEqual(store.grads.data[i], 2 * once.data[i], accuracy: 1e-6) }
    }

    func testMatchesPyTorch() throws {
        let f = try LayerFixture.load("linear")
        let (lin, store, _) = make(4, 3)
        try f.load("weight", into: store.value(lin.weight))
        try f.load("bias", into: store.value(lin.bias!))
        let x = try f.floats("x")
        assertMatches(lin.forward(store, x), try f.floats("y"), "y")
        store.zeroGrads()
        let dx = lin.backward(store, x: x, dy: try f.floats("dy"))!
        assertMatches(dx, try f.floats("dx"), "dx")
        assertMatches(store.grad(lin.weight), try f.floats("dweight"), "dweight")
        assertMatches(store.grad(lin.bias!), try f.floats("dbias"), "dbias")
    }

    func testDefaultInitBounds() {
        let (lin, store, _) = make(16, 64)
        let bound: Float = 1 / 4
        for v in store.value(lin.weight).buffer { XCTAssertLessThanOrEqual(abs(v), bound) }
        for v in store.value(lin.bias!).buffer { XCTAssertLessThanOrEqual(abs(v), bound) }
        XCTAssertGreaterThan(store.value(lin.weight).buffer.map(abs).max()!, 0.9 * bound)
    }
}
