import Foundation
@testable import RecurCore
import XCTest

/// The shared JSON reader and writer (also used by the safetensors header and
/// the pipeline records, whose own tests cover their error wording).
final class JSONValueTests: XCTestCase {
    private func reason(_ text: String, maxDepth: Int = JSONValue.defaultMaxDepth) -> String {
        do { _ = try JSONValue.parse(text, maxDepth: maxDepth); return "no error" } catch { return "\(error)" }
    }

    func testKeepsKeyOrderAndNumberText() throws {
        let text = #"{"b":1,"a":[-0.50e+3,true,null,"x\u00e9\ud83d\ude00"],"c":{}}"#
        let v = try JSONValue.parse(" \n" + text + "\t")
        XCTAssertEqual(v.objectValue?.keys, ["b", "a", "c"])
        XCTAssertEqual(v.objectValue?["a"]?.arrayValue?.first, .number("-0.50e+3"))
        XCTAssertEqual(v.objectValue?["a"]?.arrayValue?.last, .string("xé😀"))
        XCTAssertEqual(v.compactText, #"{"b":1,"a":[-0.50e+3,true,null,"xé😀"],"c":{}}"#)
    }

    func testRejectsWhatRFC8259Rejects() {
        let cases: [(String, String)] = [
            ("", "column 1: unexpected end"),
            (#"{"a":1} x"#, "column 9: unexpected bytes after"),
            (#"{"a":1,"a":2}"#, "duplicate key 'a'"),
            (#"{"a":01}"#, "leading zero"),
            ("[1.]", "bad number"),
            ("-", "bad number"),
            (#""\q""#, "bad escape"),
            (#""\ud800""#, "lone surrogate"),
            (#""\udc00""#, "lone surrogate"),
            (#""\ud800\u0041""#, "lone surrogate"),
            (#""\u12g4""#, "bad \\u escape"),
            ("\"tab\there\"", "control character"),
            (#""open"#, "unterminated string"),
            ("tru", "unexpected character"),
            ("[1 2]", "expected ',' or ']'"),
            (#"{"a" 1}"#, "expected ':'"),
            (#"{"a":1,}"#, "expected a key"),
        ]
        for (text, expected) in cases {
            let got = reason(text)
            XCTAssertTrue(got.contains(expected) && got.contains("invalid JSON at column"), "\(text): \(got)")
        }
        let badUTF8: [UInt8] = [UInt8(ascii: "\""), 0xC3, 0x28, UInt8(ascii: "\"")]
        XCTAssertThrowsError(try JSONValue.parse(utf8: badUTF8)) { XCTAssertTrue("\($0)".contains("invalid UTF-8"), "\($0)") }
    }

    func testDepthLimitIsAnOption() throws {
        let deep = { (n: Int) in String(repeating: "[", count: n) + String(repeating: "]", count: n) }
        XCTAssertNoThrow(try JSONValue.parse(deep(JSONValue.defaultMaxDepth)))
        XCTAssertTrue(reason(deep(JSONValue.defaultMaxDepth + 1)).contains("nesting too deep"))
        XCTAssertNoThrow(try JSONValue.parse(deep(3), maxDepth: 3))
        XCTAssertTrue(reason(deep(4), maxDepth: 3).contains("nesting too deep"))
        XCTAssertTrue(reason(String(repeating: "[", count: 100_000)).contains("nesting too deep"))
    }

    func testStringEscapingStyles() {
        let s = "q\"b\\n\nt\tc\u{01}d\u{7F}l\u{2028}é"
        var compact = "", serde = ""
        JSONValue.writeString(s, to: &compact)
        JSONValue.writeString(s, to: &serde, escaping: .serde)
        XCTAssertEqual(compact, #""q\"b\\n\nt\tc\u0001d\u007fl\u2028é""#)
        XCTAssertEqual(serde, "\"q\\\"b\\\\n\\nt\\tc\\u0001d\u{7F}l\u{2028}é\"")
        XCTAssertEqual(try JSONValue.parse(compact), .string(s))
        XCTAssertEqual(try JSONValue.parse(serde), .string(s))
    }

    /// The safetensors writer escapes metadata the serde_json way: DEL and
    /// U+2028 stay raw, control characters become lowercase `\u00XX`.
    func testSafeTensorsHeaderUsesSerdeEscaping() throws {
        let w = SafeTensorsWriter(metadata: ["k": "a\u{7F}b\u{2028}c\u{1F}\"d"])
        let bytes = [UInt8](w.serialized())
        let header = String(decoding: bytes[8...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        XCTAssertEqual(header, "{\"__metadata__\":{\"k\":\"a\u{7F}b\u{2028}c\\u001f\\\"d\"}}")
        XCTAssertEqual(try SafeTensorsFile(data: Data(bytes), path: "mem").metadata, ["k": "a\u{7F}b\u{2028}c\u{1F}\"d"])
    }
}
