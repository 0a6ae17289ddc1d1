import ArgumentParser
import Foundation
import RecurCore
import RecurModels
import RecurPipelines
import RecurTraining

/// `recur classify`: each text line (or record) → its class label.
struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Label text lines or JSON Lines records with a trained classifier.",
        discussion: """
        Reads each FILE (`-` or none: stdin), plain lines or JSON Lines records (for example \
        `recur transcribe --jsonl`), and writes one label per input line or record, as soon as it \
        is known; a blank line gives a blank line. With --jsonl, each record holds the label as \
        `text`, its log-probability as `score` and, with --top K, the K most probable labels in \
        `nbest`. A classifier is trained from a recipe with `task: classify` (data: text<TAB>label). \
        A line that fails is named on stderr and the others go on; the exit status is then 1.
        """
    )

    @Argument(help: "Text or JSON Lines files; `-` or none for stdin.") var inputs: [String] = []
    @Option(name: [.short, .long], help: ArgumentHelp("The classifier model file (recur train with task: classify).", valueName: "path"))
    var model: String
    @Option(help: "Labels kept per input, best first (in --jsonl's nbest).") var top: Int = 1
    @Option(name: .customLong("batch-size"), help: "Inputs classified together.") var batchSize: Int = 32
    @Flag(help: "Write JSON Lines records (text, score, nbest, source, stage, model) instead of labels.") var jsonl = false
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        try runCommand {
            try applyThreads(compute, jobs: 1)
            let args = try UnixManners.inputArguments(inputs, command: "recur classify", what: "text files",
                                                      example: "echo 'what a fine day' | recur classify --model M")
            let runner = try ModelRunner(path: try ModelLocator.resolve(explicit: model, defaultName: "classify"), task: .classify)
            let stage = try ClassifyStage(runner: runner, top: top, batchSize: batchSize)
            return try TextStageDriver(stage: stage, format: jsonl ? .jsonl : .txt, pictures: nil, batchSize: batchSize).run(args)
        }
    }
}
