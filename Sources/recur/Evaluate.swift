import ArgumentParser
import Foundation
import RecurCore
import RecurDecoding
import RecurModels
import RecurPipelines
import RecurTraining

/// `recur evaluate`: a model's task metric on a data set.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model on a data set: its task metric (BLEU, WER, CIDEr-D, …) and loss.",
        discussion: """
        Reads --data as `recur train` reads data (every example is evaluated; captions of one image, \
        or identical sources, are one example with all their references), decodes every source and \
        prints the metric with its signature, the teacher-forced loss per token and the counts. \
        Default formats: translate tsv (source<TAB>target), transcribe manifest (path<TAB>transcript \
        with a header; a directory is read as FSDD recordings), caption captions (image<TAB>caption), \
        generate text (one text a line). Default metrics: bleu, wer, cider-d, bpc.
        """
    )

    @Option(name: [.short, .long], help: ArgumentHelp("The model file, or a shipped model's name.", valueName: "path"))
    var model: String
    @Option(help: ArgumentHelp("The data set file (or FSDD folder).", valueName: "path")) var data: String
    @Option(help: "Data format: tsv, manifest, fsdd, captions or text (default: the task's).") var format: String?
    @Option(help: "Metric: bleu, chrf, chrf++, wer, cer, caption-bleu4, cider-d, exact, loss, bpc, perplexity.") var metric: String?
    @Option(name: .customLong("source-column"), help: "TSV: the source column (0-based).") var sourceColumn: Int = 0
    @Option(name: .customLong("target-column"), help: "TSV: the target column (0-based).") var targetColumn: Int = 1
    @Option(name: .customLong("media-root"), help: "Where relative audio/image paths of a list are resolved (default: the list's folder).")
    var mediaRoot: String?
    @Option(help: "Beam size (1: greedy; default: the model's, else 1).") var beam: Int?
    @Option(name: .customLong("length-penalty"), help: "GNMT length penalty α of beam search; 0: none (default: the model's, else 0).")
    var lengthPenalty: Float?
    @Option(name: .customLong("max-length"), help: "Most output tokens.") var maxLength: Int = 200
    @Option(name: .customLong("batch-size"), help: "Examples decoded together.") var batchSize: Int = 32
    @Flag(name: .customLong("ban-unk"), help: "Never output <unk> (as the decoding commands' --ban-unk).") var banUnk = false
    @Option(help: ArgumentHelp("Fuse a language model into decoding (as the decoding commands' --lm).", valueName: "path")) var lm: String?
    @Option(name: .customLong("lm-weight"), help: "With --lm: each token scores log p(model) + λ·log p(lm) (default: the model's, else 0.2).")
    var lmWeight: Float?
    @Flag(name: .customLong("no-lm"), help: "Decode without the language model the model's notes name.") var noLM = false
    @Option(help: "Example outputs shown on stderr.") var samples: Int = 3
    @Flag(help: "Print one JSON object instead of text.") var jsonl = false
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if let beam, beam < 1 { throw ValidationError("--beam must be at least 1") }
        guard batchSize >= 1, maxLength >= 1 else { throw ValidationError("--batch-size and --max-length must be at least 1") }
        guard samples >= 0 else { throw ValidationError("--samples must be ≥ 0") }
        if let a = lengthPenalty, !(a.isFinite && a >= 0) { throw ValidationError("--length-penalty must be a finite α ≥ 0") }
        if let w = lmWeight, !(w.isFinite && w >= 0) { throw ValidationError("--lm-weight must be a finite λ ≥ 0") }
        if noLM && (lm != nil || lmWeight != nil) { throw ValidationError("--no-lm does not go with --lm or --lm-weight") }
        if let format, TaskDataSpec.Format(rawValue: format) == nil {
            throw ValidationError("--format must be one of \(TaskDataSpec.Format.allCases.map(\.rawValue).joined(separator: ", ")), got \(format)")
        }
    }

    static func defaultMetric(_ task: ModelTask) -> String {
        switch task {
        case .translate: return "bleu"
        case .transcribe: return "wer"
        case .caption: return "cider-d"
        case .generate: return "bpc"
        case .classify: return "exact"
        }
    }

    func defaultFormat(_ task: ModelTask) -> TaskDataSpec.Format {
        switch task {
        case .translate, .classify: return .tsv
        case .transcribe:
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: data, isDirectory: &isDir) && isDir.boolValue ? .fsdd : .manifest
        case .caption: return .captions
        case .generate: return .text
        }
    }

    func run() throws {
        try runCommand {
            try compute.apply()
            let path = try ModelLocator.resolve(explicit: model, defaultName: model)
            let runner = try ModelRunner(path: path)
            let d = runner.loaded.description
            let metric = (self.metric ?? Self.defaultMetric(d.task)).lowercased()
            if !TaskEvaluation.lossMetrics.contains(metric) { _ = try TaskMetric(name: metric) }
            guard FileManager.default.fileExists(atPath: data) else { throw RecurError(.io, "no such file or directory", file: data) }
            var spec = TaskDataSpec(task: d.task, train: [data], format: format.flatMap(TaskDataSpec.Format.init) ?? defaultFormat(d.task))
            spec.valid = data
            spec.validFraction = 0
            spec.sourceColumn = sourceColumn
            spec.targetColumn = targetColumn
            spec.mediaRoot = mediaRoot
            let prepared = try TaskPreparation.prepare(spec, sourceVocabulary: nil, targetVocabulary: nil,
                                                       lowercase: d.normalizer?.lowercase ?? false, audio: d.audio, image: d.image,
                                                       existing: (d.sourceVocabulary, d.targetVocabulary), log: { _ in })
            let alpha = lengthPenalty ?? runner.lengthPenalty
            // The commands' decoding settings (one definition): 2 × source length + 10 tokens at most.
            let beam = self.beam ?? runner.beam ?? 1
            var settings = StageOptions.decoding(beam: beam, lengthPenalty: alpha, maxLength: maxLength, batchSize: batchSize,
                                                 banUnknown: banUnk).decode
            if d.task != .generate && d.task != .classify {
                settings.fusion = try languageModelFusion(lm, weight: lmWeight, off: noLM, for: runner)
            }
            let fusedName = settings.fusion == nil ? nil : (lm ?? runner.languageModel?.name ?? "")
            let started = Date()
            let e = try TaskEvaluation.evaluate(runner.model, runner.store, data: prepared.validation, io: runner.io, metric: metric,
                                                decode: settings, samples: samples)
            let seconds = Date().timeIntervalSince(started)
            let examples = prepared.validation.count
            let references = prepared.validation.references.map(\.count).reduce(0, +)
            for s in e.samples { printError(s) }
            let out = RecordWriter()
            if jsonl {
                var o = JSONObject()
                o["model"] = .string(runner.name)
                o["path"] = .string(path)
                o["task"] = .string(d.task.rawValue)
                o["data"] = .string(data)
                o["metric"] = .string(e.metricName)
                o["value"] = e.metric.map { JSONValue(Double($0)) } ?? .null
                if let s = e.signature { o["signature"] = .string(s) }
                o["loss"] = JSONValue(e.loss)
                o["tokens"] = JSONValue(e.tokens)
                o["examples"] = JSONValue(examples)
                o["references"] = JSONValue(references)
                o["seconds"] = JSONValue((seconds * 100).rounded() / 100)
                o["beam"] = JSONValue(beam)
                o["length_penalty"] = JSONValue(Double(alpha))
                o["ban_unk"] = .bool(banUnk)
                if let f = settings.fusion, let fusedName {
                    o["lm"] = .string(fusedName)
                    o["lm_weight"] = JSONValue(Double(f.weight))
                }
                try out.writeLine(JSONValue.object(o).compactText)
            } else {
                try out.writeLine("model       \(path) (\(d.task.rawValue))")
                try out.writeLine("data        \(data): \(examples) examples, \(references) references")
                let value = e.metric.map { String(format: "%.4g", $0) } ?? "-"
                let name = e.metricName.count < 11 ? e.metricName.padding(toLength: 11, withPad: " ", startingAt: 0) : e.metricName
                try out.writeLine("\(name) \(value)\(e.signature.map { "  (\($0))" } ?? "")")
                try out.writeLine(String(format: "loss        %.4f per token over %d tokens", e.loss, e.tokens))
                if d.task != .generate && d.task != .classify {
                    try out.writeLine("decoding    " + (beam == 1 ? "greedy" : "beam \(beam), length penalty \(alpha)"
                                                        + (lengthPenalty == nil && alpha > 0 ? " (the model's)" : ""))
                                        + (banUnk ? ", <unk> banned" : "")
                                        + (settings.fusion.map { ", language model \(fusedName ?? "") fused with weight \($0.weight)" } ?? ""))
                }
                try out.writeLine(String(format: "time        %.1f s", seconds))
            }
            return .success
        }
    }
}
