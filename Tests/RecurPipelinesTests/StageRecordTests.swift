import Foundation
import RecurCore
@testable import RecurPipelines
import XCTest

final class StageRecordTests: XCTestCase {
    func testFullRecordRoundTripKeepsEverythingInOrder() throws {
        let line = #"{"source":{"file":"talk.wav","start":1.25,"end":3.5,"channel":2},"stage":"transcribe","model":"speech-en","#
            + #""text":"hello world","score":-1.5,"nbest":[{"text":"hello world","score":-1.5},{"text":"yellow world","score":-2.75,"rank":2}],"#
            + #""start":1.25,"end":3.5,"speaker":"A","lang":{"code":"en","p":0.98},"tags":[1,2.50,null,true,"x"]}"#
        let r = try StageRecord(jsonLine: line)
        XCTAssertEqual(r.source?.file, "talk.wav")
        XCTAssertEqual(r.source?.start, 1.25)
        XCTAssertEqual(r.source?.extra["channel"], .number("2"))
        XCTAssertEqual(r.text, "hello world")
        XCTAssertEqual(r.score, -1.5)
        XCTAssertEqual(r.nbest?.count, 2)
        XCTAssertEqual(r.nbest?[1].extra["rank"], .number("2"))
        XCTAssertEqual(r.start, 1.25)
        XCTAssertEqual(r.end, 3.5)
        XCTAssertEqual(r.extra.keys, ["speaker", "lang", "tags"])
        // Written back: byte for byte the same (number literals kept in extras).
        XCTAssertEqual(r.jsonLine, line)
        XCTAssertEqual(try StageRecord(jsonLine: r.jsonLine), r)
    }

