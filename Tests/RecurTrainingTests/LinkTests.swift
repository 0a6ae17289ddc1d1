import RecurCore
import RecurTraining
import XCTest

/// RecurTraining is filled by the encoder-decoder issue; until then this checks
/// that data-order shuffling, which training will rely on, is reproducible.
final class LinkTests: XCTestCase {
    func testShuffleIsAPermutationAndReproducible() {
        var a = Array(0..<100), b = Array(0..<100)
        var r1 = RNG(seed: 42), r2 = RNG(seed: 42)
        r1.shuffle(&a)
        r2.shuffle(&b)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, Array(0..<100))
        XCTAssertEqual(a.sorted(), Array(0..<100))
    }
}
