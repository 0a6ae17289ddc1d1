import ArgumentParser
import Foundation
import RecurCore
import RecurModels
import RecurPipelines
import RecurTraining

/// `recur translate`: text lines, stage records or subtitles to another language.
struct Translate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Translate text lines, JSON Lines records or SRT/VTT subtitles.",
        discussion: """
        Reads each FILE (`-` or none: stdin), detecting plain lines or JSON Lines records from the \
        first non-blank line; files ending in .srt or .vtt are read as subtitles and written back \
        with the same times (--format srt|vtt; by default the input's format). One result per input \
        line or record on stdout, written as soon as it is decoded; a blank line gives a blank line. \
        Records keep their source (file and line, or times) and earlier stages' results (history). \
        Input from a pipe is translated record by record; input from files in batches of --batch-size. \
        A line that fails is named on stderr and the others go on; the exit status is then 1.
        """
    )

    @Argument(help: "Text, JSON Lines, .srt or .vtt files; `-` or none for stdin.") var inputs: [String] = []
    @Option(help: "Target language: fr (translate-en-fr) or en (translate-fr-en) when --model is not given.") var to: String?
    @Option(help: "Output format: txt, jsonl, srt or vtt (default: jsonl with --jsonl, the input's subtitle format, else txt).")
    var format: ResultFormat?
    @OptionGroup var decode: DecodeOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if let to, !["fr", "en"].contains(to) { throw ValidationError("--to must be fr or en, got \(to)") }
        if decode.jsonl, let format, format != .jsonl { throw ValidationError("--jsonl and --format \(format.rawValue) exclude each other") }
    }

    func run() throws {
        try runCommand {
            try applyThreads(compute, jobs: 1)
            let args = try UnixManners.inputArguments(inputs, command: "recur translate", what: "text files",
                                                      example: "echo 'Hello.' | recur translate")
            let runner = try decode.loadRunner(task: .translate, defaultName: ModelLocator.defaultName(task: "translate", to: to))
            let stage = try TranslateStage(runner: runner, options: decode.stageOptions(defaultBeam: 5, runner: runner))
            return try TextStageDriver(stage: stage, format: decode.jsonl ? .jsonl : format, pictures: decode.attentionPNG,
                                       batchSize: decode.batchSize).run(args)
        }
    }
}

/// Feeds a text stage from files and stdin: subtitles by extension, else
/// lines or records (`RecordReader`); batches from regular files, one record
/// at a time from pipes and terminals.
struct TextStageDriver {
    let stage: any Stage
    /// nil: decided by the first input (its subtitle format, else txt).
    let format: ResultFormat?
    let pictures: String?
    let batchSize: Int

    func run(_ arguments: [String]) throws -> ExitStatus {
        let items = InputExpander(extensions: ["txt", "jsonl", "srt", "vtt"]).expand(arguments)
        var sink: ResultSink?
        var failed = 0, succeeded = 0
        func output(_ subtitle: SubtitleFormat?) throws -> ResultSink {
            if let sink { return sink }
            let f = format ?? (subtitle == .srt ? .srt : subtitle == .vtt ? .vtt : .txt)
            let s = try ResultSink(format: f, pictureFolder: pictures)
            sink = s
            return s
        }
        func process(_ records: [StageRecord], _ out: ResultSink) throws {
            for (r, result) in zip(records, stage.process(records)) {
                switch result {
                case .success(let res):
                    do { try out.write(res); succeeded += 1 } catch let e as OutputClosed { throw e } catch {
                        failed += 1
                        printError(UnixManners.failureLine(name: r.inputName, error: error))
                    }
                case .failure(let e):
                    failed += 1
                    printError(UnixManners.failureLine(name: r.inputName, error: e))
                }
            }
        }
        for item in items {
            do {
                let path = try item.path()
                if path != "-", let sf = SubtitleFormat.forPath(path) {
                    let doc = try SubtitleDocument.read(path: path)
                    let out = try output(sf)
                    let records = doc.records(file: item.name)
                    var i = 0
                    while i < records.count {
                        try process(Array(records[i..<min(i + batchSize, records.count)]), out)
                        i += batchSize
                    }
                    continue
                }
                if path == "-" { UnixManners.noteReadingFromTerminal() }
                let reader = try RecordReader(path: path)
                let out = try output(nil)
                // A malformed record line is one failure; reading goes on with the next line.
                func next() throws -> StageRecord? {
                    while true {
                        let before = reader.lineNumber
                        do { return try reader.next() } catch let e as RecurError where e.kind == .format && reader.lineNumber > before {
                            failed += 1
                            printError(e.description)
                        }
                    }
                }
                if Self.isRegularFile(path) {
                    var chunk: [StageRecord] = []
                    while let r = try next() {
                        chunk.append(r)
                        if chunk.count >= batchSize { try process(chunk, out); chunk = [] }
                    }
                    if !chunk.isEmpty { try process(chunk, out) }
                } else {
                    while let r = try next() { try process([r], out) }
                }
            } catch let e as OutputClosed {
                throw e
            } catch {
                failed += 1
                printError(UnixManners.failureLine(name: item.name, error: error))
            }
        }
        if failed > 0 { printError("\(failed) of \(failed + succeeded) inputs failed") }
        return ExitStatus.forBatch(failed: failed)
    }

    /// Whether `path` (`-`: stdin) is a regular file, which can be read ahead without waiting on a writer.
    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        let ok = path == "-" ? fstat(0, &st) : stat(path, &st)
        return ok == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }
}
