import Foundation
import RecurCore
import RecurFrontends
import RecurModels

extension ExampleData: TrainingData {}

/// Lets the trainer's save closure, made before the trainer, reach it.
private final class TrainerLink {
    weak var trainer: Trainer?
}

/// One `recur train` run: a recipe made into task data, a model and a
/// trainer, with checkpoints written as model files (weights, Adam moments,
/// the trainer's state, the vocabularies and frontend settings), so that
/// `--resume` continues bit-identically and any checkpoint decodes as is.
public final class TrainingSession {
    public let recipe: Recipe
    public let task: PreparedTask
    public let model: any SequenceModel
    public let store: ParameterStore
    public let description: ModelDescription
    public let trainer: Trainer
    private let log: (String) -> Void

    /// Prepares everything; `resume` is a checkpoint file (or a run directory:
    /// its latest checkpoint) to continue from.
    public init(recipe: Recipe, resume: String? = nil, log: @escaping (String) -> Void = { Trainer.writeStderr($0 + "\n") },
                progress: ProgressStyle? = nil) throws {
        self.recipe = recipe
        self.log = log
        Threads.set(recipe.threads)

        // The checkpoint to continue from, if any.
        var loaded: LoadedModel? = nil
        var saved: TrainingState? = nil
        if let resume {
            let path = try Self.checkpointPath(resume)
            let l = try ModelFile.read(path)
            guard let text = l.training else {
                throw RecurError(.value, "no training state in the file (a shipped model?): resume from a checkpoint of the run directory", file: path)
            }
            saved = try TrainingState(jsonString: text)
            loaded = l
            log("resuming from \(path) (step \(saved!.step))")
        }

        // Data, vocabularies, frontends.
        let audio = try Self.audioConfig(recipe)
        let image = recipe.task == .caption ? GridFeatureConfig(grid: recipe.frontend.image.grid, size: recipe.frontend.image.size) : nil
        let spec = try Self.dataSpec(recipe)
        task = try TaskPreparation.prepare(
            spec, sourceVocabulary: Self.vocabularySpec(recipe.vocab.source), targetVocabulary: Self.vocabularySpec(recipe.vocab.target),
            lowercase: recipe.vocab.lowercase, audio: recipe.task == .transcribe ? audio : nil, image: image,
            existing: loaded.map { ($0.description.sourceVocabulary, $0.description.targetVocabulary) }, log: log)
        if recipe.frontend.specAugment && recipe.task == .transcribe {
            var o = SpecAugment.Options()
            o.maxFrequencyWidth = max(1, audio.dimension / 8)
            o.maxTimeWidth = 10
            task.train.specAugment = o
        }
        if recipe.frontend.frequencyWarp > 0 && recipe.task == .transcribe {
            task.train.frequencyWarp = (Float(recipe.frontend.frequencyWarp), audio.baseDimension)
        }
        if recipe.data.dropFinalPunctuation > 0, let v = task.sourceVocabulary {
            let marks: Set<String> = [".", "!", "?", "…"]
            let ids = Set(v.tokens.indices.filter { marks.contains(String(v.tokens[$0].drop { $0 == Character(spaceMarkerString) })) })
            task.train.finalPunctuationDrop = (recipe.data.dropFinalPunctuation, ids)
            log("final punctuation (\(ids.count) source tokens) dropped from \(recipe.data.dropFinalPunctuation * 100)% of training sources")
        }
        // Speed perturbation (frontend.speed_perturb) came in through the data spec: its
        // feature sets were computed (and logged) by the preparation above.

        // The model.
        let config = try Self.modelConfig(recipe, task: task, audio: audio)
        description = ModelDescription(task: recipe.task, config: config, sourceVocabulary: task.sourceVocabulary,
                                       targetVocabulary: task.targetVocabulary, normalizer: task.normalizer,
                                       audio: recipe.task == .transcribe ? audio : nil, image: image,
                                       notes: ["recipe": recipe.name, "recipe_yaml": (try? recipe.encodeYAML()) ?? ""])
        try description.validate()
        if let loaded {
            if let v = task.sourceVocabulary { try loaded.checkVocabulary(v, role: "source") }
            if let v = task.targetVocabulary { try loaded.checkVocabulary(v, role: "target") }
            guard loaded.description.config == config else {
                throw RecurError(.value, "the recipe's model differs from the checkpoint's (recur inspect shows the checkpoint's); resume with the same model settings", file: loaded.path)
            }
            (model, store) = try loaded.instantiate(optimizer: true)
        } else {
            model = try config.makeModel()
            store = ParameterStore(model.layout)
            var rng = RNG(seed: recipe.seed)
            model.initialize(store, rng: &rng)
        }

        // The trainer.
        var options = TrainingOptions(recipe: recipe)
        if let progress { options.progress = progress }
        let allValidation = task.validation
        let validation = recipe.training.validLimit.map { allValidation.prefix($0) } ?? allValidation
        let metric = recipe.training.metric
        let beam = recipe.training.validBeam
        let (m, io, description, weights) = (model, task.io, description, store)
        let runDirectory = options.runDirectory
        let link = TrainerLink()
        trainer = try Trainer(
            model: model, store: store, options: options, data: task.train,
            validate: { store in
                guard validation.count > 0 else { return ValidationResult(loss: .nan, tokens: 0) }
                let e = try TaskEvaluation.evaluate(m, store, data: validation, io: io, metric: metric,
                                                    decode: DecodeSettings(beam: beam))
                return ValidationResult(loss: e.loss, tokens: e.tokens, metricName: e.metricName, metric: e.metric,
                                        higherIsBetter: e.higherIsBetter, signature: e.signature, samples: e.samples)
            },
            save: { kind, state in
                guard let dir = runDirectory else { return }
                var d = description
                if let best = state.bestMetric { d.notes["best_\(metric)"] = String(best) }
                d.notes["step"] = String(state.step)
                // The final model is for use: no optimizer state; checkpoints keep it for --resume.
                // With weight averaging the store holds the average now; checkpoints keep the trained weights too.
                try ModelFile.write(to: dir.path(for: kind), description: d, store: weights, training: try state.jsonString(),
                                    includeOptimizer: kind != .final,
                                    trainingWeights: kind != .final ? link.trainer?.trainingWeights : nil)
            },
            log: log,
            progress: { Trainer.writeStderr($0) })
        link.trainer = trainer
        if let saved { try trainer.resume(from: saved, averaged: try loaded?.averagedWeights()) }
        if let dir = runDirectory {
            try dir.create()
            try AtomicFile.write(Data(((try? recipe.encodeYAML()) ?? "").utf8), to: dir.recipePath)
            if let valid = task.validationFile(task: recipe.task) { try AtomicFile.write(Data(valid.utf8), to: dir.validationPath) }
        }
    }

