import Foundation
import RecurCore
import RecurTraining
import XCTest

final class DataSplitTests: XCTestCase {
    func pairs(_ n: Int) -> [Example] {
        (0..<n).map { Example(source: "s\($0 % 97)", target: "t\($0)", id: "pairs.tsv:\($0 + 1)", file: "pairs.tsv", line: $0 + 1) }
    }

    /// FSDD-style names: digit, speaker, index.
    func fsdd() -> [Example] {
        var out: [Example] = []
        for speaker in ["george", "jackson", "lucas", "nicolas", "theo"] {
            for digit in 0..<10 {
                for index in 0..<3 {
                    let name = "\(digit)_\(speaker)_\(index).wav"
                    out.append(Example(source: "/data/fsdd/recordings/" + name, target: "\(digit)", id: name, file: "m.tsv", line: out.count + 2))
                }
            }
        }
        return out
    }

    func testSameSeedSameSplitAndTheSeedMatters() throws {
        let data = pairs(2000)
        let a = try ValidationSplit(.fraction(0.1), seed: 7).apply(data)
        let b = try ValidationSplit(.fraction(0.1), seed: 7).apply(data)
        let c = try ValidationSplit(.fraction(0.1), seed: 8).apply(data)
        XCTAssertEqual(a.validation, b.validation)
        XCTAssertEqual(a.train, b.train)
        XCTAssertNotEqual(a.validation.map(\.id), c.validation.map(\.id))
        XCTAssertEqual(a.train.count + a.validation.count, 2000)
        XCTAssertTrue((140...260).contains(a.validation.count), "\(a.validation.count) of 2000 at 10%")
        // Order within each part is the input order.
        XCTAssertEqual(a.train.map(\.line), a.train.map(\.line).sorted())
        XCTAssertEqual(Set(a.train.map(\.id)).intersection(a.validation.map(\.id)), [])
        // Count mode: exactly k examples (each its own group).
        let k = try ValidationSplit(.count(150), seed: 7).apply(data)
        XCTAssertEqual(k.validation.count, 150)
        XCTAssertEqual(k.validationGroups, 150)
        XCTAssertEqual(try ValidationSplit(.count(150), seed: 7).apply(data).validation, k.validation)
    }

    func testTheHashIsPinned() {
        // The assignment must not change between releases: a changed hash would
        // silently move examples between training and validation. The values
        // were computed independently in Python (FNV-1a 64, SplitMix64 finaliser).
        XCTAssertEqual(ValidationSplit.unit("pairs.tsv:1", seed: 0), ValidationSplit.unit("pairs.tsv:1", seed: 0))
        XCTAssertNotEqual(ValidationSplit.unit("pairs.tsv:1", seed: 0), ValidationSplit.unit("pairs.tsv:1", seed: 1))
        XCTAssertEqual(ValidationSplit.unit("pairs.tsv:1", seed: 0), 0.5978470171525156, accuracy: 1e-15)
        XCTAssertEqual(ValidationSplit.unit("george", seed: 42), 0.175366557810816, accuracy: 1e-15)
    }

    func testGroupingBySpeakerHoldsOutWholeSpeakers() throws {
        let data = fsdd()
        let pattern = try FileNamePattern("{digit}_{speaker}_{index}.wav")
        XCTAssertEqual(pattern.match("/x/7_jackson_32.wav"), ["digit": "7", "speaker": "jackson", "index": "32"])
        // Each field takes the shortest match that lets the rest match.
        XCTAssertEqual(pattern.match("7_jack_son_32.wav"), ["digit": "7", "speaker": "jack", "index": "son_32"])
        XCTAssertNil(pattern.match("7_jackson_32.mp3"))
        XCTAssertNil(pattern.match("7_jackson.wav"))
        let split = try ValidationSplit(.count(1), seed: 3, key: .fileName(pattern, field: "speaker")).apply(data)
        let speaker = { (e: Example) in pattern.match(e.source)!["speaker"]! }
        let heldOut = Set(split.validation.map(speaker))
        XCTAssertEqual(heldOut.count, 1)
        XCTAssertEqual(split.validation.count, 30)
        XCTAssertEqual(Set(split.train.map(speaker)).intersection(heldOut), [])
        XCTAssertEqual(split.validationGroups, 1)
        XCTAssertEqual(split.trainGroups, 4)
        // By fraction, speakers never straddle either.
        for seed in UInt64(0)..<20 {
            let f = try ValidationSplit(.fraction(0.4), seed: seed, key: .fileName(pattern, field: "speaker")).apply(data)
            XCTAssertEqual(Set(f.train.map(speaker)).intersection(f.validation.map(speaker)), [])
        }
        // A custom key: the FSDD README's index split (0-4 test) is a key, too.
        let byIndex = try ValidationSplit(.count(1), seed: 0, key: .custom { pattern.match($0.source)!["index"]! }).apply(data)
        XCTAssertEqual(Set(byIndex.validation.map { pattern.match($0.source)!["index"]! }).count, 1)
        // A name that does not match is an error naming the manifest and line.
        var bad = data
        bad[4].source = "/x/oops.wav"
        let msg = dataErrorMessage { _ = try ValidationSplit(.count(1), seed: 3, key: .fileName(pattern, field: "speaker")).apply(bad) }
        XCTAssertTrue(msg.hasPrefix("m.tsv: line 6: /x/oops.wav does not match"), msg)
    }

