import Dispatch
import RecurCore
import RecurLayers

// Data parallelism within one batch, for any SequenceModel.
//
// The batch's examples are cut into `ways` contiguous shards of about equal
// work (source + target length). Each shard runs the model's loss and backward
// on its own core, with single-threaded BLAS, into its own gradient buffer
// (shard 0 into the store's, the others into replica stores sharing the
// values); then
//   loss  = Σ_i n_i · loss_i / N          (n_i: the shard's target tokens, N = Σ n_i)
//   grads = Σ_i (n_i / N) · grads_i
// in one cache-blocked pass that also zeroes the replicas for the next batch
// (gradient buffers are the size of the model: each pass over them costs as
// much as a large GEMM at this model size). `lossAndGradient` leaves that sum
// to where the gradient is used: the norm and the optimizer's update read the
// parts directly (GradientSum), one pass fewer over every buffer.
// which is the whole batch's mean-token loss and its gradient, up to float
// rounding (the sums are taken in another order). Small recurrent GEMMs
// (batch × hidden) do not split well across BLAS threads; whole shards do.
//
// Random draws: shard 0 draws from the caller's generator; shard i > 0 from a
// generator seeded by one draw each, made before any shard runs, so a run is
// reproducible for a given seed and shard count.

/// Splits a batch across threads and sums the shards' gradients (see above).
public final class DataParallel: @unchecked Sendable {
    /// How many shards a batch is cut into (1: the model is called as is).
    public let ways: Int
    private let layout: ParameterLayout
    /// One gradient buffer per shard, sharing the values of the store they were made for.
    private var replicas: [ParameterStore] = []
    private weak var replicaSource: ParameterStore?
    /// The last gradient handed out with more than one part (zeroed at the next call if unused).
    private var pending: GradientSum?

    /// `ways` shards per batch (at most `Threads.count` is sensible).
    public init(layout: ParameterLayout, ways: Int = Threads.count) {
        self.layout = layout
        self.ways = max(1, ways)
    }

    /// The shard boundaries of examples with these costs: contiguous ranges of about equal total cost,
    /// each non-empty; fewer than `ways` when there are fewer examples.
    public static func shards(costs: [Int], ways: Int) -> [Range<Int>] {
        let n = costs.count, k = min(max(1, ways), n)
        guard k > 1 else { return [0..<n] }
        let total = costs.reduce(0, +)
        var bounds = [0], sum = 0, i = 0
        for s in 1..<k {
            let goal = total * s / k
            // Advance while taking the next example brings the sum closer to the goal,
            // leaving at least one example for each shard still to come.
            while i < n - (k - s) && (i < bounds[s - 1] + 1 || abs(sum + costs[i] - goal) <= abs(sum - goal)) {
                sum += costs[i]
                i += 1
            }
            bounds.append(i)
        }
        bounds.append(n)
        return (0..<k).map { bounds[$0] ..< bounds[$0 + 1] }
    }

    /// The model's teacher-forced loss of a batch, computed in shards on `ways` threads; with
    /// `backward`, `store.grads` is SET to the batch's gradient (whatever it held before).
    /// `scheduledSampling`: the rate passed to every shard (see `SequenceModel.loss`; 0: teacher forcing).
    public func loss(_ model: any SequenceModel, _ store: ParameterStore, sources: SourceBatch, targets: [[Int]],
                     training: Bool, labelSmoothing: Float, scheduledSampling: Float = 0, backward: Bool,
                     rng: inout RNG) throws -> ModelLoss {
        let (loss, gradient) = try lossAndGradient(model, store, sources: sources, targets: targets, training: training,
                                                   labelSmoothing: labelSmoothing, scheduledSampling: scheduledSampling,
                                                   backward: backward, rng: &rng)
        gradient?.materialize()
        return loss
    }

