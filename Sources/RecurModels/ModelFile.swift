import Foundation
import RecurCore
import RecurFrontends

// A Recur model file is a safetensors file (see SafeTensors.swift in RecurCore)
// whose `__metadata__` (all strings) describes everything but the weights:
//
//   format              "recur-model-1" (an unknown format is refused)
//   recur_version       the version of recur that wrote it
//   task                translate | transcribe | caption | generate | classify
//   model_config        ModelConfig as JSON
//   parameter_count     the number of weights (decimal)
//   source_vocab        the source vocabulary, exactly `Vocabulary.fileText`
//   source_vocab_kind   char | word | bpe
//   source_vocab_merges the merges, exactly `Vocabulary.mergesText` (BPE only)
//   source_vocab_hash   `Vocabulary.hash`, checked against the contents on reading
//   target_vocab…       the same four for the target side
//   normalizer          TextNormalizer as JSON
//   audio_config        AudioConfig as JSON (transcribe)
//   frontend_signature  FrontendSignature(audio_config).short, as trained
//   image_config        {"grid", "size", "fit", "pad_value"} (caption)
//   image_signature     GridFeatureConfig.signature, as trained
//   training            the trainer's state, JSON text stored as given (checkpoints)
//   notes               free text, a JSON object of strings
//
// Tensors: the model's parameters under their PyTorch-style layout names
// (F32, or F16 for shipping), and in checkpoints the Adam moments as
// `optimizer.exp_avg.<name>` and `optimizer.exp_avg_sq.<name>` (always F32).
// A run with weight averaging (`training.ema`) stores the averaged weights as
// the parameters (what decoding, evaluation and export use) and, in
// checkpoints, the weights being trained as `optimizer.weights.<name>` (F32),
// which a resumed run trains on.

/// Everything about a model except its weights.
public struct ModelDescription: Sendable {
    public var task: ModelTask
    /// The architecture (stored as JSON text in the metadata).
    public var config: ModelConfig
    /// Text sources (translate, classify).
    public var sourceVocabulary: Vocabulary?
    /// Text targets; for classify, the class names as tokens.
    public var targetVocabulary: Vocabulary?
    /// How text was normalised before tokenizing.
    public var normalizer: TextNormalizer?
    /// transcribe: the audio frontend settings (their `FrontendSignature` is stored and checked too).
    public var audio: AudioConfig?
    /// caption: the grid feature settings (their signature is stored and checked too).
    public var image: GridFeatureConfig?
    /// Free text: recipe name, data description, figures.
    public var notes: [String: String]

    public init(task: ModelTask, config: ModelConfig, sourceVocabulary: Vocabulary? = nil,
                targetVocabulary: Vocabulary? = nil, normalizer: TextNormalizer? = nil,
                audio: AudioConfig? = nil, image: GridFeatureConfig? = nil, notes: [String: String] = [:]) {
        self.task = task
        self.config = config
        self.sourceVocabulary = sourceVocabulary
        self.targetVocabulary = targetVocabulary
        self.normalizer = normalizer
        self.audio = audio
        self.image = image
        self.notes = notes
    }

    /// The note holding the GNMT length penalty α that beam search uses with
    /// this model unless told otherwise (`recur export --length-penalty`), as
    /// Marian ships a model with its `decoder.yml`.
    public static let lengthPenaltyNote = "length_penalty"

    /// The model's default length penalty α: 0 without the note.
    public var defaultLengthPenalty: Float {
        get throws {
            guard let text = notes[Self.lengthPenaltyNote] else { return 0 }
            guard let a = Float(text), a.isFinite, a >= 0 else {
                throw RecurError(.value, "the note \(Self.lengthPenaltyNote) must be a length penalty α ≥ 0, got '\(text)'")
            }
            return a
        }
    }

    /// The notes holding the beam size and the language model (a shipped
    /// model's name, and its weight) that decoding uses with this model unless
    /// told otherwise (`recur export --beam 5 --lm lm-en`).
    public static let beamNote = "beam"
    public static let languageModelNote = "lm"
    public static let languageModelWeightNote = "lm_weight"

    /// The model's default beam size: nil without the note.
    public var defaultBeam: Int? {
        get throws {
            guard let text = notes[Self.beamNote] else { return nil }
            guard let b = Int(text), b >= 1 else { throw RecurError(.value, "the note \(Self.beamNote) must be a beam size ≥ 1, got '\(text)'") }
            return b
        }
    }