    /// Trains until a stopping rule fires.
    public func run() throws -> TrainingSummary { try trainer.run() }

    // MARK: recipe → settings

    /// A checkpoint file, or a run directory's latest periodic checkpoint.
    static func checkpointPath(_ path: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw RecurError(.io, "no such checkpoint or run directory", file: path)
        }
        guard isDir.boolValue else { return path }
        guard let last = RunDirectory(path).checkpoints().last else {
            throw RecurError(.value, "the run directory holds no checkpoint-<step>.safetensors to resume from", file: path)
        }
        return last.path
    }

    static func audioConfig(_ recipe: Recipe) throws -> AudioConfig {
        let a = recipe.frontend.audio
        guard let preset = AudioPreset(rawValue: a.preset) else {
            throw RecurError(.usage, "frontend.audio.preset: unknown preset \(a.preset); known: \(AudioPreset.allCases.map(\.rawValue).joined(separator: ", "))",
                             file: recipe.file)
        }
        var c = preset.config(nMels: a.nMels)
        c.nMFCC = a.nMFCC ?? 0
        c.deltaOrder = a.deltas
        // Recordings differ a lot in level (FSDD: peaks from 500 to 30,000): bring each to -20 dBFS RMS.
        c.level = .rms(dBFS: -20)
        switch a.cmvn {
        case "utterance": c.cmvn = .utterance(variance: true)
        case "none": c.cmvn = .none
        default: throw RecurError(.usage, "frontend.audio.cmvn: \(a.cmvn) is not one of none, utterance", file: recipe.file)
        }
        try c.validate()
        return c
    }

    /// `frontend.speed_perturb`, checked (transcribe only; factors in (0.25, 2]).
    /// Its features are made at preparation time (`TaskDataSpec.speedFactors`),
    /// the per-example draw at batch time, before SpecAugment's.
    static func speedFactors(_ recipe: Recipe) throws -> [Double]? {
        guard let factors = recipe.frontend.speedPerturb else { return nil }
        try TaskPreparation.checkSpeedFactors(factors, task: recipe.task, file: recipe.file)
        return factors
    }

    static func vocabularySpec(_ v: Recipe.VocabularySpec) -> VocabularySpec {
        let kind: TokenizerKind
        switch v.kind {
        case .word: kind = .word
        case .char: kind = .char
        case .bpe: kind = .bpe
        }
        return VocabularySpec(kind: kind, size: v.size, minFrequency: v.minFrequency)
    }

    static func dataSpec(_ recipe: Recipe) throws -> TaskDataSpec {
        let d = recipe.data
        guard let train = d.train else { throw RecurError(.usage, "data.train: no training data given", file: recipe.file) }
        let files = train.split(separator: ",").map { d.resolve($0.trimmingCharacters(in: .whitespaces)) }
        let format: TaskDataSpec.Format
        switch d.format ?? "" {
        case "":
            switch recipe.task {
            case .translate, .classify: format = .tsv
            case .transcribe:
                var isDir: ObjCBool = false
                format = FileManager.default.fileExists(atPath: files[0], isDirectory: &isDir) && isDir.boolValue ? .fsdd : .manifest
            case .caption: format = .captions
            case .generate: format = .text
            }
        case "tsv": format = .tsv
        case "manifest": format = .manifest
        case "directory", "fsdd": format = .fsdd
        case "captions": format = .captions
        case "text": format = .text
        default:
            throw RecurError(.usage, "data.format: \(d.format!) is not supported for training here; use tsv, manifest, directory, captions or text",
                             file: recipe.file)
        }
        var spec = TaskDataSpec(task: recipe.task, train: files, format: format)
        spec.valid = d.valid.map(d.resolve)
        spec.sourceColumn = d.sourceColumn
        spec.targetColumn = d.targetColumn
        spec.validFraction = d.validFraction
        spec.validCount = d.validCount
        spec.validKey = d.validKey ?? "id"
        spec.maxSourceWords = d.maxSourceWords
        spec.maxTargetWords = d.maxTargetWords
        spec.limit = d.limit
        spec.mediaRoot = d.mediaRoot.map(d.resolve)
        spec.seed = recipe.seed
        spec.speedFactors = try speedFactors(recipe)
        return spec
    }

    static func modelConfig(_ recipe: Recipe, task: PreparedTask, audio: AudioConfig) throws -> ModelConfig {
        let m = recipe.model
        let target = task.targetVocabulary?.count ?? 0
        switch recipe.task {
        case .translate, .transcribe, .caption:
            let source: SourceKind = recipe.task.source
            let features = source == .speech ? audio.dimension : source == .image ? GridFeatures.dimension : 0
            return ModelConfig(seq2seq: Seq2SeqConfig(
                sourceVocabularySize: task.sourceVocabulary?.count ?? 1, targetVocabularySize: target,
                embeddingSize: m.embedding, hiddenSize: m.hidden, encoderLayers: m.encoderLayers,
                bidirectionalEncoder: m.bidirectional, cell: m.cell, attention: m.attention, inputFeeding: m.inputFeeding,
                dropout: Float(m.dropout), tiedOutputEmbeddings: m.tiedEmbeddings,
                pad: Vocabulary.pad, bos: Vocabulary.bos, eos: Vocabulary.eos,
                source: source, inputFeatureSize: features, pyramidLayers: source == .speech ? m.pyramid : 0,
                frameStack: source == .speech ? m.frameStack : 1,
                imageRNN: source == .image && m.imageRNN))
        case .generate:
            return ModelConfig(languageModel: LanguageModelConfig(
                vocabularySize: target, embeddingSize: m.embedding, hiddenSize: m.hidden, layers: m.encoderLayers,
                cell: m.cell, dropout: Float(m.dropout), tiedOutputEmbeddings: m.tiedEmbeddings,
                pad: Vocabulary.pad, bos: Vocabulary.bos, eos: Vocabulary.eos))
        case .classify:
            return ModelConfig(classifier: ClassifierConfig(
                input: .text, vocabularySize: task.sourceVocabulary?.count ?? 0, embeddingSize: m.embedding,
                hiddenSize: m.hidden, layers: m.encoderLayers, bidirectional: m.bidirectional, cell: m.cell,
                pooling: m.pooling, classes: target, dropout: Float(m.dropout), pad: Vocabulary.pad))
        }
    }
}
