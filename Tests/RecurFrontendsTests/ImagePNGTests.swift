import Foundation
import RecurCore
@testable import RecurFrontends
import XCTest

/// PNG reading: the colour-type / bit-depth suite against a reference decoder,
/// corrupted, truncated and over-limit files, and the PNG writer.
final class ImagePNGTests: XCTestCase {
    static func fixture(_ name: String) -> String {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/\(name)").path
    }

    /// A new folder for this test, removed when the test ends.
    func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("recur-imagetests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: u) }
        return u
    }

    struct Expected: Decodable {
        let width: Int, height: Int, white: [UInt8], black: [UInt8]
    }

    func testSuiteDecodesToReferencePixels() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("png_expected.json")))
        let expected = try JSONDecoder().decode([String: Expected].self, from: data)
        XCTAssertGreaterThanOrEqual(expected.count, 20)
        for name in ["gray1", "gray2", "gray4", "gray8", "gray16", "graya8", "graya16", "rgb8", "rgb16", "rgba8",
                     "rgba16", "palette8", "palette8_trns", "palette4", "gray8_interlaced", "rgb8_interlaced", "rgb16_interlaced", "rgba16_interlaced"] {
            XCTAssertNotNil(expected[name], "fixture \(name) missing")
        }
        for (name, e) in expected.sorted(by: { $0.key < $1.key }) {
            for (bg, want) in [(RGB8.white, e.white), (RGB8.black, e.black)] {
                let img = try PNGReader(background: bg).readRGB8(path: Self.fixture("png_\(name).png"))
                XCTAssertEqual(img.width, e.width, name)
                XCTAssertEqual(img.height, e.height, name)
                let diff = zip(img.pixels, want).map { abs(Int($0) - Int($1)) }.max() ?? 99
                XCTAssertEqual(img.pixels.count, want.count, name)
                // 16-bit alpha: libpng premultiplies before we blend, so 1 off is allowed there.
                let tolerance = name.contains("a16") ? 1 : 0
                XCTAssertLessThanOrEqual(diff, tolerance, "\(name) on \(bg): max difference \(diff) from the reference decoder")
                if tolerance > 0 {
                    let off = zip(img.pixels, want).filter { $0 != $1 }.count
                    XCTAssertLessThanOrEqual(off * 20, want.count, "\(name): \(off) of \(want.count) values 1 off")
                }
            }
        }
    }

    func testFloatTensorIsBytesOver255() throws {
        let path = Self.fixture("png_rgb8.png")
        let img = try PNGReader().readRGB8(path: path)
        let t = try PNGReader().read(path: path)
        XCTAssertEqual(t.shape, [img.height, img.width, 3])
        for i in 0..<t.count { XCTAssertEqual(t.data[i], Float(img.pixels[i]) / 255, accuracy: 1e-7) }
    }

    func testNotAPNG() throws {
        let dir = try tempDir()
        let p = dir.appendingPathComponent("fake.png").path
        try Data("hello, I am text".utf8).write(to: URL(fileURLWithPath: p))
        XCTAssertThrowsError(try PNGReader().readRGB8(path: p)) { e in
            let s = "\(e)"
            XCTAssertTrue(s.hasPrefix(p + ": "), s)
            XCTAssertTrue(s.contains("not a PNG"), s)
        }
        XCTAssertThrowsError(try PNGReader().readRGB8(path: dir.appendingPathComponent("missing.png").path)) { e in
            XCTAssertTrue("\(e)".contains("no such file"), "\(e)")
        }
    }

    func testFlippedCRCByteIsBadCRC() throws {
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixture("png_rgb8.png"))))
        // Find the IDAT chunk and flip a byte of its CRC.
        var pos = 8
        var flipped = false
        while pos + 8 <= b.count {
            let len = Int(b[pos]) << 24 | Int(b[pos + 1]) << 16 | Int(b[pos + 2]) << 8 | Int(b[pos + 3])
            let type = String(decoding: b[(pos + 4)..<(pos + 8)], as: UTF8.self)
            if type == "IDAT" { b[pos + 8 + len + 2] ^= 0xFF; flipped = true; break }
            pos += 12 + len
        }
        XCTAssertTrue(flipped)
        let dir = try tempDir()
        let p = dir.appendingPathComponent("badcrc.png").path
        try Data(b).write(to: URL(fileURLWithPath: p))
        XCTAssertThrowsError(try PNGReader().readRGB8(path: p)) { e in
            let s = "\(e)"
            XCTAssertTrue(s.hasPrefix(p + ": "), s)
            XCTAssertTrue(s.contains("bad CRC"), s)
        }
    }

    func testTruncatedFiles() throws {
        let b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixture("png_rgb8_interlaced.png"))))
        let dir = try tempDir()
        // Cut inside the header, inside IDAT, and just before the end.
        for cut in [20, b.count / 2, b.count - 3] {
            let p = dir.appendingPathComponent("cut\(cut).png").path
            try Data(b[0..<cut]).write(to: URL(fileURLWithPath: p))
            XCTAssertThrowsError(try PNGReader().readRGB8(path: p), "cut at \(cut)") { e in
                let s = "\(e)"
                XCTAssertTrue(s.hasPrefix(p + ": "), s)
                XCTAssertTrue(s.contains("truncated"), s)
            }
        }
        let p = dir.appendingPathComponent("sig.png").path
        try Data(b[0..<5]).write(to: URL(fileURLWithPath: p))
        XCTAssertThrowsError(try PNGReader().readRGB8(path: p)) { e in XCTAssertTrue("\(e)".contains("not a PNG"), "\(e)") }
    }

    func testOverLimitRefusedBeforeDecoding() throws {
        // The header claims 50000 × 50000 pixels with one row of data: decoding
        // would fail differently (or allocate 7.5 GB); the limit must refuse it first.
        let p = Self.fixture("png_huge_header.png")
        XCTAssertThrowsError(try PNGReader().readRGB8(path: p)) { e in
            let s = "\(e)"
            XCTAssertTrue(s.hasPrefix(p + ": "), s)
            XCTAssertTrue(s.contains("50000×50000") && s.contains("over the limit of 40000000"), s)
        }
        // A configurable limit: 7 × 5 = 35 pixels.
        XCTAssertThrowsError(try PNGReader(maxPixels: 34).readRGB8(path: Self.fixture("png_rgb8.png"))) { e in
            XCTAssertTrue("\(e)".contains("over the limit of 34"), "\(e)")
        }
        XCTAssertNoThrow(try PNGReader(maxPixels: 35).readRGB8(path: Self.fixture("png_rgb8.png")))
    }

    func testWriterRoundTrip() throws {
        let dir = try tempDir()
        let p = dir.appendingPathComponent("out.png").path
        var rgb: [UInt8] = []
        for i in 0..<(13 * 6) { rgb += [UInt8(i % 256), UInt8((i * 7) % 256), UInt8(255 - i % 256)] }
        try PNGWriter.write(path: p, width: 13, height: 6, rgb: rgb)
        let back = try PNGReader().readRGB8(path: p)
        XCTAssertEqual(back, RGB8Image(width: 13, height: 6, pixels: rgb))
        // No temporary file is left beside it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.png"])
        XCTAssertThrowsError(try PNGWriter.write(path: p, width: 2, height: 2, rgb: [1, 2, 3]))
        XCTAssertThrowsError(try PNGWriter.write(path: dir.appendingPathComponent("no/such/dir.png").path, width: 1, height: 1, rgb: [1, 2, 3]))
    }

    func testBackgroundParsing() {
        XCTAssertEqual(RGB8(parsing: "#ff8000"), RGB8(255, 128, 0))
        XCTAssertEqual(RGB8(parsing: "000000"), .black)
        XCTAssertEqual(RGB8(parsing: "white"), .white)
        XCTAssertNil(RGB8(parsing: "#12345"))
        XCTAssertNil(RGB8(parsing: "zzzzzz"))
    }
}