    /// The language model fused by default, as a shipped model's name or a
    /// path, with its weight when the note gives one: nil without the note.
    public var defaultLanguageModel: (name: String, weight: Float?)? {
        get throws {
            guard let name = notes[Self.languageModelNote], !name.isEmpty else {
                if notes[Self.languageModelWeightNote] != nil {
                    throw RecurError(.value, "the note \(Self.languageModelWeightNote) needs the note \(Self.languageModelNote)")
                }
                return nil
            }
            guard let text = notes[Self.languageModelWeightNote] else { return (name, nil) }
            guard let w = Float(text), w.isFinite, w >= 0 else {
                throw RecurError(.value, "the note \(Self.languageModelWeightNote) must be a weight ≥ 0, got '\(text)'")
            }
            return (name, w)
        }
    }

    /// Throws a `RecurError(.value)` saying what does not fit together: every
    /// task needs a target vocabulary; text sources a source vocabulary;
    /// transcribe its audio settings; caption its grid settings; the task must
    /// suit the kind of model; a seq2seq's vocabulary sizes must be the
    /// vocabularies' sizes.
    public func validate() throws {
        func need(_ ok: Bool, _ why: String) throws {
            if !ok { throw RecurError(.value, "model description: \(why)") }
        }
        let suits: Bool
        switch config.kind {
        case .seq2seq: suits = [.translate, .transcribe, .caption].contains(task)
        case .languageModel: suits = task == .generate
        case .classifier: suits = task == .classify
        }
        try need(suits, "task \(task.rawValue) does not suit a \(config.kind.rawValue) model")
        try need(targetVocabulary != nil, "a \(task.rawValue) model needs its target vocabulary")
        switch task.source {
        case .text: try need(sourceVocabulary != nil, "a \(task.rawValue) model needs its source vocabulary")
        case .speech: try need(audio != nil, "a transcribe model needs its audio frontend settings")
        case .image: try need(image != nil, "a caption model needs its image grid settings")
        case .none: break
        }
        if let audio {
            do { try audio.validate() } catch let e as RecurError { throw RecurError(.value, "model description: \(e.reason)") }
        }
        if let image {
            try need(image.grid >= 1 && image.size >= image.grid, "image grid \(image.grid) must be in 1…size (\(image.size))")
        }
        if config.kind == .seq2seq, let s = config.seq2seq {
            if let v = sourceVocabulary {
                try need(v.count == s.sourceVocabularySize,
                         "the source vocabulary has \(v.count) tokens but the config says \(s.sourceVocabularySize)")
            }
            if let v = targetVocabulary {
                try need(v.count == s.targetVocabularySize,
                         "the target vocabulary has \(v.count) tokens but the config says \(s.targetVocabularySize)")
            }
        }
    }
}

/// A model file read and checked: the description, the training state, and
/// the weights (made into a model by `instantiate`).
public struct LoadedModel: Sendable {
    public let path: String
    public let description: ModelDescription
    /// The training state JSON, if the file is a checkpoint.
    public let training: String?
    /// Whether the Adam moments are in the file.
    public let hasOptimizerState: Bool
    /// How the weights are stored: "F32" or "F16" ("mixed" if both).
    public let storage: String
    /// The `format` metadata ("recur-model-1").
    public let format: String
    /// The recur version that wrote the file.
    public let recurVersion: String
    /// The number of weights the file records.
    public let parameterCount: Int
    /// The file's size in bytes.
    public let fileSize: Int
    /// The audio frontend the model was trained with (transcribe).
    public let frontendSignature: FrontendSignature?
    /// The image grid the model was trained with (caption).
    public let imageSignature: String?
    /// Every tensor in the file, in header order (parameters and moments).
    public var tensors: [SafeTensorsEntry] { file.names.compactMap { try? file.entry($0) } }
    /// The parameter tensors (not the optimizer moments), in header order.
    public var parameterTensors: [SafeTensorsEntry] { tensors.filter { !$0.name.hasPrefix(ModelFile.optimizerPrefix) } }

    let file: SafeTensorsFile