    func testKeyOrderIsCanonicalWhateverTheInputOrder() throws {
        let r = try StageRecord(jsonLine: #"{"zeta":1,"text":"a","model":"m","alpha":2,"stage":"s","source":{"line":3,"file":"f"}}"#)
        XCTAssertEqual(r.jsonLine, #"{"source":{"file":"f","line":3},"stage":"s","model":"m","text":"a","zeta":1,"alpha":2}"#)
        // Stable: writing twice gives the same text.
        XCTAssertEqual(try StageRecord(jsonLine: r.jsonLine).jsonLine, r.jsonLine)
    }

    func testNullKnownKeysAreKept() throws {
        let r = try StageRecord(jsonLine: #"{"text":"a","score":null,"model":null}"#)
        XCTAssertNil(r.score)
        XCTAssertNil(r.model)
        XCTAssertEqual(r.jsonLine, #"{"text":"a","score":null,"model":null}"#)
    }

    func testStringsEscapeAndStayOneLine() throws {
        let text = "line\none \"quoted\" back\\slash\ttab \u{01} é 日本 🎉 \u{2028}"
        let r = StageRecord(text: text)
        XCTAssertFalse(r.jsonLine.contains("\n"))
        XCTAssertEqual(try StageRecord(jsonLine: r.jsonLine).text, text)
        // Foundation's decoder agrees with our writer.
        let viaFoundation = try JSONDecoder().decode(StageRecord.self, from: Data(r.jsonLine.utf8))
        XCTAssertEqual(viaFoundation.text, text)
        // Escapes we read: \/ and surrogate pairs.
        XCTAssertEqual(try StageRecord(jsonLine: #"{"text":"a\/b \ud83c\udf89 \u00e9"}"#).text, "a/b 🎉 é")
    }

    func testTimesSurviveExactly() throws {
        for t in [0.0, 0.001, 1.2, 3.14159, 59.999, 3600.5, 12345.678] {
            let r = StageRecord(source: StageSource(file: "a.wav", start: t, end: t + 0.1), text: "x", start: t, end: t + 0.1)
            let back = try StageRecord(jsonLine: r.jsonLine)
            XCTAssertEqual(back.start, t)
            XCTAssertEqual(back.end, t + 0.1)
            XCTAssertEqual(back.source, r.source)
        }
    }

    func testCodableThroughFoundation() throws {
        let r = StageRecord(source: StageSource(file: "x.txt", line: 4), stage: "translate", model: "en-fr", text: "bonjour",
                            score: -0.5, nbest: [Hypothesis(text: "bonjour", score: -0.5)],
                            extra: JSONObject([("custom", .array([.bool(true), .null]))]))
        let data = try JSONEncoder().encode(r)
        let back = try JSONDecoder().decode(StageRecord.self, from: data)
        XCTAssertEqual(back, r)
        XCTAssertThrowsError(try JSONDecoder().decode(StageRecord.self, from: Data("[1]".utf8)))
    }

    func testAdvancedKeepsSourceTimesAndHistory() throws {
        let t = StageRecord(source: StageSource(file: "talk.wav", start: 0.5, end: 2), stage: "transcribe", model: "speech-en",
                            text: "hello", score: -1, start: 0.5, end: 2, extra: JSONObject([("speaker", .string("A"))]))
        let fr = t.advanced(stage: "translate", model: "en-fr", text: "bonjour", score: -2)
        XCTAssertEqual(fr.source, t.source)
        XCTAssertEqual(fr.start, 0.5)
        XCTAssertEqual(fr.end, 2)
        XCTAssertEqual(fr.text, "bonjour")
        XCTAssertEqual(fr.stage, "translate")
        XCTAssertEqual(fr.extra["speaker"], .string("A"))
        XCTAssertEqual(fr.history.count, 1)
        XCTAssertEqual(fr.history[0]["text"], .string("hello"))
        XCTAssertEqual(fr.history[0]["model"], .string("speech-en"))
        // Through JSON Lines and back, then one more stage: the same as in one process.
        let piped = try StageRecord(jsonLine: fr.jsonLine).advanced(stage: "translate", model: "fr-en", text: "hello")
        let direct = fr.advanced(stage: "translate", model: "fr-en", text: "hello")
        XCTAssertEqual(piped.jsonLine, direct.jsonLine)
        XCTAssertEqual(piped.history.count, 2)
        // A plain-text input record has no stage, so no history entry.
        XCTAssertTrue(StageRecord(text: "hi").advanced(stage: "translate", model: nil, text: "salut").history.isEmpty)
    }

    func testBadRecordsNameTheProblem() {
        func reason(_ line: String) -> String {
            do { _ = try StageRecord(jsonLine: line); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(reason(#"{"score":1}"#).contains("no \"text\""))
        XCTAssertTrue(reason(#"{"text":3}"#).contains("\"text\" must be a string"))
        XCTAssertTrue(reason(#"{"text":"a","score":"high"}"#).contains("\"score\" must be a number"))
        XCTAssertTrue(reason(#"{"text":"a","source":"f"}"#).contains("\"source\" must be an object"))
        XCTAssertTrue(reason(#"{"text":"a","nbest":[1]}"#).contains("\"nbest\" entry must be an object"))
        XCTAssertTrue(reason(#"{"text":"a","source":{"line":1.5}}"#).contains("\"line\" must be an integer"))
        XCTAssertTrue(reason(#"[1]"#).contains("JSON object"))
        XCTAssertTrue(reason(#"{"text":"a"} x"#).contains("column 14"))
        XCTAssertTrue(reason(#"{"text":"a","text":"b"}"#).contains("duplicate"))
    }

    func testJSONParserRejectsMalformedText() {
        for bad in ["", "{", "{\"a\"}", "{\"a\":}", "[1,]", "01", "1.", "-", "1e", "\"a", "\"\\x\"", "\"\\ud800\"",
                    "tru", "{\"a\":1,}", "\"tab\there\"", String(repeating: "[", count: 600) + String(repeating: "]", count: 600)] {
            XCTAssertThrowsError(try JSONValue.parse(bad), "accepted \(bad.prefix(20))")
        }
        XCTAssertEqual(try JSONValue.parse(" [1, -0.5e+3, \"x\", {}, []] "),
                       .array([.number("1"), .number("-0.5e+3"), .string("x"), .object(JSONObject()), .array([])]))
    }

    func testDoubleFormatting() {
        XCTAssertEqual(JSONValue(1.0), .number("1"))
        XCTAssertEqual(JSONValue(-0.0), .number("0"))
        XCTAssertEqual(JSONValue(0.1), .number("0.1"))
        XCTAssertEqual(JSONValue(1e-7).doubleValue, 1e-7)
        XCTAssertEqual(JSONValue(Double.nan), .null)
        XCTAssertEqual(JSONValue(-Double.infinity), .null)
    }
}
