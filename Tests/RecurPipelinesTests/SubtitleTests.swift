import Foundation
import RecurCore
@testable import RecurPipelines
import XCTest

final class SubtitleTests: XCTestCase {
    let srt = """
    1
    00:00:01,000 --> 00:00:04,250
    Hello there.
    How are you?

    2
    00:00:05,5 --> 00:01:02,075
    Fine, thanks.

    3
    01:00:00,000 --> 01:00:00,000

    """

    func testSRTParse() throws {
        let d = try SubtitleDocument.parse(srt, file: "a.srt")
        XCTAssertEqual(d.format, .srt)
        XCTAssertEqual(d.cues.count, 3)
        XCTAssertEqual(d.cues[0], SubtitleCue(identifier: "1", startMillis: 1000, endMillis: 4250, text: "Hello there.\nHow are you?"))
        XCTAssertEqual(d.cues[1].startMillis, 5500)
        XCTAssertEqual(d.cues[1].endMillis, 62075)
        XCTAssertEqual(d.cues[2].startMillis, 3_600_000)
        XCTAssertEqual(d.cues[2].text, "")
    }

    func testSRTWriteRoundTrip() throws {
        let d = try SubtitleDocument.parse(srt, file: "a.srt")
        let text = d.text()
        XCTAssertTrue(text.hasPrefix("1\n00:00:01,000 --> 00:00:04,250\nHello there.\nHow are you?\n\n2\n00:00:05,500 --> 00:01:02,075\n"), text)
        let back = try SubtitleDocument.parse(text, file: "b.srt")
        XCTAssertEqual(back, d)
        XCTAssertEqual(back.text(), text)
    }

    func testBOMAndCRLFAndCRAndSpaceOnlyBlankLines() throws {
        let crlf = "\u{FEFF}" + srt.replacingOccurrences(of: "\n", with: "\r\n").replacingOccurrences(of: "\r\n\r\n2", with: "\r\n   \r\n2")
        XCTAssertEqual(try SubtitleDocument.parse(crlf, file: "w.srt"), try SubtitleDocument.parse(srt, file: "a.srt"))
        let cr = srt.replacingOccurrences(of: "\n", with: "\r")
        XCTAssertEqual(try SubtitleDocument.parse(cr, file: "m.srt").cues, try SubtitleDocument.parse(srt, file: "a.srt").cues)
    }

    let vtt = """
    WEBVTT - A talk
    Kind: captions
    Language: en

    STYLE
    ::cue { color: yellow }

    NOTE this is a comment
    that spans two lines

    intro
    00:01.000 --> 00:04.000 align:start position:10%
    <v Roger>Hello</v> there.

    00:00:05.000 --> 00:00:06.500
    Second cue
    on two lines

    2
    10:00:00.001 --> 10:00:00.002 line:0
    Third
    """

    func testVTTParseKeepsHeaderNotesIdentifiersAndSettings() throws {
        let d = try SubtitleDocument.parse(vtt, file: "a.vtt")
        XCTAssertEqual(d.format, .vtt)
        XCTAssertEqual(d.header, "WEBVTT - A talk\nKind: captions\nLanguage: en")
        XCTAssertEqual(d.blocks.count, 5)
        XCTAssertEqual(d.blocks[0], .other("STYLE\n::cue { color: yellow }"))
        XCTAssertEqual(d.blocks[1], .other("NOTE this is a comment\nthat spans two lines"))
        let c = d.cues
        XCTAssertEqual(c.count, 3)
        XCTAssertEqual(c[0], SubtitleCue(identifier: "intro", startMillis: 1000, endMillis: 4000,
                                         settings: "align:start position:10%", text: "<v Roger>Hello</v> there."))
        XCTAssertEqual(c[1].text, "Second cue\non two lines")
        XCTAssertNil(c[1].identifier)
        XCTAssertEqual(c[2].startMillis, 36_000_001)
        XCTAssertEqual(c[2].settings, "line:0")
    }

