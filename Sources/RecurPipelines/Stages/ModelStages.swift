import Foundation
import RecurCore
import RecurDecoding
import RecurFrontends
import RecurModels
import RecurTraining

/// One prepared piece of input for an encoder-decoder stage.
struct PreparedPiece {
    /// The input it came from (index into the call's inputs).
    var input: Int
    var record: StageRecord
    var source: PreparedSource
    /// What to draw under/around the attention.
    var picture: AttentionPicture.Kind?
}

/// Decodes prepared pieces together and gathers the records per input.
/// `results` holds failures already known (preparation); the others are
/// filled here, in order.
func decodePieces(_ pieces: [PreparedPiece], inputs: Int, failures: [Int: Error], runner: ModelRunner,
                  options: StageOptions, task: String) -> [Result<StageResult, Error>] {
    var out = [Result<StageResult, Error>](repeating: .success(StageResult(records: [])), count: inputs)
    for (i, e) in failures { out[i] = .failure(e) }
    let decodable = pieces.filter { $0.source.length > 0 }
    var hyps: [[RecurDecoding.Hypothesis]] = []
    do {
        hyps = try decodable.isEmpty ? [] : runner.decode(decodable.map(\.source), settings: options.decode)
    } catch {
        for p in decodable where failures[p.input] == nil { out[p.input] = .failure(error) }
    }
    var k = 0
    var collected: [Int: StageResult] = [:]
    for p in pieces where failures[p.input] == nil {
        var result = collected[p.input] ?? StageResult(records: [])
        if p.source.length == 0 {
            result.records.append(StageOutput.blank(p.record, task: task, runner: runner))
            if options.attention { result.pictures.append(nil) }
        } else {
            guard k < hyps.count else { k += 1; continue }   // decoding failed: already recorded
            let h = hyps[k]
            k += 1
            result.records.append(StageOutput.record(p.record, task: task, runner: runner, hyps: h,
                                                     nBest: options.decode.nBest))
            if options.attention {
                if let best = h.first, let a = best.attention, let kind = p.picture {
                    result.pictures.append(AttentionPicture(kind: kind, targetPieces: runner.pieces(best), weights: a))
                } else {
                    result.pictures.append(nil)
                }
            }
        }
        collected[p.input] = result
    }
    for (i, r) in collected {
        if case .success = out[i] { out[i] = .success(r) }
    }
    return out
}

/// Refuses a runner whose model is for another task.
func requireTask(_ runner: ModelRunner, _ task: ModelTask) throws {
    let has = runner.loaded.description.task
    guard has == task else {
        throw RecurError(.usage, "this is a \(has.rawValue) model, not a \(task.rawValue) model: run it with `recur \(has.rawValue)`",
                         file: runner.path)
    }
}

/// Text → text with an encoder-decoder (`recur translate`). Input records'
/// `text` is translated; a blank text gives a blank result (so output lines
/// match input lines).
public final class TranslateStage: Stage, @unchecked Sendable {
    public let runner: ModelRunner
    public let options: StageOptions
    public var task: String { "translate" }
    public var inputKind: StageInputKind { .text }
    public var modelName: String { runner.name }

    public init(runner: ModelRunner, options: StageOptions = StageOptions(decode: DecodeSettings(beam: 5))) throws {
        try requireTask(runner, .translate)
        self.runner = runner
        self.options = options
    }

    public func process(_ inputs: [StageRecord]) -> [Result<StageResult, Error>] {
        var pieces: [PreparedPiece] = [], failures: [Int: Error] = [:]
        let vocabulary = runner.io.sourceTokenizer?.vocabulary
        for (i, r) in inputs.enumerated() {
            if r.text.allSatisfy(\.isWhitespace) {
                pieces.append(PreparedPiece(input: i, record: r, source: .none, picture: nil))
                continue
            }
            do {
                let s = try runner.prepare(r.text)
                var names: [String] = []
                if case .tokens(let ids) = s, let v = vocabulary {
                    names = ids.map { $0 >= 0 && $0 < v.count ? v.tokens[$0] : "<unk>" }
                }
                pieces.append(PreparedPiece(input: i, record: r, source: s, picture: .text(sourcePieces: names)))
            } catch {
                failures[i] = error
            }
        }
        return decodePieces(pieces, inputs: inputs.count, failures: failures, runner: runner, options: options, task: task)
    }
}

/// Text → one class label (`recur classify`): a record's `text` becomes its
/// most probable label, `score` that label's log-probability, and with
/// `top` > 1 `nbest` the `top` most probable labels, best first. A blank
/// text gives a blank result.
public final class ClassifyStage: Stage, @unchecked Sendable {
    public let runner: ModelRunner
    /// Labels kept in `nbest` (1: none written).
    public let top: Int
    public let batchSize: Int
    public var task: String { "classify" }
    public var inputKind: StageInputKind { .text }
    public var modelName: String { runner.name }

