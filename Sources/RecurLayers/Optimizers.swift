import Foundation
import RecurCore

// Optimizers over a ParameterStore's flat buffers (values, grads, moment1,
// moment2: one loop each, split over threads). The update rules are
// torch.optim's single-tensor ("for-loop") implementations, with scalars such
// as the bias corrections computed in Double and the per-element arithmetic
// in Float in PyTorch's order:
//
// SGD (lr, momentum μ, dampening d, weight decay λ, nesterov):
//   g ← g + λ·p
//   if μ ≠ 0: buf ← g at the first step, else buf ← μ·buf + (1-d)·g   (buf = moment1)
//             g ← g + μ·buf (nesterov) or g ← buf
//   p ← p - lr·g
//
// Adam (lr, β1, β2, ε, weight decay λ added to the gradient):
//   t ← t + 1;  g ← g + λ·p
//   m ← m + (1-β1)·(g - m)          (torch's lerp)      (m = moment1)
//   v ← β2·v + (1-β2)·g²                                 (v = moment2)
//   p ← p - (lr / (1-β1ᵗ)) · m / (√v / √(1-β2ᵗ) + ε)   (√ by `sqrt8`, within an ulp)
//
// AdamW: as Adam without λ in the gradient, after p ← p·(1 - lr·λ).
//
// The gradient buffer is read, never changed (a GradientSum's shard buffers after
// the first are zeroed once read: see GradientSum.swift). Weight decay applies to every
// parameter (biases included), as torch.optim does by default.

/// Something that updates a store's values from its gradients.
public protocol Optimizer {
    /// The learning rate the next `step` uses (set it from a schedule).
    var learningRate: Float { get set }
    /// Steps taken so far (saved in checkpoints to resume exactly).
    var stepCount: Int { get set }
    /// One update of every parameter of `store`.
    mutating func step(_ store: ParameterStore)
    /// One update from a batch gradient not yet summed (`DataParallel.lossAndGradient`): the
    /// same values as `gradient.materialize()` then `step(store)`; the gradient is used up.
    mutating func step(_ store: ParameterStore, gradient: GradientSum)
}

extension Optimizer {
    public mutating func step(_ store: ParameterStore, gradient: GradientSum) {
        gradient.materialize()
        step(store)
    }
}

/// Stochastic gradient descent with optional momentum (torch.optim.SGD).
public struct SGD: Optimizer, Sendable, Equatable, Codable {
    public var learningRate: Float
    public var momentum: Float
    public var dampening: Float
    public var weightDecay: Float
    public var nesterov: Bool
    public var stepCount = 0

    /// Throws when `nesterov` is set without momentum > 0 and dampening 0 (as torch.optim.SGD refuses).
    public init(learningRate: Float, momentum: Float = 0, dampening: Float = 0, weightDecay: Float = 0,
                nesterov: Bool = false) throws {
        guard !nesterov || (momentum > 0 && dampening == 0) else {
            throw RecurError(.value, "SGD: Nesterov momentum needs momentum > 0 and dampening 0 (momentum \(momentum), dampening \(dampening))")
        }
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public mutating func step(_ store: ParameterStore) {
        let lr = learningRate, mu = momentum, damp = 1 - dampening, wd = weightDecay, nest = nesterov
        let first = stepCount == 0
        let p = store.values.data, g = store.grads.data, buf = store.moment1.data
        optimizerParallelFor(store.values.count) { range in
            typealias V = SIMD8<Float>
            @inline(__always) func update(_ p: V, _ g: V, _ buf: V) -> (p: V, buf: V) {
                var d = g
                if wd != 0 { d = d + wd * p }
                var b = buf
                if mu != 0 {
                    b = first ? d : mu * buf + damp * d
                    d = nest ? d + mu * b : b
                }
                return (p - lr * d, b)
            }
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let r = update(load(p + i), load(g + i), load(buf + i))
                store8(r.p, p + i)
                if mu != 0 { store8(r.buf, buf + i) }
                i += 8
            }
            if i < range.upperBound {
                let n = range.upperBound - i
                let r = update(loadTail(p + i, n), loadTail(g + i, n), loadTail(buf + i, n))
                storeTail(r.p, p + i, n)
                if mu != 0 { storeTail(r.buf, buf + i, n) }
            }
        }
        stepCount += 1
    }
}

