import ArgumentParser
import Foundation
import RecurCore
import RecurModels
import RecurPipelines
import RecurTraining

/// `recur caption`: images to sentences.
struct Caption: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Describe PNG images in a sentence.",
        discussion: """
        Inputs are files, globs, directories (searched for .png files) and @lists; `-` reads a list \
        of paths from stdin. One line (or --jsonl record) per image, in input order, also with \
        --jobs N; a file that fails is named on stderr, the others go on, and the exit status is then 1. \
        --attention-png draws, per image, where the model looked for each word over the image's grid.
        """
    )

    @Argument(help: "PNG files, globs, directories or @list.txt files.") var inputs: [String] = []
    @Option(help: "Images captioned in parallel (results stay in input order).") var jobs: Int = 1
    @OptionGroup var decode: DecodeOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
    }

    func run() throws {
        try runCommand {
            try applyThreads(compute, jobs: jobs)
            let args = try UnixManners.inputArguments(inputs, command: "recur caption", what: "PNG files",
                                                      example: "recur caption samples/*.png")
            let runner = try decode.loadRunner(task: .caption, defaultName: ModelLocator.defaultName(task: "caption"))
            let stage = try CaptionStage(runner: runner, options: decode.stageOptions(defaultBeam: 1, runner: runner))
            let sink = try ResultSink(format: decode.jsonl ? .jsonl : .txt, pictureFolder: decode.attentionPNG)
            return try runMediaStage(stage, inputs: args, extensions: ["png"], jobs: jobs, sink: sink,
                                     command: "recur caption", example: "recur caption samples/*.png")
        }
    }
}