    /// As `loss`, but with `backward` the batch's gradient is returned as the shards left it,
    /// Σ_i (n_i / N)·grads_i, to be summed where it is used (the norm, the optimizer's update:
    /// see GradientSum); `store.grads` holds shard 0's part until then. Use it (consume,
    /// materialize or discard) before the next call; one left unused is zeroed then. Adam,
    /// consuming it, leaves `store.grads` zero (`GradientSum.zeroesStore`), and the next call
    /// does not zero it again: do not write into `store.grads` in between.
    public func lossAndGradient(_ model: any SequenceModel, _ store: ParameterStore, sources: SourceBatch,
                                targets: [[Int]], training: Bool, labelSmoothing: Float, scheduledSampling: Float = 0,
                                backward: Bool, rng: inout RNG) throws -> (ModelLoss, GradientSum?) {
        // An optimizer that consumed the last sum may have left the store's gradient zero already.
        let storeZero = pending.map { $0.token.storeZeroed && $0.parts[0] == store.grads.data } ?? false
        if let pending, !pending.token.used { pending.discard() }
        pending = nil
        let costs = (0..<targets.count).map { targets[$0].count + 1 + sources.length(of: $0) }
        let ranges = Self.shards(costs: costs, ways: ways)
        if backward && !storeZero { store.zeroGrads() }
        guard ranges.count > 1 else {
            let loss = try model.loss(store, sources: sources, targets: targets, training: training,
                                      labelSmoothing: labelSmoothing, scheduledSampling: scheduledSampling,
                                      backward: backward, rng: &rng)
            return (loss, backward ? GradientSum(store) : nil)
        }
        guard store.layout == layout else {
            throw RecurError(.shape, "data parallel: the store's layout is not the one this was made for")
        }
        if replicaSource !== store || replicas.count < ranges.count - 1 {
            replicas = (1..<ranges.count).map { _ in ParameterStore(sharingValuesOf: store) }   // zero
            replicaSource = store
        }
        var rngs = [rng]
        for _ in 1..<ranges.count { rngs.append(RNG(seed: rng.next())) }
        var results = [Result<ModelLoss, Error>?](repeating: nil, count: ranges.count)
        let threads = Threads.count
        Threads.set(1)
        let stores = [store] + self.replicas.prefix(ranges.count - 1)
        rngs.withUnsafeMutableBufferPointer { rngs in
            results.withUnsafeMutableBufferPointer { results in
                // Each shard writes only its own slots; the model's loss is safe to call concurrently
                // (its buffers come from a per-caller pool or are made per call).
                nonisolated(unsafe) let rngs = rngs, results = results, model = model, sources = sources
                DispatchQueue.concurrentPerform(iterations: ranges.count) { i in
                    let r = ranges[i]
                    results[i] = Result {
                        try model.loss(stores[i], sources: sources.slice(r), targets: Array(targets[r]), training: training,
                                       labelSmoothing: labelSmoothing, scheduledSampling: scheduledSampling,
                                       backward: backward, rng: &rngs[i])
                    }
                }
            }
        }
        Threads.set(threads)
        rng = rngs[0]
        let losses: [ModelLoss]
        do {
            losses = try results.map { try $0!.get() }
        } catch {
            for r in stores.dropFirst() { r.zeroGrads() }
            throw error
        }
        let N = losses.reduce(0) { $0 + $1.tokens }
        let loss = losses.reduce(0.0) { $0 + Double($1.loss) * Double($1.tokens) } / Double(max(N, 1))
        let result = ModelLoss(loss: Float(loss), tokens: N,
                               negativeLogLikelihood: losses.reduce(0) { $0 + $1.negativeLogLikelihood })
        guard backward else { return (result, nil) }
        let gradient = GradientSum(count: store.grads.count, parts: stores.map { $0.grads.data },
                                   weights: losses.map { Float($0.tokens) / Float(max(N, 1)) }, zeroesStore: true)
        pending = gradient
        return (result, gradient)
    }
}

extension SourceBatch {
    /// The source length of example `i` (frames, cells or tokens; 0 for none).
    public func length(of i: Int) -> Int {
        switch self {
        case .none: return 0
        case .tokens(let s): return s[i].count
        case .features(let f): return f[i].shape[0]
        }
    }

    /// The examples in `range`, as a batch of their own.
    public func slice(_ range: Range<Int>) -> SourceBatch {
        switch self {
        case .none: return .none(count: range.count)
        case .tokens(let s): return .tokens(Array(s[range]))
        case .features(let f): return .features(Array(f[range]))
        }
    }
}
