import ArgumentParser
import Foundation
import RecurCore
import RecurDecoding
import RecurModels
import RecurPipelines
import RecurTraining

extension ResultFormat: ExpressibleByArgument {}

/// Options of every command that decodes with a model (translate, transcribe, caption).
struct DecodeOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("The model file, or a shipped model's name (default: the task's shipped model).", valueName: "path"))
    var model: String?

    @Option(help: "Beam size; 1 is greedy (default: 5 for translate, 1 otherwise).")
    var beam: Int?

    @Option(help: "Hypotheses kept per input (in --jsonl's nbest).")
    var nbest: Int = 1

    @Option(name: .customLong("length-penalty"), help: "GNMT length penalty α of beam search; 0: none (default: the model's, see recur inspect; else 0).")
    var lengthPenalty: Float?

    @Option(name: .customLong("max-length"), help: "Most output tokens.")
    var maxLength: Int = 200

    @Option(name: .customLong("min-length"), help: "Fewest output tokens.")
    var minLength: Int = 0

    @Option(name: .customLong("batch-size"), help: "Inputs decoded together.")
    var batchSize: Int = 32

    @Flag(name: .customLong("ban-unk"), help: "Never output <unk>: the search chooses among the other tokens.")
    var banUnk = false

    @Option(help: ArgumentHelp("Fuse a language model into decoding (shallow fusion): a model file or a shipped model's name (lm-en). "
                               + "Its vocabulary must cover the model's target tokens (letters match in either case for a lowercased model).",
                               valueName: "path"))
    var lm: String?

    @Option(name: .customLong("lm-weight"), help: "With --lm: each token scores log p(model) + λ·log p(lm) (default: the model's, else 0.2).")
    var lmWeight: Float?

    @Flag(name: .customLong("no-lm"), help: "Decode without the language model the model's notes name (recur inspect).")
    var noLM = false

    @Flag(help: "Write JSON Lines records (text, score, nbest, source, stage, model) instead of text.")
    var jsonl = false

    @Flag(help: "Say on stderr which model files are used and why.")
    var verbose = false

    @Option(name: .customLong("attention-png"), help: ArgumentHelp("Write one attention heatmap PNG per output into this folder.", valueName: "dir"))
    var attentionPNG: String?

    func validate() throws {
        if let beam, beam < 1 { throw ValidationError("--beam must be at least 1, got \(beam)") }
        guard nbest >= 1 else { throw ValidationError("--nbest must be at least 1, got \(nbest)") }
        if let a = lengthPenalty, !(a.isFinite && a >= 0) { throw ValidationError("--length-penalty must be a finite α ≥ 0") }
        guard maxLength >= 1 else { throw ValidationError("--max-length must be at least 1") }
        guard minLength >= 0, minLength <= maxLength else { throw ValidationError("--min-length must be in 0…--max-length") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if let w = lmWeight, !(w.isFinite && w >= 0) { throw ValidationError("--lm-weight must be a finite λ ≥ 0") }
        if noLM && (lm != nil || lmWeight != nil) { throw ValidationError("--no-lm does not go with --lm or --lm-weight") }
    }

    /// Decode settings: the beam and length penalty given, else the model's
    /// (its notes), else `defaultBeam` and 0. Sources decode up to 2 × their
    /// length + 10 tokens (and at most --max-length). The language model of
    /// --lm, else the model's (unless --no-lm), is loaded and fused in.
    func stageOptions(defaultBeam: Int, runner: ModelRunner) throws -> StageOptions {
        var options = StageOptions.decoding(beam: beam ?? runner.beam ?? defaultBeam, nbest: nbest,
                                            lengthPenalty: lengthPenalty ?? runner.lengthPenalty,
                                            maxLength: maxLength, minLength: minLength, batchSize: batchSize,
                                            attention: attentionPNG != nil, banUnknown: banUnk)
        options.decode.fusion = try languageModelFusion(lm, weight: lmWeight, off: noLM, for: runner, verbose: verbose)
        return options
    }

    /// Loads the model for `task` (the default name when --model is not given).
    func loadRunner(task: ModelTask, defaultName: String) throws -> ModelRunner {
        let path = try ModelLocator.resolve(explicit: model, defaultName: defaultName)
        let runner = try ModelRunner(path: path, task: task)
        if verbose { announceModel(runner, role: "model", why: model.map { "--model \($0)" } ?? "the default for \(task.rawValue)") }
        return runner
    }
}

