import RecurCore
import RecurDecoding
import XCTest

/// The partial selection against its naive reference: a full sort.
final class TopKSelectorTests: XCTestCase {
    func testMatchesFullSortWithTies() {
        var rng = RNG(seed: 77)
        var selector = TopKSelector(capacity: 4)
        for trial in 0..<200 {
            let n = 1 + rng.int(below: 60)
            // Few distinct values, so ties are common; ids in a shuffled order.
            let scores = (0..<n).map { _ in Float(rng.int(below: 7)) - 3 }
            var ids = Array(0..<n).map { $0 * 3 }
            rng.shuffle(&ids)
            let k = 1 + rng.int(below: 10)
            selector.reset(k: k)
            for i in 0..<n { selector.insert(scores[i], id: ids[i]) }
            var got: [(Float, Int)] = []
            selector.drainBestFirst { rank, s, id in
                XCTAssertEqual(rank, got.count)
                got.append((s, id))
            }
            let want = zip(scores, ids).sorted { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }.prefix(k)
            XCTAssertEqual(got.map(\.0), want.map(\.0), "trial \(trial)")
            XCTAssertEqual(got.map(\.1), want.map(\.1), "trial \(trial)")
            XCTAssertEqual(selector.count, 0)
        }
    }

    func testIgnoresNaNAndKeepsInfinities() {
        var selector = TopKSelector(capacity: 3)
        for (i, s) in [Float.nan, -.infinity, 2, .infinity, .nan, 1].enumerated() { selector.insert(s, id: i) }
        var got: [Int] = []
        selector.drainBestFirst { _, _, id in got.append(id) }
        XCTAssertEqual(got, [3, 2, 5])
    }
}