    /// Builds the model from the config and a `ParameterStore` filled with the
    /// weights. The tensor names and shapes must be exactly the model's layout
    /// (otherwise one error lists what is missing, unexpected or of the wrong
    /// shape). With `optimizer`, the Adam moments are restored into
    /// `store.moment1` / `moment2` too (an error if the file has none).
    public func instantiate(optimizer: Bool = false) throws -> (model: any SequenceModel, store: ParameterStore) {
        let model: any SequenceModel
        do { model = try description.config.makeModel() } catch let e as RecurError { throw e.naming(path) }
        let layout = model.layout
        let have = parameterTensors.map { ($0.name, $0.shape) }
        if let problem = ModelFile.layoutProblem(have: have, need: layout, prefix: "") {
            throw RecurError(.shape, "the weights do not fit the model's layout: \(problem) (the file is damaged, or its weights and config come from different models)", file: path)
        }
        let store = ParameterStore(layout)
        for (name, ref) in zip(layout.names, layout.refs) {
            try file.load(name, into: store.value(ref))
        }
        if optimizer {
            guard hasOptimizerState else {
                throw RecurError(.value, "the file holds no optimizer state (a shipped model, or a checkpoint written without it): resume from a full checkpoint, or start the optimizer afresh", file: path)
            }
            let moments = tensors.filter { $0.name.hasPrefix(ModelFile.optimizerPrefix) }
            for (prefix, buffer) in [(ModelFile.expAvgPrefix, store.moment1), (ModelFile.expAvgSqPrefix, store.moment2)] {
                let part = moments.filter { $0.name.hasPrefix(prefix) }.map { ($0.name, $0.shape) }
                if let problem = ModelFile.layoutProblem(have: part, need: layout, prefix: prefix) {
                    throw RecurError(.shape, "the optimizer state does not fit the model's layout: \(problem)", file: path)
                }
                guard let owner = buffer.owner else { continue }
                for (name, ref) in zip(layout.names, layout.refs) {
                    try file.load(prefix + name, into: Tensor(storage: owner, offset: ref.offset, shape: ref.shape))
                }
            }
            if hasTrainingWeights {
                // Weight averaging: the parameters are the average; training goes on from the trained weights.
                let part = tensors.filter { $0.name.hasPrefix(ModelFile.trainingWeightsPrefix) }.map { ($0.name, $0.shape) }
                if let problem = ModelFile.layoutProblem(have: part, need: layout, prefix: ModelFile.trainingWeightsPrefix) {
                    throw RecurError(.shape, "the training weights do not fit the model's layout: \(problem)", file: path)
                }
                for (name, ref) in zip(layout.names, layout.refs) {
                    try file.load(ModelFile.trainingWeightsPrefix + name, into: store.value(ref))
                }
            }
        }
        return (model, store)
    }

    /// Whether the file holds the weights being trained apart from its parameters
    /// (a checkpoint of a run with weight averaging, `training.ema`).
    public var hasTrainingWeights: Bool { file.names.contains { $0.hasPrefix(ModelFile.trainingWeightsPrefix) } }

    /// The parameters as one flat buffer laid out as a `ParameterStore`'s values: the
    /// averaged weights of a checkpoint with training weights (nil without them).
    public func averagedWeights() throws -> Tensor? {
        guard hasTrainingWeights else { return nil }
        let layout: ParameterLayout
        do { layout = try description.config.makeModel().layout } catch let e as RecurError { throw e.naming(path) }
        let flat = Tensor(zeros: [layout.totalCount])
        for (name, ref) in zip(layout.names, layout.refs) {
            try file.load(name, into: Tensor(borrowing: flat.data + ref.offset, shape: ref.shape))
        }
        return flat
    }

    /// Refuses features made with another audio frontend than the model's,
    /// naming every setting that differs.
    public func checkAudio(_ config: AudioConfig) throws {
        guard let trained = frontendSignature else {
            throw RecurError(.value, "this \(description.task.rawValue) model takes no audio (it has no frontend signature)", file: path)
        }
        let given = FrontendSignature(config)
        let diff = trained.differences(given)
        guard !diff.isEmpty else { return }
        let items = diff.map { "\($0): model \(trained.dictionary[$0] ?? "-"), given \(given.dictionary[$0] ?? "-")" }
        throw RecurError(.value, "audio frontend mismatch (\(items.joined(separator: "; "))): make the features with the model's frontend settings (recur inspect shows them) or retrain", file: path)
    }

