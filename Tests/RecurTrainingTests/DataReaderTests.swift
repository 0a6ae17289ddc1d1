import Foundation
import RecurCore
@testable import RecurTraining
import XCTest

/// A fresh temporary folder for generated data files, removed by the test's teardown.
final class DataTempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("recur-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `bytes` to `name` (sub-folders created) and returns the path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let u = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: u)
        return u.path
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// The message of the RecurError `body` throws (fails the test when it throws nothing else).
func dataErrorMessage(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
        try body()
        XCTFail("expected an error", file: file, line: line)
        return ""
    } catch let e as RecurError {
        return e.description
    } catch {
        XCTFail("expected a RecurError, got \(error)", file: file, line: line)
        return ""
    }
}

final class DataReaderTests: XCTestCase {
    func testParallelTSVReadsPairsWithBOMAndCRLFAndSkipsBlankLines() throws {
        let dir = try DataTempDir()
        let p = try dir.write("pairs.tsv", [0xEF, 0xBB, 0xBF] + Array("Go.\tVa !\r\nHi.\tSalut !\n\nI see.\tJe comprends\u{202F}!\n".utf8))
        let r = try ParallelText.read(p)
        XCTAssertEqual(r.examples.map(\.source), ["Go.", "Hi.", "I see."])
        XCTAssertEqual(r.examples.map(\.target), ["Va !", "Salut !", "Je comprends\u{202F}!"])
        XCTAssertEqual(r.examples.map(\.line), [1, 2, 4])
        XCTAssertEqual(r.examples.map(\.id), ["pairs.tsv:1", "pairs.tsv:2", "pairs.tsv:4"])
        XCTAssertEqual(r.report.lines, 4)
        XCTAssertEqual(r.report.blankLines, 1)
        XCTAssertEqual(r.report.badLines, 0)
        XCTAssertEqual(r.report.examples, 3)
        // Columns swapped.
        let swapped = try ParallelText.read(p, source: 1, target: 0)
        XCTAssertEqual(swapped.examples[0].source, "Va !")
    }

    /// Bad lines: wrong column count, empty field, invalid UTF-8.
    func badTSV(_ dir: DataTempDir) throws -> String {
        var bytes = Array("a\tA\nb\tB\textra\nc\t\nd\tD\n".utf8)
        bytes += [0x65, 0x09, 0xC3, 0x28, 0x0A]  // "e\t" + invalid UTF-8
        bytes += Array("f\tF\n\tG\n".utf8)
        return try dir.write("bad.tsv", bytes)
    }

    func testBadLinesAreFatalByDefaultNamingFileAndLine() throws {
        let dir = try DataTempDir()
        let p = try badTSV(dir)
        let msg = dataErrorMessage { _ = try ParallelText.read(p) }
        XCTAssertTrue(msg.hasPrefix(p + ": line 2: wrong column count: 3 fields, expected 2"), msg)
    }

    func testBadLinesAreSkippedCountedAndTheFirstFewReported() throws {
        let dir = try DataTempDir()
        let p = try badTSV(dir)
        let r = try ParallelText.read(p, options: ReadOptions(badLines: .skip, maxReported: 3))
        XCTAssertEqual(r.examples.map(\.source), ["a", "d", "f"])
        XCTAssertEqual(r.report.badLines, 4)
        XCTAssertEqual(r.report.firstBad.map(\.line), [2, 3, 5])
        XCTAssertEqual(r.report.firstBad.map(\.file), [p, p, p])
        XCTAssertTrue(r.report.firstBad[1].reason.contains("empty target"), r.report.firstBad[1].reason)
        XCTAssertTrue(r.report.firstBad[2].reason.contains("invalid UTF-8"), r.report.firstBad[2].reason)
        XCTAssertTrue(r.report.description.contains("1 more bad lines"), r.report.description)
        XCTAssertTrue(r.report.description.contains("\(p):5: invalid UTF-8"), r.report.description)
    }