    public init(runner: ModelRunner, top: Int = 1, batchSize: Int = 32) throws {
        try requireTask(runner, .classify)
        self.runner = runner
        self.top = max(top, 1)
        self.batchSize = batchSize
    }

    public func process(_ inputs: [StageRecord]) -> [Result<StageResult, Error>] {
        var out = [Result<StageResult, Error>](repeating: .success(StageResult(records: [])), count: inputs.count)
        var indices: [Int] = [], sources: [PreparedSource] = []
        for (i, r) in inputs.enumerated() {
            if r.text.allSatisfy(\.isWhitespace) {
                out[i] = .success(StageResult(records: [StageOutput.blank(r, task: task, runner: runner)]))
                continue
            }
            do {
                sources.append(try runner.prepare(r.text))
                indices.append(i)
            } catch {
                out[i] = .failure(error)
            }
        }
        guard !sources.isEmpty else { return out }
        do {
            let ranked = try runner.classify(sources, top: top, batchSize: batchSize)
            for (k, i) in indices.enumerated() {
                guard let best = ranked[k].first else { out[i] = .failure(RecurError(.value, "the model ranked no class")); continue }
                let list = top > 1 ? ranked[k].map { Hypothesis(text: $0.label, score: Double($0.logProb)) } : nil
                var r = inputs[i].advanced(stage: task, model: runner.name, text: best.label, score: Double(best.logProb), nbest: list)
                r.extra["norm_score"] = nil   // the previous stage's: it scored the previous text
                out[i] = .success(StageResult(records: [r]))
            }
        } catch {
            for i in indices { out[i] = .failure(error) }
        }
        return out
    }
}

/// Speech → text (`recur transcribe`). An input record names an audio file
/// (`source.file`); a recording longer than `maxSegmentSeconds` is cut at
/// silences (`SilenceSplitter`) and each segment is one record with
/// `start`/`end` (also in `source`); a shorter one is one record with
/// `start` 0 and `end` its duration.
public final class TranscribeStage: Stage, @unchecked Sendable {
    public let runner: ModelRunner
    public let options: StageOptions
    /// Longest segment; nil: never split.
    public var maxSegmentSeconds: Double?
    /// Longer files are refused.
    public var maxFileSeconds: Double = 24 * 3600
    public var task: String { "transcribe" }
    public var inputKind: StageInputKind { .audio }
    public var modelName: String { runner.name }

    public init(runner: ModelRunner, options: StageOptions = StageOptions(), maxSegmentSeconds: Double? = 30) throws {
        try requireTask(runner, .transcribe)
        self.runner = runner
        self.options = options
        self.maxSegmentSeconds = maxSegmentSeconds
    }

    /// The segments of one file: (record, source) each.
    func prepare(_ input: StageRecord) throws -> [(StageRecord, PreparedSource)] {
        guard let path = input.mediaPath else { throw RecurError(.value, "the record names no audio file") }
        guard let frontend = runner.io.audio else { throw RecurError(.value, "the model has no audio frontend", file: runner.path) }
        let info = try AudioFile.info(path)
        guard info.seconds <= maxFileSeconds else {
            throw RecurError(.value, String(format: "%.0f s is longer than the limit of %.0f s", info.seconds, maxFileSeconds), file: path)
        }
        let rate = frontend.config.sampleRate
        if maxSegmentSeconds == nil || info.seconds <= maxSegmentSeconds! {
            let s = try runner.prepare(path)
            var r = input
            r.start = input.start ?? 0
            r.end = input.end ?? info.seconds
            return [(r, s)]
        }
        let x = try AudioFile.read(path, sampleRate: rate, maxSeconds: maxFileSeconds)
        let ranges = SilenceSplitter(maxSeconds: maxSegmentSeconds!).split(x.data, count: x.count, sampleRate: rate)
        var out: [(StageRecord, PreparedSource)] = []
        for range in ranges {
            let seg = Tensor(zeros: [range.count])
            seg.data.update(from: x.data + range.lowerBound, count: range.count)
            let f = frontend.compute(seg)
            let start = (Double(range.lowerBound) / Double(rate) * 1000).rounded() / 1000
            let end = (Double(range.upperBound) / Double(rate) * 1000).rounded() / 1000
            var r = input
            var src = input.source ?? StageSource(file: path)
            src.start = start
            src.end = end
            r.source = src
            r.start = start
            r.end = end
            out.append((r, f.shape[0] >= 1 ? .features(f) : .none))
        }
        return withExtendedLifetime(x) { out }
    }

