import RecurCore
import RecurLayers
import RecurTestSupport
import XCTest

final class AttentionTests: XCTestCase {
    struct Setup {
        let att: Attention
        let store: ParameterStore
        let keys: Tensor       // (S, B, Dk)
        let queries: [Tensor]  // T × (B, Dq)
        let rContext: [Tensor] // T × (B, Dk)
        let rWeights: [Tensor] // T × (B, S)
        let lengths: [Int]
    }

    private func setup(_ kind: Attention.Kind, s: Int, b: Int, lengths: [Int], steps: Int = 2, seed: UInt64 = 5) -> Setup {
        // Sizes above 8 and not multiples of 8 run both the SIMD lanes and the scalar tails.
        let dk = 9, dq = kind == .dot ? 9 : 5
        var layout = ParameterLayout()
        let att = Attention(&layout, prefix: "attn.", kind: kind, queryDim: dq, keyDim: dk, attentionDim: 11)
        let store = ParameterStore(layout)
        var rng = RNG(seed: seed)
        rng.fillUniform(store.values, -0.8, 0.8)
        return Setup(att: att, store: store, keys: randomTensor([s, b, dk], &rng),
                     queries: (0..<steps).map { _ in randomTensor([b, dq], &rng) },
                     rContext: (0..<steps).map { _ in randomTensor([b, dk], &rng) },
                     rWeights: (0..<steps).map { _ in randomTensor([b, s], &rng) }, lengths: lengths)
    }

    private func loss(_ c: Setup) -> Double {
        let mem = try! c.att.precompute(c.store, keys: c.keys, lengths: c.lengths)
        var total = 0.0
        for (t, q) in c.queries.enumerated() {
            let st = c.att.forward(c.store, query: q, memory: mem)
            total += projectionLoss(st.context, c.rContext[t]) + projectionLoss(st.weights, c.rWeights[t])
        }
        return total
    }

    /// Analytic gradients: (dQueries per step, dKeys); parameter grads in the store.
    private func analytic(_ c: Setup) -> ([Tensor], Tensor) {
        c.store.zeroGrads()
        let mem = try! c.att.precompute(c.store, keys: c.keys, lengths: c.lengths)
        let steps = c.queries.map { c.att.forward(c.store, query: $0, memory: mem) }
        var dq: [Tensor] = []
        for t in (0..<steps.count).reversed() {
            dq.insert(c.att.backward(c.store, memory: mem, step: steps[t], dContext: c.rContext[t],
                                     dWeights: c.rWeights[t]), at: 0)
        }
        return (dq, c.att.backwardMemory(c.store, memory: mem).copy())
    }

    private func check(_ kind: Attention.Kind, s: Int, b: Int, lengths: [Int], steps: Int = 2) {
        let c = setup(kind, s: s, b: b, lengths: lengths, steps: steps)
        let (dq, dk) = analytic(c)
        let f = { self.loss(c) }
        let tag = "\(kind) S=\(s) B=\(b) \(lengths)"
        assertGradient(gradCheck("\(tag) keys", values: c.keys, analytic: dk, eps: 1e-2, loss: f))
        for t in 0..<steps {
            assertGradient(gradCheck("\(tag) query[\(t)]", values: c.queries[t], analytic: dq[t], eps: 1e-2, loss: f))
        }
        for (name, ref) in zip(c.store.layout.names, c.store.layout.refs) {
            assertGradient(gradCheck("\(tag) \(name)", values: c.store.value(ref), analytic: c.store.grad(ref), eps: 1e-2, loss: f))
        }
    }

    func testGradientCheckAdditive() {
        check(.additive, s: 4, b: 3, lengths: [4, 2, 1])
        check(.additive, s: 1, b: 1, lengths: [1])
        check(.additive, s: 3, b: 2, lengths: [3, 0])
    }

    func testGradientCheckDot() {
        check(.dot, s: 4, b: 3, lengths: [4, 2, 1])
        check(.dot, s: 1, b: 1, lengths: [1])
        check(.dot, s: 3, b: 2, lengths: [0, 2])
    }

    func testGradientCheckGeneral() {
        check(.general, s: 4, b: 3, lengths: [4, 2, 1])
        check(.general, s: 1, b: 1, lengths: [1])
        check(.general, s: 3, b: 1, lengths: [2], steps: 3)
    }

    func testMaskedPositionsGetExactlyZeroAndEmptyRowsNoNaN() throws {
        for kind in Attention.Kind.allCases {
            let c = setup(kind, s: 4, b: 3, lengths: [4, 1, 0])
            let mem = try c.att.precompute(c.store, keys: c.keys, lengths: c.lengths)
            let st = c.att.forward(c.store, query: c.queries[0], memory: mem)
            let w = st.weights
            XCTAssertEqual(Double((0..<4).map { w[0, $0] }.reduce(0, +)), 1, accuracy: 1e-6)
            XCTAssertEqual(w[1, 0], 1)
            for j in 1..<4 { XCTAssertEqual(w[1, j], 0) }
            for j in 0..<4 { XCTAssertEqual(w[2, j], 0) }
            XCTAssertEqual(st.context[2].array, [Float](repeating: 0, count: 9))
            // With one valid position the context is that key.
            XCTAssertEqual(st.context[1].array, c.keys[0][1].array)
            let dq = c.att.backward(c.store, memory: mem, step: st, dContext: c.rContext[0], dWeights: c.rWeights[0])
            let dk = c.att.backwardMemory(c.store, memory: mem)
            XCTAssertFalse(dq.buffer.contains { $0.isNaN } || dk.buffer.contains { $0.isNaN } || c.store.grads.buffer.contains { $0.isNaN })
            XCTAssertEqual(dq[2].array, [Float](repeating: 0, count: dq.shape[1]))
        }
    }

