// A training recipe: one YAML file naming the task, the data, the
// vocabularies, the frontend, the model, the optimizer, the schedule and the
// training rules (issue 5, "Training").
//
// How a recipe is read (`Recipe.load`):
//   1. the file is parsed into a Yams node tree (marks: line and column);
//   2. every key is checked against the schema, which is the tree of
//      `Recipe.defaultsYAML` (every known key, with its default): an unknown
//      key is an error naming the file, line, column and the close names;
//   3. `--data-root` and `--set key=value` overrides are applied to the tree
//      (the value is parsed as a YAML scalar; an unknown path is an error
//      listing close names);
//   4. the tree is laid over the defaults, task-dependent defaults are filled
//      in (name from the file name, output `runs/<name>`, the metric of the
//      task), and the result is decoded into the structs below (snake_case
//      keys); a wrong type is an error naming where the value came from.
// Every leaf remembers where its value came from (`provenance`), and
// `provenanceReport()` prints it at the start of a run.
//
// Relative paths (data.root, data.train, output) resolve against the current
// directory, as `recur train` is run from the project root.
import Foundation
import RecurCore
import RecurModels
import Yams

/// A training recipe (see the file comment for how it is read).
public struct Recipe: Codable, Equatable, Sendable {
    /// Where a value came from.
    public enum Source: String, Codable, Sendable {
        /// The recipe file.
        case recipe
        /// `--set key=value` or `--data-root` on the command line.
        case commandLine
        /// The recipe saved in a checkpoint being resumed.
        case resumed
        /// The built-in default (`Recipe.defaultsYAML`).
        case `default`
    }

    /// The run's name (default: the recipe's file name without extension).
    public var name: String
    public var task: ModelTask
    /// The seed of everything random: initialisation, data order, dropout, augmentation.
    public var seed: UInt64
    /// Worker threads (the same seed and thread count give the same bits).
    public var threads: Int
    /// The run directory (default `runs/<name>`): checkpoints, log.jsonl, loss.png, recipe.yaml.
    public var output: String
    public var data: DataSection
    public var vocab: VocabSection
    public var frontend: FrontendSection
    public var model: ModelSection
    public var optimizer: OptimizerSection
    public var schedule: ScheduleSection
    public var training: TrainingSection