    public func process(_ inputs: [StageRecord]) -> [Result<StageResult, Error>] {
        let n = inputs.count
        let prepared = UnsafeMutablePointer<Result<[(StageRecord, PreparedSource)], Error>>.allocate(capacity: max(n, 1))
        prepared.initialize(repeating: .success([]), count: n)
        defer { prepared.deinitialize(count: n); prepared.deallocate() }
        parallelFor(n) { range in
            for i in range { prepared[i] = Result { try self.prepare(inputs[i]) } }
        }
        var pieces: [PreparedPiece] = [], failures: [Int: Error] = [:]
        for i in 0..<n {
            switch prepared[i] {
            case .failure(let e): failures[i] = e
            case .success(let segs):
                for (r, s) in segs {
                    var kind: AttentionPicture.Kind? = nil
                    if case .features(let f) = s { kind = .speech(features: f) }
                    pieces.append(PreparedPiece(input: i, record: r, source: s, picture: kind))
                }
            }
        }
        return decodePieces(pieces, inputs: n, failures: failures, runner: runner, options: options, task: task)
    }
}

/// Image → text (`recur caption`). An input record names a PNG file (`source.file`).
public final class CaptionStage: Stage, @unchecked Sendable {
    public let runner: ModelRunner
    public let options: StageOptions
    public var task: String { "caption" }
    public var inputKind: StageInputKind { .image }
    public var modelName: String { runner.name }

    public init(runner: ModelRunner, options: StageOptions = StageOptions()) throws {
        try requireTask(runner, .caption)
        self.runner = runner
        self.options = options
    }

    public func process(_ inputs: [StageRecord]) -> [Result<StageResult, Error>] {
        let n = inputs.count
        let grid = runner.loaded.description.image?.grid ?? 1
        let prepared = UnsafeMutablePointer<Result<PreparedSource, Error>>.allocate(capacity: max(n, 1))
        prepared.initialize(repeating: .success(.none), count: n)
        defer { prepared.deinitialize(count: n); prepared.deallocate() }
        parallelFor(n) { range in
            for i in range {
                prepared[i] = Result {
                    guard let path = inputs[i].mediaPath else { throw RecurError(.value, "the record names no image file") }
                    return try self.runner.prepare(path)
                }
            }
        }
        var pieces: [PreparedPiece] = [], failures: [Int: Error] = [:]
        for i in 0..<n {
            switch prepared[i] {
            case .failure(let e): failures[i] = e
            case .success(let s): pieces.append(PreparedPiece(input: i, record: inputs[i], source: s, picture: .image(grid: grid)))
            }
        }
        return decodePieces(pieces, inputs: n, failures: failures, runner: runner, options: options, task: task)
    }
}

/// Text from a language model (`recur generate`): `count` samples per input,
/// each continuing the input's text (the prime; empty: from the start). The
/// result text includes the prime. Sampling is seeded: input i of a call
/// draws from `RNG(seed: seed + i)`, so the same call gives the same texts.
public final class GenerateStage: Stage, @unchecked Sendable {
    public struct Sampling: Sendable {
        /// 0: always the most probable token.
        public var temperature: Float = 1
        /// 0: the whole vocabulary.
        public var topK: Int = 0
        /// Most tokens generated (after the prime).
        public var length: Int = 200
        /// Samples per input.
        public var count: Int = 1
        public var seed: UInt64 = 1
        public init() {}
    }

    public let runner: ModelRunner
    public let sampling: Sampling
    public var task: String { "generate" }
    public var inputKind: StageInputKind { .none }
    public var modelName: String { runner.name }

    public init(runner: ModelRunner, sampling: Sampling = Sampling()) throws {
        try requireTask(runner, .generate)
        guard runner.model is LanguageModel else {
            throw RecurError(.value, "a generate model must be a language model", file: runner.path)
        }
        self.runner = runner
        self.sampling = sampling
    }

    public func process(_ inputs: [StageRecord]) -> [Result<StageResult, Error>] {
        inputs.enumerated().map { i, input in
            Result {
                let lm = runner.model as! LanguageModel
                let prime = runner.io.targetIds(input.text)
                if !input.text.isEmpty, prime.contains(Vocabulary.unk) {
                    throw RecurError(.value, "the prime \"\(input.text)\" has characters or words the model's vocabulary lacks")
                }
                let scorer = try LanguageModelScorer(model: lm, store: runner.store)
                var rng = RNG(seed: sampling.seed &+ UInt64(i))
                let hyps = try sampleDecode(scorer, temperature: sampling.temperature, topK: sampling.topK,
                                            samplesPerSource: max(1, sampling.count),
                                            options: DecodingOptions(maxLength: sampling.length, prime: prime), rng: &rng)
                var records: [StageRecord] = []
                for (k, h) in hyps[0].enumerated() {
                    var base = input
                    if base.source == nil { base.source = StageSource(file: "<generate>") }
                    var r = StageOutput.record(base, task: task, runner: runner, hyps: [h], nBest: 1, prefix: prime)
                    if sampling.count > 1 { r.extra["sample"] = JSONValue(k + 1) }
                    records.append(r)
                }
                return StageResult(records: records)
            }
        }
    }
}