/// `--verbose`: one stderr line saying which model file a command uses and why
/// ("model: /…/models/speech-en.safetensors (the default for transcribe; 1.2 M parameters)").
func announceModel(_ runner: ModelRunner, role: String, why: String) {
    let path = URL(fileURLWithPath: runner.path).standardizedFileURL.path
    let parameters = Double(runner.store.parameterCount) / 1e6
    printError("\(role): \(path) (\(why); \(String(format: "%.2f", parameters)) M parameters)")
}

/// The language model fused into `runner`'s decoding (`LanguageModelChoice`:
/// --lm, else the model's note, unless --no-lm), loaded; nil when none.
func languageModelFusion(_ lm: String?, weight: Float?, off: Bool = false, for runner: ModelRunner,
                         verbose: Bool = false) throws -> LanguageModelFusion? {
    guard let choice = try LanguageModelChoice.choose(given: lm, weight: weight, off: off, for: runner,
                                                      names: ("--lm", "--lm-weight", "--no-lm")) else { return nil }
    let lmRunner = try ModelRunner(path: choice.path)
    let fusion = try runner.fusion(with: lmRunner, weight: choice.weight)
    if verbose { announceModel(lmRunner, role: "language model", why: "\(choice.reason), weight \(choice.weight)") }
    return fusion
}

/// Runs a decoding command's body with the shell manners: SIGPIPE quiet
/// (exit 141), a library error as one stderr line (exit 2 for usage errors,
/// 1 otherwise), the body's own exit status passed on.
func runCommand(_ body: () throws -> ExitStatus) throws {
    UnixManners.ignoreSIGPIPE()
    let status: ExitStatus
    do {
        status = try body()
    } catch let e as OutputClosed {
        throw ExitCode(ExitStatus.forError(e).rawValue)
    } catch let e as RecurError {
        printError(e.description)
        throw ExitCode(ExitStatus.forError(e).rawValue)
    }
    if status != .success { throw ExitCode(status.rawValue) }
}

/// Applies --threads with `jobs` jobs sharing the cores.
func applyThreads(_ compute: ComputeOptions, jobs: Int) throws {
    if let t = compute.threads {
        guard t >= 1 else { throw ValidationError("--threads must be at least 1, got \(t)") }
        Threads.set(t)
    } else {
        Threads.set(BatchRunner.threadsPerJob(jobs: jobs))
    }
}

/// The summary line after a batch with failures.
func reportFailures(_ summary: BatchSummary, unit: String) {
    guard summary.failed > 0 else { return }
    let total = summary.failed + summary.succeeded
    printError("\(summary.failed) of \(total) \(unit)\(total == 1 ? "" : "s") failed")
}

/// Runs a media stage (transcribe, caption) over expanded file inputs with
/// --jobs, writing each file's records in input order.
func runMediaStage(_ stage: any Stage, inputs: [String], extensions: [String], jobs: Int, sink: ResultSink,
                   command: String, example: String) throws -> ExitStatus {
    let args = try UnixManners.inputArguments(inputs, command: command, example: example)
    var items: [InputItem] = []
    for item in InputExpander(extensions: extensions).expand(args) {
        if case .stdin = item {
            // `-`: a list of paths on stdin, one a line.
            let reader = try LineReader(path: "-")
            while let line = try reader.next() {
                let p = line.trimmingCharacters(in: .whitespaces)
                if !p.isEmpty && !p.hasPrefix("#") { items.append(.file(p)) }
            }
        } else {
            items.append(item)
        }
    }
    let progress = ProgressLine(total: items.count)
    let summary = try BatchRunner.run(items, jobs: jobs, name: \.name, progress: progress,
        work: { item in
            let path = try item.path()
            return try stage.process(StageRecord.media(path))
        },
        deliver: { _, result in try sink.write(result) })
    reportFailures(summary, unit: "input")
    return summary.exitStatus
}
