import Foundation
import RecurCore
import RecurDecoding
import RecurFrontends
import RecurModels
import RecurTraining

/// The built stages of a pipeline (each model loaded once, shared by every
/// job) and how a group of input records goes through them.
final class PipelineEngine: @unchecked Sendable {
    let steps: [PipelineStep]
    let stages: [any Stage]

    init(_ pipeline: Pipeline) throws {
        steps = pipeline.steps
        var runners: [String: ModelRunner] = [:]   // by file: a model named twice is loaded once
        var stages: [any Stage] = []
        for step in pipeline.steps {
            do {
                stages.append(try Self.makeStage(step, runners: &runners))
            } catch let e as RecurError {
                throw RecurError(e.kind, "\(step.label): \(e.description)", file: step.modelLocation)
            }
        }
        self.stages = stages
    }

    static func runner(_ path: String, _ runners: inout [String: ModelRunner]) throws -> ModelRunner {
        if let r = runners[path] { return r }
        let r = try ModelRunner(path: path)
        runners[path] = r
        return r
    }

    /// The decoding settings of a step, with the same defaults as the
    /// commands (`recur translate` etc.): the beam and length penalty are the
    /// model's (its notes) unless the step gives them. `lm`: the language model
    /// fused in, else the one the model's notes name (`lm: none`: none).
    static func stageOptions(_ step: PipelineStep, defaultBeam: Int, runner: ModelRunner,
                             runners: inout [String: ModelRunner]) throws -> StageOptions {
        var o = StageOptions.decoding(beam: step.int("beam") ?? runner.beam ?? defaultBeam, nbest: step.int("nbest") ?? 1,
                                      lengthPenalty: step.double("length_penalty").map(Float.init) ?? runner.lengthPenalty,
                                      maxLength: step.int("max_length") ?? 200,
                                      minLength: step.int("min_length") ?? 0, batchSize: step.int("batch_size") ?? 32,
                                      banUnknown: step.bool("ban_unk") ?? false)
        let lm = step.string("lm")
        do {
            if let choice = try LanguageModelChoice.choose(given: lm == "none" ? nil : lm, weight: step.double("lm_weight").map(Float.init),
                                                           off: lm == "none", for: runner, names: ("lm", "lm_weight", "the stage lm: none")) {
                o.decode.fusion = try runner.fusion(with: Self.runner(choice.path, &runners), weight: choice.weight)
            }
        } catch let e as RecurError {
            // Only a stray lm_weight comes without a file: point at it.
            throw RecurError(e.kind, "\(step.label): \(e.reason)", file: e.file ?? step.optionLocations["lm_weight"] ?? step.taskLocation)
        }
        return o
    }

