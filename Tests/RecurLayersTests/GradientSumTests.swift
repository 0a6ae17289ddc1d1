import RecurCore
import RecurLayers
import XCTest

/// A gradient left as the shards' weighted parts (GradientSum) gives, to the bit, what
/// summing the parts into the store and then clipping and stepping gives: the norm, the
/// clipped values and Adam's update. The parts after the first are zeroed once used.
final class GradientSumTests: XCTestCase {
    /// A store of `count` parameters with values, moments and a gradient drawn from `seed`,
    /// and `extra` more gradient buffers (the other shards' parts).
    private func make(count: Int, extra: Int, seed: UInt64) -> (ParameterStore, [Tensor]) {
        var layout = ParameterLayout()
        _ = layout.add("a", [count / 2])
        _ = layout.add("b", [count - count / 2])
        let store = ParameterStore(layout)
        let n = store.grads.count   // the buffers may be padded past the parameters
        var rng = RNG(seed: seed)
        for t in [store.values, store.grads, store.moment1] {
            for i in 0..<n { t.data[i] = rng.uniform(-1, 1) }
        }
        for i in 0..<n { store.moment2.data[i] = rng.uniform(0, 0.01) }
        let parts = (0..<extra).map { _ in
            let t = Tensor(zeros: [n])
            for i in 0..<n { t.data[i] = rng.uniform(-1, 1) }
            return t
        }
        return (store, parts)
    }

    private func copy(_ store: ParameterStore) throws -> ParameterStore {
        let c = ParameterStore(store.layout)
        try c.copy(from: store, includingOptimizerState: true)
        c.grads.data.update(from: store.grads.data, count: store.grads.count)
        return c
    }

    private func sum(_ store: ParameterStore, _ parts: [Tensor], _ weights: [Float], zeroesStore: Bool = false) -> GradientSum {
        GradientSum(count: store.grads.count, parts: [store.grads.data] + parts.map(\.data), weights: weights,
                    zeroesStore: zeroesStore)
    }

    private func bits(_ t: Tensor) -> [UInt32] { (0..<t.count).map { t.data[$0].bitPattern } }

    /// Counts that end inside a vector, on a block boundary and past several 4,096 blocks.
    private let counts = [5, 8, 4096, 3 * 4096 + 13, 70_003]

    /// On bare buffers, so that the counts need not be the store's (multiples of 16).
    func testNormIsTheNormOfTheSummedGradient() {
        for count in counts {
            for extra in 0...2 {
                var rng = RNG(seed: UInt64(count + extra))
                let tensors = (0...extra).map { _ in
                    let t = Tensor(zeros: [count])
                    for i in 0..<count { t.data[i] = rng.uniform(-1, 1) }
                    return t
                }
                let weights: [Float] = extra == 0 ? [0.7] : Array([0.25, 0.5, 0.25].prefix(extra + 1))
                var g = GradientSum(count: count, parts: tensors.map(\.data), weights: weights)
                g.scale = 0.5
                let norm = g.sumOfSquares()
                g.materialize()
                XCTAssertEqual(norm.bitPattern, Kernels.sumOfSquares(count, tensors[0].data).bitPattern,
                               "count \(count), \(extra + 1) parts")
                XCTAssertGreaterThan(norm, 0)
                for p in tensors.dropFirst() { XCTAssertEqual(p.array.map { abs($0) }.max(), 0) }
            }
        }
    }

    func testFusedAdamAndClippingEqualSummingThenStepping() throws {
        for count in counts {
            for extra in 0...2 {
                for clip in [Float(0), 1e-3, 1e6] {   // none, clipping, a bound that does not clip
                  for zeroesStore in [false, true] {
                    let (fused, parts) = make(count: count, extra: extra, seed: UInt64(7 * count + extra))
                    let plain = try copy(fused)
                    let weights: [Float] = Array([0.375, 0.5, 0.125].prefix(extra + 1))
                    let partsCopy = parts.map { $0.copy() }
                    let savedPart0 = fused.grads.copy()

                    // Unfused: sum into the store, clip the store, step.
                    withExtendedLifetime(partsCopy) { sum(plain, partsCopy, weights).materialize() }
                    var adamA = Adam.adamW(learningRate: 0.01)
                    let normA = clip > 0 ? GradientClipping.clipGlobalNorm(plain, maxNorm: clip) : 0
                    adamA.step(plain)

                    // Fused: clip sets the scale, Adam reads the parts.
                    var g = sum(fused, parts, weights, zeroesStore: zeroesStore)
                    var adamB = Adam.adamW(learningRate: 0.01)
                    let normB = clip > 0 ? GradientClipping.clipGlobalNorm(&g, maxNorm: clip) : 0
                    adamB.step(fused, gradient: g)

                    let what = "count \(count), \(extra + 1) parts, clip \(clip), zeroes store \(zeroesStore)"
                    XCTAssertEqual(normA.bitPattern, normB.bitPattern, what)
                    XCTAssertEqual(bits(fused.values), bits(plain.values), what)
                    XCTAssertEqual(bits(fused.moment1), bits(plain.moment1), what)
                    XCTAssertEqual(bits(fused.moment2), bits(plain.moment2), what)
                    XCTAssertTrue(g.token.used)
                    XCTAssertEqual(g.token.storeZeroed, zeroesStore, what)
                    // The first part is the caller's (left as it was) unless the sum zeroes the
                    // store; the others are zeroed.
                    if zeroesStore {
                        XCTAssertEqual(fused.grads.array.map { abs($0) }.max(), 0, what)
                    } else {
                        XCTAssertEqual(bits(fused.grads), bits(savedPart0), what)
                    }
                    for p in parts + partsCopy { XCTAssertEqual(p.array.map { abs($0) }.max(), 0, what) }
                  }
                }
            }
        }
    }

    /// A check that can fail: a different weight gives a different update.
    func testTheWeightsMatter() {
        let (a, pa) = make(count: 100, extra: 1, seed: 1)
        let (b, pb) = make(count: 100, extra: 1, seed: 1)
        var adam1 = Adam(), adam2 = Adam()
        adam1.step(a, gradient: sum(a, pa, [0.5, 0.5]))
        adam2.step(b, gradient: sum(b, pb, [0.25, 0.75]))
        XCTAssertNotEqual(bits(a.values), bits(b.values))
        withExtendedLifetime((pa, pb)) {}
    }

    /// SGD (the protocol's default: materialize, then step) gives the summed gradient's update.
    func testOtherOptimizersMaterialize() throws {
        let (store, parts) = make(count: 1000, extra: 1, seed: 3)
        let plain = try copy(store)
        let partsCopy = parts.map { $0.copy() }
        withExtendedLifetime(partsCopy) { sum(plain, partsCopy, [0.5, 0.5]).materialize() }
        var s1 = try SGD(learningRate: 0.1, momentum: 0.9), s2 = s1
        s1.step(plain)
        var any: any Optimizer = s2
        let g = sum(store, parts, [0.5, 0.5], zeroesStore: true)
        any.step(store, gradient: g)
        s2 = any as! SGD
        XCTAssertEqual(bits(store.values), bits(plain.values))
        // Materialized: the store holds the gradient, so it is not reported zero.
        XCTAssertEqual(bits(store.grads), bits(plain.grads))
        XCTAssertFalse(g.token.storeZeroed)
        XCTAssertEqual(s2.stepCount, 1)
        withExtendedLifetime(parts) {}
    }
}
