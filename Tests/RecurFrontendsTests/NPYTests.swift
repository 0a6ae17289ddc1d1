import Foundation
import RecurCore
import RecurFrontends
import RecurTestSupport
import XCTest

final class NPYTests: XCTestCase {
    func testHeaderIsNumpyVersion1AlignedTo64() {
        for shape in [[], [3], [2, 3], [4, 1, 5], [0, 80]] {
            let h = NPY.header(shape: shape)
            XCTAssertEqual(h.count % 64, 0, "\(shape)")
            XCTAssertEqual(Array(h[0..<8]), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
            XCTAssertEqual(Int(h[8]) | Int(h[9]) << 8, h.count - 10)
            XCTAssertEqual(h.last, 0x0A)
            let text = String(decoding: h[10...], as: UTF8.self)
            XCTAssertTrue(text.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': "), text)
        }
        XCTAssertTrue(String(decoding: NPY.header(shape: [7]), as: UTF8.self).contains("'shape': (7,)"))
        XCTAssertTrue(String(decoding: NPY.header(shape: []), as: UTF8.self).contains("'shape': ()"))
        XCTAssertTrue(String(decoding: NPY.header(shape: [2, 3]), as: UTF8.self).contains("'shape': (2, 3)"))
    }

    func testRoundTripAnyRank() throws {
        let dir = try AudioFixtures.tempDir(self)
        var rng = RNG(seed: 3)
        for shape in [[5], [3, 4], [2, 3, 4], [1, 1, 1, 2]] {
            let t = randomTensor(shape, &rng)
            let p = dir.appendingPathComponent("x.npy").path
            try NPY.write(t, to: p)
            let size = try FileManager.default.attributesOfItem(atPath: p)[.size] as! Int
            XCTAssertEqual(size, NPY.header(shape: shape).count + 4 * t.count)
            let back = try NPY.read(p)
            XCTAssertEqual(back.shape, shape)
            XCTAssertEqual(back.array, t.array)
        }
        // No temporary file is left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["x.npy"])
    }

    func testReadsWhatNumpyWrote() throws {
        // Written by numpy.save in scripts/make_frontend_fixtures.py.
        let t = try NPY.read(AudioFixtures.path("audio_ref_kaldi_sine_mel.npy"))
        XCTAssertEqual(t.shape, [23, 23])
        XCTAssertTrue(t.array.allSatisfy { $0.isFinite && $0 >= 0 })
    }

    func testRefusesNonNpy() throws {
        let dir = try AudioFixtures.tempDir(self)
        let p = dir.appendingPathComponent("bad.npy").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: p))
        XCTAssertThrowsError(try NPY.read(p)) { e in
            XCTAssertTrue("\(e)".contains("bad.npy") && "\(e)".contains("not a .npy"), "\(e)")
        }
    }

    func testWriteIntoMissingFolderIsAClearError() {
        XCTAssertThrowsError(try NPY.write(Tensor(zeros: [2]), to: "/nonexistent-dir-recur/x.npy")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent-dir-recur/x.npy"), "\(e)")
        }
    }
}
