import Foundation
import RecurTestSupport
import XCTest

/// `recur data shapes|speak|digits` through the built binary.
final class DataCLITests: XCTestCase {
    var tmp: String!

    override func setUpWithError() throws {
        tmp = NSTemporaryDirectory() + "recur-data-cli-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: tmp)
    }

    /// One line on stderr, naming `mention`, nothing on stdout, non-zero exit.
    func assertOneLineError(_ r: RecurBinary.Result, mentions mention: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(r.status, 0, file: file, line: line)
        XCTAssertEqual(r.stdout, "", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mention), r.stderr, file: file, line: line)
    }

    func testShapesWritesACorpusAndSaysHowItWasMade() throws {
        let out = tmp + "/shapes"
        let r = try RecurBinary.run(["data", "shapes", "--count", "3", "--out", out, "--seed", "2", "--size", "48",
                                     "--hold-out", "purple triangle", "--heldout-count", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
        for f in ["images/00000.png", "images/00002.png", "heldout/00001.png", "captions.tsv", "heldout.tsv", "README.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
        }
        let readme = try String(contentsOfFile: out + "/README.txt", encoding: .utf8)
        XCTAssertTrue(readme.contains("--seed 2"), readme)
        XCTAssertTrue(readme.contains("'purple triangle'"), readme)
        let captions = try String(contentsOfFile: out + "/captions.tsv", encoding: .utf8)
        XCTAssertTrue(captions.hasPrefix("images/00000.png\ta "), captions)
    }

    func testShapesRefusesAnUnknownCombination() throws {
        let r = try RecurBinary.run(["data", "shapes", "--count", "3", "--out", tmp + "/x", "--hold-out", "pink circle"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("pink circle"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/x"))
    }

    func testSpeakMissingTextFileIsOneLine() throws {
        let r = try RecurBinary.run(["data", "speak", tmp + "/no-such.txt", "--out", tmp + "/speech"])
        assertOneLineError(r, mentions: tmp + "/no-such.txt")
    }

    func testUnwritableOutputFolderIsOneLine() throws {
        let blocker = tmp + "/blocker"
        try "x".write(toFile: blocker, atomically: true, encoding: .utf8)
        let r = try RecurBinary.run(["data", "shapes", "--count", "2", "--out", blocker + "/out"])
        assertOneLineError(r, mentions: blocker)
        let text = tmp + "/lines.txt"
        try "hello\n".write(toFile: text, atomically: true, encoding: .utf8)
        let s = try RecurBinary.run(["data", "speak", text, "--out", blocker])
        assertOneLineError(s, mentions: blocker)
    }

    func testMissingSynthesizerIsOneLine() throws {
        let text = tmp + "/lines.txt"
        try "hello\n".write(toFile: text, atomically: true, encoding: .utf8)
        let r = try RecurBinary.run(["data", "speak", text, "--out", tmp + "/s", "--espeak", tmp + "/no-espeak-ng"])
        assertOneLineError(r, mentions: "no-espeak-ng")
    }

    func testDigitsMissingFolderIsOneLine() throws {
        let r = try RecurBinary.run(["data", "digits", "--fsdd", tmp + "/no-fsdd", "--out", tmp + "/d", "--count", "2"])
        assertOneLineError(r, mentions: tmp + "/no-fsdd")
    }

    func testSpeakTwoLines() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/espeak-ng")
                || FileManager.default.isExecutableFile(atPath: "/usr/local/bin/espeak-ng") else {
            throw XCTSkip("espeak-ng is not installed (make deps installs it)")
        }
        let text = tmp + "/lines.txt"
        try "Good morning.\nSee you tomorrow.\n".write(toFile: text, atomically: true, encoding: .utf8)
        let out = tmp + "/speech"
        let r = try RecurBinary.run(["data", "speak", text, "--out", out, "--voices", "en-us,en-gb", "--variants", "none,f2",
                                     "--gain-db", "-6-0", "--noise", "25", "--sample-rate", "0", "--seed", "4"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try String(contentsOfFile: out + "/transcripts.tsv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 3)
        XCTAssertTrue(rows[1].contains("\tGood morning.\t"), String(rows[1]))
        let wav = out + "/" + String(rows[2].split(separator: "\t")[0])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: wav))
        // RIFF/WAVE, PCM, mono, 22050 Hz, 16 bits.
        XCTAssertEqual(String(decoding: bytes[0..<4], as: UTF8.self), "RIFF")
        XCTAssertEqual(String(decoding: bytes[8..<12], as: UTF8.self), "WAVE")
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        XCTAssertEqual(u16(20), 1)
        XCTAssertEqual(u16(22), 1)
        XCTAssertEqual(u32(24), 22050)
        XCTAssertEqual(u16(34), 16)
    }
}
