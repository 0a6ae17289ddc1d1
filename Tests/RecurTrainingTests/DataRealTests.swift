import Foundation
import RecurCore
import RecurTestSupport
import RecurTraining
import XCTest

/// The readers on the real data in ../shared/data (never copied into the repository).
final class DataRealTests: XCTestCase {
    func testEngFraPairsReadWithoutError() throws {
        guard let root = RecurBinary.sharedData else { throw XCTSkip("../shared/data is not beside the checkout") }
        let path = root.appendingPathComponent("eng-fra/pairs.tsv").path
        let r = try ParallelText.read(path)  // bad lines are fatal by default
        print(r.report)
        XCTAssertEqual(r.report.lines, 140_787)
        XCTAssertEqual(r.report.examples, 140_787)
        XCTAssertEqual(r.report.badLines, 0)
        XCTAssertEqual(r.report.blankLines, 0)
        XCTAssertEqual(r.examples.count, 140_787)
        XCTAssertTrue(r.examples.allSatisfy { !$0.source.isEmpty && !$0.target.isEmpty })
        // Many English sentences have several translations: grouping by source
        // keeps them on one side of the split.
        let split = try ValidationSplit(.fraction(0.05), seed: 1, key: .source).apply(r.examples)
        print(split.summary)
        XCTAssertEqual(split.train.count + split.validation.count, 140_787)
        XCTAssertEqual(split.trainGroups + split.validationGroups, 97_663)
    }

    func testCOCOCaptionsGroupFiveCaptionsPerImage() throws {
        guard let root = RecurBinary.sharedData else { throw XCTSkip("../shared/data is not beside the checkout") }
        let dir = root.appendingPathComponent("captions")
        let r = try CaptionList.read(dir.appendingPathComponent("captions.tsv").path,
                                     dataRoot: dir.appendingPathComponent("images").path)
        print(r.report)
        XCTAssertEqual(r.examples.count, 955)
        let groups = CaptionList.groups(r.examples)
        XCTAssertEqual(groups.count, 191)
        XCTAssertTrue(groups.allSatisfy { $0.captions.count == 5 })
    }

    func testFSDDRecordingsHoldOutOneSpeaker() throws {
        guard let root = RecurBinary.sharedData else { throw XCTSkip("../shared/data is not beside the checkout") }
        let pattern = try FileNamePattern("{digit}_{speaker}_{index}.wav")
        let r = try SpeechManifest.fromDirectory(root.appendingPathComponent("fsdd/recordings").path, pattern: pattern) { $0["digit"]! }
        print(r.report)
        XCTAssertEqual(r.examples.count, 2500)
        let split = try ValidationSplit(.count(1), seed: 0, key: .fileName(pattern, field: "speaker")).apply(r.examples)
        print(split.summary)
        XCTAssertEqual(split.validation.count, 500)
        XCTAssertEqual(split.trainGroups, 4)
    }
}
