// Length-bucketed batches under a token budget, shuffled per epoch from a
// seed, with a cursor that can be saved and restored.
//
// An epoch's batches depend only on (lengths, options, epoch):
//   1. the example indices are shuffled by an RNG seeded from (seed, epoch)
//      (skipped when `shuffle` is false);
//   2. they are sorted by (source length / bucketWidth, target length /
//      bucketWidth), ties kept in the shuffled order, so examples of one
//      bucket come out in a fresh random order each epoch;
//   3. they are packed greedily in that order: a batch grows while its cost
//      (see `BatchCost`) stays within `tokenBudget` and it holds at most
//      `maxSentences` examples;
//   4. the batch order is shuffled by the same RNG.
// Because nothing else feeds in, a `DataCursor` (epoch, position in that
// epoch's batch order) is all a checkpoint needs to resume on exactly the
// batches an uninterrupted run would have seen.
import Foundation
import RecurCore

/// What a batch costs against the token budget: the batch size times a padded length.
public enum BatchCost: String, Sendable, Codable, CaseIterable {
    /// B × padded source length.
    case source
    /// B × padded target length.
    case target
    /// B × max(padded source length, padded target length) (as fairseq's max_tokens).
    case max
    /// B × (padded source length + padded target length).
    case sum

    /// The cost of `count` examples padded to `maxSource` and `maxTarget`.
    public func cost(count: Int, maxSource: Int, maxTarget: Int) -> Int {
        switch self {
        case .source: return count * maxSource
        case .target: return count * maxTarget
        case .max: return count * Swift.max(maxSource, maxTarget)
        case .sum: return count * (maxSource + maxTarget)
        }
    }
}

/// How examples are grouped into batches.
public struct BatchingOptions: Sendable, Equatable {
    /// The most a batch may cost (padded tokens or frames, see `cost`).
    public var tokenBudget: Int
    /// The most examples in one batch.
    public var maxSentences: Int
    public var cost: BatchCost
    /// Lengths are bucketed by `length / bucketWidth` before sorting; 1 sorts
    /// by exact length (least padding), larger widths mix more.
    public var bucketWidth: Int
    /// Shuffle within buckets and the batch order (training); false gives a
    /// fixed length-sorted order (validation).
    public var shuffle: Bool
    /// The data-order seed (kept apart from the model's RNG).
    public var seed: UInt64

    public init(tokenBudget: Int, maxSentences: Int = .max, cost: BatchCost = .max, bucketWidth: Int = 1,
                shuffle: Bool = true, seed: UInt64 = 0) {
        self.tokenBudget = tokenBudget
        self.maxSentences = maxSentences
        self.cost = cost
        self.bucketWidth = bucketWidth
        self.shuffle = shuffle
        self.seed = seed
    }
}

/// Builds each epoch's batches (lists of example indices).
public struct BucketBatcher: Sendable {
    /// (N) the lengths of the examples; a batch holds indices into this array.
    public let lengths: [Lengths]
    public let options: BatchingOptions

    /// Checks the options and that every example fits the budget alone (a
    /// `LengthFilter` should drop the ones that do not).
    public init(lengths: [Lengths], options: BatchingOptions) throws {
        guard !lengths.isEmpty else { throw RecurError(.value, "no examples to batch") }
        guard options.tokenBudget > 0 else { throw RecurError(.usage, "token budget must be positive, not \(options.tokenBudget)") }
        guard options.maxSentences > 0 else { throw RecurError(.usage, "max sentences per batch must be positive, not \(options.maxSentences)") }
        guard options.bucketWidth > 0 else { throw RecurError(.usage, "bucket width must be positive, not \(options.bucketWidth)") }
        for (i, l) in lengths.enumerated() {
            guard l.source >= 0, l.target >= 0 else { throw RecurError(.value, "example \(i) has a negative length") }
            let c = options.cost.cost(count: 1, maxSource: l.source, maxTarget: l.target)
            guard c <= options.tokenBudget else {
                throw RecurError(.value, "example \(i) (source \(l.source), target \(l.target)) alone costs \(c), over the token budget \(options.tokenBudget); filter long examples or raise the budget")
            }
        }
        self.lengths = lengths
        self.options = options
    }

