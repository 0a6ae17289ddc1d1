import Foundation
import RecurCore
@testable import RecurPipelines
import XCTest

final class BatchStreamTests: XCTestCase {
    private func orderedRun(jobs: Int) throws -> ([Int], [String], BatchSummary) {
        var k = 0
        var delivered: [Int] = []
        var log: [String] = []
        let summary = try BatchRunner.runStream(jobs: jobs, next: { () -> Int? in
            defer { k += 1 }
            return k < 10 ? k : nil
        }, name: { "rec\($0)" }, log: { log.append($0) }, work: { i -> Int in
            usleep(UInt32((10 - i) * 3000))  // later inputs finish first
            if i == 4 { throw RecurError(.value, "empty sentence") }
            return -i
        }, deliver: { i, out in
            XCTAssertEqual(out, -i)
            delivered.append(i)
        })
        return (delivered, log, summary)
    }

    func testStreamOrderAndFailuresWithOneAndFourJobs() throws {
        for jobs in [1, 4] {
            let (delivered, log, summary) = try orderedRun(jobs: jobs)
            XCTAssertEqual(delivered, [0, 1, 2, 3, 5, 6, 7, 8, 9], "jobs \(jobs)")
            XCTAssertEqual(log, ["rec4: empty sentence"], "jobs \(jobs)")
            XCTAssertEqual(summary, BatchSummary(succeeded: 9, failed: 1), "jobs \(jobs)")
        }
    }

    /// Records read from a pipe: the first result comes out while the writer
    /// still holds the pipe open and has not written the second line.
    func testRecordsFromAPipeAreDeliveredBeforeTheInputEnds() throws {
        for jobs in [1, 3] {
            let (r, w) = try makePipe()
            defer { close(r) }
            let reader = RecordReader(fd: r, name: "<stdin>")
            let firstDelivered = DispatchSemaphore(value: 0)
            let inTime = Locked(false)
            let writer = Thread {
                writeAll(w, "{\"text\":\"one\",\"source\":{\"file\":\"talk.wav\",\"start\":0.5,\"end\":1.5}}\n")
                inTime.set(firstDelivered.wait(timeout: .now() + 10) == .success)
                writeAll(w, "{\"text\":\"two\"}\n")
                close(w)
            }
            writer.start()
            var out: [StageRecord] = []
            let summary = try BatchRunner.runStream(jobs: jobs, next: { try reader.next() }, name: { $0.source?.file ?? "?" },
                                                    log: { XCTFail($0) },
                                                    work: { $0.advanced(stage: "translate", model: "m", text: $0.text.uppercased()) },
                                                    deliver: { _, rec in
                                                        out.append(rec)
                                                        if out.count == 1 { firstDelivered.signal() }
                                                    })
            XCTAssertTrue(inTime.get(), "jobs \(jobs)")
            XCTAssertEqual(out.map(\.text), ["ONE", "TWO"])
            XCTAssertEqual(out[0].source, StageSource(file: "talk.wav", start: 0.5, end: 1.5))
            XCTAssertEqual(summary.exitStatus, .success)
        }
    }

    func testAnInputErrorEndsTheStreamAfterTheResultsBeforeIt() throws {
        for jobs in [1, 2] {
            let (r, w) = try makePipe()
            defer { close(r) }
            writeAll(w, "{\"text\":\"a\"}\n{\"text\":\"b\"}\n{\"text\":\n{\"text\":\"d\"}\n")
            close(w)
            let reader = RecordReader(fd: r, name: "in.jsonl")
            var events: [String] = []
            let summary = try BatchRunner.runStream(jobs: jobs, next: { try reader.next() }, name: { $0.text },
                                                    log: { events.append("LOG " + $0) }, work: { $0.text },
                                                    deliver: { _, t in events.append(t) })
            XCTAssertEqual(events.count, 3, "\(events)")
            XCTAssertEqual(Array(events.prefix(2)), ["a", "b"])
            XCTAssertTrue(events[2].hasPrefix("LOG in.jsonl: line 3: "), events[2])
            XCTAssertEqual(summary, BatchSummary(succeeded: 2, failed: 1))
            XCTAssertEqual(summary.exitStatus, .someFailed)
        }
    }

    func testOutputClosedStopsTheStream() throws {
        var k = 0
        var delivered = 0
        XCTAssertThrowsError(try BatchRunner.runStream(jobs: 2, next: { () -> Int? in k += 1; return k }, name: { "\($0)" },
                                                       log: { XCTFail($0) }, work: { $0 },
                                                       deliver: { _, _ in
                                                           delivered += 1
                                                           if delivered == 3 { throw OutputClosed() }
                                                       })) { e in XCTAssertTrue(e is OutputClosed) }
        XCTAssertEqual(delivered, 3)
    }
}
