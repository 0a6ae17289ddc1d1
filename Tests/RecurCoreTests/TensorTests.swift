import RecurCore
import RecurTestSupport
import XCTest

final class TensorTests: XCTestCase {
    func testStorageIs64ByteAligned() {
        for n in [0, 1, 3, 17, 1000] {
            let t = Tensor(zeros: [n])
            XCTAssertEqual(Int(bitPattern: t.data) % 64, 0, "size \(n)")
            XCTAssertTrue(t.array.allSatisfy { $0 == 0 })
        }
    }

    func testRowMajorIndexingAndSlicesShareMemory() {
        let t = Tensor(shape: [2, 3, 4], (0..<24).map(Float.init))
        XCTAssertEqual(t[[1, 2, 3]], 23)
        XCTAssertEqual(t[[0, 1, 2]], 6)
        let row = t[1]
        XCTAssertEqual(row.shape, [3, 4])
        XCTAssertEqual(row.array, (12..<24).map(Float.init))
        row[[0, 0]] = -1
        XCTAssertEqual(t[[1, 0, 0]], -1, "a slice is a view, not a copy")
        let s = t.slice(1..<2)
        XCTAssertEqual(s.shape, [1, 3, 4])
        XCTAssertEqual(s.data, t.data + 12)
    }

    func testReshapeIsAViewAndInfersOneDimension() {
        let t = Tensor(shape: [2, 6], (0..<12).map(Float.init))
        let r = t.reshaped([3, -1])
        XCTAssertEqual(r.shape, [3, 4])
        XCTAssertEqual(r.data, t.data)
        XCTAssertEqual(r[[2, 3]], 11)
    }

    func testCopyIsIndependent() {
        let t = Tensor(shape: [3], [1, 2, 3])
        let c = t.copy()
        c[[0]] = 9
        XCTAssertEqual(t.array, [1, 2, 3])
        XCTAssertEqual(c.array, [9, 2, 3])
        XCTAssertNotEqual(c.data, t.data)
    }

    func testViewKeepsStorageAlive() {
        var view: Tensor?
        do {
            let t = Tensor(shape: [4, 2], (0..<8).map(Float.init))
            view = t[3]
        }
        XCTAssertEqual(view?.array, [6, 7])
    }

    func testBorrowedMemory() {
        var raw: [Float] = [1, 2, 3, 4]
        raw.withUnsafeMutableBufferPointer { p in
            let t = Tensor(borrowing: p.baseAddress!, shape: [2, 2])
            t[[1, 1]] = 40
            XCTAssertNil(t.owner)
        }
        XCTAssertEqual(raw, [1, 2, 3, 40])
    }

    func testFillAndAssign() {
        let t = Tensor(shape: [5], repeating: 2.5)
        XCTAssertEqual(t.array, [2.5, 2.5, 2.5, 2.5, 2.5])
        let u = Tensor(zeros: [5])
        u.assign(t)
        XCTAssertEqual(u.array, t.array)
        t.zero()
        XCTAssertEqual(t.array, [0, 0, 0, 0, 0])
        XCTAssertEqual(u.array.first, 2.5)
    }
}