    /// Refuses image features made with other grid settings than the model's,
    /// naming every setting that differs.
    public func checkImage(_ config: GridFeatureConfig) throws {
        guard let trained = imageSignature, let model = description.image else {
            throw RecurError(.value, "this \(description.task.rawValue) model takes no images (it has no image signature)", file: path)
        }
        var items: [String] = []
        if model.grid != config.grid { items.append("grid: model \(model.grid), given \(config.grid)") }
        if model.size != config.size { items.append("size: model \(model.size), given \(config.size)") }
        if model.fit != config.fit { items.append("fit: model \(model.fit.rawValue), given \(config.fit.rawValue)") }
        if model.padValue != config.padValue { items.append("pad value: model \(model.padValue), given \(config.padValue)") }
        if items.isEmpty && trained != config.signature {
            items.append("signature: model \(trained), this recur \(config.signature) (the feature definition changed; use the recur version that made the model or retrain)")
        }
        guard !items.isEmpty else { return }
        throw RecurError(.value, "image grid mismatch (\(items.joined(separator: "; "))): make the features with the model's settings (recur features image --grid \(model.grid) --size \(model.size) --fit \(model.fit.rawValue)) or retrain", file: path)
    }

    /// Refuses a vocabulary that is not the one the model was trained with on
    /// side `role` ("source" or "target"), by content hash and size.
    public func checkVocabulary(_ v: Vocabulary, role: String) throws {
        let trained: Vocabulary?
        switch role {
        case "source": trained = description.sourceVocabulary
        case "target": trained = description.targetVocabulary
        default: throw RecurError(.usage, "vocabulary role must be source or target, got '\(role)'")
        }
        guard let trained else {
            throw RecurError(.value, "this \(description.task.rawValue) model has no \(role) vocabulary", file: path)
        }
        guard trained.hash != v.hash else { return }
        throw RecurError(.value, "the \(role) side was trained with vocabulary \(trained.hash) (\(trained.count) tokens), got \(v.hash) (\(v.count) tokens): use the vocabulary shipped with the model (recur inspect shows it) or retrain", file: path)
    }
}

/// Writes and reads Recur model files and checkpoints (the layout is described
/// at the top of ModelFile.swift).
public enum ModelFile {
    /// The format this version writes and reads.
    public static let format = "recur-model-1"
    static let formatPrefix = "recur-model-"
    static let optimizerPrefix = "optimizer."
    static let expAvgPrefix = "optimizer.exp_avg."
    static let expAvgSqPrefix = "optimizer.exp_avg_sq."
    static let trainingWeightsPrefix = "optimizer.weights."

    /// Writes the model atomically (temporary name + rename). `float16`:
    /// weights stored as F16 (shipping). `training`: the trainer's state as
    /// JSON text (must parse as JSON). With `includeOptimizer`, the Adam
    /// moments `store.moment1` / `moment2` are written as
    /// `optimizer.exp_avg.<name>` / `optimizer.exp_avg_sq.<name>` (always F32).
    ///
    /// Refused before anything is written: a description that does not fit
    /// together (`ModelDescription.validate`), a store whose layout is not the
    /// config's model's, non-finite weights or moments, weights beyond
    /// float16's range when `float16`, training text that is not JSON.
    ///
    /// `trainingWeights` (with `includeOptimizer`): the weights being trained
    /// when `store.values` holds their average, one flat buffer in the layout's
    /// order, written as `optimizer.weights.<name>` (F32).
    public static func write(to path: String, description: ModelDescription, store: ParameterStore,
                             training: String? = nil, includeOptimizer: Bool = false, float16: Bool = false,
                             trainingWeights: Tensor? = nil) throws {
        try write(to: path, description: description, store: store, training: training,
                  includeOptimizer: includeOptimizer, float16: float16, trainingWeights: trainingWeights, afterChunk: nil)
    }

