import Foundation
import RecurCore
import RecurTestSupport
@testable import RecurFrontends
import XCTest

/// `recur features image` end to end.
final class ImageCLITests: XCTestCase {
    static func fixture(_ name: String) -> String {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/\(name)").path
    }

    /// A new folder for this test, removed when the test ends.
    func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("recur-imagecli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: u) }
        return u
    }

    func testGoodFileToNPYAndPicture() throws {
        let dir = try tempDir()
        let out = dir.appendingPathComponent("f.npy").path, pic = dir.appendingPathComponent("f.png").path
        let r = try RecurBinary.run(["features", "image", Self.fixture("png_rgb8_interlaced.png"), "--grid", "3", "--size", "48", "--out", out, "--png", pic])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\t\(out)\t10x40\t\(pic)"), r.stdout)
        let t = try NPY.read(out)
        XCTAssertEqual(t.shape, [10, GridFeatures.dimension])
        // The same numbers as the library computes.
        let img = try PNGReader().read(path: Self.fixture("png_rgb8_interlaced.png"))
        let want = GridFeatures(GridFeatureConfig(grid: 3, size: 48))(img)
        XCTAssertEqual(t.array, want.array)
        let p = try PNGReader().readRGB8(path: pic)
        XCTAssertEqual(p.width, 48 * 9)
    }

    func testBadFileIsOneLineAndOthersGoOn() throws {
        let dir = try tempDir()
        let bad = dir.appendingPathComponent("bad.png").path
        try Data("not a png at all".utf8).write(to: URL(fileURLWithPath: bad))
        let outDir = dir.appendingPathComponent("out").path
        let r = try RecurBinary.run(["features", "image", bad, Self.fixture("png_gray4.png"), Self.fixture("png_huge_header.png"), "--out-dir", outDir])
        XCTAssertNotEqual(r.status, 0)
        let errs = r.stderr.split(separator: "\n")
        XCTAssertEqual(errs.count, 3, r.stderr)   // two files + the summary
        XCTAssertTrue(errs[0].hasPrefix("\(bad): not a PNG"), r.stderr)
        XCTAssertTrue(errs[1].contains("png_huge_header.png: image dimensions 50000×50000"), r.stderr)
        XCTAssertTrue(errs[2].contains("2 of 3 images failed"), r.stderr)
        XCTAssertEqual(try NPY.read(outDir + "/png_gray4.npy").shape, [50, 40])
        XCTAssertFalse(FileManager.default.fileExists(atPath: outDir + "/bad.npy"))
    }

    func testUsageErrors() throws {
        let r = try RecurBinary.run(["features", "image", Self.fixture("png_gray4.png"), Self.fixture("png_gray8.png"), "--out", "/tmp/x.npy"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--out-dir"), r.stderr)
        let g = try RecurBinary.run(["features", "image", Self.fixture("png_gray4.png"), "--grid", "0"])
        XCTAssertNotEqual(g.status, 0)
        XCTAssertTrue(g.stderr.contains("--grid"), g.stderr)
    }
}