    func testHeaderNamedColumnsAndIdColumn() throws {
        let dir = try DataTempDir()
        let p = try dir.write("named.tsv", "id\ten\tfr\tnote\nx1\tDog\tChien\t-\nx2\tCat\tChat\t-\n")
        let r = try ParallelText.read(p, source: "en", target: "fr", id: "id", hasHeader: true)
        XCTAssertEqual(r.examples.map(\.id), ["x1", "x2"])
        XCTAssertEqual(r.examples.map(\.target), ["Chien", "Chat"])
        XCTAssertEqual(r.examples.map(\.line), [2, 3])
        let missing = dataErrorMessage { _ = try ParallelText.read(p, source: "de", target: "fr", hasHeader: true) }
        XCTAssertTrue(missing.contains("no column \"de\"") && missing.contains("id, en, fr, note"), missing)
        let noHeader = dataErrorMessage { _ = try ParallelText.read(p, source: "en", target: "fr") }
        XCTAssertTrue(noHeader.contains("needs a header"), noHeader)
        let outOfRange = dataErrorMessage { _ = try ParallelText.read(p, source: 0, target: 7) }
        XCTAssertTrue(outOfRange.contains("column 7 is out of range"), outOfRange)
    }

    func testAlignedFiles() throws {
        let dir = try DataTempDir()
        let src = try dir.write("train.en", "one\ntwo\nthree\n")
        let tgt = try dir.write("train.fr", "un\ndeux\ntrois\n")
        let r = try ParallelText.readAligned(source: src, target: tgt)
        XCTAssertEqual(r.examples.map(\.source), ["one", "two", "three"])
        XCTAssertEqual(r.examples.map(\.target), ["un", "deux", "trois"])
        XCTAssertEqual(r.examples.map(\.id), ["train.en:1", "train.en:2", "train.en:3"])

        let short = try dir.write("short.fr", "un\ndeux\n")
        let msg = dataErrorMessage { _ = try ParallelText.readAligned(source: src, target: short) }
        XCTAssertTrue(msg.contains(src) && msg.contains(short) && msg.contains("3 lines") && msg.contains("2"), msg)

        let badTgt = try dir.write("bad.fr", Array("un\n".utf8) + [0xFF, 0x0A] + Array("\n".utf8))
        let fatal = dataErrorMessage { _ = try ParallelText.readAligned(source: src, target: badTgt) }
        XCTAssertTrue(fatal.hasPrefix(badTgt + ": line 2: invalid UTF-8"), fatal)
        let skipped = try ParallelText.readAligned(source: src, target: badTgt, options: ReadOptions(badLines: .skip))
        XCTAssertEqual(skipped.examples.map(\.source), ["one"])
        XCTAssertEqual(skipped.report.badLines, 2)
        XCTAssertEqual(skipped.report.firstBad.map(\.line), [2, 3])
        XCTAssertTrue(skipped.report.firstBad[1].reason.contains("empty line"))
    }

    func testMissingFileNamesIt() throws {
        let dir = try DataTempDir()
        let p = dir.path("nope.tsv")
        let msg = dataErrorMessage { _ = try ParallelText.read(p) }
        XCTAssertEqual(msg, "\(p): no such file")
    }

    func testSpeechManifestCSVResolvesPathsAndChecksFiles() throws {
        let dir = try DataTempDir()
        try dir.write("audio/0_theo_1.wav", "x")
        try dir.write("audio/3_george_2.wav", "x")
        try dir.write("elsewhere/3_george_2.wav", "x")
        let abs = try dir.write("abs/1_lucas_0.wav", "x")
        let csv = [
            "path,transcript,speaker",
            "audio/0_theo_1.wav,zero,theo",
            #""audio/3_george_2.wav","three, ""quoted""",george"#,
            "\(abs),one,lucas",
            "audio/9_ghost_1.wav,nine,ghost",
            #""audio/unterminated.wav,nine,x"#,
        ].joined(separator: "\n") + "\n"
        let m = try dir.write("manifest.csv", csv)
        let fatal = dataErrorMessage { _ = try SpeechManifest.read(m) }
        XCTAssertTrue(fatal.contains("line 5: no such file") && fatal.contains("9_ghost_1.wav"), fatal)
        let r = try SpeechManifest.read(m, options: ReadOptions(badLines: .skip))
        XCTAssertEqual(r.examples.map(\.source), [dir.path("audio/0_theo_1.wav"), dir.path("audio/3_george_2.wav"), abs])
        XCTAssertEqual(r.examples.map(\.target), ["zero", "three, \"quoted\"", "one"])
        XCTAssertEqual(r.report.badLines, 2)
        XCTAssertTrue(r.report.firstBad[1].reason.contains("unterminated quote"), r.report.firstBad[1].reason)
        // --data-root replaces the manifest's folder for relative paths.
        let rooted = try SpeechManifest.read(m, dataRoot: dir.path("elsewhere/.."), requireFiles: false,
                                             options: ReadOptions(badLines: .skip))
        XCTAssertEqual(rooted.examples.count, 4)
        XCTAssertTrue(rooted.examples[0].source.hasSuffix("elsewhere/../audio/0_theo_1.wav"))
        // The id column.
        let withIds = try SpeechManifest.read(m, id: "speaker", options: ReadOptions(badLines: .skip))
        XCTAssertEqual(withIds.examples.map(\.id), ["theo", "george", "lucas"])
    }