    static func makeStage(_ step: PipelineStep, runners: inout [String: ModelRunner]) throws -> any Stage {
        switch step.task {
        case .translate:
            let r = try runner(step.modelPath!, &runners)
            return try TranslateStage(runner: r, options: stageOptions(step, defaultBeam: 5, runner: r, runners: &runners))
        case .transcribe:
            let seconds = step.double("max_segment") ?? 30
            let r = try runner(step.modelPath!, &runners)
            return try TranscribeStage(runner: r, options: stageOptions(step, defaultBeam: 1, runner: r, runners: &runners),
                                       maxSegmentSeconds: seconds > 0 ? seconds : nil)
        case .caption:
            let r = try runner(step.modelPath!, &runners)
            return try CaptionStage(runner: r, options: stageOptions(step, defaultBeam: 1, runner: r, runners: &runners))
        case .generate:
            var s = GenerateStage.Sampling()
            if let v = step.double("temperature") { s.temperature = Float(v) }
            if let v = step.int("top_k") { s.topK = v }
            if let v = step.int("length") { s.length = v }
            if let v = step.int("count") { s.count = v }
            if let v = step.int("seed") { s.seed = UInt64(v) }
            return try GenerateStage(runner: runner(step.modelPath!, &runners), sampling: s)
        case .classify:
            return try ClassifyStage(runner: runner(step.modelPath!, &runners), top: step.int("top") ?? 1,
                                     batchSize: step.int("batch_size") ?? 32)
        case .tokenize:
            let ids = step.string("output") == "ids"
            let bosEos = step.bool("add_bos_eos") ?? false
            if let vocab = step.string("vocab") {
                let kind = step.string("kind").flatMap(TokenizerKind.init(rawValue:))
                let v = try Vocabulary.load(vocab, kind: kind)
                let name = ((vocab as NSString).lastPathComponent as NSString).deletingPathExtension
                return TokenizeStage(tokenizer: Tokenizer(vocabulary: v, normalizer: TextNormalizer(lowercase: step.bool("lowercase") ?? false)),
                                     modelName: name, ids: ids, addBosEos: bosEos)
            }
            let r = try runner(step.modelPath!, &runners)
            let side = step.string("side") ?? "source"
            guard let t = side == "target" ? r.io.targetTokenizer : r.io.sourceTokenizer else {
                throw RecurError(.usage, "this \(r.loaded.description.task.rawValue) model has no \(side) vocabulary", file: r.path)
            }
            return TokenizeStage(tokenizer: t, modelName: r.name, ids: ids, addBosEos: bosEos)
        case .features:
            let input = step.reads
            let out = step.string("out_dir")
            if let path = step.modelPath {
                let r = try runner(path, &runners)
                let source = r.loaded.description.task.source
                guard (input == .audio && source == .speech) || (input == .image && source == .image) else {
                    throw RecurError(.usage, "this \(r.loaded.description.task.rawValue) model reads no \(input.noun); the stage has input: \(input.rawValue)",
                                     file: r.path)
                }
                return try FeaturesStage(frontend: .model(r), modelName: r.name, outputFolder: out)
            }
            if input == .image {
                let g = GridFeatures(GridFeatureConfig(grid: step.int("grid") ?? 7, size: step.int("size") ?? 224))
                return try FeaturesStage(frontend: .image(g, PNGReader()), modelName: "grid", outputFolder: out)
            }
            let preset = AudioPreset(rawValue: step.string("preset") ?? "recur") ?? .recur
            return try FeaturesStage(frontend: .audio(AudioFrontend(preset.config(nMels: step.int("n_mels")))),
                                     modelName: preset.rawValue, outputFolder: out)
        }
    }

    /// Passes `inputs` through every stage: one result per input, in order,
    /// holding the last stage's records (a recording cut into segments gives
    /// several). An input fails as a whole when any of its records fails in
    /// any stage; the error then says which stage.
    func process(_ inputs: [StageRecord]) -> [Result<StageResult, Error>] {
        var current: [Result<StageResult, Error>] = inputs.map { .success(StageResult(records: [$0])) }
        for (k, stage) in stages.enumerated() {
            var flat: [StageRecord] = [], owner: [Int] = []
            for (i, r) in current.enumerated() {
                if case .success(let res) = r {
                    flat += res.records
                    owner += Array(repeating: i, count: res.records.count)
                }
            }
            if flat.isEmpty { break }
            // Sampling is seeded by the position in a call: one record a call,
            // so that a record gets what `recur generate` gives its prime.
            let outs = stage is GenerateStage ? flat.flatMap { stage.process([$0]) } : stage.process(flat)
            var next: [Result<StageResult, Error>] = current.map { r in r.map { _ in StageResult(records: []) } }
            for (j, out) in outs.enumerated() {
                let i = owner[j]
                guard case .success(var acc) = next[i] else { continue }
                switch out {
                case .success(let res):
                    acc.records += res.records
                    next[i] = .success(acc)
                case .failure(let e):
                    next[i] = .failure(stages.count > 1 ? Self.inStage(e, steps[k]) : e)
                }
            }
            current = next
        }
        return current
    }

    /// `error`, saying which stage it happened in.
    static func inStage(_ error: Error, _ step: PipelineStep) -> Error {
        let where_ = " (in \(step.label))"
        if let e = error as? RecurError { return RecurError(e.kind, e.reason + where_, file: e.file) }
        return RecurError(.value, "\(error)" + where_)
    }
}

