import Foundation
import RecurCore
import RecurTraining
import XCTest

final class DataBatchingTests: XCTestCase {
    /// Random lengths: sources 1...30, targets 1...25.
    func randomLengths(_ n: Int, seed: UInt64) -> [Lengths] {
        var rng = RNG(seed: seed)
        return (0..<n).map { _ in Lengths(source: 1 + rng.int(below: 30), target: 1 + rng.int(below: 25)) }
    }

    func testBatchesRespectTheBudgetAndCoverEveryExampleOncePerEpoch() throws {
        let lengths = randomLengths(700, seed: 1)
        for cost in BatchCost.allCases {
            for (budget, maxSentences) in [(64, Int.max), (300, 16), (1000, 64)] {
                let options = BatchingOptions(tokenBudget: budget, maxSentences: maxSentences, cost: cost, bucketWidth: cost == .sum ? 3 : 1, seed: 5)
                let batcher = try BucketBatcher(lengths: lengths, options: options)
                for epoch in 0..<2 {
                    let batches = batcher.batches(epoch: epoch)
                    var seen = [Int](repeating: 0, count: lengths.count)
                    for b in batches {
                        XCTAssertFalse(b.isEmpty)
                        XCTAssertLessThanOrEqual(b.count, maxSentences)
                        let c = cost.cost(count: b.count, maxSource: b.map { lengths[$0].source }.max()!,
                                          maxTarget: b.map { lengths[$0].target }.max()!)
                        XCTAssertLessThanOrEqual(c, budget, "\(cost) budget \(budget)")
                        for i in b { seen[i] += 1 }
                    }
                    XCTAssertEqual(seen, [Int](repeating: 1, count: lengths.count), "\(cost) \(budget) epoch \(epoch)")
                }
            }
        }
    }

    func testBucketingKeepsPaddingLow() throws {
        let lengths = randomLengths(2000, seed: 2)
        let batcher = try BucketBatcher(lengths: lengths, options: BatchingOptions(tokenBudget: 400, cost: .source, seed: 1))
        var real = 0, padded = 0
        for b in batcher.batches(epoch: 0) {
            real += b.map { lengths[$0].source }.reduce(0, +)
            padded += b.count * b.map { lengths[$0].source }.max()!
        }
        // Sorted by exact source length, source padding is nearly nil (a random order would pad ~45%).
        XCTAssertLessThan(Double(padded - real) / Double(padded), 0.05)
    }

    func testSameSeedSameBatchesAndEpochsDiffer() throws {
        let lengths = randomLengths(500, seed: 3)
        let options = BatchingOptions(tokenBudget: 200, maxSentences: 32, seed: 9)
        let a = try BucketBatcher(lengths: lengths, options: options)
        let b = try BucketBatcher(lengths: lengths, options: options)
        XCTAssertEqual(a.batches(epoch: 0), b.batches(epoch: 0))
        XCTAssertEqual(a.batches(epoch: 3), b.batches(epoch: 3))
        XCTAssertNotEqual(a.batches(epoch: 0), a.batches(epoch: 1))
        var other = options
        other.seed = 10
        XCTAssertNotEqual(try BucketBatcher(lengths: lengths, options: other).batches(epoch: 0), a.batches(epoch: 0))
        // Within-bucket shuffling: equal lengths are grouped differently across epochs.
        let flat = [Lengths](repeating: Lengths(source: 4, target: 4), count: 64)
        let f = try BucketBatcher(lengths: flat, options: BatchingOptions(tokenBudget: 32, seed: 9))
        XCTAssertEqual(f.batches(epoch: 0).count, 8)
        XCTAssertNotEqual(Set(f.batches(epoch: 0).map { Set($0) }), Set(f.batches(epoch: 1).map { Set($0) }))
    }

