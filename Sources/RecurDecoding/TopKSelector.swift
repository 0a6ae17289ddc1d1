/// Keeps the k best of a stream of (score, id) pairs in a bounded min-heap:
/// O(n log k) for n insertions, no allocation after `init`.
///
/// Order: a higher score is better; equal scores are broken by the smaller
/// id, so the result is deterministic and equals a full stable sort by
/// (score descending, id ascending) cut to k. NaN scores are ignored.
public struct TopKSelector {
    /// Heap storage: the root (index 0) is the worst kept pair.
    private var scores: [Float]
    private var ids: [Int]
    public private(set) var count = 0
    public private(set) var k: Int
    /// A score below this cannot be kept: the worst kept score once k pairs
    /// are held, -inf before. Hot loops test `score >= threshold` before
    /// calling `insert`, which skips most calls.
    public private(set) var threshold: Float = -.infinity

    /// A selector for up to `capacity` pairs; `reset(k:)` picks k ≤ capacity.
    public init(capacity: Int) {
        let c = max(capacity, 1)
        scores = [Float](repeating: 0, count: c)
        ids = [Int](repeating: 0, count: c)
        k = c
    }

    /// Empties the selector and sets how many pairs to keep (grows storage if needed).
    public mutating func reset(k newK: Int) {
        precondition(newK >= 1, "TopKSelector needs k ≥ 1")
        if newK > scores.count {
            scores = [Float](repeating: 0, count: newK)
            ids = [Int](repeating: 0, count: newK)
        }
        k = newK
        count = 0
        threshold = -.infinity
    }

    @inline(__always)
    private static func better(_ s: Float, _ i: Int, than t: Float, _ j: Int) -> Bool {
        s > t || (s == t && i < j)
    }

    /// Offers a pair; kept if it is among the k best so far.
    @inline(__always)
    public mutating func insert(_ score: Float, id: Int) {
        if score.isNaN { return }
        if count == k {
            if !TopKSelector.better(score, id, than: scores[0], ids[0]) { return }
            scores[0] = score
            ids[0] = id
            siftDown(0, count)
        } else {
            scores[count] = score
            ids[count] = id
            count += 1
            siftUp(count - 1)
        }
        if count == k { threshold = scores[0] }
    }

    private mutating func siftUp(_ start: Int) {
        var c = start
        while c > 0 {
            let p = (c - 1) / 2
            // The parent must be worse than (or the same as) the child.
            if TopKSelector.better(scores[p], ids[p], than: scores[c], ids[c]) {
                scores.swapAt(p, c)
                ids.swapAt(p, c)
                c = p
            } else { return }
        }
    }

    private mutating func siftDown(_ start: Int, _ n: Int) {
        var p = start
        while true {
            let l = 2 * p + 1
            if l >= n { return }
            var w = l  // the worse child
            let r = l + 1
            if r < n && TopKSelector.better(scores[l], ids[l], than: scores[r], ids[r]) { w = r }
            if TopKSelector.better(scores[p], ids[p], than: scores[w], ids[w]) {
                scores.swapAt(p, w)
                ids.swapAt(p, w)
                p = w
            } else { return }
        }
    }

    /// Sorts the kept pairs best first (a heap sort in place) and calls
    /// `body(rank, score, id)` for each; the selector is then empty.
    public mutating func drainBestFirst(_ body: (Int, Float, Int) throws -> Void) rethrows {
        let n = count
        // Move the worst (the root) to the back, one by one: the back fills
        // with the worst pairs and index 0 ends with the best.
        var end = n
        while end > 1 {
            end -= 1
            scores.swapAt(0, end)
            ids.swapAt(0, end)
            siftDown(0, end)
        }
        count = 0
        threshold = -.infinity
        for i in 0..<n { try body(i, scores[i], ids[i]) }
    }
}
