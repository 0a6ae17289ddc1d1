import Foundation
import RecurCore
@testable import RecurPipelines
import XCTest

final class RecordStreamTests: XCTestCase {
    /// Reads all records of `text` fed through a pipe.
    private func read(_ text: String, name: String = "in") throws -> (RecordReader.Mode?, [StageRecord]) {
        let (r, w) = try makePipe()
        defer { close(r) }
        // Small inputs fit in the pipe buffer, so writing first is safe.
        writeAll(w, text)
        close(w)
        let reader = RecordReader(fd: r, name: name)
        let records = try reader.readAll()
        return (reader.mode, records)
    }

    func testPlainTextLinesKeepBlankLinesAndLineNumbers() throws {
        let (mode, rs) = try read("\nHello there.\r\n\n{not json}\nlast line without newline")
        XCTAssertEqual(mode, .plain)
        XCTAssertEqual(rs.map(\.text), ["", "Hello there.", "", "{not json}", "last line without newline"])
        XCTAssertEqual(rs.map { $0.source?.line }, [1, 2, 3, 4, 5])
        XCTAssertEqual(rs[1].source?.file, "in")
        XCTAssertNil(rs[1].stage)
    }

    func testFirstLineBraceButNotAnObjectIsPlain() throws {
        let (mode, rs) = try read("{ this is a sentence in braces }\n{\"text\":\"a\"}\n")
        XCTAssertEqual(mode, .plain)
        XCTAssertEqual(rs.map(\.text), ["{ this is a sentence in braces }", "{\"text\":\"a\"}"])
    }

    func testJSONLinesKeepSourceAndTimesAndSkipBlankLines() throws {
        let a = StageRecord(source: StageSource(file: "talk.wav", start: 0.5, end: 1.75), stage: "transcribe", model: "m",
                            text: "hello", score: -0.25, start: 0.5, end: 1.75, extra: JSONObject([("k", .string("v"))]))
        let b = StageRecord(text: "no source here")
        let (mode, rs) = try read("\n  \n" + a.jsonLine + "\n\n" + b.jsonLine + "\r\n", name: "<stdin>")
        XCTAssertEqual(mode, .records)
        XCTAssertEqual(rs.count, 2)
        XCTAssertEqual(rs[0], a)
        XCTAssertEqual(rs[0].jsonLine, a.jsonLine)
        // A record without a source gets this stream's name and line.
        XCTAssertEqual(rs[1].source, StageSource(file: "<stdin>", line: 5))
    }

    func testByteOrderMarkIsDropped() throws {
        let (mode, rs) = try read("\u{FEFF}{\"text\":\"a\"}\n")
        XCTAssertEqual(mode, .records)
        XCTAssertEqual(rs.map(\.text), ["a"])
        let (m2, r2) = try read("\u{FEFF}plain\n")
        XCTAssertEqual(m2, .plain)
        XCTAssertEqual(r2.map(\.text), ["plain"])
    }

    func testBadLineInRecordStreamNamesStreamAndLine() throws {
        XCTAssertThrowsError(try read("{\"text\":\"a\"}\nplain words\n", name: "in.jsonl")) { e in
            let s = "\(e)"
            XCTAssertTrue(s.hasPrefix("in.jsonl: line 2:"), s)
        }
        XCTAssertThrowsError(try read("{\"text\":\"a\"}\n{\"score\":1}\n", name: "in.jsonl")) { e in
            XCTAssertEqual("\(e)", "in.jsonl: line 2: the record has no \"text\"")
        }
        XCTAssertThrowsError(try read("{\"text\":\"a\"}\n[1]\n", name: "x")) { e in
            XCTAssertEqual("\(e)", "x: line 2: expected a JSON object, found an array")
        }
    }

    func testInvalidUTF8IsAnErrorNamingTheLine() throws {
        let (r, w) = try makePipe()
        defer { close(r) }
        var bytes = Array("ok\n".utf8)
        bytes += [0x61, 0xFF, 0x0A]
        _ = bytes.withUnsafeBytes { write(w, $0.baseAddress, $0.count) }
        close(w)
        let reader = RecordReader(fd: r, name: "bad.txt")
        XCTAssertEqual(try reader.next()?.text, "ok")
        XCTAssertThrowsError(try reader.next()) { e in XCTAssertEqual("\(e)", "bad.txt: line 2: invalid UTF-8") }
    }

