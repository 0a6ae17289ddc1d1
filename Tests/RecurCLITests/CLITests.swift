import RecurTestSupport
import XCTest

/// End-to-end tests of the built `recur` binary.
final class CLITests: XCTestCase {
    func testVersionNamesEveryLibrary() throws {
        let r = try RecurBinary.run(["--version"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for lib in ["recur 0.", "libsndfile: libsndfile-1.", "fftw: fftw-3.", "libpng: 1.6.", "soxr: libsoxr-", "openblas: OpenBLAS", "threads)", "onednn: 2.", "sgemm"] {
            XCTAssertTrue(r.stdout.contains(lib), "--version lacks \(lib):\n\(r.stdout)")
        }
    }

    func testHelpListsSubcommands() throws {
        let r = try RecurBinary.run(["--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("bench"), r.stdout)
    }

    func testUnknownSubcommandIsAUsageError() throws {
        let r = try RecurBinary.run(["no-such-command"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stdout.isEmpty, "errors belong on stderr: \(r.stdout)")
        XCTAssertFalse(r.stderr.isEmpty)
    }

    func testBenchKernelsRejectsZeroThreads() throws {
        let r = try RecurBinary.run(["bench", "kernels", "--threads", "0"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--threads"), r.stderr)
    }

    func testBenchKernelsJSON() throws {
        let r = try RecurBinary.run(["bench", "kernels", "--runs", "1", "--elements", "1000", "--json", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(obj?["threads"] as? Int, 1)
        let kernels = obj?["kernels"] as? [[String: Any]] ?? []
        XCTAssertEqual(Set(kernels.compactMap { $0["kernel"] as? String }), ["tanh", "sigmoid", "exp", "log"])
    }
}
