import ArgumentParser
import Foundation
import RecurCore

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Recur's speed (release build): kernels, RNN layers, frontends.",
        subcommands: [BenchKernels.self, BenchRNN.self, BenchFrontend.self, BenchSeq2Seq.self]
    )
}

/// A PyTorch baseline script of ../shared/bench, run by `--compare` in the same
/// session as Recur's measurement.
struct PyTorchBaseline {
    let script: String
    let python: String

    /// Finds the script and a Python that imports torch (`given`, else python3,
    /// then ../venv-torch/bin/python3); `command` names the bench in errors.
    init(script: String, python given: String?, command: String) throws {
        guard FileManager.default.fileExists(atPath: script) else {
            throw ValidationError("\(command) --compare: the baseline script \(script) does not exist (give it with --baseline PATH)")
        }
        let candidates = given.map { [$0] } ?? ["python3", "../venv-torch/bin/python3"]
        guard let py = candidates.first(where: { (try? Self.output(of: $0, ["-c", "import torch"])) != nil }) else {
            throw ValidationError("\(command) --compare: no python with torch among \(candidates.joined(separator: ", ")) (give one with --python PATH)")
        }
        self.script = script
        self.python = py
    }

    /// The script's stdout with these arguments; `echo` prints the command line first.
    func run(_ args: [String], echo: Bool) throws -> String {
        if echo { emit("# running \(python) \(script) \(args.joined(separator: " "))") }
        return try Self.output(of: python, [script] + args)
    }

    /// Runs `exe` (searched in PATH when it has no slash) and returns its stdout; throws on a non-zero exit.
    static func output(of exe: String, _ args: [String]) throws -> String {
        let p = Process()
        if exe.contains("/") {
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = args
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [exe] + args
        }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw RecurError(.value, "bench: \(exe) exited with status \(p.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Writes a line to stdout at once (not through stdio's buffer, so each run's
/// line shows as it finishes, even into a pipe or a log).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Wall times in seconds of `runs` calls of `body` (after one warm-up call), sorted.
func sortedTimes(runs: Int, _ body: () -> Void) -> [Double] {
    body()
    var times: [Double] = []
    for _ in 0..<runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return times.sorted()
}

/// The median of an already sorted, non-empty array.
func median(_ sorted: [Double]) -> Double {
    let k = sorted.count
    return k % 2 == 1 ? sorted[k / 2] : (sorted[k / 2 - 1] + sorted[k / 2]) / 2
}

/// Median wall time in seconds of `runs` calls of `body` (after one warm-up call).
func medianTime(runs: Int, _ body: () -> Void) -> Double { median(sortedTimes(runs: runs, body)) }

struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Elementwise kernels against the C library, and BLAS GFLOP/s."
    )

    @OptionGroup var compute: ComputeOptions
    @Option(help: "Timed runs per measurement (the median is reported).") var runs = 7
    @Option(help: "Elements for the elementwise kernels.") var elements = 10_000_000
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        try compute.apply()
        guard runs >= 1, elements >= 1 else { throw ValidationError("--runs and --elements must be positive") }
        var rows: [[String: Any]] = []
        let n = elements
        let x = Tensor(zeros: [n]), y = Tensor(zeros: [n])
        var rng = RNG(seed: 1)
        rng.fillUniform(x, -5, 5)
        let pos = Tensor(zeros: [n])
        for i in 0..<n { pos.data[i] = abs(x.data[i]) + 1e-3 }

        typealias Kernel = (Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
        let cases: [(String, Tensor, Kernel, (Float) -> Float)] = [
            ("tanh", x, Kernels.tanh, { Foundation.tanh($0) }),
            ("sigmoid", x, Kernels.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }),
            ("exp", x, Kernels.exp, { Foundation.exp($0) }),
            ("log", pos, Kernels.log, { Foundation.log($0) }),
        ]
        for (name, input, fast, slow) in cases {
            let tFast = medianTime(runs: runs) { fast(n, input.data, y.data) }
            let tLibm = medianTime(runs: runs) {
                let src = input.data, dst = y.data
                for i in 0..<n { dst[i] = slow(src[i]) }
            }
            rows.append(["kernel": name, "elements": n, "recur_ms": tFast * 1e3, "libm_ms": tLibm * 1e3,
                         "speedup": tLibm / tFast])
        }

        var blasRows: [[String: Any]] = []
        let shapes: [(String, Int, Int, Int)] = [
            ("square 512", 512, 512, 512), ("square 1024", 1024, 1024, 1024), ("square 2048", 2048, 2048, 2048),
            ("LSTM input proj (T·B=3200, 256 → 2048)", 3200, 2048, 256),
            ("LSTM step (B=64, 512 → 2048)", 64, 2048, 512),
            ("decoder step B=1 (512 → 2048)", 1, 2048, 512),
        ]
        for (name, m, nn, k) in shapes {
            let a = Tensor(zeros: [m, k]), b = Tensor(zeros: [nn, k]), c = Tensor(zeros: [m, nn])
            rng.fillUniform(a, -1, 1); rng.fillUniform(b, -1, 1)
            let reps = max(1, Int(2e9 / Double(2 * m * nn * k)))
            let t = medianTime(runs: runs) {
                for _ in 0..<reps { BLAS.gemm(a, .none, b, .transpose, into: c) }
            } / Double(reps)
            blasRows.append(["op": name, "m": m, "n": nn, "k": k, "microseconds": t * 1e6,
                             "gflops": 2 * Double(m * nn * k) / t / 1e9])
        }

        if json {
            let obj: [String: Any] = ["threads": Threads.count, "kernels": rows, "blas": blasRows]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("threads: \(Threads.count), median of \(runs) runs, \(n) elements")
        print(pad("kernel", 10) + pad("recur ms", 12, right: true) + pad("libm ms", 12, right: true) + pad("speedup", 10, right: true))
        for r in rows {
            print(pad(r["kernel"] as! String, 10) + fmt(r["recur_ms"] as! Double, 12, 2) + fmt(r["libm_ms"] as! Double, 12, 2)
                  + pad(String(format: "%.1fx", r["speedup"] as! Double), 10, right: true))
        }
        print("")
        print(pad("sgemm C = A·Bᵀ (m×k · k×n)", 44) + pad("µs", 12, right: true) + pad("GFLOP/s", 10, right: true))
        for r in blasRows {
            print(pad(r["op"] as! String, 44) + fmt(r["microseconds"] as! Double, 12, 1) + fmt(r["gflops"] as! Double, 10, 1))
        }
    }
}

/// `s` padded with spaces to `width` columns (on the left when `right`).
func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return right ? fill + s : s + fill
}

/// `x` with `decimals` decimals, right-aligned in `width` columns.
func fmt(_ x: Double, _ width: Int, _ decimals: Int) -> String {
    pad(String(format: "%.\(decimals)f", x), width, right: true)
}