    func testOnlyBlankLinesAndEmptyStream() throws {
        let (m1, r1) = try read("")
        XCTAssertEqual(m1, .plain)
        XCTAssertTrue(r1.isEmpty)
        let (m2, r2) = try read("\n\n")
        XCTAssertEqual(m2, .plain)
        XCTAssertEqual(r2.map { $0.source?.line }, [1, 2])
    }

    func testReaderDeliversFirstRecordBeforeTheWriterEnds() throws {
        let (r, w) = try makePipe()
        defer { close(r) }
        writeAll(w, "{\"text\":\"first\"}\n")
        // The write end stays open: the reader must not wait for more.
        let reader = RecordReader(fd: r, name: "fifo")
        XCTAssertEqual(try reader.next()?.text, "first")
        writeAll(w, "{\"text\":\"second\"}\n")
        XCTAssertEqual(try reader.next()?.text, "second")
        close(w)
        XCTAssertNil(try reader.next())
    }

    func testReaderOpensFilesAndRefusesDirectories() throws {
        let dir = try makeTempDir(self)
        try writeFile(dir + "/a.txt", "one\ntwo\n")
        let reader = try RecordReader(input: .file(dir + "/a.txt"))
        XCTAssertEqual(try reader.readAll().map(\.text), ["one", "two"])
        XCTAssertThrowsError(try RecordReader(input: .failed(name: "x", error: RecurError(.io, "gone", file: "x")))) { e in
            XCTAssertEqual("\(e)", "x: gone")
        }
        XCTAssertThrowsError(try RecordReader(path: dir)) { e in XCTAssertTrue("\(e)".contains("is a directory")) }
        XCTAssertThrowsError(try RecordReader(path: dir + "/missing.txt")) { e in
            XCTAssertTrue("\(e)".hasPrefix(dir + "/missing.txt: cannot open"), "\(e)")
        }
    }

    func testWriterFlushesEachLineIntoAPipe() throws {
        let (r, w) = try makePipe()
        defer { close(r); close(w) }
        let writer = RecordWriter(fd: w, name: "pipe", format: .jsonl)
        let lines = LineReader(fd: r, name: "pipe")
        let recs = (0..<3).map { StageRecord(source: StageSource(file: "f", line: $0 + 1), text: "line \($0)\nwith break", score: -Double($0)) }
        for rec in recs {
            try writer.write(rec)
            // Read back before the write end is closed: it must already be there.
            let got = try XCTUnwrap(lines.next())
            XCTAssertEqual(got, rec.jsonLine)
            XCTAssertEqual(try StageRecord(jsonLine: got), rec)
        }
        XCTAssertEqual(writer.linesWritten, 3)
        let plain = RecordWriter(fd: w, name: "pipe", format: .plain)
        try plain.write(recs[0])
        XCTAssertEqual(try lines.next(), "line 0 with break")
    }

    func testWriterTurnsAClosedPipeIntoOutputClosed() throws {
        // Put the disposition back afterwards: SIG_IGN is inherited by any
        // process a later test in this binary spawns.
        let previous = signal(SIGPIPE, SIG_DFL)
        defer { signal(SIGPIPE, previous) }
        UnixManners.ignoreSIGPIPE()
        let (r, w) = try makePipe()
        close(r)
        defer { close(w) }
        let writer = RecordWriter(fd: w, format: .plain)
        XCTAssertThrowsError(try writer.write(StageRecord(text: "nobody reads this"))) { e in
            XCTAssertTrue(e is OutputClosed, "\(e)")
            XCTAssertEqual(ExitStatus.forError(e), .outputClosed)
        }
        let bad = RecordWriter(fd: -1, name: "<stdout>")
        XCTAssertThrowsError(try bad.writeLine("x")) { e in XCTAssertTrue("\(e)".hasPrefix("<stdout>: cannot write"), "\(e)") }
    }
}
