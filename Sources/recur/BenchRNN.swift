import ArgumentParser
import Foundation
import RecurCore
import RecurLayers

/// `recur bench rnn`: the configurations of ../shared/bench/baseline_rnn.py
/// (input 256, hidden 512, batch 64, 50 steps; LSTM and GRU with 1 and 2
/// layers, a bidirectional LSTM; inference = forward, training = forward +
/// backward of Σ output + an Adam step) and the batch-1 LSTM decoder step.
/// A token is one (batch entry, time step) pair. FLOPs as the Python script
/// counts them: 2·gates·H·(I+H) per token, layer and direction; training 3×.
struct BenchRNN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn", abstract: "RNN, LSTM and GRU training and inference throughput.")

    @OptionGroup var compute: ComputeOptions
    @Option(help: "Timed repetitions per measurement (the median is reported; at least 5).") var runs = 7
    @Option(help: "Seconds each repetition lasts at least (calls per repetition are calibrated).") var minTime = 0.5
    @Option(help: "Comma-separated subset of lstm1,lstm2,gru1,gru2,bilstm1,decoder.")
    var only = "lstm1,lstm2,gru1,gru2,bilstm1,decoder"
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "Then run the PyTorch baseline (needs python3 with torch) and print the ratios against its medians.")
    var compare = false
    @Option(help: "The baseline script, for --compare.") var baseline = "../shared/bench/baseline_rnn.py"
    @Option(help: "The Python interpreter for --compare (default: python3, then ../venv-torch/bin/python3).")
    var python: String?
    @Option(help: .hidden) var parallelThreshold: Int?
    /// Fewer steps than the baseline's 50, for tests of the command that must not take long.
    @Option(help: .hidden) var steps = BenchRNN.baselineSteps

    /// Issue 4's targets: throughput at least this many times PyTorch's, and the batch-1 step in at most 150 µs.
    static let (targetRatio, targetStepMicroseconds) = (1.25, 150.0)

    /// baseline_rnn.py's shape.
    static let (inputSize, hiddenSize, batch, baselineSteps) = (256, 512, 64, 50)

    func run() throws {
        try compute.apply()
        if let parallelThreshold { RecurrentStack.parallelThreshold = max(1, parallelThreshold) }
        guard runs >= 5 else { throw ValidationError("--runs must be at least 5, got \(runs)") }
        guard minTime > 0 else { throw ValidationError("--min-time must be positive") }
        guard steps >= 1 else { throw ValidationError("--steps must be positive") }
        let known = ["lstm1", "lstm2", "gru1", "gru2", "bilstm1", "decoder"]
        let selected = only.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        for s in selected where !known.contains(s) {
            throw ValidationError("unknown configuration '\(s)' (known: \(known.joined(separator: ", ")))")
        }
        let torch = compare ? try PyTorchBaseline(script: baseline, python: python, command: "bench rnn") : nil
        let I = Self.inputSize, H = Self.hiddenSize, B = Self.batch, T = steps
        let configs: [(String, RecurrentKind, Int, Bool)] = [
            ("lstm1", .lstm, 1, false), ("lstm2", .lstm, 2, false), ("gru1", .gru, 1, false),
            ("gru2", .gru, 2, false), ("bilstm1", .lstm, 1, true),
        ]
        var rows: [[String: Any]] = []
        if !json {
            print("threads: \(Threads.count), I=\(I) H=\(H) B=\(B) T=\(T), median [min–max] of \(runs) repetitions")
            print(pad("config", 9) + pad("mode", 7) + lpad("tok/s med", 11) + lpad("tok/s min", 11)
                  + lpad("tok/s max", 11) + lpad("ms/call", 9) + lpad("GFLOP/s", 9))
        }
        for (name, kind, layers, bidir) in configs where selected.contains(name) {
            let cfg = RecurrentConfig(kind: kind, inputSize: I, hiddenSize: H, numLayers: layers, bidirectional: bidir)
            var layout = ParameterLayout()
            let stack = RecurrentStack(&layout, prefix: "", config: cfg)
            let store = ParameterStore(layout)
            var rng = RNG(seed: 1)
            stack.initialize(store, rng: &rng)
            let x = Tensor(zeros: [T, B, I])
            rng.fillNormal(x)
            let dOut = Tensor(shape: [T, B, cfg.outputSize], repeating: 1)  // loss = Σ output
            var cache: RecurrentCache?
            var adam = Adam(learningRate: 1e-3)
            let fpt = Self.flopsPerToken(cfg)
            let modes: [(String, Double, () -> Void)] = [
                ("infer", 1, { cache = stack.forward(store, x, reusing: cache).1 }),
                ("train", 3, {
                    store.zeroGrads()
                    let c = stack.forward(store, x, reusing: cache).1
                    _ = stack.backward(store, c, dOutput: dOut)
                    adam.step(store)
                    cache = c
                }),
            ]
            for (mode, mult, body) in modes {
                let secs = Self.time(runs: runs, minTime: minTime, body)
                let tps = secs.map { Double(B * T) / $0 }.sorted()
                let med = median(tps)
                let row: [String: Any] = ["config": name, "mode": mode, "tokens_per_s": med, "tokens_per_s_min": tps[0],
                                          "tokens_per_s_max": tps[tps.count - 1], "ms_per_call": Double(B * T) / med * 1e3,
                                          "gflops": med * fpt * mult / 1e9]
                rows.append(row)
                if !json { printRow(row) }
            }
        }
        if selected.contains("decoder") {
            // Batch-1 LSTM decoder step, input 512, hidden 512, state carried (as nn.LSTMCell in the script).
            let cfg = RecurrentConfig(kind: .lstm, inputSize: H, hiddenSize: H)
            var layout = ParameterLayout()
            let stack = RecurrentStack(&layout, prefix: "", config: cfg)
            let store = ParameterStore(layout)
            var rng = RNG(seed: 2)
            stack.initialize(store, rng: &rng)
            let x = Tensor(zeros: [1, H])
            rng.fillNormal(x)
            let h = Tensor(zeros: [1, 1, H]), c = Tensor(zeros: [1, 1, H])
            let ws = RecurrentStepWorkspace(config: cfg, batch: 1)
            let secs = Self.time(runs: runs, minTime: minTime) { stack.step(store, x, h: h, c: c, workspace: ws) }
            let us = secs.map { $0 * 1e6 }.sorted()
            let med = median(us)
            let flops = 2.0 * 4 * Double(H) * Double(H + H)
            let row: [String: Any] = ["config": "decoder", "mode": "lstm step b1 I512 H512", "us_per_step": med,
                                      "us_per_step_min": us[0], "us_per_step_max": us[us.count - 1],
                                      "gflops": flops / (med * 1e-6) / 1e9]
            rows.append(row)
            if !json {
                print("")
                print(pad("decoder", 24) + lpad("µs/step med", 12) + lpad("min", 9) + lpad("max", 9) + lpad("GFLOP/s", 9))
                print(pad("LSTM step b1 I512 H512", 24) + lpad(f1(med), 12) + lpad(f1(us[0]), 9)
                      + lpad(f1(us[us.count - 1]), 9) + lpad(f1(row["gflops"] as! Double), 9))
            }
        }
        var comparison: [[String: Any]] = []
        if let torch {
            fflush(nil)  // the table before the baseline's command line
            let out = try torch.run(["--threads", "\(Threads.count)", "--reps", "\(runs)", "--only", selected.joined(separator: ",")],
                                    echo: !json)
            if !json { print(""); print(out.trimmingCharacters(in: .newlines)) }
            comparison = try Self.compare(rows, Self.baselineMedians(out))
            if !json { printComparison(comparison) }
        }
        if json {
            var obj: [String: Any] = ["threads": Threads.count, "runs": runs,
                                      "shape": ["input": I, "hidden": H, "batch": B, "steps": T], "results": rows]
            if torch != nil { obj["vs_pytorch"] = comparison }
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// The medians in baseline_rnn.py's tables: "lstm1 infer" → tokens/s, and
    /// "decoder" → µs of its `LSTMCell b1 I512 H512` step.
    static func baselineMedians(_ out: String) -> [String: Double] {
        var medians: [String: Double] = [:]
        for line in out.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count >= 7, f[0] == "LSTMCell", let med = Double(f[5]) {  // label of 4 words, then min med max
                medians["decoder"] = med
            } else if f.count >= 5, ["infer", "train"].contains(f[1]), let med = Double(f[3]) {  // name mode min med max
                medians["\(f[0]) \(f[1])"] = med
            }
        }
        return medians
    }

    /// One row per measurement both made: Recur's median, PyTorch's and the ratio
    /// (throughput: Recur / PyTorch; the decoder step: PyTorch's time / Recur's).
    static func compare(_ rows: [[String: Any]], _ torch: [String: Double]) throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        for r in rows {
            let config = r["config"] as! String
            if config == "decoder" {
                let us = r["us_per_step"] as! Double
                guard let t = torch["decoder"] else { continue }
                out.append(["config": config, "recur_us_per_step": us, "torch_us_per_step": t, "speedup": t / us,
                            "meets_target": us <= targetStepMicroseconds])
            } else {
                let mode = r["mode"] as! String, tps = r["tokens_per_s"] as! Double
                guard let t = torch["\(config) \(mode)"] else { continue }
                out.append(["config": config, "mode": mode, "recur_tokens_per_s": tps, "torch_tokens_per_s": t,
                            "speedup": tps / t, "meets_target": tps / t >= targetRatio])
            }
        }
        guard !out.isEmpty else { throw RecurError(.value, "bench rnn --compare: no medians in the baseline's output") }
        return out
    }

    private func printComparison(_ rows: [[String: Any]]) {
        print("")
        print(String(format: "against PyTorch in this run (target: %.2fx its throughput; the step in at most %.0f µs)",
                     Self.targetRatio, Self.targetStepMicroseconds))
        print(pad("config", 9) + pad("mode", 7) + lpad("recur", 11) + lpad("pytorch", 11) + lpad("ratio", 8) + "  target")
        for r in rows {
            let met = (r["meets_target"] as! Bool) ? "met" : "not met"
            if r["config"] as! String == "decoder" {
                print(pad("decoder", 9) + pad("µs", 7) + lpad(f1(r["recur_us_per_step"] as! Double), 11)
                      + lpad(f1(r["torch_us_per_step"] as! Double), 11)
                      + lpad(String(format: "%.2fx", r["speedup"] as! Double), 8) + "  " + met)
            } else {
                print(pad(r["config"] as! String, 9) + pad(r["mode"] as! String, 7)
                      + lpad(f0(r["recur_tokens_per_s"] as! Double), 11) + lpad(f0(r["torch_tokens_per_s"] as! Double), 11)
                      + lpad(String(format: "%.2fx", r["speedup"] as! Double), 8) + "  " + met)
            }
        }
    }

    /// Seconds per call for each of `runs` repetitions; each repetition makes
    /// enough calls to last `minTime` (calibrated after two warm-up calls).
    static func time(runs: Int, minTime: Double, _ body: () -> Void) -> [Double] {
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        body(); body()
        var n = 1
        while true {
            let t0 = now()
            for _ in 0..<n { body() }
            let dt = now() - t0
            if dt > 0.1 { n = max(1, Int(Double(n) * minTime / dt)); break }
            n *= 2
        }
        return (0..<runs).map { _ in
            let t0 = now()
            for _ in 0..<n { body() }
            return (now() - t0) / Double(n)
        }
    }

    static func flopsPerToken(_ cfg: RecurrentConfig) -> Double {
        var total = 0.0
        for l in 0..<cfg.numLayers {
            total += Double(cfg.directions * 2 * cfg.kind.gates * cfg.hiddenSize * (cfg.layerInputSize(l) + cfg.hiddenSize))
        }
        return total
    }

    private func printRow(_ r: [String: Any]) {
        print(pad(r["config"] as! String, 9) + pad(r["mode"] as! String, 7)
              + lpad(f0(r["tokens_per_s"] as! Double), 11) + lpad(f0(r["tokens_per_s_min"] as! Double), 11)
              + lpad(f0(r["tokens_per_s_max"] as! Double), 11) + lpad(String(format: "%.2f", r["ms_per_call"] as! Double), 9)
              + lpad(f1(r["gflops"] as! Double), 9))
    }
}

private func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
private func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? " " + s : String(repeating: " ", count: w - s.count) + s }
private func f0(_ v: Double) -> String { String(format: "%.0f", v) }
private func f1(_ v: Double) -> String { String(format: "%.1f", v) }
