import Foundation
import RecurCore
import RecurFrontends
import RecurModels

/// Where a task's examples come from and how they are split and filtered
/// (the `data` section of a recipe, with paths already resolved).
public struct TaskDataSpec: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        /// translate: `source<TAB>target` rows (columns chosen); generate: the given column.
        case tsv
        /// transcribe: a folder of `{digit}_{speaker}_{index}.wav` (FSDD's recordings/).
        case fsdd
        /// transcribe: a TSV with a header `path<TAB>transcript[<TAB>speaker…]` (`recur data speak|digits`).
        case manifest
        /// caption: `image<TAB>caption` rows, several per image (`recur data shapes`, COCO's captions.tsv).
        case captions
        /// generate: one text per line.
        case text
    }

    public var task: ModelTask
    /// One or more training files (or FSDD folders), all in `format`.
    public var train: [String]
    /// A separate validation file; nil: split off the training data.
    public var valid: String?
    public var format: Format
    public var sourceColumn: Int = 0
    public var targetColumn: Int = 1
    /// Where relative image/audio paths of a list are resolved (default: the list's folder).
    public var mediaRoot: String?
    public var validFraction: Double = 0.05
    /// Exactly this many validation groups (overrides the fraction).
    public var validCount: Int?
    /// What groups examples for the split: `id` (each alone), `source`, `target`, `speaker`
    /// (FSDD file names, or a manifest's `speaker` column), `voice` (a manifest's `voice` column).
    public var validKey: String = "id"
    /// Examples whose source/target has more words (characters for char targets) are dropped.
    public var maxSourceWords: Int?
    public var maxTargetWords: Int?
    /// Keep at most this many training examples (after filtering and the split).
    public var limit: Int?
    public var seed: UInt64 = 1
    /// transcribe: speed perturbation factors (Kaldi's [0.9, 1.0, 1.1]; the
    /// recipe's `frontend.speed_perturb`). Each training file's features are
    /// computed once per factor, validation files' only unperturbed; each
    /// training batch draws one factor per example. nil: no perturbation.
    public var speedFactors: [Double]?

    public init(task: ModelTask, train: [String], format: Format) {
        self.task = task
        self.train = train
        self.format = format
    }
}

/// How a vocabulary is built from the training data.
public struct VocabularySpec: Sendable, Equatable {
    public var kind: TokenizerKind
    public var size: Int
    public var minFrequency: Int
    public init(kind: TokenizerKind, size: Int = 0, minFrequency: Int = 1) {
        self.kind = kind
        self.size = size
        self.minFrequency = minFrequency
    }
}

/// Training examples ready for a model: prepared sources and target ids.
public final class ExampleData: @unchecked Sendable {
    /// The unperturbed sources (speed factor 1.0).
    public let sources: [PreparedSource]
    public let targets: [[Int]]
    /// SpecAugment on speech frames at batch time (training only).
    public var specAugment: SpecAugment.Options?
    /// Frequency warping of speech frames at batch time (training only): α drawn
    /// uniformly in [1 - width, 1 + width] per example (SpecAugment.warpFrequency),
    /// the features' blocks being `bands` columns wide. Off when nil.
    public var frequencyWarp: (width: Float, bands: Int)?
    /// Speed perturbation: the factors, and each example's source at each of
    /// them (`alternatives[i][k]` is example i at `speedFactors[k]`; a 1.0
    /// entry shares `sources[i]`). Both empty when off.
    public let speedFactors: [Double]
    public let alternatives: [[PreparedSource]]
    /// Text sources: the probability that a source ending in one of `ids` (final
    /// punctuation) loses that last token in a batch, so that a model also learns
    /// to translate input typed without it. Off when nil.
    public var finalPunctuationDrop: (probability: Double, ids: Set<Int>)?

    public init(sources: [PreparedSource], targets: [[Int]], specAugment: SpecAugment.Options? = nil,
                speedFactors: [Double] = [], alternatives: [[PreparedSource]] = []) {
        precondition(sources.count == targets.count)
        precondition(alternatives.isEmpty ? speedFactors.isEmpty
                     : !speedFactors.isEmpty && alternatives.count == sources.count
                       && alternatives.allSatisfy { $0.count == speedFactors.count },
                     "one alternative per example and speed factor")
        self.sources = sources
        self.targets = targets
        self.specAugment = specAugment
        self.speedFactors = speedFactors
        self.alternatives = alternatives
    }

    public var count: Int { sources.count }

    /// Lengths for bucketing and the token budget: the unperturbed source's
    /// (a 0.9 speed draw makes about 11% more frames than counted).
    public func lengths(_ i: Int) -> Lengths { Lengths(source: sources[i].length, target: targets[i].count + 1) }