/// Adam (torch.optim.Adam, amsgrad off) or, with `decoupled`, AdamW
/// (torch.optim.AdamW).
public struct Adam: Optimizer, Sendable, Equatable, Codable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    /// AdamW's decoupled weight decay instead of L2 in the gradient.
    public var decoupled: Bool
    public var stepCount = 0

    /// Adam: torch.optim.Adam's defaults (weight decay 0).
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, decoupled: Bool = false) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupled = decoupled
    }

    /// AdamW with torch.optim.AdamW's defaults (weight decay 0.01).
    public static func adamW(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                             epsilon: Float = 1e-8, weightDecay: Float = 1e-2) -> Adam {
        Adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
             weightDecay: weightDecay, decoupled: true)
    }

    public mutating func step(_ store: ParameterStore) {
        step(store, gradient: GradientSum(store))
    }

    /// The update reading g from the shards' buffers, zeroing those after the first as it goes
    /// (and the store's own, part_0, when the sum says so: `GradientSum.zeroesStore`).
    public mutating func step(_ store: ParameterStore, gradient: GradientSum) {
        precondition(gradient.parts[0] == store.grads.data && gradient.count == store.values.count,
                     "Adam: the gradient is not the store's")
        stepCount += 1
        let t = Double(stepCount)
        let bc1 = 1 - Foundation.pow(Double(beta1), t)
        let bc2 = 1 - Foundation.pow(Double(beta2), t)
        let stepSize = Float(Double(learningRate) / bc1)
        let bc2Sqrt = Float(bc2.squareRoot())
        let oneMinusB1 = 1 - beta1, b2 = beta2, oneMinusB2 = 1 - beta2, eps = epsilon
        let l2 = decoupled ? 0 : weightDecay
        let shrink: Float = decoupled ? 1 - learningRate * weightDecay : 1
        let p = store.values.data, m = store.moment1.data, v = store.moment2.data
        optimizerParallelFor(store.values.count) { range in
            typealias V = SIMD8<Float>
            @inline(__always) func update(_ p: V, _ g: V, _ m: V, _ v: V) -> (p: V, m: V, v: V) {
                var p = p
                if shrink != 1 { p = p * shrink }
                var g = g
                if l2 != 0 { g = g + l2 * p }
                let m = m + oneMinusB1 * (g - m)
                let v = b2 * v + oneMinusB2 * (g * g)
                let denom = sqrt8(v) / bc2Sqrt + eps
                return (p - stepSize * (m / denom), m, v)
            }
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let r = update(load(p + i), gradient.load(i), load(m + i), load(v + i))
                store8(r.p, p + i); store8(r.m, m + i); store8(r.v, v + i)
                gradient.zeroConsumed(i)
                i += 8
            }
            if i < range.upperBound {
                let n = range.upperBound - i
                let r = update(loadTail(p + i, n), gradient.loadTail(i, n), loadTail(m + i, n), loadTail(v + i, n))
                storeTail(r.p, p + i, n); storeTail(r.m, m + i, n); storeTail(r.v, v + i, n)
                gradient.zeroConsumed(i, n)
            }
        }
        gradient.consumed()
    }
}

/// √x for x ≥ 0 (Adam's second moment), within 1.2e-7 relative (about one ulp) of the
/// correctly rounded root: SIMD8's `squareRoot()` runs lane by lane here (about 10x the
/// cost of the whole rest of the update). 1/√x from the bit trick and two Newton steps,
/// then √x = x·(1/√x) refined by one Newton step on √x. √0 = 0, √inf = inf, NaN stays NaN.
@inline(__always) private func sqrt8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    typealias V = SIMD8<Float>
    let i = SIMD8<Int32>(repeating: 0x5f37_5a86) &- (unsafeBitCast(x, to: SIMD8<Int32>.self) &>> 1)
    var r = unsafeBitCast(i, to: V.self)
    let h = V(repeating: 0.5) * x, c = V(repeating: 1.5)
    r = r * (c - h * r * r)
    r = r * (c - h * r * r)
    var s = x * r
    s = s + V(repeating: 0.5) * r * (x - s * s)
    s.replace(with: x, where: x .== V(repeating: .infinity))
    return s
}

@inline(__always) private func load(_ x: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(x).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) private func store8(_ v: SIMD8<Float>, _ x: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(x).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// The first n < 8 elements in lanes, the rest 0 (every update maps 0 to a finite value).
@inline(__always) private func loadTail(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> SIMD8<Float> {
    var v = SIMD8<Float>(repeating: 0)
    for j in 0..<n { v[j] = x[j] }
    return v
}

@inline(__always) private func storeTail(_ v: SIMD8<Float>, _ x: UnsafeMutablePointer<Float>, _ n: Int) {
    for j in 0..<n { x[j] = v[j] }
}

/// Large buffers are split over threads; small ones run inline.
@inline(__always)
func optimizerParallelFor(_ n: Int, _ body: (Range<Int>) -> Void) {
    parallelFor(n, minChunk: 1 << 16, body)
}
