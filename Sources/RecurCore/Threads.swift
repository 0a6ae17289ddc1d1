import CBLAS
import Dispatch
import Foundation
import Synchronization

/// One setting for how many threads Recur computes with: OpenBLAS's threads,
/// oneDNN's (OpenMP's) and Recur's own parallel loops all follow it.
public enum Threads {
    private static let current = Atomic<Int>(0)

    /// The number of cores this process may use.
    public static var available: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// The thread count in force (the number of cores until `set` is called).
    public static var count: Int {
        let n = current.load(ordering: .relaxed)
        return n > 0 ? n : available
    }

    /// Sets the thread count for OpenBLAS, oneDNN (at its next product on each
    /// thread: `GEMMEngine`) and Recur's loops (at least 1).
    public static func set(_ n: Int) {
        let n = max(1, n)
        current.store(n, ordering: .relaxed)
        openblas_set_num_threads(Int32(n))
    }

    /// The threads OpenBLAS reports it will use.
    public static var blasThreads: Int { Int(openblas_get_num_threads()) }
}

/// Runs `body(chunk)` for `n` items split into at most `Threads.count`
/// contiguous chunks, in parallel; returns when all are done. `body` receives
/// a range of item indices and must write only to memory its range owns.
public func parallelFor(_ n: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    guard n > 0 else { return }
    let chunks = min(Threads.count, max(1, n / max(1, minChunk)))
    if chunks <= 1 { body(0..<n); return }
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let b = body
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = n * c / chunks, hi = n * (c + 1) / chunks
            if lo < hi { b(lo..<hi) }
        }
    }
}
