import ArgumentParser
import Foundation
import RecurCore
import RecurPipelines

/// `recur run`: a pipeline file's stages in one process.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline: chain transcribe, caption, translate, … in one process.",
        discussion: """
        PIPELINE is a pipeline file (YAML: name, description, stages of {task, model, options}) or the \
        name of one in $RECUR_PIPELINES, the checkout's pipelines/ or ./pipelines; `recur run --list` \
        lists them. The file is checked before anything runs (tasks, options, what each stage reads \
        and writes, models), each problem one line FILE:LINE:COLUMN: reason. Every model is loaded once.
        Inputs are taken as the first stage's command takes them: files, globs, folders, @list.txt, \
        `-` or none for stdin (text stages: lines or JSON Lines records; audio and image stages: a \
        list of paths). One result per input record, in input order, written as soon as it is done \
        (also with --jobs N); records keep their source and times, and each stage's result goes to \
        the next record's history. --show prints every stage's text per input: \
        `samples/speech/en-1.wav → 'hello world' → 'bonjour le monde'`. An input that fails is named \
        on stderr with the stage it failed in, the others go on, and the exit status is then 1; \
        a bad command line or pipeline file gives 2.
        """
    )

    @Argument(help: "The pipeline file, or a pipeline's name.") var pipeline: String?
    @Argument(help: "Inputs of the first stage: files, globs, folders, @list.txt; `-` or none for stdin.") var inputs: [String] = []
    @Flag(help: "List the pipelines found, with their descriptions, and exit.") var list = false
    @Flag(help: "Check the pipeline file and load its models, then exit without running.") var check = false
    @Flag(help: "Write JSON Lines records (same as --format jsonl).") var jsonl = false
    @Option(help: "Output format: txt, jsonl, srt or vtt (default txt).") var format: ResultFormat?
    @Flag(help: "Write one readable line per result: the input, then every stage's text.") var show = false
    @Option(help: "Inputs processed in parallel (results stay in input order).") var jobs: Int = 1
    @Option(name: .customLong("batch-size"), help: "Records read together from a text file (default: the first stage's batch_size, else 32).")
    var batchSize: Int?
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try runCommand {
            if list { return try listPipelines() }
            let outputs = [jsonl ? "--jsonl" : nil, format.map { "--format \($0.rawValue)" }, show ? "--show" : nil].compactMap { $0 }
            if outputs.count > 1 { throw RecurError(.usage, "recur run: \(outputs.joined(separator: " and ")) exclude each other") }
            guard jobs >= 1 else { throw RecurError(.usage, "recur run: --jobs must be at least 1, got \(jobs)") }
            if let batchSize, batchSize < 1 { throw RecurError(.usage, "recur run: --batch-size must be at least 1, got \(batchSize)") }
            guard let pipeline else {
                throw RecurError(.usage, "recur run: give a pipeline file or name, e.g. recur run speech-to-french samples/speech/*.wav; `recur run --list` lists them")
            }
            let loaded: Pipeline
            do {
                loaded = try Pipeline.load(try PipelineLocator.resolve(pipeline))
            } catch let e as RecurError {
                // Nothing ran: a pipeline that cannot run is a usage error.
                throw RecurError(.usage, e.reason, file: e.file)
            }
            try applyThreads(compute, jobs: jobs)
            try loaded.build()
            if check {
                printError("\(loaded.file): \(loaded.steps.count) stage\(loaded.steps.count == 1 ? "" : "s") ready: "
                           + loaded.steps.map { "\($0.task.rawValue)\($0.modelPath.map { " (\($0))" } ?? "")" }.joined(separator: " → "))
                return .success
            }
            let first = loaded.steps[0]
            let example: String
            switch loaded.inputKind {
            case .audio: example = "recur run \(pipeline) samples/speech/*.wav"
            case .image: example = "recur run \(pipeline) samples/images/*.png"
            default: example = "echo 'Hello.' | recur run \(pipeline)"
            }
            let args = try UnixManners.inputArguments(inputs, command: "recur run \(pipeline)",
                                                      what: "\(loaded.inputKind.noun) files for \(first.label)", example: example)
            let progress = ProgressLine(total: nil, unit: "inputs")
            let summary: BatchSummary
            if show {
                let out = RecordWriter()
                summary = try loaded.run(inputs: args, jobs: jobs, batchSize: batchSize, progress: progress) { input, result in
                    for r in result.records { try out.writeLine(Pipeline.showLine(input: input, output: r)) }
                }
            } else {
                let sink = try ResultSink(format: jsonl ? .jsonl : format ?? .txt)
                summary = try loaded.run(inputs: args, sink: sink, jobs: jobs, batchSize: batchSize, progress: progress)
            }
            reportFailures(summary, unit: "input")
            return summary.exitStatus
        }
    }

    /// `recur run --list`: name, description, and a note for files that do not load.
    func listPipelines() throws -> ExitStatus {
        if pipeline != nil || !inputs.isEmpty { throw RecurError(.usage, "recur run --list takes no pipeline or inputs") }
        let entries = PipelineLocator.list()
        if entries.isEmpty {
            let places = PipelineLocator.searchFolders().map(\.folder).joined(separator: ", ")
            throw RecurError(.usage, "no pipeline files (*.yaml) in \(places); set RECUR_PIPELINES to a folder of them")
        }
        let out = RecordWriter()
        let width = entries.map(\.name.count).max() ?? 0
        for e in entries {
            var line = e.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + e.description
            if e.problem != nil { line += "  (not runnable here: `recur run \(e.name) --check` says why)" }
            try out.writeLine(line)
        }
        return .success
    }
}