extension StageOptions {
    /// The decoding options of a stage as the commands' flags give them
    /// (`--beam`, `--nbest`, `--length-penalty`, `--max-length`,
    /// `--min-length`, `--batch-size`, `--ban-unk`, defaults as there): the beam is at
    /// least the n-best count, and a source decodes at most 2 × its length +
    /// 10 tokens (and at most `maxLength`). One definition for pipelines and
    /// commands, so both decode alike.
    /// `banUnknown`: `<unk>` is never chosen (`--ban-unk`).
    public static func decoding(beam: Int, nbest: Int = 1, lengthPenalty: Float = 0, maxLength: Int = 200, minLength: Int = 0,
                                batchSize: Int = 32, attention: Bool = false, banUnknown: Bool = false) -> StageOptions {
        let d = DecodeSettings(beam: max(beam, nbest), nBest: nbest,
                               options: DecodingOptions(minLength: minLength, maxLength: maxLength, maxLengthRatio: 2, maxLengthOffset: 10,
                                                        lengthPenalty: lengthPenalty > 0 ? .gnmt(alpha: lengthPenalty) : .none,
                                                        bannedTokens: banUnknown ? [Vocabulary.unk] : []),
                               batchSize: batchSize)
        return StageOptions(decode: d, attention: attention)
    }
}

/// The pipeline's inputs, read lazily as work units: a media file each, or
/// a group of records from a text input (up to the batch size from a
/// regular file, one at a time from a pipe or a terminal, so that each
/// result goes out as soon as its line came in).
final class PipelineInputs {
    enum Unit: Sendable {
        case records([StageRecord], name: String)
        case failed(name: String, Error)

        var name: String {
            switch self {
            case .records(_, let n), .failed(let n, _): return n
            }
        }
    }

    let items: [InputItem]
    let kind: PipelineDataKind
    let batchSize: Int
    private var index = 0
    private var reader: RecordReader?
    private var readerName = ""
    private var readerBatch = 1
    private var paths: LineReader?
    private var pending: [StageRecord] = []
    private var pendingName = ""
    private var pendingFailure: Unit?

    init(items: [InputItem], kind: PipelineDataKind, batchSize: Int) {
        self.items = items
        self.kind = kind
        self.batchSize = max(1, batchSize)
    }

    func next() -> Unit? {
        while true {
            if let f = pendingFailure { pendingFailure = nil; return f }
            if !pending.isEmpty {
                let n = min(batchSize, pending.count)
                let chunk = Array(pending.prefix(n))
                pending.removeFirst(n)
                return .records(chunk, name: pendingName)
            }
            if let r = reader {
                var chunk: [StageRecord] = []
                do {
                    while chunk.count < readerBatch, let rec = try r.next() { chunk.append(rec) }
                    if chunk.count < readerBatch { reader = nil }
                } catch {
                    reader = nil
                    pendingFailure = .failed(name: readerName, error)
                }
                if !chunk.isEmpty { return .records(chunk, name: readerName) }
                continue
            }
            if let p = paths {
                do {
                    guard let line = try p.next() else { paths = nil; continue }
                    let path = line.trimmingCharacters(in: .whitespaces)
                    if path.isEmpty || path.hasPrefix("#") { continue }
                    return .records([.media(path)], name: path)
                } catch {
                    paths = nil
                    return .failed(name: p.name, error)
                }
            }
            guard index < items.count else { return nil }
            let item = items[index]
            index += 1
            do {
                let path = try item.path()
                if kind != .text {
                    if path == "-" {
                        // `-`: a list of paths on stdin, one a line.
                        UnixManners.noteReadingFromTerminal()
                        paths = try LineReader(path: "-")
                        continue
                    }
                    return .records([.media(path)], name: item.name)
                }
                if path != "-", SubtitleFormat.forPath(path) != nil {
                    pending = try SubtitleDocument.read(path: path).records(file: item.name)
                    pendingName = item.name
                    continue
                }
                if path == "-" { UnixManners.noteReadingFromTerminal() }
                reader = try RecordReader(path: path)
                readerName = item.name
                readerBatch = Self.isRegularFile(path) ? batchSize : 1
            } catch {
                return .failed(name: item.name, error)
            }
        }
    }

    /// Whether `path` (`-`: stdin) is a regular file, which can be read ahead without waiting on a writer.
    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        let ok = path == "-" ? fstat(0, &st) : stat(path, &st)
        return ok == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }
}

