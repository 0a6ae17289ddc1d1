import Foundation
import RecurCore
import RecurDecoding
import RecurFrontends
import RecurModels

/// How to decode: beam size (1 = greedy), n-best, lengths and penalty.
public struct DecodeSettings: Sendable {
    public var beam: Int
    public var nBest: Int
    public var options: DecodingOptions
    /// Sources decoded together (one encoder call, one decoder batch).
    public var batchSize: Int
    /// A language model fused into every step (shallow fusion), or nil.
    public var fusion: LanguageModelFusion?

    public init(beam: Int = 1, nBest: Int = 1, options: DecodingOptions = DecodingOptions(maxLength: 100, maxLengthRatio: 2,
                                                                                          maxLengthOffset: 10),
                batchSize: Int = 32, fusion: LanguageModelFusion? = nil) {
        self.beam = beam
        self.nBest = nBest
        self.options = options
        self.batchSize = batchSize
        self.fusion = fusion
    }
}

extension Array where Element == PreparedSource {
    /// Indices of these sources cut into batches of at most `size` (at least 1),
    /// shortest sources first (ties in index order), so that a batch pads little.
    func batchesByLength(_ size: Int) -> [[Int]] {
        let n = Swift.max(size, 1)
        let order = indices.sorted { self[$0].length != self[$1].length ? self[$0].length < self[$1].length : $0 < $1 }
        return stride(from: 0, to: order.count, by: n).map { [Int](order[$0..<Swift.min($0 + n, order.count)]) }
    }
}

public enum TaskDecoding {
    /// The n-best hypotheses of every source, in source order. Sources are
    /// decoded in batches of similar length (image cells: any).
    public static func decode(_ model: Seq2Seq, _ store: ParameterStore, _ sources: [PreparedSource],
                              settings: DecodeSettings) throws -> [[Hypothesis]] {
        var results = [[Hypothesis]](repeating: [], count: sources.count)
        // Similar lengths together: less padding in the encoder.
        for idx in sources.batchesByLength(settings.batchSize) {
            let scorer = try Seq2SeqScorer(model: model, store: store, sources: try idx.map { sources[$0] }.batch())
            let hyps = try settings.fusion.map { try run(settings, $0.scorer(over: scorer)) } ?? run(settings, scorer)
            for (k, i) in idx.enumerated() { results[i] = hyps[k] }
        }
        return results
    }

    /// Greedy when one hypothesis of beam 1 is asked for, else beam search.
    static func run<S: StepScorer>(_ settings: DecodeSettings, _ scorer: S) throws -> [[Hypothesis]] {
        if settings.beam <= 1 && settings.nBest <= 1 {
            return try greedyDecode(scorer, options: settings.options).map { [$0] }
        }
        return try beamSearch(scorer, beamSize: max(settings.beam, settings.nBest), nBest: settings.nBest, options: settings.options)
    }
}

public enum TaskClassification {
    /// The `top` most probable classes of every source, best first, as
    /// (class id, log-probability), in source order; the four special ids are
    /// never ranked (no training label maps to them). Sources of similar
    /// length are run together, `batchSize` at a time.
    public static func rank(_ model: Classifier, _ store: ParameterStore, _ sources: [PreparedSource], top: Int = 1,
                            batchSize: Int = 32) throws -> [[(id: Int, logProb: Float)]] {
        var results = [[(id: Int, logProb: Float)]](repeating: [], count: sources.count)
        let classes = Array(Vocabulary.specials.count..<model.config.classes)
        for idx in sources.batchesByLength(batchSize) {
            let rows = try model.predict(store, sources: try idx.map { sources[$0] }.batch())
            for (k, i) in idx.enumerated() {
                let row = rows[k]
                let ranked = classes.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }
                results[i] = ranked.prefix(max(top, 1)).map { (id: $0, logProb: row[$0]) }
            }
        }
        return results
    }
}

/// Validation figures of a model on a data set.
public struct Evaluation: Sendable {
    /// Mean teacher-forced cross-entropy per target token (first reference), no smoothing.
    public var loss: Double
    public var tokens: Int
    /// The metric's name (`bleu`, `wer`, `exact`, `bpc`, `loss`, …) and value.
    public var metricName: String
    public var metric: Double?
    public var higherIsBetter: Bool
    public var signature: String?
    /// The decoded best hypothesis per example (empty when the metric needs no decoding).
    public var hypotheses: [String]
    /// A few "origin: hypothesis ‖ reference" lines to show.
    public var samples: [String]
}

public enum TaskEvaluation {
    /// Metrics that come from the loss alone.
    public static let lossMetrics = ["loss", "bpc", "perplexity"]

    /// Loss over `data`, then (for decoding metrics) decodes every source and scores it.
    public static func evaluate(_ model: any SequenceModel, _ store: ParameterStore, data: ValidationData, io: TaskIO,
                                metric: String, decode settings: DecodeSettings = DecodeSettings(),
                                samples: Int = 3) throws -> Evaluation {
        guard data.count > 0 else { throw RecurError(.value, "no validation examples") }
        // Teacher-forced loss.
        var nll = 0.0, tokens = 0
        var rng = RNG(seed: 0)  // not drawn from: training is false
        for idx in data.sources.batchesByLength(settings.batchSize) {
            let l = try model.loss(store, sources: try idx.map { data.sources[$0] }.batch(), targets: idx.map { data.targets[$0] },
                                   training: false, labelSmoothing: 0, backward: false, rng: &rng)
            nll += l.negativeLogLikelihood
            tokens += l.tokens
        }
        let loss = nll / Double(max(tokens, 1))
        var e = Evaluation(loss: loss, tokens: tokens, metricName: metric, metric: nil, higherIsBetter: false, signature: nil,
                           hypotheses: [], samples: [])
        switch metric {
        case "loss": e.metric = loss
        case "perplexity": e.metric = Foundation.exp(loss)
        case "bpc": e.metric = loss / Foundation.log(2.0)
        default:
            let m = try TaskMetric(name: metric)
            if let classifier = model as? Classifier {
                let ranked = try TaskClassification.rank(classifier, store, data.sources, batchSize: settings.batchSize)
                e.hypotheses = ranked.map { io.text($0.first.map { [$0.id] } ?? []) }
            } else {
                guard let s2s = model as? Seq2Seq else {
                    throw RecurError(.usage, "metric \(metric) needs an encoder-decoder or a classifier; use loss, bpc or perplexity")
                }
                let hyps = try TaskDecoding.decode(s2s, store, data.sources, settings: settings)
                e.hypotheses = hyps.map { io.text($0.first?.tokens ?? []) }
            }
            // References go through the model's normalizer, as its outputs did: a lowercasing model is
            // scored case-insensitively (sacrebleu -lc), and the signature says so.
            let refs = data.references.map { $0.map(io.normalizedReference) }
            let lowercase = io.task != .classify && (io.targetTokenizer?.normalizer.lowercase ?? false)
            e.metric = try m.score(hypotheses: e.hypotheses, references: refs, lowercase: lowercase)
            e.higherIsBetter = m.higherIsBetter
            e.signature = m.signature(nrefs: refs.map(\.count).max() ?? 1, lowercase: lowercase)
            let n = min(samples, data.count)
            e.samples = (0..<n).map { i in "\(data.origins[i]): \(e.hypotheses[i]) ‖ \(refs[i][0])" }
        }
        return e
    }
}