    func testVTTWriteRoundTrip() throws {
        let d = try SubtitleDocument.parse(vtt, file: "a.vtt")
        let text = d.text()
        XCTAssertTrue(text.hasPrefix("WEBVTT - A talk\nKind: captions\nLanguage: en\n\nSTYLE\n"), text)
        XCTAssertTrue(text.contains("intro\n00:00:01.000 --> 00:00:04.000 align:start position:10%\n<v Roger>Hello</v> there.\n\n"), text)
        let back = try SubtitleDocument.parse(text, file: "b.vtt")
        XCTAssertEqual(back, d)
        XCTAssertEqual(back.text(), text)
    }

    func testConvertBetweenFormatsKeepsTimes() throws {
        let v = try SubtitleDocument.parse(vtt, file: "a.vtt")
        let asSRT = v.text(as: .srt)
        XCTAssertFalse(asSRT.contains("align:"))
        XCTAssertFalse(asSRT.contains("NOTE"))
        let s = try SubtitleDocument.parse(asSRT, file: "a.srt")
        XCTAssertEqual(s.cues.map(\.startMillis), v.cues.map(\.startMillis))
        XCTAssertEqual(s.cues.map(\.endMillis), v.cues.map(\.endMillis))
        XCTAssertEqual(s.cues.map(\.text), v.cues.map(\.text))
        XCTAssertTrue(try SubtitleDocument.parse(srt, file: "a.srt").text(as: .vtt).hasPrefix("WEBVTT\n\n1\n00:00:01.000 --> "))
    }

    func testTranslatedTextsWrittenBackWithTheSameTimes() throws {
        let dir = try makeTempDir(self)
        try writeFile(dir + "/in.srt", srt)
        let d = try SubtitleDocument.read(path: dir + "/in.srt")
        let records = d.records(file: dir + "/in.srt")
        XCTAssertEqual(records[1].source, StageSource(file: dir + "/in.srt", cue: 2, start: 5.5, end: 62.075))
        XCTAssertEqual(records[1].start, 5.5)
        // Records through JSON Lines and back give the same cues.
        let piped = try records.map { try StageRecord(jsonLine: $0.jsonLine) }
        XCTAssertEqual(try piped.map { try SubtitleCue(record: $0) }.map(\.startMillis), d.cues.map(\.startMillis))
        XCTAssertEqual(try piped.map { try SubtitleCue(record: $0) }.map(\.endMillis), d.cues.map(\.endMillis))
        // A translation with a blank line and an arrow in it still writes a valid file.
        let fr = try d.replacingTexts(["Bonjour.\n\nComment ça va ?", "Bien --> merci.", ""])
        try fr.write(to: dir + "/out.srt")
        let back = try SubtitleDocument.read(path: dir + "/out.srt")
        XCTAssertEqual(back.cues.map(\.text), ["Bonjour.\nComment ça va ?", "Bien -> merci.", ""])
        XCTAssertEqual(back.cues.map(\.startMillis), d.cues.map(\.startMillis))
        XCTAssertEqual(back.cues.map(\.endMillis), d.cues.map(\.endMillis))
        XCTAssertThrowsError(try d.replacingTexts(["one"]))
        // Timed records (as transcribe writes them) become a subtitle file.
        let fromRecords = try SubtitleDocument(format: .vtt, records: piped)
        XCTAssertEqual(fromRecords.cues.map(\.endMillis), d.cues.map(\.endMillis))
        XCTAssertTrue(fromRecords.text().hasPrefix("WEBVTT\n\n00:00:01.000 --> 00:00:04.250\nHello there.\nHow are you?\n\n"))
        XCTAssertThrowsError(try SubtitleCue(record: StageRecord(source: StageSource(file: "x.txt", line: 2), text: "a"))) { e in
            XCTAssertTrue("\(e)".hasPrefix("x.txt line 2: the record has no start"), "\(e)")
        }
    }

