import ArgumentParser
import Foundation
import RecurCore
import RecurModels
import RecurPipelines
import RecurTraining

/// `recur transcribe`: speech to text.
struct Transcribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Transcribe audio files (WAV, FLAC, OGG, …) to text, subtitles or records.",
        discussion: """
        Inputs are files, globs, directories (searched for audio files) and @lists; `-` reads a list \
        of paths from stdin. A recording longer than --max-segment seconds is cut at its quietest \
        moments near each limit (short-time energy) and each segment is transcribed with its times; \
        silent segments are left out. --format: txt (one line per segment), jsonl (records with \
        source, start, end, text, score), srt or vtt (subtitles, numbered across all inputs). \
        Results come in input order, also with --jobs N; a file that fails is named on stderr, the \
        others go on, and the exit status is then 1.
        """
    )

    @Argument(help: "Audio files, globs, directories or @list.txt files.") var inputs: [String] = []
    @Option(help: "Output format: txt, jsonl, srt or vtt (default: txt, or jsonl with --jsonl).") var format: ResultFormat?
    @Option(name: .customLong("max-segment"), help: "Longest segment in seconds; longer recordings are split at silences (0: never split).")
    var maxSegment: Double = 30
    @Option(help: "Files transcribed in parallel (results stay in input order).") var jobs: Int = 1
    @OptionGroup var decode: DecodeOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
        guard maxSegment >= 0, maxSegment.isFinite else { throw ValidationError("--max-segment must be ≥ 0 seconds") }
        if maxSegment > 0 && maxSegment < 0.5 { throw ValidationError("--max-segment must be at least 0.5 s (or 0: never split)") }
        if decode.jsonl, let format, format != .jsonl { throw ValidationError("--jsonl and --format \(format.rawValue) exclude each other") }
    }

    func run() throws {
        try runCommand {
            try applyThreads(compute, jobs: jobs)
            let args = try UnixManners.inputArguments(inputs, command: "recur transcribe", what: "audio files",
                                                      example: "recur transcribe talk.wav")
            let runner = try decode.loadRunner(task: .transcribe, defaultName: ModelLocator.defaultName(task: "transcribe"))
            let stage = try TranscribeStage(runner: runner, options: decode.stageOptions(defaultBeam: 1, runner: runner),
                                            maxSegmentSeconds: maxSegment > 0 ? maxSegment : nil)
            let sink = try ResultSink(format: decode.jsonl ? .jsonl : format ?? .txt, pictureFolder: decode.attentionPNG)
            return try runMediaStage(stage, inputs: args, extensions: ["wav", "flac", "ogg", "aiff", "aif", "mp3", "opus"],
                                     jobs: jobs, sink: sink, command: "recur transcribe", example: "recur transcribe talk.wav")
        }
    }
}