    /// The key projection is computed once by precompute: changing the key
    /// weights afterwards does not change a step that uses the memory.
    func testProjectionComputedOncePerSource() throws {
        for kind in [Attention.Kind.additive, .general] {
            let c = setup(kind, s: 4, b: 2, lengths: [4, 3])
            let mem = try c.att.precompute(c.store, keys: c.keys, lengths: c.lengths)
            let before = c.att.forward(c.store, query: c.queries[0], memory: mem).context.array
            c.store.value(c.att.keyWeight!).fill(0.123)
            XCTAssertEqual(c.att.forward(c.store, query: c.queries[0], memory: mem).context.array, before)
            let fresh = try c.att.precompute(c.store, keys: c.keys, lengths: c.lengths)
            XCTAssertNotEqual(c.att.forward(c.store, query: c.queries[0], memory: fresh).context.array, before)
        }
    }

    func testBadInputThrows() {
        let c = setup(.dot, s: 3, b: 2, lengths: [3, 3])
        XCTAssertThrowsError(try c.att.precompute(c.store, keys: c.keys, lengths: [3]))
        XCTAssertThrowsError(try c.att.precompute(c.store, keys: c.keys, lengths: [4, 1]))
        XCTAssertThrowsError(try c.att.precompute(c.store, keys: c.keys, mask: [true]))
        XCTAssertThrowsError(try c.att.precompute(c.store, keys: Tensor(zeros: [3, 2, 5])))
    }

    func testParameterNames() {
        var layout = ParameterLayout()
        _ = Attention(&layout, prefix: "a.", kind: .additive, queryDim: 3, keyDim: 4, attentionDim: 5)
        _ = Attention(&layout, prefix: "g.", kind: .general, queryDim: 3, keyDim: 4)
        _ = Attention(&layout, prefix: "d.", kind: .dot, queryDim: 4, keyDim: 4)
        XCTAssertEqual(layout.names, ["a.query_layer.weight", "a.key_layer.weight", "a.key_layer.bias",
                                      "a.energy_layer.weight", "g.key_layer.weight"])
        XCTAssertEqual(layout.refs.map(\.shape), [[5, 3], [5, 4], [5], [1, 5], [3, 4]])
    }

    private func parity(_ kind: Attention.Kind) throws {
        let f = try LayerFixture.load("attention_\(kind.rawValue)")
        let keys = try f.floats("keys"), queries = try f.floats("queries")
        let (s, b, dk) = (keys.shape[0], keys.shape[1], keys.shape[2])
        let (steps, dq) = (queries.shape[0], queries.shape[2])
        var layout = ParameterLayout()
        let att = Attention(&layout, prefix: "", kind: kind, queryDim: dq, keyDim: dk, attentionDim: 11)
        let store = ParameterStore(layout)
        for name in layout.names { try f.load(name, into: store.value(name)!) }
        let mem = try att.precompute(store, keys: keys, lengths: try f.ints("lengths"))
        let contexts = try f.floats("contexts"), weights = try f.floats("weights")
        let dcontexts = try f.floats("dcontexts"), dweights = try f.floats("dweights")
        let dqueries = try f.floats("dqueries")
        var stepsOut: [AttentionStep] = []
        for t in 0..<steps {
            let st = att.forward(store, query: queries[t], memory: mem)
            assertMatches(st.context, contexts[t], "\(kind) context[\(t)]")
            assertMatches(st.weights, weights[t], "\(kind) weights[\(t)]")
            stepsOut.append(st)
        }
        for t in 0..<steps {
            let dq = att.backward(store, memory: mem, step: stepsOut[t], dContext: dcontexts[t], dWeights: dweights[t])
            assertMatches(dq, dqueries[t], "\(kind) dquery[\(t)]")
        }
        assertMatches(att.backwardMemory(store, memory: mem), try f.floats("dkeys"), "\(kind) dkeys")
        XCTAssertEqual([s, b], [4, 3])
        for name in layout.names {
            assertMatches(store.grad(name)!, try f.floats("d." + name), "\(kind) d.\(name)")
        }
    }

    func testMatchesPyTorchAdditive() throws { try parity(.additive) }
    func testMatchesPyTorchDot() throws { try parity(.dot) }
    func testMatchesPyTorchGeneral() throws { try parity(.general) }
}

final class AttentionThreadingTests: XCTestCase {
    /// Batch rows split over threads give the same bits as one thread.
    func testSameBitsForAnyThreadCount() throws {
        let saved = Threads.count
        defer { Threads.set(saved) }
        for kind in Attention.Kind.allCases {
            var results: [[Float]] = []
            for threads in [1, 2] {
                Threads.set(threads)
                var layout = ParameterLayout()
                let att = Attention(&layout, prefix: "", kind: kind, queryDim: 32, keyDim: 32, attentionDim: 32)
                let store = ParameterStore(layout)
                var rng = RNG(seed: 77)
                att.initialize(store, rng: &rng)
                let keys = randomTensor([8, 16, 32], &rng)
                let q = randomTensor([16, 32], &rng), dc = randomTensor([16, 32], &rng), dw = randomTensor([16, 8], &rng)
                let mem = try att.precompute(store, keys: keys, lengths: (0..<16).map { $0 % 9 })
                let st = att.forward(store, query: q, memory: mem)
                let dq = att.backward(store, memory: mem, step: st, dContext: dc, dWeights: dw)
                let dk = att.backwardMemory(store, memory: mem)
                results.append(st.context.array + st.weights.array + dq.array + dk.array + store.grads.array)
            }
            XCTAssertEqual(results[0], results[1], "\(kind)")
        }
    }
}
