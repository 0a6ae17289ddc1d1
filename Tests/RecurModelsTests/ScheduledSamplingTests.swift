import RecurCore
import RecurLayers
import RecurModels
import RecurTestSupport
import XCTest

/// Scheduled sampling in `Seq2Seq.trainStep` (Bengio et al. 2015): rate 0 is
/// plain teacher forcing, bit for bit; rate 1 feeds the model's own greedy
/// predictions (checked against a step-by-step greedy decode); gradients are
/// checked by finite differences; the rate reaches DataParallel's shards and
/// is refused by models without a decoder fed with targets.
final class ScheduledSamplingTests: XCTestCase {
    // Vocabulary 9 (0 pad, 1 bos, 2 eos, 3…8); uneven target lengths so that padding rows occur.
    static let sources = [[3, 4, 5, 6], [6, 3], [7, 8, 4]]
    static let targets = [[4, 5, 6, 7], [3], [8, 3, 5]]

    static func config(_ cell: Seq2SeqConfig.Cell = .lstm, _ attention: Seq2SeqConfig.AttentionKind = .additive,
                       inputFeeding: Bool = true, dropout: Float = 0) -> Seq2SeqConfig {
        Seq2SeqConfig(sourceVocabularySize: 9, targetVocabularySize: 9, embeddingSize: 5, hiddenSize: 6,
                      bidirectionalEncoder: true, cell: cell, attention: attention, inputFeeding: inputFeeding,
                      dropout: dropout)
    }

    static func model(_ config: Seq2SeqConfig, seed: UInt64, weightScale: Float = 2) throws -> (Seq2Seq, ParameterStore) {
        let model = try Seq2Seq(config: config)
        let store = ParameterStore(model.layout)
        var rng = RNG(seed: seed)
        model.initialize(store, rng: &rng)
        // Larger weights than PyTorch's defaults: confident, varied predictions.
        Kernels.scale(store.values.count, weightScale, store.values.data)
        // Padding is never predicted (as after training: it is never a target), so never fed.
        let bias = store.layout.refs[store.layout.names.firstIndex(of: "decoder.output.bias")!]
        store.value(bias).data[config.pad] = -20
        return (model, store)
    }

    /// One training call from RNG(seed): the loss, a copy of every gradient, the generator afterwards.
    static func run(_ model: Seq2Seq, _ store: ParameterStore, rate: Float?, seed: UInt64 = 5, training: Bool = true,
                    backward: Bool = true) throws -> (loss: Float, grads: [Float], rng: RNG) {
        store.zeroGrads()
        var rng = RNG(seed: seed)
        let l: ModelLoss
        if let rate {
            l = try model.trainStep(store, sources: sources, targets: targets, training: training, labelSmoothing: 0.1,
                                    scheduledSampling: rate, backward: backward, rng: &rng)
        } else {   // the call as it was before scheduled sampling existed
            l = try model.trainStep(store, sources: sources, targets: targets, training: training, labelSmoothing: 0.1,
                                    backward: backward, rng: &rng)
        }
        return (l.loss, Array(UnsafeBufferPointer(start: store.grads.data, count: store.grads.count)), rng)
    }

