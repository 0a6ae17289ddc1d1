import ArgumentParser
import Foundation
import RecurCore
import RecurModels
import RecurPipelines
import RecurTraining

/// `recur generate`: text from a language model.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text with a language model, optionally continuing a prime.",
        discussion: """
        Samples --count texts of at most --length tokens, each continuing --prime (the output \
        includes the prime). --temperature 0 always takes the most probable token; --top-k K \
        samples among the K most probable. The same --seed gives the same texts.
        """
    )

    @Option(name: [.short, .long], help: ArgumentHelp("The model file, or a shipped model's name (default: lm-en).", valueName: "path"))
    var model: String?
    @Option(help: "Text to continue.") var prime: String = ""
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 1
    @Option(name: .customLong("top-k"), help: "Sample among the K most probable tokens (0: all).") var topK: Int = 0
    @Option(help: "Most tokens generated after the prime.") var length: Int = 200
    @Option(help: "How many texts.") var count: Int = 1
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Flag(help: "Write JSON Lines records instead of text.") var jsonl = false
    @Flag(help: "Say on stderr which model file is used and why.") var verbose = false
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be finite and ≥ 0") }
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0") }
        guard length >= 1 else { throw ValidationError("--length must be at least 1") }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        try runCommand {
            try applyThreads(compute, jobs: 1)
            let path = try ModelLocator.resolve(explicit: model, defaultName: ModelLocator.defaultName(task: "generate"))
            let runner = try ModelRunner(path: path, task: .generate)
            if verbose { announceModel(runner, role: "model", why: model.map { "--model \($0)" } ?? "the default for generate") }
            var s = GenerateStage.Sampling()
            s.temperature = temperature
            s.topK = topK
            s.length = length
            s.count = count
            s.seed = seed
            let stage = try GenerateStage(runner: runner, sampling: s)
            let sink = try ResultSink(format: jsonl ? .jsonl : .txt)
            let input = StageRecord(source: StageSource(file: "<generate>"), text: prime)
            try sink.write(try stage.process(input))
            return .success
        }
    }
}
