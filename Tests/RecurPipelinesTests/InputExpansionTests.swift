import Foundation
import RecurCore
@testable import RecurPipelines
import XCTest

final class InputExpansionTests: XCTestCase {
    /// root/
    ///   a.wav  b.WAV  notes.txt  .hidden.wav
    ///   sub/c.wav  sub/deeper/d.flac  sub/deeper/e.txt  sub/.git/f.wav
    ///   empty/readme.md
    ///   lists/list.txt  lists/rel/g.wav
    private func makeTree() throws -> String {
        let root = try makeTempDir(self)
        for f in ["a.wav", "b.WAV", "notes.txt", ".hidden.wav", "sub/c.wav", "sub/deeper/d.flac", "sub/deeper/e.txt",
                  "sub/.git/f.wav", "empty/readme.md", "lists/rel/g.wav", "odd[1].wav"] {
            try writeFile(root + "/" + f)
        }
        return root
    }

    private func files(_ items: [InputItem]) -> [String] { items.map { if case .file(let p) = $0 { p } else { "!" + $0.name } } }

    func testDirectoriesRecurseSortedFilteredByExtension() throws {
        let root = try makeTree()
        let items = InputExpander(extensions: ["wav", ".FLAC"]).expand([root])
        XCTAssertEqual(files(items), ["a.wav", "b.WAV", "odd[1].wav", "sub/c.wav", "sub/deeper/d.flac", "lists/rel/g.wav"]
            .map { root + "/" + $0 }.sorted(by: InputExpander.byteOrder))
        // No filter: every visible file.
        XCTAssertEqual(InputExpander().expand([root + "/sub"]).count, 3)
    }

    func testGlobsExpandedWhenTheShellDidNot() throws {
        let root = try makeTree()
        let items = InputExpander(extensions: ["wav"]).expand([root + "/*.wav", root + "/su?"])
        XCTAssertEqual(files(items), [root + "/a.wav", root + "/odd[1].wav", root + "/sub/c.wav"])
        // Case-sensitive pattern, byte order; a literal file with glob characters is taken as is.
        XCTAssertEqual(files(InputExpander().expand([root + "/[ab].*"])), [root + "/a.wav", root + "/b.WAV"])
        XCTAssertEqual(files(InputExpander().expand([root + "/odd[1].wav"])), [root + "/odd[1].wav"])
        let none = InputExpander().expand([root + "/*.mp3"])
        guard case .failed(let name, let e) = none.first, none.count == 1 else { return XCTFail("\(none)") }
        XCTAssertEqual(name, root + "/*.mp3")
        XCTAssertEqual(e.description, root + "/*.mp3: no file matches this pattern")
    }

    func testListsResolveRelativeToTheirFolderAndSkipComments() throws {
        let root = try makeTree()
        try writeFile(root + "/lists/list.txt", """
        # inputs for the demo
        rel/g.wav

          ../a.wav   
        \(root)/sub/c.wav
        missing.wav
        ../*.WAV
        # the end
        """)
        let items = InputExpander(extensions: ["wav"]).expand(["@" + root + "/lists/list.txt"])
        XCTAssertEqual(files(items), [root + "/lists/rel/g.wav", root + "/lists/../a.wav", root + "/sub/c.wav",
                                      "!" + root + "/lists/missing.wav", root + "/lists/../b.WAV"])
        guard case .failed(_, let e) = items[3] else { return XCTFail() }
        XCTAssertEqual(e.description, root + "/lists/missing.wav: no such file or directory (listed in \(root)/lists/list.txt line 6)")
    }

    func testMissingInputsStayInOrderWithTheOthers() throws {
        let root = try makeTree()
        let args = [root + "/a.wav", root + "/nope.wav", "-", root + "/empty", "@" + root + "/no-list.txt", root + "/notes.txt", "-"]
        let items = InputExpander(extensions: ["wav"]).expand(args)
        XCTAssertEqual(items.map(\.name), [root + "/a.wav", root + "/nope.wav", "<stdin>", root + "/empty",
                                           "@" + root + "/no-list.txt", root + "/notes.txt", "<stdin>"])
        XCTAssertEqual(items[0], .file(root + "/a.wav"))
        XCTAssertEqual(items[2], .stdin)
        // An explicitly named file is taken whatever its extension.
        XCTAssertEqual(items[5], .file(root + "/notes.txt"))
        let errors = items.compactMap { if case .failed(_, let e) = $0 { e.description } else { nil } }
        XCTAssertEqual(errors.count, 4)
        XCTAssertEqual(errors[0], root + "/nope.wav: no such file or directory")
        XCTAssertEqual(errors[1], root + "/empty: no files with extension .wav in this directory")
        XCTAssertTrue(errors[2].hasPrefix(root + "/no-list.txt: cannot open"), errors[2])
        XCTAssertTrue(errors[3].contains("more than once"))
        XCTAssertThrowsError(try items[1].path())
        XCTAssertEqual(try items[2].path(), "-")
    }

    func testSymlinkLoopsAreVisitedOnce() throws {
        let root = try makeTempDir(self)
        try writeFile(root + "/d/x.wav")
        try FileManager.default.createSymbolicLink(atPath: root + "/d/loop", withDestinationPath: root + "/d")
        XCTAssertEqual(files(InputExpander(extensions: ["wav"]).expand([root + "/d"])), [root + "/d/x.wav"])
    }
}
