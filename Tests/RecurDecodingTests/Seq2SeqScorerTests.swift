import RecurCore
import RecurDecoding
import RecurLayers
import RecurModels
import XCTest

/// The text encoder-decoder trained on a toy substitution language, decoded
/// through `Seq2SeqScorer` by the generic decoders.
final class Seq2SeqScorerTests: XCTestCase {
    // Ids: 0 pad, 1 bos, 2 eos, 3..<11 words. Target = the source reversed,
    // each word mapped through a fixed permutation.
    static let vocabulary = 11
    static let permutation = [3: 7, 4: 10, 5: 3, 6: 9, 7: 4, 8: 6, 9: 8, 10: 5]

    static func makePairs(count: Int, seed: UInt64) -> (sources: [[Int]], targets: [[Int]]) {
        var rng = RNG(seed: seed)
        var sources: [[Int]] = [], targets: [[Int]] = []
        for _ in 0..<count {
            let n = 3 + rng.int(below: 4)
            let s = (0..<n).map { _ in 3 + rng.int(below: 8) }
            sources.append(s)
            targets.append(s.reversed().map { permutation[$0]! })
        }
        return (sources, targets)
    }

    func testTrainsUntilGreedyDecodingReproducesTheTargets() throws {
        let (sources, targets) = Self.makePairs(count: 24, seed: 5)
        let config = Seq2SeqConfig(sourceVocabularySize: Self.vocabulary, targetVocabularySize: Self.vocabulary,
                                   embeddingSize: 16, hiddenSize: 24, bidirectionalEncoder: true, cell: .lstm,
                                   attention: .additive, inputFeeding: true)
        let model = try Seq2Seq(config: config)
        let store = ParameterStore(model.layout)
        var rng = RNG(seed: 11)
        model.initialize(store, rng: &rng)
        var adam = Adam(learningRate: 0.02)

        func decoded() throws -> [[Int]] {
            try greedyDecode(Seq2SeqScorer(model: model, store: store, sources: sources),
                             options: DecodingOptions(maxLength: 10)).map(\.tokens)
        }
        XCTAssertNotEqual(try decoded(), targets, "an untrained model must not already decode the targets")
        var firstLoss: Float = 0, lastLoss: Float = 0, solvedAt: Int?
        for step in 1...400 {
            store.zeroGrads()
            let l = try model.trainStep(store, sources: sources, targets: targets, rng: &rng)
            if step == 1 { firstLoss = l.loss }
            lastLoss = l.loss
            adam.step(store)
            if step % 20 == 0, try decoded() == targets { solvedAt = step; break }
        }
        XCTAssertNotNil(solvedAt, "greedy decoding still differs after 400 steps (loss \(firstLoss) → \(lastLoss))")
        XCTAssertLessThan(lastLoss, firstLoss / 5)
        print("toy substitution language solved at step \(solvedAt ?? -1), loss \(firstLoss) → \(lastLoss)")

        // Beam search with beam 1 agrees with greedy; a wider beam also finds the targets.
        let scorer = try Seq2SeqScorer(model: model, store: store, sources: sources)
        XCTAssertEqual(try beamSearch(scorer, beamSize: 1, options: DecodingOptions(maxLength: 10)).map { $0[0].tokens },
                       targets)
        XCTAssertEqual(try beamSearch(scorer, beamSize: 3, options: DecodingOptions(maxLength: 10)).map { $0[0].tokens },
                       targets)
        // Attention rows come back, one per output token, as wide as the source.
        let hyp = try greedyDecode(scorer, options: DecodingOptions(maxLength: 10))[0]
        XCTAssertEqual(hyp.attention?.shape, [targets[0].count + 1, sources[0].count])
    }
}
