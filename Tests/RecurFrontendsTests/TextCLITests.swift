import Foundation
import RecurCore
import RecurTestSupport
@testable import RecurFrontends
import XCTest

/// `recur vocab build`, `recur tokenize`, `recur detokenize` end to end.
final class TextCLITests: XCTestCase {
    static let fixture = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/text_tricky.txt").path

    /// A new folder for this test, removed when the test ends.
    func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("recur-textcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: u) }
        return u
    }

    func testTokenizeDetokenizeThroughStdin() throws {
        let dir = try tempDir()
        let lines = try Vocabulary.readLines(Self.fixture)
        let input = (lines + [""]).joined(separator: "\n") + "\n"   // an empty line stays a line
        for kind in ["char", "word", "bpe"] {
            let vocab = dir.appendingPathComponent("\(kind).vocab").path
            let b = try RecurBinary.run(["vocab", "build", "--kind", kind, "--size", "300", "--min-freq", "1", Self.fixture, "--out", vocab])
            XCTAssertEqual(b.status, 0, b.stderr)
            XCTAssertTrue(b.stdout.hasPrefix("\(vocab)\t\(kind)\t"), b.stdout)
            XCTAssertTrue(b.stdout.contains("fnv1a64:"), b.stdout)
            let ids = try RecurBinary.run(["tokenize", "--vocab", vocab, "-"], stdin: input)
            XCTAssertEqual(ids.status, 0, ids.stderr)
            let idLines = ids.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            XCTAssertEqual(idLines.count, lines.count + 1)
            let pieces = try RecurBinary.run(["tokenize", "--vocab", vocab, "--pieces"], stdin: input)
            XCTAssertEqual(pieces.status, 0, pieces.stderr)
            for source in [ids.stdout, pieces.stdout] {
                let back = try RecurBinary.run(["detokenize", "--vocab", vocab, "-"], stdin: source)
                XCTAssertEqual(back.status, 0, back.stderr)
                let got = back.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
                let want = lines.map { TextNormalizer().normalize($0) } + [""]
                // 300 pieces hold every scalar of the fixture, so there is no <unk>.
                XCTAssertEqual(got, want, "\(kind) from \(source == ids.stdout ? "ids" : "pieces")")
            }
        }
    }

    func testVocabBuildOptions() throws {
        let dir = try tempDir()
        let corpus = dir.appendingPathComponent("c.tsv").path
        try Data("x\tA a a b b c\ny\ta\n".utf8).write(to: URL(fileURLWithPath: corpus))
        let out = dir.appendingPathComponent("w.vocab").path
        let r = try RecurBinary.run(["vocab", "build", "--kind", "word", "--size", "0", "--min-freq", "2", "--field", "2", "--lowercase", corpus, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        // a: twice as a first word ("a"), ▁a twice, ▁b twice, ▁c once.
        XCTAssertEqual(try Vocabulary.readLines(out), Vocabulary.specials + ["a", "▁a", "▁b"])
        let r2 = try RecurBinary.run(["vocab", "build", "--kind", "word", "--size", "6", "--field", "2", corpus, "--out", out])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertEqual(try Vocabulary.readLines(out).count, 6)
        let bad = try RecurBinary.run(["vocab", "build", "--kind", "word", "--field", "3", corpus, "--out", out])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("\(corpus): line 1 has 2 tab-separated field(s)"), bad.stderr)
        let info = try RecurBinary.run(["vocab", "info", out])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.hasPrefix("\(out)\tword\t6\tfnv1a64:"), info.stdout)
    }

    func testInvalidInputIsAClearError() throws {
        let dir = try tempDir()
        let vocab = dir.appendingPathComponent("c.vocab").path
        XCTAssertEqual(try RecurBinary.run(["vocab", "build", "--kind", "char", Self.fixture, "--out", vocab]).status, 0)
        let file = dir.appendingPathComponent("bad.txt").path
        try Data([0x61, 0x0A, 0x62, 0xFF, 0x0A, 0x63, 0x0A]).write(to: URL(fileURLWithPath: file))
        let r = try RecurBinary.run(["tokenize", "--vocab", vocab, file])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("\(file): line 2: invalid UTF-8"), r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1, "the good first line is still printed")
        let ok = try RecurBinary.run(["tokenize", "--vocab", vocab, "--replace-invalid", file])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(ok.stdout.split(separator: "\n").count, 3)
        XCTAssertTrue(ok.stderr.contains("replaced invalid UTF-8 in 1 line"), ok.stderr)
        let missing = try RecurBinary.run(["tokenize", "--vocab", dir.appendingPathComponent("none.vocab").path, "-"], stdin: "a\n")
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("none.vocab: no such file"), missing.stderr)
        let badID = try RecurBinary.run(["detokenize", "--vocab", vocab, "--from", "ids", "-"], stdin: "4 5\n99999\n")
        XCTAssertNotEqual(badID.status, 0)
        XCTAssertTrue(badID.stderr.contains("line 2: '99999' is not an id"), badID.stderr)
    }
}