    func testBadPatternsAndAmounts() {
        XCTAssertThrowsError(try FileNamePattern("no fields.wav"))
        XCTAssertThrowsError(try FileNamePattern("{a}{b}.wav"))
        XCTAssertThrowsError(try FileNamePattern("{a.wav"))
        XCTAssertThrowsError(try FileNamePattern("{a}_{a}.wav"))
        XCTAssertThrowsError(try FileNamePattern("a}_{b}.wav"))
        let data = pairs(10)
        XCTAssertThrowsError(try ValidationSplit(.fraction(1.0), seed: 0).apply(data))
        XCTAssertThrowsError(try ValidationSplit(.fraction(-0.1), seed: 0).apply(data))
        XCTAssertThrowsError(try ValidationSplit(.count(10), seed: 0).apply(data))
        XCTAssertEqual(try ValidationSplit(.count(0), seed: 0).apply(data).train.count, 10)
    }

    func testCaptionsOfOneImageNeverStraddle() throws {
        var caps: [Example] = []
        for img in 0..<40 {
            for c in 0..<5 { caps.append(Example(source: "/img/\(img).png", target: "caption \(c)", id: "c:\(caps.count)", file: "c", line: caps.count + 1)) }
        }
        for seed in UInt64(0)..<10 {
            let s = try ValidationSplit(.fraction(0.2), seed: seed, key: .source).apply(caps)
            XCTAssertEqual(Set(s.train.map(\.source)).intersection(s.validation.map(\.source)), [])
            XCTAssertEqual(s.validation.count, 5 * s.validationGroups)
            XCTAssertEqual(CaptionList.groups(s.validation).map(\.captions.count), Array(repeating: 5, count: s.validationGroups))
        }
        let k = try ValidationSplit(.count(8), seed: 1, key: .source).apply(caps)
        XCTAssertEqual(k.validation.count, 40)
    }

    func testStableWhenTheDatasetGrowsByAppending() throws {
        let small = pairs(800), big = pairs(1000)
        for key in [SplitKey.id, .source] {
            // Fraction: every old example stays on its side.
            let a = try ValidationSplit(.fraction(0.15), seed: 11, key: key).apply(small)
            let b = try ValidationSplit(.fraction(0.15), seed: 11, key: key).apply(big)
            XCTAssertEqual(Array(b.validation.filter { $0.line <= 800 }), a.validation)
            XCTAssertEqual(Array(b.train.filter { $0.line <= 800 }), a.train)
        }
        // Count: nothing that was trained on moves into validation.
        let a = try ValidationSplit(.count(100), seed: 11).apply(small)
        let b = try ValidationSplit(.count(100), seed: 11).apply(big)
        XCTAssertEqual(b.validation.count, 100)
        let oldValidation = Set(a.validation.map(\.id))
        for e in b.validation where e.line <= 800 { XCTAssertTrue(oldValidation.contains(e.id), e.id) }
        XCTAssertTrue(Set(b.train.map(\.id)).isSuperset(of: a.train.map(\.id)))
    }

    func testLengthFilterCountsWhatItDrops() {
        let lengths = [Lengths(source: 0, target: 3), Lengths(source: 5, target: 5), Lengths(source: 11, target: 2),
                       Lengths(source: 3, target: 0), Lengths(source: 3, target: 9), Lengths(source: 10, target: 8),
                       Lengths(source: 20, target: 20)]
        let (kept, r) = LengthFilter(minSource: 1, maxSource: 10, minTarget: 1, maxTarget: 8).apply(lengths)
        XCTAssertEqual(kept, [1, 5])
        XCTAssertEqual(r, LengthFilterReport(total: 7, kept: 2, sourceTooShort: 1, sourceTooLong: 2, targetTooShort: 1, targetTooLong: 1))
        XCTAssertEqual(r.dropped, 5)
        XCTAssertTrue(r.description.contains("kept 2 of 7"), r.description)
        XCTAssertEqual(LengthFilter().apply(lengths).kept, Array(0..<7))
    }

    func testTokenizedDataWithAClosure() {
        let ex = [Example(source: "a b c", target: "x y", id: "1", file: "f", line: 1),
                  Example(source: "d", target: "z z z", id: "2", file: "f", line: 2)]
        let tok: (String) -> [Int32] = { s in s.split(separator: " ").map { Int32($0.unicodeScalars.first!.value) } }
        let t = TokenizedData(ex, source: tok, target: tok)
        XCTAssertEqual(t.lengths, [Lengths(source: 3, target: 2), Lengths(source: 1, target: 3)])
        XCTAssertEqual(t.source[0], [97, 98, 99])
        let media = TokenizedData(ex, source: nil, target: tok)
        XCTAssertEqual(media.lengths.map(\.source), [0, 0])
        XCTAssertEqual(t.subset([1]).target, [[122, 122, 122]])
    }
}