    /// `write`, with `afterChunk` called with the bytes written so far after
    /// each chunk of the file (tests inject failures through it).
    static func write(to path: String, description: ModelDescription, store: ParameterStore,
                      training: String?, includeOptimizer: Bool, float16: Bool, trainingWeights: Tensor? = nil,
                      afterChunk: ((Int) throws -> Void)?) throws {
        func refuse(_ kind: RecurError.Kind, _ reason: String) -> RecurError {
            RecurError(kind, "not written: \(reason)", file: path)
        }
        do { try description.validate() } catch let e as RecurError { throw refuse(e.kind, e.reason) }
        let model: any SequenceModel
        do { model = try description.config.makeModel() } catch let e as RecurError { throw refuse(e.kind, e.reason) }
        let have = zip(store.layout.names, store.layout.refs).map { ($0, $1.shape) }
        if let problem = layoutProblem(have: have, need: model.layout, prefix: "") {
            throw refuse(.shape, "the parameter store does not fit the config's model: \(problem)")
        }
        if let training {
            do { _ = try JSONValue.parse(training) } catch {
                throw refuse(.usage, "the training state is not valid JSON")
            }
        }

        var metadata = try metadataEntries(description)
        metadata["parameter_count"] = String(store.parameterCount)
        if let training { metadata["training"] = training }

        var writer = SafeTensorsWriter(metadata: metadata)
        for (name, ref) in zip(store.layout.names, store.layout.refs) {
            let t = store.value(ref)
            if let bad = firstNonFinite(t) { throw refuse(.value, "parameter \(name) holds \(bad)") }
            if float16 {
                let m = maxMagnitude(t)
                if m > 65504 {
                    throw refuse(.value, "parameter \(name) holds \(m), beyond float16's range (65504): store it as F32")
                }
            }
            try writer.add(name, t, as: float16 ? .f16 : .f32)
        }
        if includeOptimizer {
            for (prefix, buffer) in [(expAvgPrefix, store.moment1), (expAvgSqPrefix, store.moment2)] {
                guard let owner = buffer.owner else { continue }
                for (name, ref) in zip(store.layout.names, store.layout.refs) {
                    let t = Tensor(storage: owner, offset: ref.offset, shape: ref.shape)
                    if let bad = firstNonFinite(t) { throw refuse(.value, "optimizer moment \(prefix)\(name) holds \(bad)") }
                    try writer.add(prefix + name, t, as: .f32)
                }
            }
            if let w = trainingWeights {
                guard w.count == store.values.count else {
                    throw refuse(.shape, "the training weights hold \(w.count) numbers, the model \(store.values.count)")
                }
                for (name, ref) in zip(store.layout.names, store.layout.refs) {
                    let t = Tensor(borrowing: w.data + ref.offset, shape: ref.shape)
                    if let bad = firstNonFinite(t) { throw refuse(.value, "training weight \(name) holds \(bad)") }
                    try writer.add(trainingWeightsPrefix + name, t, as: .f32)
                }
            }
        }
        let bytes = writer.serialized()
        try AtomicFile.write(to: path) { out in
            let chunk = 1 << 22
            var done = 0
            try bytes.withUnsafeBytes { raw in
                while done < raw.count {
                    let n = min(chunk, raw.count - done)
                    try out.write(UnsafeRawBufferPointer(rebasing: raw[done ..< done + n]))
                    done += n
                    try afterChunk?(done)
                }
            }
        }
    }

    /// Reads and checks a model file: a safetensors file, a format this
    /// version reads, every metadata field present and decoding, vocabularies
    /// whose contents match their hashes, a description that fits together.
    /// The weights are checked against the model when `instantiate` builds it.
    public static func read(_ path: String) throws -> LoadedModel {
        let file = try SafeTensorsFile(path: path)
        let m = file.metadata
        func bad(_ reason: String) -> RecurError { RecurError(.format, reason, file: path) }
        guard let format = m["format"] else {
            throw bad("not a Recur model file: its metadata has no 'format' (a plain safetensors file?)")
        }
        guard format == Self.format else {
            if format.hasPrefix(formatPrefix), let n = Int(format.dropFirst(formatPrefix.count)), n > 1 {
                throw bad("the file's format \(format) is newer than this recur (\(RecurVersion.version)) reads (\(Self.format)): use a newer recur")
            }
            throw bad("unknown format '\(format)' (this recur reads \(Self.format))")
        }
        func field(_ key: String) throws -> String {
            guard let v = m[key] else { throw bad("the metadata has no '\(key)'") }
            return v
        }
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            let text = try field(key)
            do {
                return try JSONDecoder().decode(T.self, from: Data(text.utf8))
            } catch {
                throw bad("metadata '\(key)' does not decode: \(describe(error))")
            }
        }

