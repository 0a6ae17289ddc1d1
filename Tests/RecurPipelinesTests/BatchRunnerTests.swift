import Foundation
import RecurCore
@testable import RecurPipelines
import XCTest

final class BatchRunnerTests: XCTestCase {
    /// Later inputs finish first: input i sleeps (n - i) * 3 ms.
    private func runOrdered(jobs: Int) throws -> ([Int], [String], BatchSummary) {
        let items = Array(0..<10)
        var delivered: [Int] = []
        var log: [String] = []
        let summary = try BatchRunner.run(items, jobs: jobs, name: { "in\($0)" }, log: { log.append($0) },
                                          work: { i -> Int in
                                              usleep(UInt32((10 - i) * 3000))
                                              if i == 4 { throw RecurError(.format, "not a sound file") }
                                              if i == 7 { throw NSError(domain: "x", code: 7) }
                                              return i * i
                                          },
                                          deliver: { i, out in
                                              XCTAssertEqual(out, i * i)
                                              delivered.append(i)
                                          })
        return (delivered, log, summary)
    }

    func testOrderAndFailuresWithOneJob() throws {
        let (delivered, log, summary) = try runOrdered(jobs: 1)
        XCTAssertEqual(delivered, [0, 1, 2, 3, 5, 6, 8, 9])
        XCTAssertEqual(log.count, 2)
        XCTAssertEqual(log[0], "in4: not a sound file")
        XCTAssertTrue(log[1].hasPrefix("in7: "), log[1])
        XCTAssertEqual(summary, BatchSummary(succeeded: 8, failed: 2))
        XCTAssertEqual(summary.exitStatus, .someFailed)
    }

    func testOrderAndFailuresWithFourJobs() throws {
        let (delivered, log, summary) = try runOrdered(jobs: 4)
        XCTAssertEqual(delivered, [0, 1, 2, 3, 5, 6, 8, 9])
        XCTAssertEqual(log.count, 2)
        XCTAssertEqual(log[0], "in4: not a sound file")
        XCTAssertEqual(summary, BatchSummary(succeeded: 8, failed: 2))
    }

    func testFailureLinesComeAtTheirPlaceInOrder() throws {
        var events: [String] = []
        _ = try BatchRunner.run(Array(0..<6), jobs: 3, name: { "f\($0)" }, log: { events.append($0) },
                                work: { i -> Int in
                                    usleep(UInt32((6 - i) * 2000))
                                    if i % 2 == 1 { throw RecurError(.io, "bad") }
                                    return i
                                },
                                deliver: { i, _ in events.append("ok \(i)") })
        XCTAssertEqual(events, ["ok 0", "f1: bad", "ok 2", "f3: bad", "ok 4", "f5: bad"])
    }

    func testAllSucceedGivesExitZeroAndEmptyBatchIsFine() throws {
        let s = try BatchRunner.run([1, 2, 3], jobs: 8, name: { "\($0)" }, log: { XCTFail($0) },
                                    work: { $0 }, deliver: { _, _ in })
        XCTAssertEqual(s.exitStatus, .success)
        XCTAssertEqual(try BatchRunner.run([Int](), jobs: 4, name: { "\($0)" }, work: { $0 }, deliver: { _, _ in }),
                       BatchSummary(succeeded: 0, failed: 0))
    }

    func testFirstResultIsDeliveredWhileLaterOnesStillRun() throws {
        // Input 3's work waits until input 0 has been delivered: if results
        // came only at the end, this would wait out the 10 s guard and fail.
        let firstDelivered = DispatchSemaphore(value: 0)
        let sawItInTime = Locked(false)
        var delivered: [Int] = []
        _ = try BatchRunner.run(Array(0..<4), jobs: 4, name: { "\($0)" },
                                work: { i -> Int in
                                    if i == 3 {
                                        sawItInTime.set(firstDelivered.wait(timeout: .now() + 10) == .success)
                                    }
                                    return i
                                },
                                deliver: { i, _ in
                                    delivered.append(i)
                                    if i == 0 { firstDelivered.signal() }
                                })
        XCTAssertTrue(sawItInTime.get())
        XCTAssertEqual(delivered, [0, 1, 2, 3])
    }

    func testOutputClosedStopsTheBatch() throws {
        let started = Locked(0)
        var delivered: [Int] = []
        XCTAssertThrowsError(try BatchRunner.run(Array(0..<100), jobs: 2, name: { "\($0)" }, log: { XCTFail($0) },
                                                 work: { i -> Int in started.update { $0 += 1 }; return i },
                                                 deliver: { i, _ in
                                                     delivered.append(i)
                                                     if i == 2 { throw OutputClosed() }
                                                 })) { e in XCTAssertTrue(e is OutputClosed) }
        XCTAssertEqual(delivered, [0, 1, 2])
        // At most 2 * jobs started ahead of the delivered one.
        XCTAssertLessThanOrEqual(started.get(), 3 + 4)
    }

    func testProgressIsClearedBeforeErrorLinesAndAtTheEnd() throws {
        var screen: [String] = []
        let progress = ProgressLine(total: 3, enabled: true, sink: { screen.append($0) }, clock: { 0 })
        _ = try BatchRunner.run([0, 1, 2], jobs: 1, name: { "f\($0)" }, progress: progress,
                                log: { screen.append("LOG " + $0) },
                                work: { i -> Int in if i == 1 { throw RecurError(.io, "bad") }; return i },
                                deliver: { _, _ in })
        let logAt = try XCTUnwrap(screen.firstIndex(of: "LOG f1: bad"))
        XCTAssertEqual(screen[logAt - 1], "\r\u{1B}[K")
        XCTAssertEqual(screen.last, "\r\u{1B}[K")
        XCTAssertTrue(screen.contains { $0.hasPrefix("\r3/3 files, 1 failed") }, "\(screen)")
    }
}