    func testSpeechManifestTSVNeedsTheNamedColumns() throws {
        let dir = try DataTempDir()
        try dir.write("a.wav", "x")
        let m = try dir.write("m.tsv", "audio\ttext\na.wav\thello\n")
        let msg = dataErrorMessage { _ = try SpeechManifest.read(m) }
        XCTAssertTrue(msg.contains("no column \"path\""), msg)
        let r = try SpeechManifest.read(m, audio: "audio", transcript: "text")
        XCTAssertEqual(r.examples.map(\.target), ["hello"])
        XCTAssertEqual(r.examples.map(\.id), ["m.tsv:2"])
        let dup = try dir.write("dup.tsv", "path\tpath\na.wav\thello\n")
        XCTAssertTrue(dataErrorMessage { _ = try SpeechManifest.read(dup) }.contains("twice"))
        let empty = try dir.write("empty.tsv", "")
        XCTAssertTrue(dataErrorMessage { _ = try SpeechManifest.read(empty) }.contains("no header"))
    }

    func testSpeechFromALabelledFolder() throws {
        let dir = try DataTempDir()
        for name in ["3_theo_1.wav", "0_george_12.wav", ".DS_Store", "README.md"] { try dir.write("rec/" + name, "x") }
        let pattern = try FileNamePattern("{digit}_{speaker}_{index}.wav")
        let words = ["zero", "one", "two", "three"]
        let folder = dir.path("rec")
        let msg = dataErrorMessage { _ = try SpeechManifest.fromDirectory(folder, pattern: pattern) { words[Int($0["digit"]!)!] } }
        XCTAssertEqual(msg, "\(folder): line 3: README.md does not match the file-name pattern {digit}_{speaker}_{index}.wav")
        let r = try SpeechManifest.fromDirectory(folder, pattern: pattern, transcript: { words[Int($0["digit"]!)!] },
                                                 options: ReadOptions(badLines: .skip))
        XCTAssertEqual(r.examples.map(\.id), ["0_george_12.wav", "3_theo_1.wav"])
        XCTAssertEqual(r.examples.map(\.target), ["zero", "three"])
        XCTAssertEqual(r.examples[1].source, dir.path("rec/3_theo_1.wav"))
        XCTAssertEqual(r.report.badLines, 1)
    }

    func testCaptionListOneExamplePerCaptionAndGroupedReferences() throws {
        let dir = try DataTempDir()
        try dir.write("images/1.png", "x")
        try dir.write("images/2.png", "x")
        let list = try dir.write("captions.tsv", "1.png\tA cat.\n1.png\tA small cat.\n2.png\tA dog.\n1.png\tCat on a mat.\n")
        let r = try CaptionList.read(list, dataRoot: dir.path("images"))
        XCTAssertEqual(r.examples.count, 4)
        let groups = CaptionList.groups(r.examples)
        XCTAssertEqual(groups.map(\.image), [dir.path("images/1.png"), dir.path("images/2.png")])
        XCTAssertEqual(groups[0].captions, ["A cat.", "A small cat.", "Cat on a mat."])
        XCTAssertEqual(groups[0].ids, ["captions.tsv:1", "captions.tsv:2", "captions.tsv:4"])
        XCTAssertEqual(groups[1].captions, ["A dog."])
        // Without the data root the images are looked for beside the list.
        let msg = dataErrorMessage { _ = try CaptionList.read(list) }
        XCTAssertTrue(msg.contains("line 1: no such file"), msg)
    }