        let taskName = try field("task")
        guard let task = ModelTask(rawValue: taskName) else {
            throw bad("unknown task '\(taskName)' (known: \(ModelTask.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var description = ModelDescription(task: task, config: try decode(ModelConfig.self, "model_config"))
        description.sourceVocabulary = try vocabulary("source", m, path: path)
        description.targetVocabulary = try vocabulary("target", m, path: path)
        if m["normalizer"] != nil { description.normalizer = try decode(TextNormalizer.self, "normalizer") }
        var frontendSignature: FrontendSignature?
        if m["audio_config"] != nil {
            description.audio = try decode(AudioConfig.self, "audio_config")
            do { frontendSignature = try FrontendSignature(short: try field("frontend_signature")) } catch let e as RecurError {
                throw bad("metadata 'frontend_signature' does not parse: \(e.reason)")
            }
        }
        var imageSignature: String?
        if m["image_config"] != nil {
            description.image = try decode(ImageConfigJSON.self, "image_config").config(path: path)
            imageSignature = try field("image_signature")
        }
        if m["notes"] != nil { description.notes = try decode([String: String].self, "notes") }
        let training = m["training"]
        if let training {
            do { _ = try JSONValue.parse(training) } catch { throw bad("metadata 'training' is not valid JSON") }
        }
        let countText = try field("parameter_count")
        guard let parameterCount = Int(countText), parameterCount >= 0 else {
            throw bad("metadata 'parameter_count' is not a count: '\(countText)'")
        }
        do { try description.validate() } catch let e as RecurError { throw bad(e.reason) }

        var dtypes = Set<SafeTensorsDType>()
        var hasOptimizer = false
        for name in file.names {
            if name.hasPrefix(optimizerPrefix) { hasOptimizer = true } else { dtypes.insert(try file.dtype(name)) }
        }
        let storage = dtypes.count == 1 ? dtypes.first!.rawValue : (dtypes.isEmpty ? "none" : "mixed")
        var info = stat()
        let size = stat(path, &info) == 0 ? Int(info.st_size) : 0
        return LoadedModel(path: path, description: description, training: training, hasOptimizerState: hasOptimizer,
                           storage: storage, format: format, recurVersion: m["recur_version"] ?? "?",
                           parameterCount: parameterCount, fileSize: size,
                           frontendSignature: frontendSignature, imageSignature: imageSignature, file: file)
    }

    // MARK: - Metadata

    /// The metadata describing `d` (without parameter_count and training).
    static func metadataEntries(_ d: ModelDescription) throws -> [String: String] {
        var m: [String: String] = [
            "format": format,
            "recur_version": RecurVersion.version,
            "task": d.task.rawValue,
            "model_config": try json(d.config),
        ]
        for (role, v) in [("source", d.sourceVocabulary), ("target", d.targetVocabulary)] {
            guard let v else { continue }
            m["\(role)_vocab"] = v.fileText
            m["\(role)_vocab_kind"] = v.kind.rawValue
            m["\(role)_vocab_hash"] = v.hash
            if v.kind == .bpe { m["\(role)_vocab_merges"] = v.mergesText }
        }
        if let n = d.normalizer { m["normalizer"] = try json(n) }
        if let a = d.audio {
            m["audio_config"] = try json(a)
            m["frontend_signature"] = FrontendSignature(a).short
        }
        if let g = d.image {
            m["image_config"] = try json(ImageConfigJSON(g))
            m["image_signature"] = g.signature
        }
        if !d.notes.isEmpty { m["notes"] = try json(d.notes) }
        return m
    }

    /// Compact JSON with sorted keys, so the same description gives the same bytes.
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The vocabulary of side `role` from the metadata, its contents checked
    /// against its recorded hash; nil when the file has none.
    static func vocabulary(_ role: String, _ m: [String: String], path: String) throws -> Vocabulary? {
        let key = "\(role)_vocab"
        guard let text = m[key] else { return nil }
        func bad(_ reason: String) -> RecurError { RecurError(.format, "\(role) vocabulary: \(reason)", file: path) }
        guard let kindName = m["\(key)_kind"] else { throw bad("the metadata has no '\(key)_kind'") }
        guard let kind = TokenizerKind(rawValue: kindName) else { throw bad("unknown kind '\(kindName)'") }
        guard let recorded = m["\(key)_hash"] else { throw bad("the metadata has no '\(key)_hash'") }
        guard text.hasSuffix("\n") else { throw bad("the token list does not end with a line break (damaged)") }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (i, s) in Vocabulary.specials.enumerated() where i >= lines.count || lines[i] != s {
            throw bad("token \(i) must be the special \(s) (damaged)")
        }
        var seen = Set<String>()
        for (i, t) in lines.enumerated() {
            guard !t.isEmpty, !t.unicodeScalars.contains(where: { $0.properties.isWhitespace }) else {
                throw bad("token \(i) is empty or holds white space (damaged)")
            }
            guard seen.insert(t).inserted else { throw bad("token \(i) '\(t)' repeats an earlier one (damaged)") }
        }
        var merges: [BPEMerge] = []
        if kind == .bpe {
            guard let mergesText = m["\(key)_merges"] else { throw bad("a BPE vocabulary needs '\(key)_merges'") }
            var mergeLines = mergesText.split(separator: "\n", omittingEmptySubsequences: false)
            if mergeLines.last == "" { mergeLines.removeLast() }
            guard mergeLines.first.map(String.init) == Vocabulary.mergesHeader else {
                throw bad("the merges do not start with '\(Vocabulary.mergesHeader)'")
            }
            for (i, l) in mergeLines.enumerated().dropFirst() {
                let parts = l.utf8.split(separator: 0x20, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw bad("merge \(i) is not two pieces separated by one space")
                }
                merges.append(BPEMerge(String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self)))
            }
        }
        let v = Vocabulary(kind: kind, tokens: lines, merges: merges)
        guard v.hash == recorded else {
            throw bad("its contents hash to \(v.hash) but the file records \(recorded): the vocabulary in the file was changed or damaged; use an intact copy of the model")
        }
        return v
    }

