import RecurCore
@testable import RecurLayers
import RecurTestSupport
import XCTest

/// The single-step API against the whole-sequence call, the fused driver
/// against the plain reference, and cache reuse.
final class RecurrentStepTests: XCTestCase {
    /// Stepping one time step at a time (step API, workspace, state carried in
    /// place) gives the sequence call's outputs and final states.
    func testStepEqualsSequence() {
        for kind in RecurrentKind.allCases {
            for B in [1, 3] {
                let p = RecurrentProblem(kind, T: 4, B: B, I: 5, H: 9, layers: 2, seed: 20)
                let (seq, _) = p.run()
                let T = 4, H = 9
                let h = p.h0.copy(), c = p.c0?.copy()
                let ws = RecurrentStepWorkspace(config: p.layer.config, batch: B)
                for t in 0..<T {
                    let top = p.layer.step(p.store, p.x[t], h: h, c: c, workspace: ws)
                    assertClose(top, seq.output[t], rtol: 1e-5, atol: 1e-6, "\(kind) B=\(B) step \(t) output")
                }
                XCTAssertEqual(h.shape, [2, B, H])
                assertClose(h, seq.hN, rtol: 1e-5, atol: 1e-6, "\(kind) B=\(B) final h")
                if let c, let cN = seq.cN { assertClose(c, cN, rtol: 1e-5, atol: 1e-6, "\(kind) B=\(B) final c") }
            }
        }
    }

    /// Training one step at a time (forward with T = 1, state handed from one
    /// call to the next, backward in reverse with the state gradient handed
    /// back) gives the sequence call's gradients.
    func testStepwiseGradientsEqualSequence() {
        for kind in RecurrentKind.allCases {
            let T = 3
            let p = RecurrentProblem(kind, T: T, B: 2, layers: 2, seed: 21)
            let full = p.gradients()
            let fullParams = p.store.grads.copy()

            p.store.zeroGrads()
            var caches: [RecurrentCache] = []
            var h = p.h0, c = p.c0
            for t in 0..<T {
                let xt = p.x.slice(t..<(t + 1)).copy()
                let (out, cache) = p.layer.forward(p.store, xt, h0: h, c0: c)
                caches.append(cache)
                h = out.hN.copy()
                c = out.cN?.copy()
            }
            var dh: Tensor = p.w2, dc: Tensor? = p.w3
            let dx = Tensor(zeros: p.x.shape)
            for t in stride(from: T - 1, through: 0, by: -1) {
                let dOut = p.w1.slice(t..<(t + 1)).copy()
                let g = p.layer.backward(p.store, caches[t], dOutput: dOut, dhN: dh, dcN: dc)
                dx[t].assign(g.dx[0])
                dh = g.dh0.copy()
                dc = g.dc0?.copy()
            }
            assertClose(p.store.grads, fullParams, rtol: 1e-5, atol: 1e-6, "\(kind) parameter gradients")
            assertClose(dx, full.dx, rtol: 1e-5, atol: 1e-6, "\(kind) dx")
            assertClose(dh, full.dh0, rtol: 1e-5, atol: 1e-6, "\(kind) dh0")
            if let dc, let dc0 = full.dc0 { assertClose(dc, dc0, rtol: 1e-5, atol: 1e-6, "\(kind) dc0") }
        }
    }

    /// The fused driver (GEMMs, SIMD kernels, threads) agrees with the plain
    /// Double reference, with uneven lengths, two layers and both directions.
    func testFusedMatchesReference() {
        for kind in RecurrentKind.allCases {
            for (B, lengths) in [(3, [5, 2, 4] as [Int]?), (1, nil), (2, [0, 3])] {
                let p = RecurrentProblem(kind, T: 5, B: B, I: 6, H: 10, layers: 2, bidirectional: true,
                                         lengths: lengths?.map { min($0, 5) }, seed: 22)
                let (out, _) = p.run()
                let ref = RecurrentReference.forward(p.layer, p.store, p.x, h0: p.h0, c0: p.c0, lengths: p.lengths)
                assertClose(out.output, ref.output, rtol: 1e-5, atol: 1e-6, "\(kind) B=\(B) output")
                assertClose(out.hN, ref.hN, rtol: 1e-5, atol: 1e-6, "\(kind) B=\(B) hN")
                if let cN = out.cN, let refC = ref.cN { assertClose(cN, refC, rtol: 1e-5, atol: 1e-6, "\(kind) B=\(B) cN") }
            }
        }
    }

    /// Threads over batch rows give the same bits as one thread.
    func testThreadedKernelsMatchSingleThread() {
        let saved = RecurrentStack.parallelThreshold
        defer { RecurrentStack.parallelThreshold = saved }
        for kind in RecurrentKind.allCases {
            let p = RecurrentProblem(kind, T: 3, B: 6, I: 4, H: 16, bidirectional: true, lengths: [3, 1, 2, 3, 3, 2], seed: 23)
            RecurrentStack.parallelThreshold = 1
            let a = p.run().0.output.copy(), ga = p.gradients()
            RecurrentStack.parallelThreshold = Int.max
            let b = p.run().0.output.copy(), gb = p.gradients()
            XCTAssertEqual(a.array, b.array, "\(kind) outputs")
            XCTAssertEqual(ga.dx.array, gb.dx.array, "\(kind) dx")
        }
    }

    /// Padded steps output zero; a reused cache gives the same answers.
    func testPaddingAndCacheReuse() {
        let p = RecurrentProblem(.lstm, T: 4, B: 2, bidirectional: true, lengths: [2, 4], seed: 24)
        let (out, cache) = p.run()
        for t in 2..<4 { XCTAssertTrue(out.output[t][0].array.allSatisfy { $0 == 0 }, "padded step \(t) must be zero") }
        let first = out.output.copy(), firstH = out.hN.copy()
        let (again, cache2) = p.layer.forward(p.store, p.x, h0: p.h0, c0: p.c0, lengths: p.lengths, reusing: cache)
        XCTAssertTrue(cache2 === cache, "a fitting cache is reused")
        XCTAssertEqual(again.output.array, first.array)
        XCTAssertEqual(again.hN.array, firstH.array)
    }

    /// Training-mode dropout draws from the seeded generator: the same seed
    /// gives the same output; inference ignores dropout.
    func testDropoutIsSeeded() {
        let p = RecurrentProblem(.gru, T: 3, B: 2, layers: 2, dropout: 0.5, seed: 25)
        var r1 = RNG(seed: 9), r2 = RNG(seed: 9), r3 = RNG(seed: 10)
        let a = p.layer.forward(p.store, p.x, training: true, rng: &r1).0.output.copy()
        let b = p.layer.forward(p.store, p.x, training: true, rng: &r2).0.output.copy()
        let c = p.layer.forward(p.store, p.x, training: true, rng: &r3).0.output.copy()
        let inference = p.layer.forward(p.store, p.x).0.output.copy()
        XCTAssertEqual(a.array, b.array)
        XCTAssertNotEqual(a.array, c.array)
        XCTAssertNotEqual(a.array, inference.array)
    }
}