    func testUnshuffledBatchesAreSortedAndFixed() throws {
        let lengths = randomLengths(300, seed: 4)
        let batcher = try BucketBatcher(lengths: lengths, options: BatchingOptions(tokenBudget: 150, shuffle: false))
        let e0 = batcher.batches(epoch: 0)
        XCTAssertEqual(e0, batcher.batches(epoch: 5))
        let order = e0.flatMap { $0 }
        let keys = order.map { (lengths[$0].source, lengths[$0].target, $0) }
        XCTAssertTrue(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 })
    }

    func testBadOptionsAndOversizedExamples() {
        let lengths = [Lengths(source: 3, target: 4), Lengths(source: 50, target: 2)]
        let msg = dataErrorMessage { _ = try BucketBatcher(lengths: lengths, options: BatchingOptions(tokenBudget: 20)) }
        XCTAssertTrue(msg.contains("example 1") && msg.contains("over the token budget 20"), msg)
        XCTAssertThrowsError(try BucketBatcher(lengths: [], options: BatchingOptions(tokenBudget: 20)))
        XCTAssertThrowsError(try BucketBatcher(lengths: lengths, options: BatchingOptions(tokenBudget: 0)))
        XCTAssertThrowsError(try BucketBatcher(lengths: lengths, options: BatchingOptions(tokenBudget: 100, maxSentences: 0)))
        XCTAssertThrowsError(try BucketBatcher(lengths: lengths, options: BatchingOptions(tokenBudget: 100, bucketWidth: 0)))
    }

    func testCursorSaveAndRestoreReproducesTheRemainingBatches() throws {
        let lengths = randomLengths(400, seed: 6)
        let batcher = try BucketBatcher(lengths: lengths, options: BatchingOptions(tokenBudget: 240, maxSentences: 24, seed: 77))
        let perEpoch = batcher.batches(epoch: 0).count
        let total = perEpoch * 3 + 5

        var straight = try BatchStream(batcher)
        let reference = (0..<total).map { _ in straight.next() }
        XCTAssertEqual(reference.filter(\.endsEpoch).count, 3)
        XCTAssertEqual(reference[perEpoch].epoch, 1)
        XCTAssertEqual(reference[perEpoch].position, 0)

        // Interrupt at several points, including an epoch's end, save, restore.
        for stop in [0, 1, perEpoch - 1, perEpoch, perEpoch + 7, 2 * perEpoch + 3] {
            var first = try BatchStream(batcher)
            var seen = (0..<stop).map { _ in first.next() }
            // The cursor travels as JSON (checkpoint metadata) and as a string.
            let json = try JSONEncoder().encode(first.cursor)
            let decoded = try JSONDecoder().decode(DataCursor.self, from: json)
            XCTAssertEqual(DataCursor(first.cursor.description), decoded)
            var resumed = try BatchStream(batcher, cursor: decoded)
            seen += (stop..<total).map { _ in resumed.next() }
            XCTAssertEqual(seen, reference, "stopped after \(stop) batches")
        }
        XCTAssertNil(DataCursor("3"))
        XCTAssertNil(DataCursor("a:1"))
        XCTAssertNil(DataCursor("1:-2"))
        XCTAssertEqual(DataCursor("2:15"), DataCursor(epoch: 2, position: 15))
        let msg = dataErrorMessage { _ = try BatchStream(batcher, cursor: DataCursor(epoch: 1, position: perEpoch + 1)) }
        XCTAssertTrue(msg.contains("outside epoch 1"), msg)
    }

    func testTimeMajorPadding() {
        let p = Padding.timeMajor([[1, 2, 3], [4], [5, 6]], pad: 0)
        XCTAssertEqual(p.steps, 3)
        XCTAssertEqual(p.batch, 3)
        XCTAssertEqual(p.ids, [1, 4, 5,
                               2, 0, 6,
                               3, 0, 0])
        XCTAssertEqual(p.lengths, [3, 1, 2])
        XCTAssertEqual(p[1, 2], 6)
        XCTAssertEqual(p.sequence(2), [5, 6])
        XCTAssertEqual(Padding.timeMajor([[7]], pad: 9, minSteps: 3).ids, [7, 9, 9])
        XCTAssertEqual(Padding.timeMajor([], pad: 0).ids, [])
    }

    func testDecoderPairShiftsWithBOSAndEOS() {
        let (input, output) = Padding.decoderPair([[10, 11, 12], [20]], bos: 1, eos: 2, pad: 0)
        XCTAssertEqual(input.steps, 4)
        XCTAssertEqual(input.ids, [1, 1,
                                   10, 20,
                                   11, 0,
                                   12, 0])
        XCTAssertEqual(output.ids, [10, 20,
                                    11, 2,
                                    12, 0,
                                    2, 0])
        XCTAssertEqual(input.lengths, [4, 2])
        XCTAssertEqual(output.lengths, [4, 2])
        // The output at step t is the input at step t + 1.
        for b in 0..<2 {
            let n = Int(input.lengths[b])
            for t in 0..<(n - 1) { XCTAssertEqual(output[t, b], input[t + 1, b]) }
            XCTAssertEqual(output[n - 1, b], 2)
        }
    }

    func testFramePadding() throws {
        let a = Tensor(shape: [2, 3], [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [1, 3], [7, 8, 9])
        let (frames, lengths) = try Padding.timeMajorFrames([a, b])
        XCTAssertEqual(frames.shape, [2, 2, 3])
        XCTAssertEqual(frames.array, [1, 2, 3, 7, 8, 9,
                                      4, 5, 6, 0, 0, 0])
        XCTAssertEqual(lengths, [2, 1])
        XCTAssertThrowsError(try Padding.timeMajorFrames([a, Tensor(zeros: [2, 4])]))
        XCTAssertThrowsError(try Padding.timeMajorFrames([]))
    }
}