    /// The batch of `indices`. With speed perturbation on, first draws one
    /// factor per example from `rng` (uniformly, in `indices` order); then,
    /// when enabled, one frequency-warp factor per example, then SpecAugment
    /// masks, also in `indices` order; for text
    /// sources, when enabled, one final-punctuation draw per example. The draws
    /// depend only on `rng` and `indices`, so a resumed run repeats them.
    public func batch(_ indices: [Int], rng: inout RNG) throws -> (sources: SourceBatch, targets: [[Int]]) {
        var picked: [PreparedSource]
        if alternatives.isEmpty {
            picked = indices.map { sources[$0] }
        } else {
            picked = []
            picked.reserveCapacity(indices.count)
            for i in indices { picked.append(alternatives[i][rng.int(below: speedFactors.count)]) }
        }
        if let (width, bands) = frequencyWarp {
            picked = picked.map { s in
                guard case .features(let f) = s else { return s }
                let alpha = 1 + width * (2 * rng.uniform() - 1)
                return .features(SpecAugment.warpFrequency(f, alpha: alpha, bands: bands))
            }
        }
        if let o = specAugment {
            picked = picked.map { s in
                guard case .features(let f) = s else { return s }
                let copy = f.copy()
                _ = SpecAugment.apply(copy, o, rng: &rng)
                return .features(copy)
            }
        }
        if let (p, ids) = finalPunctuationDrop {
            picked = picked.map { s in
                guard case .tokens(let t) = s else { return s }
                let drop = rng.uniformDouble() < p
                return drop && t.count > 1 && ids.contains(t[t.count - 1]) ? .tokens(Array(t.dropLast())) : s
            }
        }
        return (try picked.batch(), indices.map { targets[$0] })
    }
}

/// Validation examples: one per source (an image with all its captions is one),
/// with every reference text, and the first reference's ids for the loss.
public struct ValidationData: @unchecked Sendable {
    public var sources: [PreparedSource]
    public var references: [[String]]
    public var targets: [[Int]]
    /// Where each came from (file:line or the media path), for samples and reports.
    public var origins: [String]
    public var count: Int { sources.count }

    public init(sources: [PreparedSource], references: [[String]], targets: [[Int]], origins: [String]) {
        self.sources = sources
        self.references = references
        self.targets = targets
        self.origins = origins
    }

    /// The first `n` examples.
    public func prefix(_ n: Int) -> ValidationData {
        ValidationData(sources: Array(sources.prefix(n)), references: Array(references.prefix(n)),
                       targets: Array(targets.prefix(n)), origins: Array(origins.prefix(n)))
    }
}

/// A task's data, vocabularies and frontends, ready to train on.
public struct PreparedTask: @unchecked Sendable {
    public let io: TaskIO
    public let normalizer: TextNormalizer
    public let sourceVocabulary: Vocabulary?
    public let targetVocabulary: Vocabulary?
    public let train: ExampleData
    public let validation: ValidationData
    /// Human-readable lines: what was read, dropped, split and built.
    public let report: [String]
    /// The held-out examples as read (after the length filter), in file order.
    public var validationExamples: [Example] = []

