import ArgumentParser
import Foundation
import RecurCore
import RecurModels
import RecurTraining

/// `recur train RECIPE.yaml`: trains the model a recipe describes.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model from a recipe (YAML).",
        discussion: """
        The run directory (the recipe's `output`) receives checkpoint-<step>.safetensors (the last \
        `keep_last`), best.safetensors, model.safetensors at the end, log.jsonl, loss.png and the \
        effective recipe.yaml. Every checkpoint is a model file: `recur inspect`, `recur evaluate` \
        and the decoding commands read it as is. Ship one with `recur export`.

        Examples:
          recur train recipes/translate-en-fr-small.yaml
          recur train recipes/translate-en-fr-small.yaml --set training.max_minutes=5 --set model.hidden=128
          recur train recipes/translate-en-fr-small.yaml --resume runs/translate-en-fr-small
        """)

    @Argument(help: "The recipe file.")
    var recipe: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a recipe field (dotted path), e.g. training.max_steps=200. Repeatable.",
                                                      valueName: "key=value"))
    var overrides: [String] = []

    @Option(name: .long, help: "Replace the recipe's data.root (where its data paths start).")
    var dataRoot: String?

    @Option(name: .long, help: "Continue from a checkpoint file, or from the latest checkpoint of a run directory.")
    var resume: String?

    @Option(name: .long, help: "Progress display: auto (a rewritten line on a terminal), line, plain.")
    var progress: String = "auto"

    @Flag(name: .long, help: "Print the effective recipe with where each value came from, and stop.")
    var dryRun = false

    func run() throws {
        guard let style = ProgressStyle(rawValue: progress) else {
            throw ValidationError("--progress must be auto, line or plain, not \(progress)")
        }
        do {
            var r = try Recipe.load(recipe, overrides: overrides, dataRoot: dataRoot)
            printError("recipe \(r.name) (\(recipe)):")
            for line in r.provenanceReport() { printError("  " + line) }
            if dryRun { return }
            r.file = recipe
            let session = try TrainingSession(recipe: r, resume: resume, progress: style)
            // The first Ctrl-C finishes the step, validates and writes the final model; a second one exits.
            session.trainer.interruption.handleInterrupts(log: { printError($0) })
            let summary = try session.run()
            var line = "stopped: \(summary.stopReason) after \(summary.steps) steps (\(String(format: "%.2f", summary.epochs)) epochs, \(String(format: "%.0f", summary.elapsedSeconds)) s)"
            if let best = summary.bestMetric, let name = summary.metricName, let step = summary.bestStep {
                line += "; best \(name) \(String(format: "%.2f", best)) at step \(step)"
            }
            printError(line)
            printError("model: \(RunDirectory(r.output).finalPath)  best: \(RunDirectory(r.output).bestPath)")
        } catch let e as RecurError {
            printError("recur train: \(e)")
            throw ExitCode(e.kind == .usage ? 2 : 1)
        }
    }
}

/// `recur export CHECKPOINT --out MODEL`: a model file for shipping.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model for shipping: weights only (float16 by default), no optimizer or training state.")

    @Argument(help: "A checkpoint or model file.")
    var input: String

    @Option(name: .shortAndLong, help: "The model file to write.")
    var out: String

    @Flag(name: .long, help: "Keep float32 weights.")
    var float32 = false

    @Option(name: .customLong("note"), help: ArgumentHelp("A note to store (key=value), e.g. validation figures. Repeatable.",
                                                        valueName: "key=value"))
    var notes: [String] = []

    @Option(name: .customLong("length-penalty"),
            help: "The GNMT length penalty α the model's users get from beam search unless they give one (0 removes it).")
    var lengthPenalty: Float?

    @Option(help: "The beam size the model's users get unless they give one (1: greedy; 0 removes it).")
    var beam: Int?

    @Option(help: ArgumentHelp("A language model fused into decoding unless users give --no-lm: a shipped model's name, e.g. lm-en (none removes it).",
                               valueName: "name"))
    var lm: String?

    @Option(name: .customLong("lm-weight"), help: "With --lm: its weight λ (default: the decoders' 0.2).")
    var lmWeight: Float?

    func validate() throws {
        if let a = lengthPenalty, !(a.isFinite && a >= 0) { throw ValidationError("--length-penalty must be a finite α ≥ 0") }
        if let b = beam, b < 0 { throw ValidationError("--beam must be ≥ 1 (or 0 to remove it)") }
        if let w = lmWeight, !(w.isFinite && w >= 0) { throw ValidationError("--lm-weight must be a finite λ ≥ 0") }
        if lmWeight != nil && (lm == nil || lm == "none") { throw ValidationError("--lm-weight goes with --lm") }
    }

    func run() throws {
        do {
            let loaded = try ModelFile.read(input)
            let (_, store) = try loaded.instantiate()
            var d = loaded.description
            for n in notes {
                guard let eq = n.firstIndex(of: "=") else { throw ValidationError("--note needs key=value, got \(n)") }
                d.notes[String(n[..<eq])] = String(n[n.index(after: eq)...])
            }
            if let t = loaded.training, let state = try? TrainingState(jsonString: t) {
                d.notes["trained_steps"] = String(state.step)
                if let best = state.bestMetric { d.notes["best_validation"] = String(best) }
                if let v = state.validations.last { d.notes["validation_metric"] = v.metricName; d.notes["validation_signature"] = v.signature ?? "" }
            }
            if let a = lengthPenalty { d.notes[ModelDescription.lengthPenaltyNote] = a > 0 ? String(a) : nil }
            if let b = beam { d.notes[ModelDescription.beamNote] = b > 0 ? String(b) : nil }
            if let lm {
                d.notes[ModelDescription.languageModelNote] = lm == "none" ? nil : lm
                d.notes[ModelDescription.languageModelWeightNote] = lm == "none" ? nil : lmWeight.map { String($0) }
            }
            do { _ = try d.defaultBeam; _ = try d.defaultLanguageModel } catch let e as RecurError { throw RecurError(e.kind, e.reason, file: input) }
            try ModelFile.write(to: out, description: d, store: store, float16: !float32)
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            printError("wrote \(out) (\(size / 1024) KiB, \(float32 ? "F32" : "F16"), \(store.parameterCount) parameters)")
        } catch let e as RecurError {
            printError("recur export: \(e)")
            throw ExitCode(1)
        }
    }
}