    /// Rate 0 is the teacher-forced call, bit for bit (dropout on: the same draws), directly,
    /// through the protocol and through DataParallel.
    func testZeroRateIsTeacherForcingBitForBit() throws {
        let (model, store) = try Self.model(Self.config(dropout: 0.3), seed: 3)
        var a = try Self.run(model, store, rate: nil)
        var b = try Self.run(model, store, rate: 0)
        XCTAssertEqual(a.loss.bitPattern, b.loss.bitPattern)
        XCTAssertEqual(a.grads, b.grads)
        XCTAssertEqual(a.rng.next(), b.rng.next(), "rate 0 must draw nothing more")

        var rng = RNG(seed: 5)
        store.zeroGrads()
        let viaProtocol = try (model as any SequenceModel).loss(
            store, sources: .tokens(Self.sources), targets: Self.targets, training: true, labelSmoothing: 0.1,
            scheduledSampling: 0, backward: true, rng: &rng)
        XCTAssertEqual(viaProtocol.loss.bitPattern, a.loss.bitPattern)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: store.grads.data, count: store.grads.count)), a.grads)

        var r1 = RNG(seed: 9), r2 = RNG(seed: 9)
        let parallel = DataParallel(layout: model.layout, ways: 2)
        let p1 = try parallel.loss(model, store, sources: .tokens(Self.sources), targets: Self.targets, training: true,
                                   labelSmoothing: 0.1, backward: true, rng: &r1)
        let g1 = Array(UnsafeBufferPointer(start: store.grads.data, count: store.grads.count))
        let p2 = try parallel.loss(model, store, sources: .tokens(Self.sources), targets: Self.targets, training: true,
                                   labelSmoothing: 0.1, scheduledSampling: 0, backward: true, rng: &r2)
        XCTAssertEqual(p1.loss.bitPattern, p2.loss.bitPattern)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: store.grads.data, count: store.grads.count)), g1)
    }

    /// The sampled path with a rate that never fires (u < 2⁻²⁵ is impossible: u is a multiple of 2⁻²⁴)
    /// runs the per-step projection with the dropout mask drawn before the loop: it must give the
    /// teacher-forced loss and gradients (up to GEMM rounding), so the mask is the same one.
    func testSampledPathWithoutReplacementsMatchesTeacherForcing() throws {
        let (model, store) = try Self.model(Self.config(.gru, .general, dropout: 0.3), seed: 4)
        let a = try Self.run(model, store, rate: 0)
        let b = try Self.run(model, store, rate: 0x1p-25)
        XCTAssertEqual(a.loss, b.loss, accuracy: 1e-5)
        XCTAssertLessThan(zip(a.grads, b.grads).map { abs($0 - $1) }.max()!, 1e-4)
        // Not in training: no sampling at all, whatever the rate.
        let c = try Self.run(model, store, rate: 0, training: false)
        let d = try Self.run(model, store, rate: 1, training: false)
        XCTAssertEqual(c.loss.bitPattern, d.loss.bitPattern)
        XCTAssertEqual(c.grads, d.grads)
    }

    /// Greedy decoding with the model's own step API: row b is fed BOS, then the argmax of its
    /// previous step; returns the mean -log p(reference) over the real target positions (no
    /// smoothing), the tokens fed at real positions, how many of those differ from the reference inputs,
    /// and the smallest margin between the best and second-best log-probability behind a fed prediction.
    static func greedyReference(_ model: Seq2Seq, _ store: ParameterStore)
        throws -> (loss: Double, fed: Set<Int>, differing: Int, margin: Float) {
        let B = targets.count, V = model.config.targetVocabularySize, T = targets.map(\.count).max()! + 1
        let encoding = try model.encode(store, sources: sources)
        var state = try model.initialState(encoding, sources: Array(0..<B))
        var tokens = [Int](repeating: model.config.bos, count: B)
        var nll = 0.0, count = 0, differing = 0, margin = Float.infinity
        var fed: Set<Int> = [model.config.bos]
        for t in 0..<T {
            let step = try model.decodeStep(store, encoding, state, tokens: tokens)
            state = step.state
            for b in 0..<B {
                let y = targets[b], row = step.logProbs.data + b * V
                guard t <= y.count else { continue }
                nll -= Double(row[t < y.count ? y[t] : model.config.eos])
                count += 1
                var best = 0
                for v in 1..<V where row[v] > row[best] { best = v }
                tokens[b] = best
                if t + 1 <= y.count {   // the input of step t + 1 is real
                    fed.insert(best)
                    if best != y[t] { differing += 1 }
                    for v in 0..<V where v != best { margin = min(margin, row[best] - row[v]) }
                }
            }
        }
        return (nll / Double(count), fed, differing, margin)
    }

    /// Rate 1 (dropout off): every input after BOS is the previous step's argmax, which is what
    /// greedy decoding feeds: the loss must equal the hand-run's, and differ from teacher forcing.
    func testFullRateFeedsThePreviousPrediction() throws {
        for (config, seed) in [(Self.config(), UInt64(11)), (Self.config(.gru, .general, inputFeeding: false), 12)] {
            let (model, store) = try Self.model(config, seed: seed)
            let reference = try Self.greedyReference(model, store)
            XCTAssertGreaterThan(reference.differing, 2, "the greedy inputs must differ from the references for the check to mean anything")
            var rng = RNG(seed: 1)
            let sampled = try model.trainStep(store, sources: Self.sources, targets: Self.targets, training: true,
                                              scheduledSampling: 1, backward: false, rng: &rng)
            rng = RNG(seed: 1)
            let forced = try model.trainStep(store, sources: Self.sources, targets: Self.targets, training: true,
                                             backward: false, rng: &rng)
            print("rate 1: loss \(sampled.loss), greedy hand-run \(reference.loss), teacher-forced \(forced.loss), margin \(reference.margin), differing \(reference.differing)")
            XCTAssertEqual(Double(sampled.loss), reference.loss, accuracy: 1e-5 * max(1, reference.loss))
            XCTAssertGreaterThan(abs(Double(forced.loss) - reference.loss), 1e-2)

            // The embedding gradient goes to the tokens fed: no other row of the decoder's table gets any.
            store.zeroGrads()
            _ = try model.trainStep(store, sources: Self.sources, targets: Self.targets, training: true,
                                    scheduledSampling: 1, rng: &rng)
            let ref = store.layout.refs[store.layout.names.firstIndex(of: "decoder.embedding.weight")!]
            let g = store.grad(ref), E = model.config.embeddingSize
            for v in 0..<model.config.targetVocabularySize {
                let norm = (0..<E).reduce(Float(0)) { $0 + abs(g.data[v * E + $1]) }
                if reference.fed.contains(v) && v != model.config.pad {
                    XCTAssertGreaterThan(norm, 0, "token \(v) was fed but has no embedding gradient")
                } else {
                    XCTAssertEqual(norm, 0, "token \(v) was never fed but has an embedding gradient")
                }
            }
        }
    }

    /// Finite differences at rate 1 with dropout off: the argmax is locally constant, so the loss is
    /// smooth in the weights (seeds chosen so that no fed argmax is near a tie) and every
    /// parameter's gradient must match.
    func testFullRateGradients() throws {
        for (config, seed) in [(Self.config(), UInt64(21)), (Self.config(.gru, .general), 25)] {
            let (model, store) = try Self.model(config, seed: seed, weightScale: 1.5)
            // A perturbation of eps moves a logit by about eps: no argmax may be that close to a tie.
            XCTAssertGreaterThan(try Self.greedyReference(model, store).margin, 0.1)
            let names = try checkEveryParameterGradient(store, eps: 1e-2, tolerance: 3e-3, gradients: {
                store.zeroGrads()
                var rng = RNG(seed: 0)
                _ = try model.trainStep(store, sources: Self.sources, targets: Self.targets, training: true,
                                        scheduledSampling: 1, rng: &rng)
            }, loss: {
                var rng = RNG(seed: 0)
                return Double(try! model.trainStep(store, sources: Self.sources, targets: Self.targets, training: true,
                                                   scheduledSampling: 1, backward: false, rng: &rng).loss)
            })
            XCTAssertTrue(names.contains("decoder.embedding.weight"))
        }
    }

    /// The same seed gives the same bits (dropout and sampling both drawn); another seed does not.
    func testSameSeedSameResult() throws {
        let (model, store) = try Self.model(Self.config(dropout: 0.3), seed: 6)
        let a = try Self.run(model, store, rate: 0.5, seed: 8)
        let b = try Self.run(model, store, rate: 0.5, seed: 8)
        XCTAssertEqual(a.loss.bitPattern, b.loss.bitPattern)
        XCTAssertEqual(a.grads, b.grads)
        let c = try Self.run(model, store, rate: 0.5, seed: 9)
        XCTAssertNotEqual(a.loss, c.loss)
    }

    /// DataParallel passes the rate to every shard: at rate 1 without dropout the result does not
    /// depend on the draws, so two shards give the single call's loss.
    func testDataParallelPassesTheRate() throws {
        let (model, store) = try Self.model(Self.config(), seed: 11)
        var rng = RNG(seed: 1)
        let whole = try model.trainStep(store, sources: Self.sources, targets: Self.targets, training: true,
                                        scheduledSampling: 1, backward: false, rng: &rng)
        let split = try DataParallel(layout: model.layout, ways: 2).loss(
            model, store, sources: .tokens(Self.sources), targets: Self.targets, training: true, labelSmoothing: 0,
            scheduledSampling: 1, backward: true, rng: &rng)
        XCTAssertEqual(split.loss, whole.loss, accuracy: 1e-5)
    }

    func testRatesOutsideTheRangeAndOtherModelsAreRefused() throws {
        let (model, store) = try Self.model(Self.config(), seed: 1)
        var rng = RNG(seed: 1)
        XCTAssertThrowsError(try model.trainStep(store, sources: Self.sources, targets: Self.targets,
                                                 scheduledSampling: 1.5, rng: &rng))
        XCTAssertThrowsError(try model.trainStep(store, sources: Self.sources, targets: Self.targets,
                                                 scheduledSampling: -0.1, rng: &rng))

        let lm = try LanguageModel(config: LanguageModelConfig(vocabularySize: 8, embeddingSize: 4, hiddenSize: 6))
        let lmStore = ParameterStore(lm.layout)
        lm.initialize(lmStore, rng: &rng)
        XCTAssertThrowsError(try lm.loss(lmStore, sources: .none(count: 1), targets: [[4, 5]], training: true,
                                         labelSmoothing: 0, scheduledSampling: 0.25, backward: true, rng: &rng)) { e in
            XCTAssertTrue("\(e)".contains("scheduled sampling"), "\(e)")
            XCTAssertTrue("\(e)".contains("LanguageModel"), "\(e)")
        }
        XCTAssertThrowsError(try DataParallel(layout: lm.layout, ways: 2).loss(
            lm, lmStore, sources: .none(count: 2), targets: [[4, 5], [6]], training: true, labelSmoothing: 0,
            scheduledSampling: 0.25, backward: true, rng: &rng))
        // Rate 0 is the plain loss.
        var r1 = RNG(seed: 3), r2 = RNG(seed: 3)
        let plain = try lm.loss(lmStore, sources: .none(count: 1), targets: [[4, 5]], training: true,
                                labelSmoothing: 0, backward: false, rng: &r1)
        let zero = try lm.loss(lmStore, sources: .none(count: 1), targets: [[4, 5]], training: true,
                               labelSmoothing: 0, scheduledSampling: 0, backward: false, rng: &r2)
        XCTAssertEqual(plain.loss.bitPattern, zero.loss.bitPattern)
    }
}