    // MARK: - Checks

    /// What differs between tensors `have` (names with `prefix`) and the
    /// layout `need`, as one line; nil when they match exactly.
    static func layoutProblem(have: [(String, [Int])], need: ParameterLayout, prefix: String) -> String? {
        var shapes: [String: [Int]] = [:]
        for (name, shape) in have { shapes[String(name.dropFirst(prefix.count))] = shape }
        var missing: [String] = [], wrong: [String] = []
        for (name, ref) in zip(need.names, need.refs) {
            guard let shape = shapes.removeValue(forKey: name) else {
                missing.append("\(prefix)\(name) \(ref.shape)")
                continue
            }
            if shape != ref.shape { wrong.append("\(prefix)\(name) is \(shape), the model needs \(ref.shape)") }
        }
        let unexpected = have.map { String($0.0.dropFirst(prefix.count)) }.filter { shapes[$0] != nil }
            .map { "\(prefix)\($0) \(shapes[$0]!)" }
        func list(_ label: String, _ items: [String]) -> String? {
            guard !items.isEmpty else { return nil }
            let shown = items.prefix(12).joined(separator: ", ")
            return "\(label) \(items.count): \(shown)\(items.count > 12 ? ", …" : "")"
        }
        let parts = [list("missing", missing), list("unexpected", unexpected), list("wrong shape", wrong)].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    /// The first NaN or infinity in `t`, described, or nil.
    static func firstNonFinite(_ t: Tensor) -> String? {
        for i in 0 ..< t.count where !t.data[i].isFinite { return "\(t.data[i]) at element \(i)" }
        return nil
    }

    static func maxMagnitude(_ t: Tensor) -> Float {
        var m: Float = 0
        for i in 0 ..< t.count { m = max(m, abs(t.data[i])) }
        return m
    }

    /// A DecodingError as one short line.
    static func describe(_ error: Error) -> String {
        func at(_ path: [CodingKey]) -> String {
            path.isEmpty ? "" : " at " + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .keyNotFound(let key, let c): return "no '\(key.stringValue)'\(at(c.codingPath))"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return c.debugDescription + at(c.codingPath)
        @unknown default: return "\(error)"
        }
    }
}

/// `GridFeatureConfig` as stored in `image_config`.
private struct ImageConfigJSON: Codable {
    var grid: Int
    var size: Int
    var fit: String
    var pad_value: Float

    init(_ c: GridFeatureConfig) {
        grid = c.grid
        size = c.size
        fit = c.fit.rawValue
        pad_value = c.padValue
    }

    func config(path: String) throws -> GridFeatureConfig {
        guard let f = ImageFit(rawValue: fit) else {
            throw RecurError(.format, "metadata 'image_config': unknown fit '\(fit)'", file: path)
        }
        return GridFeatureConfig(grid: grid, size: size, fit: f, padValue: pad_value)
    }
}
