import RecurCore
import RecurLayers
import RecurTestSupport
import XCTest

final class EmbeddingTests: XCTestCase {
    private func make(padding: Int? = 0) -> (Embedding, ParameterStore, RNG) {
        var layout = ParameterLayout()
        let emb = Embedding(&layout, prefix: "embed.", vocabularySize: 6, embeddingSize: 3, paddingIndex: padding)
        let store = ParameterStore(layout)
        var rng = RNG(seed: 7)
        emb.initialize(store, rng: &rng)
        return (emb, store, rng)
    }

    func testGradientCheckAndPaddingGetsNoGradient() throws {
        var (emb, store, rng) = make()
        let ids: [Int32] = [1, 0, 3, 3, 5, 0, 2]
        let r = randomTensor([ids.count, 3], &rng)
        store.zeroGrads()
        try emb.backward(store, ids: ids, dy: r)
        let loss = { projectionLoss(try! emb.forward(store, ids: ids), r) }
        let w = store.value(emb.weight), g = store.grad(emb.weight)
        // The padding row is used in forward, so its numeric gradient is not
        // zero; check the other rows numerically and the padding row exactly.
        let rest = w.slice(1..<6), restGrad = g.slice(1..<6)
        assertGradient(gradCheck("weight", values: rest, analytic: restGrad, loss: loss))
        XCTAssertEqual(g[0].array, [0, 0, 0])
        XCTAssertEqual(w[0].array, [0, 0, 0], "padding row initialized to zero")
        XCTAssertEqual(g[4].array, [0, 0, 0], "unused id gets no gradient")
    }

    func testBadIdThrows() {
        let (emb, store, _) = make()
        XCTAssertThrowsError(try emb.forward(store, ids: [1, 6]))
        XCTAssertThrowsError(try emb.forward(store, ids: [-1]))
        XCTAssertThrowsError(try emb.backward(store, ids: [9], dy: Tensor(zeros: [1, 3])))
    }

    func testMatchesPyTorch() throws {
        let f = try LayerFixture.load("embedding")
        let (emb, store, _) = make()
        try f.load("weight", into: store.value(emb.weight))
        let ids = try f.ints("ids")
        assertMatches(try emb.forward(store, ids: ids), try f.floats("y").reshaped([-1, 3]), "y")
        store.zeroGrads()
        try emb.backward(store, ids: ids, dy: try f.floats("dy").reshaped([-1, 3]))
        assertMatches(store.grad(emb.weight), try f.floats("dweight"), "dweight")
    }
}