extension Pipeline {
    /// Runs the pipeline over `inputs` as the first stage's command takes
    /// them (files, globs, folders searched by extension, `@list.txt`, `-`
    /// for stdin: text records, or for media stages a list of paths), in one
    /// process: each model is loaded once (`build()`), and every input record
    /// goes through all the stages, keeping its `source` and times, each
    /// stage moving the result before it to the record's `history`.
    ///
    /// `deliver` gets each input record (as read, before the first stage)
    /// and what it became, in input order, on the calling thread, as soon as
    /// it and everything before it is done (with `jobs` > 1 several units run
    /// at once). A failed input is one line through `log` (the input named,
    /// then the reason and the stage), the others go on. `OutputClosed`
    /// thrown by `deliver` stops the run and is rethrown.
    ///
    /// - Parameter batchSize: records read together from a regular text file
    ///   (default: the first stage's `batch_size`, else 32).
    /// - Returns: the counts of input records that succeeded and failed.
    public func run(inputs: [String], jobs: Int = 1, batchSize: Int? = nil, progress: ProgressLine? = nil,
                    log: @escaping (String) -> Void = StandardError.writeLine,
                    deliver: (_ input: StageRecord, _ result: StageResult) throws -> Void) throws -> BatchSummary {
        let engine = try engine()
        let items = InputExpander(extensions: inputKind.extensions).expand(inputs)
        let source = PipelineInputs(items: items, kind: inputKind, batchSize: batchSize ?? steps[0].int("batch_size") ?? 32)
        var succeeded = 0, failed = 0
        func logFailure(_ line: String) {
            failed += 1
            progress?.clear()
            log(line)
        }
        let unitSummary = try BatchRunner.runStream(
            jobs: jobs,
            next: { source.next() },
            name: \.name,
            progress: progress,
            log: log,
            work: { unit -> [(StageRecord, Result<StageResult, Error>)] in
                switch unit {
                case .failed(_, let e): throw e
                case .records(let rs, _): return Array(zip(rs, engine.process(rs)))
                }
            },
            deliver: { _, results in
                for (input, result) in results {
                    switch result {
                    case .success(let res):
                        do {
                            try deliver(input, res)
                            succeeded += 1
                        } catch let e as OutputClosed {
                            throw e
                        } catch {
                            logFailure(UnixManners.failureLine(name: input.inputName, error: error))
                        }
                    case .failure(let e):
                        logFailure(UnixManners.failureLine(name: input.inputName, error: e))
                    }
                }
            })
        return BatchSummary(succeeded: succeeded, failed: failed + unitSummary.failed)
    }

    /// `run` writing every result to `sink` (records in its format, in order, flushed each).
    public func run(inputs: [String], sink: ResultSink, jobs: Int = 1, batchSize: Int? = nil, progress: ProgressLine? = nil,
                    log: @escaping (String) -> Void = StandardError.writeLine) throws -> BatchSummary {
        try run(inputs: inputs, jobs: jobs, batchSize: batchSize, progress: progress, log: log) { _, result in
            try sink.write(result)
        }
    }

    /// One readable line for the demo: the input, then every stage's text,
    /// `samples/speech/en-1.wav → 'hello world' → 'bonjour le monde'`.
    /// Earlier stages' texts come from the record's history; the input's own
    /// text is shown when it was a plain line (not an earlier stage's result).
    public static func showLine(input: StageRecord, output: StageRecord) -> String {
        var label = output.source?.file ?? input.inputName
        if let s = output.source {
            if let l = s.line { label += ":\(l)" }
            if let c = s.cue { label += " (cue \(c))" }
            if s.line == nil, s.cue == nil, let a = s.start, let b = s.end {
                label += String(format: " [%.2f–%.2f s]", a, b)
            }
        }
        func quoted(_ t: String) -> String { "'" + RecordWriter.oneLine(t) + "'" }
        var parts = [label]
        if input.stage == nil, input.source?.line != nil || input.source?.cue != nil { parts.append(quoted(input.text)) }
        for h in output.history {
            if case .string(let t)? = h["text"] { parts.append(quoted(t)) }
        }
        parts.append(quoted(output.text))
        return parts.joined(separator: " → ")
    }
}
