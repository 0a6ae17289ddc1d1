import Foundation
import RecurCore
@testable import RecurPipelines
import XCTest

final class UnixMannersTests: XCTestCase {
    func testExitStatuses() {
        XCTAssertEqual(ExitStatus.forBatch(failed: 0).rawValue, 0)
        XCTAssertEqual(ExitStatus.forBatch(failed: 3).rawValue, 1)
        XCTAssertEqual(ExitStatus.forError(RecurError(.usage, "x")).rawValue, 2)
        XCTAssertEqual(ExitStatus.forError(RecurError(.io, "x")).rawValue, 1)
        XCTAssertEqual(ExitStatus.forError(OutputClosed()).rawValue, 141)
    }

    func testNoInputWithATerminalSaysHowToGiveInput() throws {
        XCTAssertEqual(try UnixManners.inputArguments(["a.txt"], command: "recur translate", stdinIsTerminal: true), ["a.txt"])
        XCTAssertEqual(try UnixManners.inputArguments([], command: "recur translate", stdinIsTerminal: false), ["-"])
        XCTAssertThrowsError(try UnixManners.inputArguments([], command: "recur translate", what: "text files",
                                                            example: "echo 'Hello.' | recur translate",
                                                            stdinIsTerminal: true)) { e in
            let err = e as? RecurError
            XCTAssertEqual(err?.kind, .usage)
            XCTAssertEqual(ExitStatus.forError(e), .usage)
            let s = "\(e)"
            XCTAssertTrue(s.hasPrefix("recur translate: no input."), s)
            XCTAssertTrue(s.contains("echo 'Hello.' | recur translate"), s)
            XCTAssertTrue(s.contains("Ctrl-D"), s)
        }
    }

    func testNoteWhenReadingFromATerminal() {
        var lines: [String] = []
        XCTAssertFalse(UnixManners.noteReadingFromTerminal(stdinIsTerminal: false, write: { lines.append($0) }))
        XCTAssertTrue(lines.isEmpty)
        XCTAssertTrue(UnixManners.noteReadingFromTerminal(stdinIsTerminal: true, write: { lines.append($0) }))
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines[0].contains("Ctrl-D"))
    }

    func testThreadsPerJob() {
        XCTAssertEqual(BatchRunner.threadsPerJob(jobs: 1, cores: 16), 16)
        XCTAssertEqual(BatchRunner.threadsPerJob(jobs: 4, cores: 16), 4)
        XCTAssertEqual(BatchRunner.threadsPerJob(jobs: 32, cores: 16), 1)
        XCTAssertEqual(BatchRunner.threadsPerJob(jobs: 0, cores: 2), 2)
    }

    func testFailureLine() {
        XCTAssertEqual(UnixManners.failureLine(name: "a.wav", error: RecurError(.format, "truncated")), "a.wav: truncated")
        XCTAssertEqual(UnixManners.failureLine(name: "a.wav", error: RecurError(.format, "truncated", file: "b.wav")), "b.wav: truncated")
    }

    func testProgressRendering() {
        XCTAssertEqual(ProgressLine.render(done: 0, total: 40, failed: 0, elapsed: 0, unit: "files"), "0/40 files")
        XCTAssertEqual(ProgressLine.render(done: 12, total: 40, failed: 1, elapsed: 4, unit: "files"), "12/40 files, 1 failed, 3.0/s, ETA 0:10")
        XCTAssertEqual(ProgressLine.render(done: 500, total: nil, failed: 0, elapsed: 2, unit: "lines"), "500 lines, 250/s")
        XCTAssertEqual(ProgressLine.render(done: 1, total: 7201, failed: 0, elapsed: 1, unit: "files"), "1/7201 files, 1.0/s, ETA 2:00:00")
        XCTAssertEqual(ProgressLine.duration(59.2), "1:00")
    }

    func testProgressThrottlesAndIsSilentWhenDisabled() {
        var out: [String] = []
        var now = 0.0
        let p = ProgressLine(total: 10, enabled: true, sink: { out.append($0) }, clock: { now })
        p.update(done: 1)
        now = 0.05
        p.update(done: 2)      // too soon: not drawn
        now = 0.2
        p.update(done: 3)
        p.update(done: 10)     // the last one is always drawn
        p.finish()
        XCTAssertEqual(out.first, "\r1/10 files\u{1B}[K")
        XCTAssertEqual(out.count, 4)
        XCTAssertTrue(out[1].hasPrefix("\r3/10 files, 15/s, ETA 0:01"), out[1])
        XCTAssertTrue(out[2].hasPrefix("\r10/10 files"), out[2])
        XCTAssertEqual(out[3], "\r\u{1B}[K")

        var silent: [String] = []
        let q = ProgressLine(total: 10, enabled: false, sink: { silent.append($0) })
        q.update(done: 5)
        q.redraw()
        q.finish()
        XCTAssertTrue(silent.isEmpty)
    }
}
