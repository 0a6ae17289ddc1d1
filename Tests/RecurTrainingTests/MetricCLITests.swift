import Foundation
import RecurTestSupport
import RecurTraining
import XCTest

/// `recur score` end to end. Skipped until `Score.self` is registered among
/// the root command's subcommands (Sources/recur/Recur.swift).
final class MetricCLITests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        let help = try? RecurBinary.run(["score", "--help"])
        // An unknown subcommand with --help prints the root help and exits 0.
        guard let help, help.status == 0, help.stdout.contains("caption-bleu") else {
            throw XCTSkip("`recur score` is not registered in Recur.swift (or recur is not built)")
        }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("recur-score-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    func write(_ name: String, _ lines: [String]) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url.path
    }

    func textCase(_ name: String) throws -> MetricFixtureTests.TextCase {
        let fixture = try MetricFixtureTests.load("metrics_text.json", as: MetricFixtureTests.TextFixture.self)
        return try XCTUnwrap(fixture.cases.first { $0.name == name })
    }

    func testBLEUPrintsSacrebleusLineWithMultipleReferences() throws {
        let c = try textCase("multiple_references")
        let hyp = try write("hyp.txt", c.hyps)
        let refs = try c.refs.enumerated().flatMap { ["--ref", try write("ref\($0.offset).txt", $0.element)] }
        let r = try RecurBinary.run(["score", "bleu", "--hyp", hyp] + refs)
        XCTAssertEqual(r.status, 0, r.stderr)
        let expected = c.bleu.formatted.replacingOccurrences(
            of: "version:\(MetricSignature.sacrebleuVersion)", with: "version:\(MetricSignature.version)")
        XCTAssertEqual(r.stdout, expected + "\n")
    }

    func testHypothesisFromStdinAndJSON() throws {
        let c = try textCase("french")
        let ref = try write("ref.txt", c.refs[0])
        let r = try RecurBinary.run(["score", "chrf", "--ref", ref, "--hyp", "-", "--json", "--width", "4"],
                                    stdin: c.hyps.joined(separator: "\n") + "\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(obj["name"] as? String, "chrF2")
        XCTAssertEqual(try XCTUnwrap(obj["score"] as? Double), c.chrf.score, accuracy: 0.0001)
        XCTAssertEqual(obj["nc"] as? String, "6")
    }

    func testWERMatchesJiwer() throws {
        let c = try textCase("english")
        let r = try RecurBinary.run(["score", "wer", "--ref", try write("ref.txt", c.refs[0]),
                                     "--hyp", try write("hyp.txt", c.hyps), "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(obj["score"] as? Double), c.wer.wer!, accuracy: 1e-9)
    }

    func testDifferentLineCountsNameBothFilesAndCounts() throws {
        let ref = try write("ref.txt", ["a b c", "d e f", "g h"])
        let hyp = try write("hyp.txt", ["a b c", "d e f"])
        for metric in ["bleu", "chrf", "wer", "cer", "caption-bleu", "cider"] {
            let r = try RecurBinary.run(["score", metric, "--ref", ref, "--hyp", hyp])
            XCTAssertNotEqual(r.status, 0, metric)
            XCTAssertTrue(r.stdout.isEmpty, "\(metric): \(r.stdout)")
            XCTAssertTrue(r.stderr.contains("reference file \(ref) has 3 lines"), "\(metric): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("hypothesis file \(hyp) has 2 lines"), "\(metric): \(r.stderr)")
        }
    }

    func testMissingFileIsNamed() throws {
        let hyp = try write("hyp.txt", ["a"])
        let r = try RecurBinary.run(["score", "bleu", "--ref", dir.appendingPathComponent("nope.txt").path, "--hyp", hyp])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("nope.txt"), r.stderr)
    }

    func testInvalidUTF8IsRefusedNamingTheFile() throws {
        let bad = dir.appendingPathComponent("bad.txt")
        try Data([0x61, 0xFF, 0xFE, 0x0A]).write(to: bad)
        let hyp = try write("hyp.txt", ["a"])
        let r = try RecurBinary.run(["score", "chrf", "--ref", bad.path, "--hyp", hyp])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("bad.txt") && r.stderr.contains("UTF-8"), r.stderr)
    }

    func testCaptionMetricsTokenizeLikeCOCO() throws {
        // Raw captions scored with the default COCO tokenization equal the
        // pre-tokenized ones scored with --tokenize none.
        let raw = try write("raw.txt", ["A dog's toy, lying on the grass!", "Two dogs (brown) play."])
        let rawRef = try write("rawref.txt", ["The dog's toy is on the grass.", "Two brown dogs play in snow."])
        let tok = try write("tok.txt", ["a dog 's toy lying on the grass", "two dogs -lrb- brown -rrb- play"])
        let tokRef = try write("tokref.txt", ["the dog 's toy is on the grass", "two brown dogs play in snow"])
        for metric in ["caption-bleu", "cider"] {
            let a = try RecurBinary.run(["score", metric, "--ref", rawRef, "--hyp", raw, "--json"])
            let b = try RecurBinary.run(["score", metric, "--ref", tokRef, "--hyp", tok, "--json", "--tokenize", "none"])
            XCTAssertEqual(a.status, 0, a.stderr)
            XCTAssertEqual(a.stdout, b.stdout, metric)
        }
    }

    func testCRLFFilesScoreAsLF() throws {
        let hyp = try write("hyp.txt", ["the cat sat on a mat", "hello world"])
        let lf = try write("lf.txt", ["the cat sat on the mat", "hello there world"])
        let crlf = dir.appendingPathComponent("crlf.txt")
        try Data("the cat sat on the mat\r\nhello there world\r\n".utf8).write(to: crlf)
        for metric in ["bleu", "chrf", "wer", "cer", "cider"] {
            let a = try RecurBinary.run(["score", metric, "--ref", lf, "--hyp", hyp])
            let b = try RecurBinary.run(["score", metric, "--ref", crlf.path, "--hyp", hyp])
            XCTAssertEqual(a.status, 0, a.stderr)
            XCTAssertEqual(a.stdout, b.stdout, metric)
        }
    }
}