    /// The file the recipe was read from (nil when built in code).
    public var file: String?
    /// The source of every leaf value, by dotted path (`training.max_steps`).
    public var provenance: [String: Source] = [:]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, task, seed, threads, output, data, vocab, frontend, model, optimizer, schedule, training
    }

    // MARK: Sections

    /// Where the examples come from and how they are split and filtered.
    public struct DataSection: Codable, Equatable, Sendable {
        /// Prefix of every relative data path (`--data-root` replaces it).
        public var root: String?
        /// The training examples: a TSV of pairs, a speech manifest, a caption
        /// list, a plain-text file, or (format `aligned`) the source side of two
        /// line-aligned files.
        public var train: String?
        /// The target side when `format` is `aligned`.
        public var trainTarget: String?
        /// tsv | aligned | manifest | directory | captions | text; nil: the task's usual one.
        public var format: String?
        public var hasHeader: Bool
        public var sourceColumn: Int
        public var targetColumn: Int
        /// A separate validation file (else a split of `train`).
        public var valid: String?
        public var validTarget: String?
        /// The share of training groups held out when `valid` is nil.
        public var validFraction: Double
        /// Exactly this many held-out groups instead of `validFraction`.
        public var validCount: Int?
        /// What groups examples for the split: id | source | target | a file-name pattern.
        public var validKey: String?
        public var maxSourceWords: Int?
        public var maxTargetWords: Int?
        /// Read at most this many training examples.
        public var limit: Int?
        /// Text sources: the probability that a training source ending in `.`, `!`, `?`
        /// or `…` is given without it in a batch (users often type none).
        public var dropFinalPunctuation: Double
        /// Where the relative audio or image paths of a list are found (under
        /// `root` when relative; nil: the list's own folder), as for
        /// `captions/captions.tsv`, whose PNGs are in `captions/images/`.
        public var mediaRoot: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case root, train, trainTarget = "train_target", format, hasHeader = "has_header"
            case sourceColumn = "source_column", targetColumn = "target_column"
            case valid, validTarget = "valid_target", validFraction = "valid_fraction", validCount = "valid_count"
            case validKey = "valid_key", maxSourceWords = "max_source_words", maxTargetWords = "max_target_words", limit
            case dropFinalPunctuation = "drop_final_punctuation", mediaRoot = "media_root"
        }

        /// `path` under `root` (unchanged when absolute or when there is no root).
        public func resolve(_ path: String) -> String {
            guard let root, !root.isEmpty, !path.hasPrefix("/") else { return path }
            return (root as NSString).appendingPathComponent(path)
        }
    }

    /// One vocabulary.
    public struct VocabularySpec: Codable, Equatable, Sendable {
        public enum Kind: String, Codable, Sendable, CaseIterable { case word, char, bpe }
        public var kind: Kind
        /// The most entries (specials included).
        public var size: Int
        public var minFrequency: Int
        /// An existing vocabulary file to use instead of building one.
        public var file: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case kind, size, minFrequency = "min_frequency", file
        }
    }

    public struct VocabSection: Codable, Equatable, Sendable {
        public var source: VocabularySpec
        public var target: VocabularySpec
        public var lowercase: Bool

        enum CodingKeys: String, CodingKey, CaseIterable { case source, target, lowercase }
    }

    public struct AudioSection: Codable, Equatable, Sendable {
        /// An `AudioConfig` preset name.
        public var preset: String
        /// Mel bands (nil: the preset's).
        public var nMels: Int?
        /// > 0: that many MFCCs (DCT-II of the log-mel) instead of the log-mel; nil or 0: log-mel.
        public var nMFCC: Int?
        /// 0, 1 (Δ) or 2 (Δ and ΔΔ).
        public var deltas: Int
        /// Mean/variance normalisation: none | utterance.
        public var cmvn: String

        enum CodingKeys: String, CodingKey, CaseIterable { case preset, nMels = "n_mels", nMFCC = "n_mfcc", deltas, cmvn }
    }

    public struct ImageSection: Codable, Equatable, Sendable {
        /// Grid cells per side.
        public var grid: Int
        /// Pictures are resized to size × size first.
        public var size: Int

        enum CodingKeys: String, CodingKey, CaseIterable { case grid, size }
    }

    public struct FrontendSection: Codable, Equatable, Sendable {
        public var audio: AudioSection
        public var image: ImageSection
        /// SpecAugment masks on training features.
        public var specAugment: Bool
        /// Speed factors drawn per training utterance (for example [0.9, 1.0, 1.1]);
        /// transcribe only, each in (0.25, 2]. Every training file's features are
        /// computed once per factor before training (validation: unperturbed).
        public var speedPerturb: [Double]?
        /// Frequency warping of training features: α uniform in [1 - w, 1 + w] per
        /// utterance at batch time (SpecAugment.warpFrequency); transcribe only; 0: off.
        public var frequencyWarp: Double

        enum CodingKeys: String, CodingKey, CaseIterable {
            case audio, image, specAugment = "spec_augment", speedPerturb = "speed_perturb"
            case frequencyWarp = "frequency_warp"
        }
    }

    public struct ModelSection: Codable, Equatable, Sendable {
        public var cell: Seq2SeqConfig.Cell
        public var embedding: Int
        public var hidden: Int
        public var encoderLayers: Int
        public var bidirectional: Bool
        public var attention: Seq2SeqConfig.AttentionKind
        public var inputFeeding: Bool
        public var dropout: Double
        public var tiedEmbeddings: Bool
        /// Speech: pyramid layers, each halving the frame rate.
        public var pyramid: Int
        /// Speech: k frames joined into one step before the first layer (1: none).
        public var frameStack: Int
        /// Images: a BiRNN over the grid cells in raster order.
        public var imageRNN: Bool
        /// Classify: how the encoder's outputs over time become one vector (mean, max, last).
        public var pooling: ClassifierConfig.Pooling

        enum CodingKeys: String, CodingKey, CaseIterable {
            case cell, embedding, hidden, encoderLayers = "encoder_layers", bidirectional, attention
            case inputFeeding = "input_feeding", dropout, tiedEmbeddings = "tied_embeddings", pyramid
            case frameStack = "frame_stack"
            case imageRNN = "image_rnn", pooling
        }
    }

    public struct OptimizerSection: Codable, Equatable, Sendable {
        public enum Name: String, Codable, Sendable, CaseIterable { case adam, adamw, sgd }
        public var name: Name
        public var lr: Double
        public var beta1: Double
        public var beta2: Double
        public var eps: Double
        public var weightDecay: Double
        /// SGD momentum.
        public var momentum: Double
        public var nesterov: Bool

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, lr, beta1, beta2, eps, weightDecay = "weight_decay", momentum, nesterov
        }
    }

    /// The learning-rate schedule (see `TrainingOptions.learningRate`).
    public struct ScheduleSection: Codable, Equatable, Sendable {
        public enum Name: String, Codable, Sendable, CaseIterable {
            /// The base rate (after `warmup`).
            case constant
            /// × 1/√(step/warmup) after the warmup.
            case inverseSqrt = "inverse_sqrt"
            /// × gamma every `decay_steps` steps.
            case step
            /// × gamma^(step/decay_steps), smoothly.
            case exponential
            /// × plateau_factor after plateau_patience validations without a better validation loss.
            case plateau
        }
        public var name: Name
        /// Steps of linear warmup from lr/warmup to lr (0: none).
        public var warmup: Int
        public var decaySteps: Int
        public var gamma: Double
        public var plateauFactor: Double
        public var plateauPatience: Int
        /// Decaying schedules never go below this (nor below lr itself when lr is smaller).
        public var minLR: Double

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, warmup, decaySteps = "decay_steps", gamma, plateauFactor = "plateau_factor"
            case plateauPatience = "plateau_patience", minLR = "min_lr"
        }
    }

    public struct TrainingSection: Codable, Equatable, Sendable {
        /// The token budget of a batch (see `batch_cost`).
        public var batchTokens: Int
        public var maxSentences: Int
        public var bucketWidth: Int
        /// What counts against `batch_tokens`: source | target | max | sum.
        public var batchCost: BatchCost
        public var maxSteps: Int?
        public var maxEpochs: Int?
        public var maxMinutes: Double?
        /// Global gradient-norm clip (0: none).
        public var clip: Double
        public var labelSmoothing: Double
        /// Exponential moving average of the weights (Marian's exponential smoothing):
        /// after each step avg ← d·avg + (1 − d)·weights with d = min(ema, (1 + n)/(10 + n)),
        /// n the optimizer steps so far; validation and every model file use the average.
        /// 0: off. Typical: 0.999 to 0.9999.
        public var ema: Double
        /// Scheduled sampling's final rate in [0, 1) (encoder-decoder tasks only): the probability
        /// that a decoder input is the model's previous prediction instead of the reference (0: teacher forcing).
        public var scheduledSampling: Double
        /// Steps over which that rate rises linearly from 0 (0: the full rate from the start).
        public var scheduledSamplingRamp: Int
        /// Validate every this many steps (0: at the end of every epoch) and at the end.
        public var validateEvery: Int
        /// Checkpoint every this many steps (0: at the end of every epoch) and at the end.
        public var checkpointEvery: Int
        /// Periodic checkpoints kept (best.safetensors is kept apart).
        public var keepLast: Int
        /// Stop after this many validations in a row without a better metric (0: never).
        public var patience: Int
        /// The validation metric (default: bleu for translate, wer for transcribe,
        /// cider-d for caption, loss otherwise).
        public var metric: String
        public var validBeam: Int
        /// Validate on at most this many examples.
        public var validLimit: Int?
        public var logEvery: Int

        enum CodingKeys: String, CodingKey, CaseIterable {
            case batchTokens = "batch_tokens", maxSentences = "max_sentences", bucketWidth = "bucket_width"
            case batchCost = "batch_cost", maxSteps = "max_steps", maxEpochs = "max_epochs", maxMinutes = "max_minutes"
            case clip, labelSmoothing = "label_smoothing", ema, scheduledSampling = "scheduled_sampling"
            case scheduledSamplingRamp = "scheduled_sampling_ramp", validateEvery = "validate_every"
            case checkpointEvery = "checkpoint_every", keepLast = "keep_last", patience, metric
            case validBeam = "valid_beam", validLimit = "valid_limit", logEvery = "log_every"
        }
    }

    // MARK: Defaults

    /// Every key a recipe may hold, with its default; `null` marks an
    /// optional value (or one filled in from the task: name, output, metric).
    /// This tree is also the schema that unknown keys are checked against.
    public static let defaultsYAML = """
        name: null
        task: null
        seed: 1
        threads: 2
        output: null
        data:
          root: null
          train: null
          train_target: null
          format: null
          has_header: false
          source_column: 0
          target_column: 1
          valid: null
          valid_target: null
          valid_fraction: 0.05
          valid_count: null
          valid_key: null
          max_source_words: null
          max_target_words: null
          limit: null
          drop_final_punctuation: 0.0
          media_root: null
        vocab:
          source:
            kind: word
            size: 8000
            min_frequency: 1
            file: null
          target:
            kind: word
            size: 8000
            min_frequency: 1
            file: null
          lowercase: true
        frontend:
          audio:
            preset: recur
            n_mels: null
            n_mfcc: 0
            deltas: 0
            cmvn: utterance
          image:
            grid: 4
            size: 64
          spec_augment: false
          speed_perturb: null
          frequency_warp: 0
        model:
          cell: gru
          embedding: 128
          hidden: 256
          encoder_layers: 1
          bidirectional: true
          attention: additive
          input_feeding: true
          dropout: 0.2
          tied_embeddings: false
          pyramid: 2
          frame_stack: 1
          image_rnn: false
          pooling: mean
        optimizer:
          name: adam
          lr: 0.002
          beta1: 0.9
          beta2: 0.999
          eps: 1.0e-8
          weight_decay: 0.0
          momentum: 0.0
          nesterov: false
        schedule:
          name: constant
          warmup: 0
          decay_steps: 0
          gamma: 0.5
          plateau_factor: 0.5
          plateau_patience: 2
          min_lr: 1.0e-5
        training:
          batch_tokens: 2000
          max_sentences: 64
          bucket_width: 1
          batch_cost: max
          max_steps: null
          max_epochs: 10
          max_minutes: null
          clip: 5.0
          label_smoothing: 0.1
          ema: 0.0
          scheduled_sampling: 0.0
          scheduled_sampling_ramp: 0
          validate_every: 500
          checkpoint_every: 500
          keep_last: 2
          patience: 5
          metric: null
          valid_beam: 1
          valid_limit: 500
          log_every: 50

        """

    /// Keys that have no default: a recipe must give them.
    static let requiredPaths: Set<String> = ["task"]

    /// The metric a task validates on when the recipe names none.
    public static func defaultMetric(for task: ModelTask) -> String {
        switch task {
        case .translate: return "bleu"
        case .transcribe: return "wer"
        case .caption: return "cider-d"
        case .classify: return "exact"
        case .generate: return "loss"
        }
    }

    /// The allowed values of enumerated leaves, for error messages.
    static let allowedValues: [String: [String]] = [
        "task": ModelTask.allCases.map(\.rawValue),
        "vocab.source.kind": VocabularySpec.Kind.allCases.map(\.rawValue),
        "vocab.target.kind": VocabularySpec.Kind.allCases.map(\.rawValue),
        "model.cell": Seq2SeqConfig.Cell.allCases.map(\.rawValue),
        "model.attention": Seq2SeqConfig.AttentionKind.allCases.map(\.rawValue),
        "model.pooling": ClassifierConfig.Pooling.allCases.map(\.rawValue),
        "optimizer.name": OptimizerSection.Name.allCases.map(\.rawValue),
        "schedule.name": ScheduleSection.Name.allCases.map(\.rawValue),
        "training.batch_cost": BatchCost.allCases.map(\.rawValue),
    ]

    /// The coding keys of every section, by dotted path ("" for the top),
    /// for checking that `defaultsYAML` and the structs agree (a test does).
    static let structKeys: [String: [String]] = [
        "": CodingKeys.allCases.map(\.rawValue),
        "data": DataSection.CodingKeys.allCases.map(\.rawValue),
        "vocab": VocabSection.CodingKeys.allCases.map(\.rawValue),
        "vocab.source": VocabularySpec.CodingKeys.allCases.map(\.rawValue),
        "vocab.target": VocabularySpec.CodingKeys.allCases.map(\.rawValue),
        "frontend": FrontendSection.CodingKeys.allCases.map(\.rawValue),
        "frontend.audio": AudioSection.CodingKeys.allCases.map(\.rawValue),
        "frontend.image": ImageSection.CodingKeys.allCases.map(\.rawValue),
        "model": ModelSection.CodingKeys.allCases.map(\.rawValue),
        "optimizer": OptimizerSection.CodingKeys.allCases.map(\.rawValue),
        "schedule": ScheduleSection.CodingKeys.allCases.map(\.rawValue),
        "training": TrainingSection.CodingKeys.allCases.map(\.rawValue),
    ]

    // MARK: Loading

    /// Reads the recipe at `path`, applies `overrides` (`"training.max_steps=200"`,
    /// as given to `--set`) and `dataRoot` (`--data-root`), and checks it.
    /// Errors name the file, line and column, or the `--set` argument.
    public static func load(_ path: String, overrides: [String] = [], dataRoot: String? = nil) throws -> Recipe {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            if !FileManager.default.fileExists(atPath: path) {
                throw RecurError(.io, "no such recipe file", file: path)
            }
            throw RecurError(.io, "cannot read the recipe (not UTF-8 text?)", file: path)
        }
        let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return try parse(text, file: path, defaultName: base, overrides: overrides, dataRoot: dataRoot)
    }

    /// Reads a recipe from YAML text. `file` names it in errors; `source` is
    /// what its values count as (`.resumed` for the recipe saved in a
    /// checkpoint); `defaultName` is the name when the text has none.
    public static func parse(_ text: String, file: String, source: Source = .recipe, defaultName: String? = nil,
                             overrides: [String] = [], dataRoot: String? = nil) throws -> Recipe {
        var reader = RecipeReader(file: file, text: text, source: source)
        let user = try reader.readUserTree()
        var tree = user
        if let dataRoot {
            try reader.apply(path: "data.root", value: Node(dataRoot, Tag(.str)), argument: "--data-root \(dataRoot)", to: &tree)
        }
        for o in overrides {
            guard let eq = o.firstIndex(of: "="), eq != o.startIndex else {
                throw RecurError(.usage, "--set \(o): expected key=value, for example training.max_steps=200")
            }
            let key = String(o[..<eq]).trimmingCharacters(in: .whitespaces)
            let valueText = String(o[o.index(after: eq)...])
            let value: Node
            do {
                value = try Yams.compose(yaml: valueText) ?? Node("null", Tag(.null))
            } catch {
                throw RecurError(.usage, "--set \(o): the value is not valid YAML: \(error)")
            }
            try reader.apply(path: key, value: value, argument: "--set \(o)", to: &tree)
        }
        var recipe = try reader.decode(tree, defaultName: defaultName ?? "recipe")
        recipe.file = file
        try recipe.check(reader)
        return recipe
    }

    /// Checks values that decode but make no sense.
    private func check(_ reader: RecipeReader) throws {
        func need(_ ok: Bool, _ path: String, _ why: String) throws {
            if !ok { throw reader.error(at: path, why) }
        }
        try need(threads >= 1, "threads", "must be at least 1, got \(threads)")
        try need(!name.isEmpty, "name", "must not be empty")
        try need(!output.isEmpty, "output", "must not be empty")
        for (side, v) in [("source", vocab.source), ("target", vocab.target)] {
            try need(v.size >= 5, "vocab.\(side).size", "must be at least 5 (4 specials and one token), got \(v.size)")
            try need(v.minFrequency >= 1, "vocab.\(side).min_frequency", "must be at least 1, got \(v.minFrequency)")
        }
        try need(model.embedding > 0, "model.embedding", "must be positive, got \(model.embedding)")
        try need(model.hidden > 0, "model.hidden", "must be positive, got \(model.hidden)")
        try need(model.encoderLayers >= 1, "model.encoder_layers", "must be at least 1, got \(model.encoderLayers)")
        try need(model.dropout >= 0 && model.dropout < 1, "model.dropout", "must be in [0, 1), got \(model.dropout)")
        try need(model.pyramid >= 0, "model.pyramid", "must be ≥ 0, got \(model.pyramid)")
        try need(model.frameStack >= 1, "model.frame_stack", "must be at least 1, got \(model.frameStack)")
        try need(model.frameStack == 1 || task == .transcribe, "model.frame_stack",
                 "joins speech frames: it is for transcribe, not \(task.rawValue)")
        try need(data.validFraction >= 0 && data.validFraction < 1, "data.valid_fraction", "must be in [0, 1), got \(data.validFraction)")
        try need(data.dropFinalPunctuation >= 0 && data.dropFinalPunctuation <= 1, "data.drop_final_punctuation",
                 "must be a probability in [0, 1], got \(data.dropFinalPunctuation)")
        try need(data.dropFinalPunctuation == 0 || task == .translate || task == .classify, "data.drop_final_punctuation",
                 "is for text sources (translate, classify), not \(task.rawValue)")
        try need(data.mediaRoot == nil || task == .transcribe || task == .caption, "data.media_root",
                 "is for audio or image lists (transcribe, caption), not \(task.rawValue)")
        try need((data.validCount ?? 0) >= 0, "data.valid_count", "must be ≥ 0")
        try need((data.limit ?? 1) >= 1, "data.limit", "must be at least 1")
        try need(frontend.audio.deltas >= 0 && frontend.audio.deltas <= 2, "frontend.audio.deltas", "must be 0, 1 or 2, got \(frontend.audio.deltas)")
        try need(frontend.image.grid >= 1, "frontend.image.grid", "must be at least 1")
        try need(frontend.image.size >= frontend.image.grid, "frontend.image.size", "must be at least the grid (\(frontend.image.grid))")
        try need(optimizer.lr > 0 && optimizer.lr.isFinite, "optimizer.lr", "must be positive, got \(optimizer.lr)")
        try need(optimizer.beta1 >= 0 && optimizer.beta1 < 1, "optimizer.beta1", "must be in [0, 1)")
        try need(optimizer.beta2 >= 0 && optimizer.beta2 < 1, "optimizer.beta2", "must be in [0, 1)")
        try need(optimizer.eps > 0, "optimizer.eps", "must be positive")
        try need(optimizer.weightDecay >= 0, "optimizer.weight_decay", "must be ≥ 0")
        try need(optimizer.momentum >= 0 && optimizer.momentum < 1, "optimizer.momentum", "must be in [0, 1)")
        try need(!optimizer.nesterov || (optimizer.name == .sgd && optimizer.momentum > 0), "optimizer.nesterov",
                 "needs name sgd and momentum > 0")
        try need(schedule.warmup >= 0, "schedule.warmup", "must be ≥ 0")
        try need(schedule.decaySteps > 0 || (schedule.name != .step && schedule.name != .exponential),
                 "schedule.decay_steps", "must be positive for the \(schedule.name.rawValue) schedule")
        try need(schedule.gamma > 0 && schedule.gamma <= 1, "schedule.gamma", "must be in (0, 1]")
        try need(schedule.plateauFactor > 0 && schedule.plateauFactor < 1, "schedule.plateau_factor", "must be in (0, 1)")
        try need(schedule.plateauPatience >= 0, "schedule.plateau_patience", "must be ≥ 0")
        try need(schedule.minLR >= 0, "schedule.min_lr", "must be ≥ 0")
        try need(frontend.frequencyWarp >= 0 && frontend.frequencyWarp < 0.5, "frontend.frequency_warp",
                 "must be in [0, 0.5) (0: off; typical 0.1), got \(frontend.frequencyWarp)")
        try need(frontend.frequencyWarp == 0 || task == .transcribe, "frontend.frequency_warp",
                 "warps speech features: only for transcribe, not \(task.rawValue); set it to 0")
        try need(frontend.frequencyWarp == 0 || (frontend.audio.nMFCC ?? 0) == 0, "frontend.frequency_warp",
                 "stretches mel bands, and MFCCs (frontend.audio.n_mfcc) have none: set one of them to 0")
        try need((frontend.audio.nMFCC ?? 0) >= 0, "frontend.audio.n_mfcc", "must be ≥ 0 (0: log-mel)")
        try need(training.batchTokens > 0, "training.batch_tokens", "must be positive")
        try need(training.maxSentences > 0, "training.max_sentences", "must be positive")
        try need(training.bucketWidth > 0, "training.bucket_width", "must be positive")
        try need((training.maxSteps ?? 1) >= 0, "training.max_steps", "must be ≥ 0")
        try need((training.maxEpochs ?? 1) >= 1, "training.max_epochs", "must be at least 1")
        try need((training.maxMinutes ?? 1) > 0, "training.max_minutes", "must be positive")
        try need(training.maxSteps != nil || training.maxEpochs != nil || training.maxMinutes != nil, "training.max_epochs",
                 "one of max_steps, max_epochs and max_minutes must be set, or training never ends")
        try need(training.clip >= 0, "training.clip", "must be ≥ 0 (0: no clipping)")
        try need(training.labelSmoothing >= 0 && training.labelSmoothing < 1, "training.label_smoothing", "must be in [0, 1)")
        try need(training.ema >= 0 && training.ema < 1, "training.ema", "must be in [0, 1) (0: no weight averaging; typical 0.999), got \(training.ema)")
        try need(training.scheduledSampling >= 0 && training.scheduledSampling < 1, "training.scheduled_sampling",
                 "must be in [0, 1) (0: teacher forcing), got \(training.scheduledSampling)")
        try need(training.scheduledSampling == 0 || (task != .generate && task != .classify), "training.scheduled_sampling",
                 "needs an encoder-decoder task (translate, transcribe, caption), not \(task.rawValue); set it to 0")
        try need(training.scheduledSamplingRamp >= 0, "training.scheduled_sampling_ramp",
                 "must be ≥ 0 (0: the full rate from the start), got \(training.scheduledSamplingRamp)")
        try need(training.validateEvery >= 0, "training.validate_every", "must be ≥ 0 (0: every epoch)")
        try need(training.checkpointEvery >= 0, "training.checkpoint_every", "must be ≥ 0 (0: every epoch)")
        try need(training.keepLast >= 1, "training.keep_last", "must be at least 1")
        try need(training.patience >= 0, "training.patience", "must be ≥ 0 (0: no early stopping)")
        try need(training.validBeam >= 1, "training.valid_beam", "must be at least 1")
        try need((training.validLimit ?? 1) >= 1, "training.valid_limit", "must be at least 1")
        try need(training.logEvery >= 1, "training.log_every", "must be at least 1")
    }

    // MARK: Writing

    /// The effective recipe as YAML: every key in the order of
    /// `defaultsYAML`, nulls included, so that reading it back gives this
    /// recipe (saved into the run directory and the model's notes).
    public func encodeYAML() throws -> String {
        let text = try YAMLEncoder().encode(self)
        guard let encoded = try Yams.compose(yaml: text) else {
            throw RecurError(.value, "recipe \(name): encoding gave no YAML")
        }
        let ordered = RecipeReader.ordered(encoded, like: RecipeReader.defaultsTree)
        return try Yams.serialize(node: ordered, width: -1, allowUnicode: true, sortKeys: false)
    }

    /// A digest of everything that decides the trained bits (task, seed,
    /// threads, data, vocabularies, frontend, model, optimizer, schedule,
    /// batching, clipping, smoothing), not of the stopping, logging and
    /// validation settings, the output directory or the data root. Stored in
    /// the training state; a resume with a different digest is logged as such.
    public var trainingHash: String {
        var r = self
        r.name = ""
        r.output = ""
        r.data.root = nil
        r.training.maxSteps = nil
        r.training.maxEpochs = nil
        r.training.maxMinutes = nil
        r.training.validateEvery = 0
        r.training.checkpointEvery = 0
        r.training.keepLast = 1
        r.training.patience = 0
        r.training.metric = ""
        r.training.validBeam = 1
        r.training.validLimit = nil
        r.training.logEvery = 1
        let text = (try? r.encodeYAML()) ?? ""
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return String(h, radix: 16)
    }

    /// Every leaf path in `defaultsYAML` order.
    public static var leafPaths: [String] { RecipeReader.leafPaths(RecipeReader.defaultsTree, prefix: "") }

    /// One line per value that did not come from the defaults (all values
    /// with `includeDefaults`), for example
    /// `training.max_steps = 200   (--set)`, aligned.
    public func provenanceReport(includeDefaults: Bool = false) -> [String] {
        guard let node = try? Yams.compose(yaml: (try? encodeYAML()) ?? "") else { return [] }
        var rows: [(String, String, String)] = []
        for path in Recipe.leafPaths {
            let source = provenance[path] ?? .default
            if source == .default && !includeDefaults { continue }
            let value = RecipeReader.node(at: path, in: node).map(RecipeReader.inlineText) ?? "null"
            let label: String
            switch source {
            case .recipe: label = "recipe"
            case .commandLine: label = path == "data.root" ? "--data-root" : "--set"
            case .resumed: label = "resumed"
            case .default: label = "default"
            }
            rows.append(("\(path) = \(value)", label, path))
        }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "   (" + $0.1 + ")" }
    }
}

