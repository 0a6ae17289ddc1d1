import RecurCore
import RecurDecoding
import RecurLayers
import RecurModels
import XCTest

/// The character language model decoded through `LanguageModelScorer` by the
/// generic decoders: BOS then the prime are fed before anything is chosen.
final class LanguageModelScorerTests: XCTestCase {
    // Ids: 0 pad, 1 bos, 2 eos, 3 unk, then the characters.
    static let text = "hello world hello world"
    static let characters = Array(Set(text)).sorted()
    static func encode(_ s: String) -> [Int] { s.map { 4 + characters.firstIndex(of: $0)! } }
    static func decode(_ ids: [Int]) -> String { String(ids.map { $0 >= 4 ? characters[$0 - 4] : "?" }) }
    static var vocabularySize: Int { 4 + characters.count }

    static func makeModel(seed: UInt64, cell: Seq2SeqConfig.Cell = .lstm) throws -> (LanguageModel, ParameterStore) {
        let model = try LanguageModel(config: LanguageModelConfig(vocabularySize: vocabularySize, embeddingSize: 16,
                                                                  hiddenSize: 32, layers: 1, cell: cell))
        let store = ParameterStore(model.layout)
        var rng = RNG(seed: seed)
        model.initialize(store, rng: &rng)
        return (model, store)
    }

    /// A tiny char LM memorises "hello world hello world" within a fixed
    /// number of Adam steps, and greedy decoding from the prime "hel"
    /// continues it exactly (then stops with EOS); beam search and top-1
    /// sampling agree.
    func testMemorisesATextAndContinuesAPrime() throws {
        let (model, store) = try Self.makeModel(seed: 1)
        let target = Self.encode(Self.text), prime = Self.encode("hel")
        let expected = Array(target.dropFirst(prime.count))
        let options = DecodingOptions(maxLength: 40, prime: prime)
        func continuation() throws -> [Int] {
            try greedyDecode(LanguageModelScorer(model: model, store: store), options: options)[0].tokens
        }
        XCTAssertNotEqual(try continuation(), expected, "an untrained model must not already continue the text")
        var adam = Adam(learningRate: 0.02)
        var rng = RNG(seed: 2)
        var learntAt: Int?, first: Float = 0, last: Float = 0
        for step in 1...300 {
            store.zeroGrads()
            let l = try model.loss(store, sources: .none(count: 1), targets: [target], training: true, labelSmoothing: 0,
                                   backward: true, rng: &rng)
            if step == 1 { first = l.loss }
            last = l.loss
            adam.step(store)
            if step % 25 == 0, try continuation() == expected { learntAt = step; break }
        }
        let reached = Self.decode(try continuation())
        XCTAssertNotNil(learntAt, "greedy continuation still \"\(reached)\" after 300 steps (loss \(first) → \(last))")
        print("memorised at step \(learntAt ?? -1), loss \(first) → \(last)")

        let scorer = try LanguageModelScorer(model: model, store: store, generations: 2)
        let greedy = try greedyDecode(scorer, options: options)
        XCTAssertEqual(greedy.map(\.tokens), [expected, expected])
        XCTAssertEqual(Self.decode(greedy[0].tokens), "lo world hello world")
        XCTAssertEqual(try beamSearch(scorer, beamSize: 3, options: options).map { $0[0].tokens }, [expected, expected])
        var sampling = RNG(seed: 5)
        XCTAssertEqual(try sampleDecode(scorer, topK: 1, options: options, rng: &sampling).map { $0[0].tokens },
                       [expected, expected])
        // Without a prime, greedy generation reproduces the whole text.
        XCTAssertEqual(try greedyDecode(scorer, options: DecodingOptions(maxLength: 40))[0].tokens, target)
    }

    /// The decoders' scores are the model's: the log-probabilities of a
    /// generated continuation equal those of the whole-sequence path over
    /// prime + continuation (so BOS and the prime were fed, in order).
    func testStepLogProbsMatchTheWholeSequencePath() throws {
        for cell in Seq2SeqConfig.Cell.allCases {
            let (model, store) = try Self.makeModel(seed: 3, cell: cell)
            let prime = Self.encode("wor")
            let scorer = try LanguageModelScorer(model: model, store: store, generations: 3)
            var rng = RNG(seed: 4)
            let samples = try sampleDecode(scorer, temperature: 1, samplesPerSource: 2,
                                           options: DecodingOptions(maxLength: 12, prime: prime), rng: &rng)
            XCTAssertEqual(samples.count, 3)
            var hyps = samples.flatMap { $0 }
            hyps.append(try greedyDecode(scorer, options: DecodingOptions(maxLength: 12, prime: prime))[0])
            let whole = try model.tokenLogProbabilities(store, targets: hyps.map { prime + $0.tokens })
            for (h, lp) in zip(hyps, whole) {
                // The forced EOS at the maximum length is still the model's log-probability.
                XCTAssertEqual(h.stepLogProbs.count, h.tokens.count + 1)
                for (i, x) in h.stepLogProbs.enumerated() {
                    XCTAssertEqual(x, lp[prime.count + i], accuracy: 1e-5, "\(cell) step \(i)")
                }
            }
            // The same seed gives the same samples; the generations differ from one another.
            var again = RNG(seed: 4)
            let repeated = try sampleDecode(scorer, temperature: 1, samplesPerSource: 2,
                                            options: DecodingOptions(maxLength: 12, prime: prime), rng: &again)
            XCTAssertEqual(repeated.map { $0.map(\.tokens) }, samples.map { $0.map(\.tokens) })
            XCTAssertGreaterThan(Set(hyps.dropLast().map(\.tokens)).count, 1)
        }
    }

    func testBadArgumentsAreRefused() throws {
        let (model, store) = try Self.makeModel(seed: 5)
        XCTAssertThrowsError(try LanguageModelScorer(model: model, store: store, generations: 0))
        let other = try LanguageModel(config: LanguageModelConfig(vocabularySize: 9, embeddingSize: 4, hiddenSize: 4))
        XCTAssertThrowsError(try LanguageModelScorer(model: other, store: store))
        let scorer = try LanguageModelScorer(model: model, store: store, generations: 2)
        XCTAssertThrowsError(try scorer.initialState(sources: [2]))
        XCTAssertEqual(scorer.sourceLength(1), 0)
        XCTAssertThrowsError(try greedyDecode(scorer, options: DecodingOptions(prime: [Self.vocabularySize])))
    }
}
