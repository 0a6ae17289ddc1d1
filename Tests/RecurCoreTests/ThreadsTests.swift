import RecurCore
import XCTest

final class ThreadsTests: XCTestCase {
    func testParallelForCoversEveryIndexOnce() {
        let before = Threads.count
        defer { Threads.set(before) }
        for threads in [1, 2, 3] {
            Threads.set(threads)
            for n in [0, 1, 2, 5, 1000] {
                let hits = Tensor(zeros: [max(n, 1)])
                let p = hits.data
                nonisolated(unsafe) let q = p
                parallelFor(n) { range in for i in range { q[i] += 1 } }
                XCTAssertEqual(Array(hits.array.prefix(n)), [Float](repeating: 1, count: n), "threads \(threads) n \(n)")
            }
        }
        Threads.set(0)
        XCTAssertEqual(Threads.count, 1, "at least one thread")
    }
}
