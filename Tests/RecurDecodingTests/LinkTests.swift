import RecurCore
import RecurDecoding
import XCTest

/// RecurDecoding is filled by the encoder-decoder issue; until then this checks
/// the row-wise log-softmax that greedy and beam search will score with.
final class LinkTests: XCTestCase {
    func testLogSoftmaxRowsNormalise() {
        let x: [Float] = [1, 2, 3, -1, 0, 1000, 1000, 999]
        var out = [Float](repeating: 0, count: 8)
        Kernels.logSoftmax(rows: 2, cols: 4, x, &out)
        for r in 0..<2 {
            let s = out[(r * 4)..<(r * 4 + 4)].reduce(0.0) { $0 + Foundation.exp(Double($1)) }
            XCTAssertEqual(s, 1, accuracy: 1e-5)
        }
        XCTAssertEqual(out[2] - out[1], 1, accuracy: 1e-6)
    }
}
