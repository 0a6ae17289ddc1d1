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

    /// `RECUR_GEMM` forces one library; a value it does not take is named as ignored.
    func testVersionSaysWhichLibraryMultiplies() throws {
        let forced = try RecurBinary.run(["--version"], environment: ["RECUR_GEMM": "openblas"])
        XCTAssertTrue(forced.stdout.contains("every sgemm through OpenBLAS: RECUR_GEMM=openblas"), forced.stdout)
        let wrong = try RecurBinary.run(["--version"], environment: ["RECUR_GEMM": "mkl"])
        XCTAssertTrue(wrong.stdout.contains("sgemm of at least 2^20 multiply-adds; RECUR_GEMM=mkl ignored"), wrong.stdout)
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

    /// `bench rnn --compare` against a stand-in for the PyTorch script: a "python" that
    /// prints baseline_rnn.py's tables with known medians. The ratios must be Recur's
    /// medians over those, and the targets judged from them.
    func testBenchRNNCompareReadsTheBaselinesMedians() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recur-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("baseline_rnn.py").path
        try "# stand-in\n".write(toFile: script, atomically: true, encoding: .utf8)
        let python = dir.appendingPathComponent("python").path
        try """
        #!/bin/sh
        [ "$1" = "-c" ] && exit 0
        echo "# torch 0.0 threads=1"
        echo "config     mode    tok/s min  tok/s med  tok/s max ms/call med GFLOP/s med calls/rep"
        echo "gru1       infer         900       1000       1100       3200.0         1.0         1"
        echo "gru1       train         400        500        600       6400.0         1.0         1"
        echo "decoder                us/tok min us/tok med us/tok max GFLOP/s med"
        echo "LSTMCell b1 I512 H512     1000000.0  2000000.0  3000000.0        0.01"
        echo "nn.LSTM 1 step b1 H512          5.0        6.0        7.0        0.01"
        """.write(toFile: python, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: python)

        let r = try RecurBinary.run(["bench", "rnn", "--only", "gru1,decoder", "--runs", "5", "--min-time", "0.001",
                                     "--threads", "1", "--steps", "2", "--compare", "--baseline", script, "--python", python, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let results = obj?["results"] as? [[String: Any]] ?? []
        let rows = obj?["vs_pytorch"] as? [[String: Any]] ?? []
        XCTAssertEqual(rows.count, 3, "gru1 infer and train, and the decoder step")
        for row in rows {
            let config = row["config"] as? String, mode = row["mode"] as? String
            let ours = results.first { $0["config"] as? String == config && $0["mode"] as? String == mode }
                ?? results.first { $0["config"] as? String == config }
            let ratio = try XCTUnwrap(row["speedup"] as? Double)
            if config == "decoder" {
                let us = try XCTUnwrap(ours?["us_per_step"] as? Double)
                XCTAssertEqual(row["torch_us_per_step"] as? Double, 2_000_000, "the LSTMCell median, not nn.LSTM's")
                XCTAssertEqual(ratio, 2_000_000 / us, accuracy: 1e-9)
                XCTAssertEqual(row["meets_target"] as? Bool, us <= 150)
            } else {
                let tps = try XCTUnwrap(ours?["tokens_per_s"] as? Double)
                XCTAssertEqual(row["torch_tokens_per_s"] as? Double, mode == "infer" ? 1000 : 500)
                XCTAssertEqual(ratio, tps / (mode == "infer" ? 1000 : 500), accuracy: 1e-9)
                XCTAssertEqual(row["meets_target"] as? Bool, ratio >= 1.25)
            }
        }

        let missing = try RecurBinary.run(["bench", "rnn", "--only", "decoder", "--compare",
                                           "--baseline", dir.appendingPathComponent("nope.py").path, "--python", python])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("nope.py"), missing.stderr)
    }
}