    func testPlainTextLines() throws {
        let dir = try DataTempDir()
        let p = try dir.write("lm.txt", Array("first line\n\n  second  \r\n".utf8) + [0xC0, 0x0A] + Array("last".utf8))
        XCTAssertTrue(dataErrorMessage { _ = try PlainText.readLines(p) }.hasPrefix(p + ": line 4: invalid UTF-8"))
        let r = try PlainText.readLines(p, options: ReadOptions(badLines: .skip))
        XCTAssertEqual(r.examples.map(\.target), ["first line", "second", "last"])
        XCTAssertEqual(r.examples.map(\.source), ["", "", ""])
        XCTAssertEqual(r.examples.map(\.line), [1, 3, 5])
        XCTAssertEqual(r.report.blankLines, 1)
        XCTAssertEqual(r.report.badLines, 1)
        XCTAssertEqual(r.report.lines, 5)
    }

    func testPlainTextChunksCoverTheStream() throws {
        let dir = try DataTempDir()
        let text = "héllo wörld\nsecond line é\r\nthird\n"
        let p = try dir.write("chars.txt", text)
        let r = try PlainText.readChunks(p, length: 4)
        let stream = text.replacingOccurrences(of: "\r\n", with: "\n")
        XCTAssertEqual(r.examples.map(\.target).joined(), stream)
        XCTAssertTrue(r.examples.dropLast().allSatisfy { $0.target.count == 4 })
        XCTAssertEqual(r.examples.count, (stream.count + 3) / 4)
        XCTAssertEqual(r.examples.first?.line, 1)
        XCTAssertEqual(r.examples[3].line, 2)  // characters 12..<16 start on line 2
        XCTAssertEqual(r.examples[1].id, "chars.txt:1#1")
        let dropped = try PlainText.readChunks(p, length: 4, dropLast: true)
        XCTAssertEqual(dropped.examples.count, stream.count / 4)
        XCTAssertTrue(dropped.examples.allSatisfy { $0.target.count == 4 })
        // No final newline: none is added.
        let q = try dir.write("nofinal.txt", "ab\ncd")
        XCTAssertEqual(try PlainText.readChunks(q, length: 10).examples.map(\.target), ["ab\ncd"])
        XCTAssertTrue(dataErrorMessage { _ = try PlainText.readChunks(q, length: 0) }.contains("positive"))
        // A bad line is left out of the stream with .skip.
        let b = try dir.write("bad.txt", Array("ab\n".utf8) + [0xFE, 0x0A] + Array("cd\n".utf8))
        XCTAssertTrue(dataErrorMessage { _ = try PlainText.readChunks(b, length: 2) }.hasPrefix(b + ": line 2"))
        let s = try PlainText.readChunks(b, length: 2, options: ReadOptions(badLines: .skip))
        XCTAssertEqual(s.examples.map(\.target).joined(), "ab\ncd\n")
        XCTAssertEqual(s.report.badLines, 1)
    }

    func testCSVFieldSplitting() {
        func split(_ s: String) -> [String]? {
            let bytes = Array(s.utf8)
            return bytes.withUnsafeBufferPointer { buf in
                if case .success(let f) = DelimitedRows.splitCSV(buf) { return f }
                return nil
            }
        }
        XCTAssertEqual(split("a,b,c"), ["a", "b", "c"])
        XCTAssertEqual(split("a,,c,"), ["a", "", "c", ""])
        XCTAssertEqual(split(" \"x, y\" , \"he said \"\"hi\"\"\""), ["x, y", "he said \"hi\""])
        XCTAssertEqual(split(""), [""])
        XCTAssertNil(split("\"open"))
        XCTAssertNil(split("\"a\"b,c"))
        XCTAssertNil(split("a\"b"))
    }
}