    /// The RNG that orders `epoch`.
    public func rng(epoch: Int) -> RNG {
        RNG(seed: ValidationSplit.mix(options.seed ^ ValidationSplit.mix(UInt64(truncatingIfNeeded: epoch) &+ 0x5851_F42D_4C95_7F2D)))
    }

    /// The batches of `epoch`, in the order to train on them.
    public func batches(epoch: Int) -> [[Int]] {
        var rng = rng(epoch: epoch)
        let n = lengths.count
        var order = Array(0..<n)
        if options.shuffle { rng.shuffle(&order) }
        let w = options.bucketWidth
        // (bucket of source, bucket of target, rank in the shuffled order) sorts deterministically.
        var keyed = order.enumerated().map { (rank, i) in (s: lengths[i].source / w, t: lengths[i].target / w, rank: rank, i: i) }
        keyed.sort { a, b in
            if a.s != b.s { return a.s < b.s }
            if a.t != b.t { return a.t < b.t }
            return a.rank < b.rank
        }
        var batches: [[Int]] = []
        var current: [Int] = []
        var maxS = 0, maxT = 0
        for k in keyed {
            let l = lengths[k.i]
            let s = Swift.max(maxS, l.source), t = Swift.max(maxT, l.target)
            if !current.isEmpty,
               current.count + 1 > options.maxSentences
                || options.cost.cost(count: current.count + 1, maxSource: s, maxTarget: t) > options.tokenBudget {
                batches.append(current)
                current = [k.i]
                maxS = l.source
                maxT = l.target
            } else {
                current.append(k.i)
                maxS = s
                maxT = t
            }
        }
        if !current.isEmpty { batches.append(current) }
        if options.shuffle { rng.shuffle(&batches) }
        return batches
    }
}

/// Where a run is in its data: the epoch and the position in that epoch's
/// batch order of the next batch to deliver. Stored in checkpoints (Codable,
/// or as the string `"epoch:position"`).
public struct DataCursor: Sendable, Codable, Equatable, Hashable, LosslessStringConvertible {
    public var epoch: Int
    public var position: Int

    public init(epoch: Int = 0, position: Int = 0) {
        self.epoch = epoch
        self.position = position
    }

    public init?(_ description: String) {
        let parts = description.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let e = Int(parts[0]), let p = Int(parts[1]), e >= 0, p >= 0 else { return nil }
        self.init(epoch: e, position: p)
    }

    public var description: String { "\(epoch):\(position)" }
}

/// One delivered batch.
public struct BatchRef: Sendable, Equatable {
    /// Example indices (into the batcher's `lengths`).
    public var indices: [Int]
    /// Where this batch sits.
    public var epoch: Int
    public var position: Int
    /// True for the last batch of its epoch (time to validate per epoch).
    public var endsEpoch: Bool
}

/// An endless stream of batches, epoch after epoch, with a saveable cursor.
///
///     var stream = try BatchStream(batcher)
///     let b = stream.next()               // train on b.indices
///     checkpoint.cursor = stream.cursor   // after the step
///     ...
///     var resumed = try BatchStream(batcher, cursor: saved)  // same batches from here on
public struct BatchStream: Sendable {
    public let batcher: BucketBatcher
    /// The next batch to deliver.
    public private(set) var cursor: DataCursor
    private var plan: [[Int]]

    public init(_ batcher: BucketBatcher, cursor: DataCursor = DataCursor()) throws {
        self.batcher = batcher
        self.cursor = cursor
        plan = batcher.batches(epoch: cursor.epoch)
        guard cursor.epoch >= 0, cursor.position >= 0, cursor.position <= plan.count else {
            throw RecurError(.value, "data cursor \(cursor) is outside epoch \(cursor.epoch), which has \(plan.count) batches; the data or batching options differ from the saved run")
        }
    }

    /// The number of batches in the current epoch.
    public var batchesInEpoch: Int { plan.count }

    /// The next batch; moves the cursor past it (into the next epoch at the end of one).
    public mutating func next() -> BatchRef {
        if cursor.position >= plan.count {
            cursor = DataCursor(epoch: cursor.epoch + 1, position: 0)
            plan = batcher.batches(epoch: cursor.epoch)
        }
        let b = BatchRef(indices: plan[cursor.position], epoch: cursor.epoch, position: cursor.position,
                         endsEpoch: cursor.position == plan.count - 1)
        cursor.position += 1
        return b
    }
}