    func testFormatFromExtensionOrContent() throws {
        XCTAssertEqual(SubtitleFormat.forPath("a/b.VTT"), .vtt)
        XCTAssertEqual(SubtitleFormat.forPath("b.srt"), .srt)
        XCTAssertNil(SubtitleFormat.forPath("b.txt"))
        XCTAssertEqual(try SubtitleDocument.parse("WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n", file: "x").format, .vtt)
        XCTAssertEqual(SubtitleDocument.time(3_723_004, .srt), "01:02:03,004")
        XCTAssertEqual(SubtitleDocument.time(100 * 3_600_000, .vtt), "100:00:00.000")
    }

    /// Each malformed file gives an error naming the file and the line.
    func testMalformedSubtitlesNameFileAndLine() {
        let cases: [(String, SubtitleFormat, String)] = [
            ("1\n00:00:01,000 -> 00:00:02,000\nhi\n", .srt, "bad.srt: line 2: expected a time line like 00:00:01,000 --> 00:00:04,000, found '00:00:01,000 -> 00:00:02,000'"),
            ("1\n00:00:01,000 --> 00:00:02,000\nhi\n\n2\n00:00:03,000 --> 00:00:0x,000\n", .srt, "bad.srt: line 6: bad end time '00:00:0x,000'"),
            ("1\n00:00:05,000 --> 00:00:02,000\nhi\n", .srt, "bad.srt: line 2: the cue ends (00:00:02,000) before it starts"),
            ("Hello\nworld\n", .srt, "bad.srt: line 1: expected a cue number or a time line like 00:00:01,000 --> 00:00:04,000, found 'Hello'"),
            ("1\n00:00:01,000 --> 00:00:02,000\nhi\n\n7\n", .srt, "bad.srt: line 5: expected a time line like 00:00:01,000 --> 00:00:04,000, found nothing after '7'"),
            ("1\n00:61:01,000 --> 00:62:02,000\n", .srt, "bad.srt: line 2: bad start time '00:61:01,000'"),
            ("1\n00:00:01,+5 --> 00:00:02,000\n", .srt, "bad.srt: line 2: bad start time '00:00:01,+5'"),
            ("WEBVT\n\n00:01.000 --> 00:02.000\nhi\n", .vtt, "bad.srt: line 1: a WebVTT file must begin with WEBVTT"),
            ("WEBVTTX\n", .vtt, "bad.srt: line 1: a WebVTT file must begin with WEBVTT"),
            ("WEBVTT\n00:01.000 --> 00:02.000\nhi\n", .vtt, "bad.srt: line 2: a cue must be separated from the WEBVTT header by a blank line"),
            ("WEBVTT\n\nid\nno time here\n", .vtt, "bad.srt: line 4: expected a time line like 00:00:01.000 --> 00:00:04.000, found 'no time here'"),
            ("WEBVTT\n\n00:01.000 --> 00:02.000 --> 00:03.000\n", .vtt, "bad.srt: line 3: more than one --> in a time line"),
        ]
        for (text, format, message) in cases {
            XCTAssertThrowsError(try SubtitleDocument.parse(text, format: format, file: "bad.srt")) { e in
                XCTAssertEqual("\(e)", message)
            }
        }
    }

    func testReadErrorsNameTheFile() throws {
        let dir = try makeTempDir(self)
        XCTAssertThrowsError(try SubtitleDocument.read(path: dir + "/none.srt")) { e in
            XCTAssertTrue("\(e)".hasPrefix(dir + "/none.srt: cannot read"), "\(e)")
        }
        try Data([0x31, 0x0A, 0xFF, 0xFE]).write(to: URL(fileURLWithPath: dir + "/bin.srt"))
        XCTAssertThrowsError(try SubtitleDocument.read(path: dir + "/bin.srt")) { e in
            XCTAssertEqual("\(e)", dir + "/bin.srt: not valid UTF-8 text")
        }
    }
}
