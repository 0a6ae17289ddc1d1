import ArgumentParser
import Foundation
import RecurCore
import RecurLayers
import RecurModels

/// `recur bench seq2seq`: training throughput of the encoder-decoder in the
/// shape of ../shared/bench/baseline_seq2seq.py: GRU encoder (one layer,
/// unidirectional) and GRU decoder, embedding 128, hidden 128, additive
/// attention, input feeding, dropout 0.1, Adam 1e-3, batch 32, random pairs of
/// source and target length 10 (the last token EOS; the model appends the
/// target's EOS itself, so 9 target tokens + EOS = 10 decoder steps),
/// vocabularies 4,500 and 2,900. One epoch = one shuffled pass over the
/// pairs: zero the gradients, forward + backward, an Adam step per batch.
///
/// Differences from the baseline, all in the model rather than the timing:
/// the baseline's decoder GRU reads [embedding; context] and attends with
/// the previous state; ours is Luong-style: it reads [embedding; attentional
/// vector a_{t-1}] (input feeding), attends with the new state and adds the
/// combine layer a_t = tanh(W_c [context; h]) (128×256 more weights, one more
/// GEMM per step), the bridge h0 = tanh(W_b fin + b) and padding masks. The
/// arithmetic per epoch is within a few percent of the baseline's.
struct BenchSeq2Seq: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seq2seq",
        abstract: "Encoder-decoder training seconds per epoch, in the shape of baseline_seq2seq.py.")

    @OptionGroup var compute: ComputeOptions
    @Option(help: "Timed runs (the median is reported).") var runs = 3
    @Option(help: "Sentence pairs per epoch.") var pairs = 10_000
    @Option(help: "Epochs per timed run (the time is divided by it).") var epochsPerRun = 1
    @Option(help: "Pairs per batch.") var batch = 32
    @Flag(help: "Also run the PyTorch baseline (needs python3 with torch) and print both.") var compare = false
    @Option(help: "The baseline script, for --compare.") var baseline = "../shared/bench/baseline_seq2seq.py"
    @Option(help: "The Python interpreter for --compare (default: python3, then ../venv-torch/bin/python3).")
    var python: String?
    @Option(help: "Epochs the baseline runs (its median is reported).") var baselineEpochs = 3
    @Flag(help: "Print JSON instead of text.") var json = false

    /// PyTorch's seconds per epoch on this machine (issue 5).
    static let referenceSeconds = 20.7
    static let (sourceVocabulary, targetVocabulary, hidden, length) = (4500, 2900, 128, 10)

    static func config() -> Seq2SeqConfig {
        Seq2SeqConfig(sourceVocabularySize: sourceVocabulary, targetVocabularySize: targetVocabulary,
                      embeddingSize: hidden, hiddenSize: hidden, encoderLayers: 1, bidirectionalEncoder: false,
                      cell: .gru, attention: .additive, inputFeeding: true, dropout: 0.1)
    }

    func run() throws {
        try compute.apply()
        guard runs >= 1, pairs >= 1, epochsPerRun >= 1, batch >= 1, baselineEpochs >= 1 else {
            throw ValidationError("--runs, --pairs, --epochs-per-run, --batch and --baseline-epochs must be positive")
        }
        let baselineScript = compare ? try PyTorchBaseline(script: baseline, python: python, command: "bench seq2seq") : nil
        let cfg = Self.config()
        let model = try Seq2Seq(config: cfg)
        let store = ParameterStore(model.layout)
        var rng = RNG(seed: 0)
        model.initialize(store, rng: &rng)

        // Random pairs (fixed seed): 9 random tokens + EOS in the source; 9 random target
        // tokens, to which trainStep appends EOS. Ids from 3 (after pad, bos, eos), as the
        // baseline draws from 2 (after its SOS and EOS).
        var data = RNG(seed: 1)
        let L = Self.length
        var sources: [[Int]] = [], targets: [[Int]] = []
        for _ in 0..<pairs {
            sources.append((0..<(L - 1)).map { _ in 3 + data.int(below: Self.sourceVocabulary - 3) } + [cfg.eos])
            targets.append((0..<(L - 1)).map { _ in 3 + data.int(below: Self.targetVocabulary - 3) })
        }

        var adam = Adam(learningRate: 1e-3)
        // One shard of each batch per thread (as `recur train` does).
        let parallel = DataParallel(layout: model.layout, ways: Threads.count)
        var order = Array(0..<pairs)
        var lastLoss = 0.0
        var failure: Error?
        func epoch() {
            data.shuffle(&order)
            var total = 0.0, batches = 0
            var start = 0
            while start < pairs {
                let idx = order[start..<min(start + batch, pairs)]
                do {
                    let (l, gradient) = try parallel.lossAndGradient(
                        model, store, sources: .tokens(idx.map { sources[$0] }), targets: idx.map { targets[$0] },
                        training: true, labelSmoothing: 0, backward: true, rng: &rng)
                    total += Double(l.loss)
                    // Adam sums the shards' gradients as it reads them (as `recur train` does).
                    adam.step(store, gradient: gradient!)
                } catch {
                    failure = error
                    return
                }
                batches += 1
                start += batch
            }
            lastLoss = total / Double(max(batches, 1))
        }

        var secs: [Double] = []
        var losses: [Double] = []
        for r in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<epochsPerRun { epoch() }
            if let failure { throw failure }
            let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / Double(epochsPerRun)
            secs.append(s)
            losses.append(lastLoss)
            if !json {
                emit(String(format: "run %d: %.2f s/epoch, %.0f pairs/s, mean loss %.3f", r + 1, s, Double(pairs) / s, lastLoss))
            }
        }
        let sorted = secs.sorted()
        let med = median(sorted)
        var torch: BaselineResult?
        if let baselineScript { torch = try runBaseline(baselineScript) }

        if json {
            var obj: [String: Any] = [
                "threads": Threads.count, "pairs": pairs, "batch": batch, "runs": runs, "epochs_per_run": epochsPerRun,
                "parameters": store.parameterCount, "seconds_per_epoch": med, "seconds_per_epoch_min": sorted[0],
                "seconds_per_epoch_max": sorted[sorted.count - 1], "pairs_per_s": Double(pairs) / med,
                "reference_seconds": Self.referenceSeconds, "speedup_vs_reference": Self.referenceSeconds / med,
                "mean_loss_per_run": losses,
            ]
            if let torch {
                obj["torch_seconds_per_epoch"] = torch.median
                obj["torch_epochs"] = torch.epochs
                obj["speedup_vs_torch"] = torch.median / med
            }
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
            emit(String(decoding: data, as: UTF8.self))
            return
        }
        emit(String(format: "recur seq2seq (GRU, E=H=128, additive attention, input feeding, dropout 0.1, Adam 1e-3), "
                     + "threads %d, batch %d, %d pairs, %d parameters", Threads.count, batch, pairs, store.parameterCount))
        emit(String(format: "s/epoch min %.2f median %.2f max %.2f (%d runs × %d epochs); pairs/s (at median) %.0f",
                     sorted[0], med, sorted[sorted.count - 1], runs, epochsPerRun, Double(pairs) / med))
        emit(String(format: "vs PyTorch's %.1f s/epoch on this machine (issue 5): %.1fx faster", Self.referenceSeconds,
                     Self.referenceSeconds / med))
        if let torch {
            emit(String(format: "PyTorch in this run: median %.2f s/epoch over %d epochs → recur is %.1fx faster",
                         torch.median, torch.epochs.count, torch.median / med))
        }
    }

    struct BaselineResult {
        var epochs: [Double]
        var median: Double
    }

    /// Runs the PyTorch script, echoes its output and reads its epoch times.
    private func runBaseline(_ torch: PyTorchBaseline) throws -> BaselineResult {
        let threads = compute.threads ?? Threads.count
        let out = try torch.run(["--threads", "\(threads)", "--epochs", "\(baselineEpochs)", "--pairs", "\(pairs)",
                                 "--batch", "\(batch)"], echo: !json)
        if !json { emit(out.trimmingCharacters(in: .newlines)) }
        // "epoch N: 20.71 s, 483 pairs/s, mean loss 8.0"
        var epochs: [Double] = []
        for line in out.split(separator: "\n") where line.hasPrefix("epoch ") {
            let parts = line.split(separator: " ")
            if parts.count > 2, let s = Double(parts[2]) { epochs.append(s) }
        }
        guard !epochs.isEmpty else { throw RecurError(.value, "bench seq2seq: no epoch times in the baseline's output") }
        return BaselineResult(epochs: epochs, median: median(epochs.sorted()))
    }
}