// MARK: - Reading machinery

/// Reads one recipe text: checks keys, applies overrides, decodes, and turns
/// every problem into a RecurError naming where the value came from.
struct RecipeReader {
    let file: String
    let text: String
    let source: Source
    typealias Source = Recipe.Source

    /// Where each user-given path was written.
    private(set) var marks: [String: Mark] = [:]
    /// The `--set`/`--data-root` argument of each overridden path.
    private(set) var arguments: [String: String] = [:]
    private(set) var provenance: [String: Source] = [:]

    init(file: String, text: String, source: Source) {
        self.file = file
        self.text = text
        self.source = source
    }

    nonisolated(unsafe) static let defaultsTree: Node = {
        // The defaults are part of the program: a failure here is a bug.
        try! Yams.compose(yaml: Recipe.defaultsYAML)!
    }()

    // MARK: The user's tree

    /// Parses the text and checks every key against the schema.
    mutating func readUserTree() throws -> Node {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            switch e {
            case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
                 let .composer(context, problem, mark, _):
                let detail = context.map { " (\($0.text) at \($0.mark))" } ?? ""
                throw RecurError(.format, "not valid YAML: \(problem)\(detail)", file: location(mark))
            case let .duplicatedKeysInMapping(duplicates, context):
                throw RecurError(.format, "\(duplicates.sorted().joined(separator: ", ")) given twice in one section",
                                 file: location(context.mark))
            default:
                throw RecurError(.format, "not valid YAML: \(Self.describe(e))", file: file)
            }
        } catch {
            throw RecurError(.format, "not valid YAML: \(error)", file: file)
        }
        guard let root else { return Node([(Node, Node)]()) }
        guard root.mapping != nil else {
            throw RecurError(.format, "a recipe is a mapping of sections (task: ..., model: ...), not \(Self.kindName(root))",
                             file: location(root.mark))
        }
        try check(root, against: Self.defaultsTree, prefix: "")
        return root
    }

    private func location(_ mark: Mark?) -> String {
        guard let mark else { return file }
        return "\(file):\(mark.line):\(mark.column)"
    }

    /// Checks `node` (a mapping) against the schema mapping `schema`.
    private mutating func check(_ node: Node, against schema: Node, prefix: String) throws {
        guard let mapping = node.mapping, let schemaMapping = schema.mapping else { return }
        var seen: Set<String> = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw RecurError(.format, "keys must be plain names", file: location(keyNode.mark))
            }
            let path = prefix.isEmpty ? key : prefix + "." + key
            guard seen.insert(key).inserted else {
                throw RecurError(.format, "\(path) is given twice", file: location(keyNode.mark))
            }
            guard let expected = schemaMapping[key] else {
                let known = Array(schemaMapping.keys).compactMap { $0.string }
                let section = prefix.isEmpty ? "at the top level" : "in \(prefix)"
                throw RecurError(.format, "unknown key \(key) \(section); \(Self.suggest(key, among: known))",
                                 file: location(keyNode.mark))
            }
            if case .alias = value {
                throw RecurError(.format, "\(path): YAML aliases are not supported in recipes", file: location(value.mark))
            }
            if expected.mapping != nil {
                guard value.mapping != nil else {
                    throw RecurError(.format, "\(path) is a section (its keys: \(Array(expected.mapping!.keys).compactMap { $0.string }.joined(separator: ", "))), not \(Self.kindName(value))",
                                     file: location(value.mark ?? keyNode.mark))
                }
                try check(value, against: expected, prefix: path)
            } else {
                if value.mapping != nil {
                    throw RecurError(.format, "\(path) is a value, not a section", file: location(value.mark ?? keyNode.mark))
                }
                marks[path] = value.mark ?? keyNode.mark
                provenance[path] = source
            }
        }
    }

    // MARK: Overrides

    /// Sets the leaf `path` of `tree` to `value` (an override from the command line).
    mutating func apply(path: String, value: Node, argument: String, to tree: inout Node) throws {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let schema = Self.node(at: path, in: Self.defaultsTree), !parts.contains(where: \.isEmpty) else {
            let all = Self.leafPaths(Self.defaultsTree, prefix: "")
            throw RecurError(.usage, "\(argument): unknown key \(path); \(Self.suggest(path, among: all))")
        }
        if let m = schema.mapping {
            let keys = Array(m.keys).compactMap { $0.string }.map { path + "." + $0 }
            throw RecurError(.usage, "\(argument): \(path) is a section; set one of its keys: \(keys.joined(separator: ", "))")
        }
        if value.mapping != nil {
            throw RecurError(.usage, "\(argument): \(path) takes a value, not a mapping")
        }
        Self.set(value, at: parts[...], in: &tree)
        arguments[path] = argument
        provenance[path] = .commandLine
        marks[path] = nil
    }

    private static func set(_ value: Node, at parts: ArraySlice<String>, in node: inout Node) {
        guard let first = parts.first else { node = value; return }
        var mapping = node.mapping ?? Node.Mapping([])
        var child = mapping[first] ?? Node([(Node, Node)]())
        set(value, at: parts.dropFirst(), in: &child)
        mapping[first] = child
        node = .mapping(mapping)
    }

    // MARK: Decoding

    /// Lays `user` over the defaults, fills task defaults and decodes.
    func decode(_ user: Node, defaultName: String) throws -> Recipe {
        var tree = Self.merged(user: user, defaults: Self.defaultsTree)
        for path in Recipe.requiredPaths where Self.isNull(Self.node(at: path, in: tree)) {
            let allowed = Recipe.allowedValues[path].map { " (" + $0.joined(separator: " | ") + ")" } ?? ""
            throw RecurError(.format, "the recipe must set \(path)\(allowed)", file: file)
        }
        // Leaves with a non-null default may not be set to null.
        for path in Self.leafPaths(Self.defaultsTree, prefix: "") where provenance[path] != nil {
            if Self.isNull(Self.node(at: path, in: tree)) && !Self.isNull(Self.node(at: path, in: Self.defaultsTree)) {
                throw error(at: path, "must have a value (its default is \(Self.inlineText(Self.node(at: path, in: Self.defaultsTree)!)))")
            }
        }
        var name = defaultName
        if let n = Self.node(at: "name", in: tree), !Self.isNull(n), let s = n.scalar?.string { name = s }
        Self.set(Node(name, Tag(.str)), at: ["name"], in: &tree)
        if Self.isNull(Self.node(at: "output", in: tree)) {
            Self.set(Node("runs/" + name, Tag(.str)), at: ["output"], in: &tree)
        }
        if Self.isNull(Self.node(at: "training.metric", in: tree)) {
            if let t = Self.node(at: "task", in: tree)?.scalar?.string, let task = ModelTask(rawValue: t) {
                Self.set(Node(Recipe.defaultMetric(for: task), Tag(.str)), at: ["training", "metric"], in: &tree)
            }
        }
        var recipe: Recipe
        do {
            recipe = try YAMLDecoder().decode(Recipe.self, from: tree)
        } catch let e as DecodingError {
            throw describe(e, tree: tree)
        }
        recipe.provenance = provenance
        return recipe
    }

    /// The error for a value at `path`, naming where it came from.
    func error(at path: String, _ why: String) -> RecurError {
        if let arg = arguments[path] {
            return RecurError(.usage, "\(arg): \(path) \(why)")
        }
        if let mark = marks[path] {
            return RecurError(.value, "\(path) \(why)", file: location(mark))
        }
        return RecurError(.value, "\(path) \(why)", file: file)
    }

    private func describe(_ e: DecodingError, tree: Node) -> RecurError {
        func pathOf(_ codingPath: [CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        func leaf(_ codingPath: [CodingKey]) -> String {
            // `frontend.speed_perturb[1]` is reported under its leaf `frontend.speed_perturb`.
            codingPath.filter { $0.intValue == nil }.map(\.stringValue).joined(separator: ".")
        }
        switch e {
        case let .typeMismatch(type, ctx):
            let p = leaf(ctx.codingPath)
            let got = Self.node(at: p, in: tree).map(Self.inlineText) ?? "?"
            let at = pathOf(ctx.codingPath) == p ? "" : " (at \(pathOf(ctx.codingPath)))"
            return error(at: p, "must be \(Self.typeName(type)), got \(got)\(at)")
        case let .dataCorrupted(ctx):
            let p = leaf(ctx.codingPath)
            let got = Self.node(at: p, in: tree).map(Self.inlineText) ?? "?"
            if let allowed = Recipe.allowedValues[p] {
                return error(at: p, "must be one of \(allowed.joined(separator: ", ")), got \(got)")
            }
            return error(at: p, "has an invalid value \(got): \(ctx.debugDescription)")
        case let .valueNotFound(type, ctx):
            let p = leaf(ctx.codingPath)
            return error(at: p, "must be \(Self.typeName(type))")
        case let .keyNotFound(key, ctx):
            let p = leaf(ctx.codingPath + [key])
            return error(at: p, "is missing")
        @unknown default:
            return RecurError(.format, "\(e)", file: file)
        }
    }

    // MARK: Node helpers

    static func node(at path: String, in root: Node) -> Node? {
        var n: Node? = root
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard let m = n?.mapping else { return nil }
            n = m[String(part)]
        }
        return n
    }

    static func isNull(_ node: Node?) -> Bool {
        guard let node else { return true }
        guard let s = node.scalar else { return false }
        return node.tag.rawValue == Tag.Name.null.rawValue && (s.style == .plain || s.style == .any)
    }

    /// `user` laid over `defaults`, keys in the defaults' order.
    static func merged(user: Node, defaults: Node) -> Node {
        guard let d = defaults.mapping else { return user }
        guard let u = user.mapping else { return user }
        var pairs: [(Node, Node)] = []
        for (k, dv) in d {
            guard let key = k.string else { continue }
            if let uv = u[key] {
                pairs.append((Node(key), dv.mapping != nil ? merged(user: uv, defaults: dv) : uv))
            } else {
                pairs.append((Node(key), dv))
            }
        }
        return Node(pairs)
    }

    /// `node` with the keys of `like` in its order (nulls for keys `node`
    /// lacks) and floats written in their shortest form.
    static func ordered(_ node: Node, like schema: Node) -> Node {
        guard let s = schema.mapping else { return normalized(node) }
        let m = node.mapping
        var pairs: [(Node, Node)] = []
        for (k, sv) in s {
            guard let key = k.string else { continue }
            let v = m?[key]
            if sv.mapping != nil {
                pairs.append((Node(key), ordered(v ?? Node([(Node, Node)]()), like: sv)))
            } else {
                pairs.append((Node(key), v.map(normalized) ?? Node("null", Tag(.null))))
            }
        }
        return Node(pairs)
    }

    private static func normalized(_ node: Node) -> Node {
        switch node {
        case .scalar(let s):
            if node.tag.rawValue == Tag.Name.float.rawValue, let d = Double(s.string) { return Node(floatText(d), Tag(.float)) }
            return node
        case .sequence(let seq):
            return Node(seq.map(normalized), Tag(.seq), .flow)
        default:
            return node
        }
    }

    /// The shortest text that reads back as `d` and still looks like a float.
    static func floatText(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
        var t = "\(d)"
        if let e = t.firstIndex(where: { $0 == "e" || $0 == "E" }), !t[..<e].contains(".") {
            t.insert(contentsOf: ".0", at: e)
        }
        return t
    }

    /// A node as one line of text (scalars as written, lists in flow style).
    static func inlineText(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return s.string.isEmpty ? "''" : s.string
        case .sequence(let seq): return "[" + seq.map(inlineText).joined(separator: ", ") + "]"
        case .mapping(let m):
            return "{" + m.map { "\($0.key.string ?? "?"): \(inlineText($0.value))" }.joined(separator: ", ") + "}"
        case .alias: return "*alias"
        }
    }

    static func leafPaths(_ node: Node, prefix: String) -> [String] {
        guard let m = node.mapping else { return [prefix] }
        return m.flatMap { k, v -> [String] in
            guard let key = k.string else { return [] }
            return leafPaths(v, prefix: prefix.isEmpty ? key : prefix + "." + key)
        }
    }

    static func kindName(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return "the value \(s.string.isEmpty ? "''" : s.string)"
        case .sequence: return "a list"
        case .mapping: return "a section"
        case .alias: return "an alias"
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type, is Int?.Type: return "a whole number"
        case is Double.Type, is Float.Type, is Double?.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "text"
        case is [Double].Type: return "a list of numbers"
        default:
            let n = "\(type)"
            if n.hasPrefix("Array") || n.contains("Sequence") { return "a list" }
            if n.contains("Mapping") || n.contains("Section") || n.contains("Spec") { return "a section" }
            if n.contains("Scalar") { return "a single value" }
            return "a value of type \(n)"
        }
    }

    /// "did you mean X?" with the closest known names, or the list of names.
    static func suggest(_ key: String, among known: [String]) -> String {
        let scored = known.map { ($0, editDistance(key.lowercased(), $0.lowercased())) }
        let lastPart = key.split(separator: ".").last.map(String.init) ?? key
        var close = scored.filter { $0.1 <= max(2, key.count / 4) }.sorted { $0.1 < $1.1 }.map(\.0)
        // For dotted paths, also offer paths that end with the same key.
        for k in known where k.hasSuffix("." + lastPart) && !close.contains(k) { close.append(k) }
        if !close.isEmpty { return "did you mean " + close.prefix(3).joined(separator: " or ") + "?" }
        if known.count <= 20 { return "known keys: " + known.joined(separator: ", ") }
        return "see Recipe.defaultsYAML for every key"
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }

    static func describe(_ e: YamlError) -> String {
        "\(e)".replacingOccurrences(of: "\n", with: " ")
    }
}
