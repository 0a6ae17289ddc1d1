import RecurModels
@testable import RecurTraining
import XCTest

/// The validation split of media lists must not depend on how the data root is spelled.
final class SplitKeyTests: XCTestCase {
    func testMediaSourcesAreKeyedBelowTheirListsFolder() throws {
        let spec = TaskDataSpec(task: .caption, train: ["list.tsv"], format: .captions)
        var withKey = spec
        withKey.validKey = "source"
        let key = try TaskPreparation.splitKey(withKey)
        let relative = Example(source: "runs/data/shapes/images/00001.png", target: "a red circle", id: "list.tsv:2",
                               file: "runs/data/shapes/list.tsv", line: 2)
        let absolute = Example(source: "/work/runs/data/shapes/images/00001.png", target: "a red circle", id: "list.tsv:2",
                               file: "/work/runs/data/shapes/list.tsv", line: 2)
        XCTAssertEqual(try key.key(relative), "images/00001.png")
        XCTAssertEqual(try key.key(absolute), "images/00001.png")
        // Elsewhere (outside the list's folder): the path as it is.
        let outside = Example(source: "/elsewhere/x.png", target: "t", id: "i", file: "/work/list.tsv", line: 1)
        XCTAssertEqual(try key.key(outside), "/elsewhere/x.png")
        // Text sources keep their text as the key.
        var text = TaskDataSpec(task: .translate, train: ["p.tsv"], format: .tsv)
        text.validKey = "source"
        let e = Example(source: "hello there", target: "bonjour", id: "p.tsv:1", file: "/a/p.tsv", line: 1)
        XCTAssertEqual(try TaskPreparation.splitKey(text).key(e), "hello there")
    }
}