    /// The held-out examples as a file `recur evaluate --data` reads with the
    /// task's default format, giving the training's validation figure:
    /// `source<TAB>target` (translate, classify), `path<TAB>transcript` with a
    /// header (transcribe), `image<TAB>caption` (caption), media paths made
    /// absolute. Nil for a language model (its validation is a text stream).
    public func validationFile(task: ModelTask) -> String? {
        guard task != .generate else { return nil }
        let cwd = FileManager.default.currentDirectoryPath
        func clean(_ s: String) -> String { s.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ") }
        var lines = task == .transcribe ? ["path\ttranscript"] : []
        for e in validationExamples {
            let source = task.source == .text || e.source.hasPrefix("/") ? e.source : (cwd as NSString).appendingPathComponent(e.source)
            lines.append(clean(source) + "\t" + clean(e.target))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

public enum TaskPreparation {
    static let digitWords = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    static let fsddPattern = try! FileNamePattern("{digit}_{speaker}_{index}.wav")

    /// Reads, splits, filters and prepares a task's data; builds the vocabularies
    /// from the training part unless given (a resumed run passes the checkpoint's).
    public static func prepare(_ spec: TaskDataSpec, sourceVocabulary sv: VocabularySpec?, targetVocabulary tv: VocabularySpec?,
                               lowercase: Bool, audio: AudioConfig?, image: GridFeatureConfig?,
                               existing: (source: Vocabulary?, target: Vocabulary?)? = nil,
                               log: (String) -> Void = { _ in }) throws -> PreparedTask {
        var report: [String] = []
        func note(_ s: String) { report.append(s); log(s) }
        let normalizer = TextNormalizer(form: .nfc, lowercase: lowercase)
        if let factors = spec.speedFactors { try checkSpeedFactors(factors, task: spec.task) }
        if spec.task == .classify && spec.format != .tsv {
            // The classifier reads text: a list of audio or image files would be tokenized as path strings.
            throw RecurError(.usage, "classify reads text<TAB>label lines (format tsv), not \(spec.format.rawValue); spoken-word or image classification is not supported: train a transcribe or caption model")
        }

        // 1. Read.
        var examples: [Example] = []
        for path in spec.train {
            let r = try read(path, spec)
            note("read \(r.examples.count) examples from \(path)")
            examples += r.examples
        }
        guard !examples.isEmpty else { throw RecurError(.value, "no training examples in \(spec.train.joined(separator: ", "))") }

        // 2. Length filter (words of the normalised text).
        func words(_ s: String) -> Int { s.split(whereSeparator: { $0 == " " || $0 == "\t" }).count }
        let before = examples.count
        examples = examples.filter { e in
            if let m = spec.maxSourceWords, spec.task.source == .text, words(e.source) > m { return false }
            if let m = spec.maxTargetWords, words(e.target) > m { return false }
            return true
        }
        if examples.count < before { note("length filter kept \(examples.count) of \(before)") }

        // 3. Split.
        var train: [Example], valid: [Example]
        if let v = spec.valid {
            train = examples
            valid = try read(v, spec).examples
            note("validation: \(valid.count) examples from \(v)")
        } else {
            let amount: SplitAmount = spec.validCount.map { .count($0) } ?? .fraction(spec.validFraction)
            let split = try ValidationSplit(amount, seed: spec.seed, key: splitKey(spec)).apply(examples)
            train = split.train
            valid = split.validation
            note("split (\(spec.validKey)): " + split.summary)
        }
        if let limit = spec.limit, train.count > limit {
            train = Array(train.prefix(limit))
            note("limit: training on the first \(limit) examples")
        }
        guard !train.isEmpty else { throw RecurError(.value, "no training examples left after the split") }

        // 4. Vocabularies.
        func build(_ spec: VocabularySpec, _ texts: [String]) -> Vocabulary {
            var b = VocabularyBuilder(kind: spec.kind, maxSize: spec.size, minFrequency: spec.minFrequency)
            for t in texts { b.add(normalized: normalizer.normalize(t)) }
            return b.build()
        }
        var sourceVocabulary: Vocabulary? = nil, targetVocabulary: Vocabulary? = nil
        if spec.task.source == .text {
            sourceVocabulary = try existing?.source ?? build(sv ?? VocabularySpec(kind: .word), train.map(\.source))
        }
        if spec.task == .classify {
            targetVocabulary = try existing?.target ?? labelVocabulary(train)
        } else {
            targetVocabulary = try existing?.target ?? build(tv ?? VocabularySpec(kind: spec.task == .transcribe ? .char : .word),
                                                         train.map(\.target))
        }
        if let v = sourceVocabulary { note("source vocabulary: \(v.count) \(v.kind.rawValue) tokens, hash \(v.hash)") }
        if let v = targetVocabulary { note("target vocabulary: \(v.count) \(v.kind.rawValue) tokens, hash \(v.hash)") }

        let io = try TaskIO(task: spec.task, sourceVocabulary: sourceVocabulary, targetVocabulary: targetVocabulary,
                            normalizer: normalizer, audio: audio, image: image)

        // 5. Sources: tokens, or features computed once per distinct file.
        let media = Array(Set(train.map(\.source) + valid.map(\.source))).sorted()
        var features: [String: PreparedSource] = [:]
        if spec.task.source == .speech || spec.task.source == .image {
            let started = Date()
            features = try prepareMedia(media, io: io)
            note(String(format: "computed features of %d files in %.1f s", media.count, Date().timeIntervalSince(started)))
        }
        // Speed perturbation: each training file once more per factor other than 1.0 (validation files never).
        var perturbed: [String: [PreparedSource]] = [:]
        let speedFactors = spec.speedFactors ?? []
        if let factors = spec.speedFactors {
            let started = Date()
            let trainMedia = Array(Set(train.map(\.source))).sorted()
            let others = Array(Set(factors.filter { $0 != 1 })).sorted()
            let computed = try prepareSpeeds(trainMedia, factors: others, io: io)
            for path in trainMedia {
                perturbed[path] = factors.map { f in f == 1 ? features[path]! : computed[path]![others.firstIndex(of: f)!] }
            }
            let sets = trainMedia.count * (others.count + (factors.contains(1) ? 1 : 0))
            note("speed perturbation (\(factors.map { String($0) }.joined(separator: ", "))): \(sets) feature sets of "
                 + "\(trainMedia.count) training files, \(trainMedia.count * others.count) of them perturbed, computed in "
                 + String(format: "%.1f s", Date().timeIntervalSince(started)))
        }
        func source(_ e: Example) throws -> PreparedSource {
            switch spec.task.source {
            case .speech, .image: return features[e.source]!
            case .none: return .none
            case .text:
                do { return try io.prepare(e.source) } catch { throw RecurError(.value, "\(e.file):\(e.line): \(error)") }
            }
        }
        let trainData = ExampleData(sources: try train.map(source), targets: train.map { io.targetIds($0.target) },
                                    speedFactors: speedFactors,
                                    alternatives: speedFactors.isEmpty ? [] : train.map { perturbed[$0.source]! })

        // Validation: group captions of one image (or identical sources) into one example with all references.
        var order: [String] = [], refs: [String: [String]] = [:], first: [String: Example] = [:]
        for e in valid {
            let key = spec.task.source == .none ? "\(e.file):\(e.line)" : e.source
            if refs[key] == nil { order.append(key); first[key] = e }
            refs[key, default: []].append(e.target)
        }
        let validation = ValidationData(sources: try order.map { try source(first[$0]!) }, references: order.map { refs[$0]! },
                                        targets: order.map { io.targetIds(refs[$0]![0]) },
                                        origins: order.map { k in
                                            let e = first[k]!
                                            return spec.task.source == .speech || spec.task.source == .image ? e.source : "\(e.file):\(e.line)"
                                        })
        var prepared = PreparedTask(io: io, normalizer: normalizer, sourceVocabulary: sourceVocabulary,
                                    targetVocabulary: targetVocabulary, train: trainData, validation: validation, report: report)
        prepared.validationExamples = valid
        return prepared
    }

    /// The classes of a classify task: every distinct label of the training
    /// examples (white space around it trimmed), most frequent first (ties in
    /// code-point order), after the four specials, so that class id = token id.
    /// A label must be one token: no inner white space, not a special.
    static func labelVocabulary(_ train: [Example]) throws -> Vocabulary {
        var counts: [String: Int] = [:]
        for e in train {
            let label = TaskIO.label(e.target)
            guard !label.isEmpty else { throw RecurError(.value, "\(e.file):\(e.line): the class label is empty") }
            guard !label.unicodeScalars.contains(where: { $0.properties.isWhitespace }) else {
                throw RecurError(.value, "\(e.file):\(e.line): the class label '\(label)' holds white space; a label is one token (for example \(label.split(whereSeparator: \.isWhitespace).joined(separator: "_")))")
            }
            guard !Vocabulary.specials.contains(label) else {
                throw RecurError(.value, "\(e.file):\(e.line): the class label '\(label)' is a reserved token")
            }
            counts[label, default: 0] += 1
        }
        guard counts.count >= 2 else {
            throw RecurError(.value, "a classifier needs at least 2 classes; the training data has \(counts.count) (\(counts.keys.sorted().joined(separator: ", ")))")
        }
        let labels = counts.keys.sorted { counts[$0]! != counts[$1]! ? counts[$0]! > counts[$1]! : $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        return Vocabulary(kind: .word, tokens: labels)
    }

    /// Examples of one file in the spec's format.
    static func read(_ path: String, _ spec: TaskDataSpec) throws -> ReadResult {
        let speakerID: Column? = (spec.validKey == "speaker" || spec.validKey == "voice") ? .name(spec.validKey) : nil
        switch spec.format {
        case .tsv:
            if spec.task == .generate {
                return try ParallelText.read(path, source: .index(spec.sourceColumn), target: .index(spec.sourceColumn))
            }
            return try ParallelText.read(path, source: .index(spec.sourceColumn), target: .index(spec.targetColumn))
        case .fsdd:
            return try SpeechManifest.fromDirectory(path, pattern: fsddPattern) { fields in
                Int(fields["digit"] ?? "").flatMap { $0 >= 0 && $0 < 10 ? digitWords[$0] : nil } ?? ""
            }
        case .manifest:
            return try SpeechManifest.read(path, id: speakerID, dataRoot: spec.mediaRoot)
        case .captions:
            return try CaptionList.read(path, dataRoot: spec.mediaRoot)
        case .text:
            return try PlainText.readLines(path)
        }
    }

    static func splitKey(_ spec: TaskDataSpec) throws -> SplitKey {
        switch spec.validKey {
        case "id": return .id
        case "source" where spec.task.source == .speech || spec.task.source == .image:
            // A media file by its path below the list's folder (or media_root), so that the split
            // does not change with how the data root is spelled (relative, absolute, --data-root).
            let root = spec.mediaRoot
            return .custom { e in
                let base = root ?? (e.file as NSString).deletingLastPathComponent
                return !base.isEmpty && e.source.hasPrefix(base + "/") ? String(e.source.dropFirst(base.count + 1)) : e.source
            }
        case "source": return .source
        case "target": return .target
        case "speaker" where spec.format == .fsdd: return .fileName(fsddPattern, field: "speaker")
        case "speaker", "voice": return .id   // the manifest's column was read as the id
        default:
            throw RecurError(.usage, "unknown validation key \(spec.validKey); known: id, source, target, speaker, voice")
        }
    }

    /// Refuses speed factors that make no sense, naming the recipe field
    /// `frontend.speed_perturb` (and `file`, the recipe, when given).
    public static func checkSpeedFactors(_ factors: [Double], task: ModelTask, file: String? = nil) throws {
        let field = "frontend.speed_perturb"
        guard task == .transcribe else {
            throw RecurError(.value, "\(field): speed perturbation is for task transcribe, not \(task.rawValue); remove it", file: file)
        }
        guard !factors.isEmpty else {
            throw RecurError(.value, "\(field): an empty list; give factors such as [0.9, 1.0, 1.1], or null for none", file: file)
        }
        // The resampler takes factors in (0.25, 4); above 2 the audio is mostly gone.
        for f in factors where !(f > 0.25 && f <= 2) {
            throw RecurError(.value, "\(field): factor \(f) is outside (0.25, 2]; Kaldi uses [0.9, 1.0, 1.1]", file: file)
        }
    }

    /// Speed-perturbed features of audio files, on all threads: for each path,
    /// its features at each of `factors` (the samples read once at the
    /// frontend's rate, played `factor` times faster, then featurized).
    static func prepareSpeeds(_ paths: [String], factors: [Double], io: TaskIO) throws -> [String: [PreparedSource]] {
        let n = paths.count, k = factors.count
        guard n > 0, k > 0 else { return Dictionary(uniqueKeysWithValues: paths.map { ($0, []) }) }
        guard let audio = io.audio else { throw RecurError(.value, "speed perturbation needs an audio frontend") }
        let rate = audio.config.sampleRate
        let results = UnsafeMutablePointer<PreparedSource>.allocate(capacity: n * k)
        results.initialize(repeating: .none, count: n * k)
        defer { results.deinitialize(count: n * k); results.deallocate() }
        let errors = ErrorBox()
        parallelFor(n) { range in
            for i in range {
                do {
                    let x = try AudioFile.read(paths[i], sampleRate: rate)
                    for (j, f) in factors.enumerated() {
                        let y: Tensor
                        do { y = try Resampler.speed(x, factor: f, sampleRate: rate) } catch let e as RecurError { throw e.naming(paths[i]) }
                        let features = audio.compute(y)
                        guard features.shape[0] >= 1 else {
                            throw RecurError(.format, "too short to make one frame at speed \(f)", file: paths[i])
                        }
                        results[i * k + j] = .features(features)
                    }
                } catch { errors.set(error) }
            }
        }
        if let e = errors.error { throw e }
        var out: [String: [PreparedSource]] = [:]
        for i in 0..<n { out[paths[i]] = Array(UnsafeBufferPointer(start: results + i * k, count: k)) }
        return out
    }

    /// Features of media files, computed on all threads; a bad file is an error naming it.
    static func prepareMedia(_ paths: [String], io: TaskIO) throws -> [String: PreparedSource] {
        let n = paths.count
        let results = UnsafeMutablePointer<PreparedSource>.allocate(capacity: n)
        results.initialize(repeating: .none, count: n)
        defer { results.deinitialize(count: n); results.deallocate() }
        let errors = ErrorBox()
        parallelFor(n) { range in
            for i in range {
                do { results[i] = try io.prepare(paths[i]) } catch { errors.set(error) }
            }
        }
        if let e = errors.error { throw e }
        var out: [String: PreparedSource] = [:]
        for i in 0..<n { out[paths[i]] = results[i] }
        return out
    }
}

/// The first error thrown by any thread.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: (any Error)?
    func set(_ e: any Error) {
        lock.lock()
        if error == nil { error = e }
        lock.unlock()
    }
}
