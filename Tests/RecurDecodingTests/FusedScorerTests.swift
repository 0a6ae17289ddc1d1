import Foundation
import RecurCore
import RecurDecoding
import XCTest

/// Shallow fusion: a model's next-token log-probabilities plus λ times a
/// language model's, over hand-built tables (TableScorer) for both.
final class FusedScorerTests: XCTestCase {
    typealias T = TableScorer

    /// The identity map of a vocabulary of `v` tokens (same tokens on both sides).
    func identity(_ v: Int) -> FusionMap {
        FusionMap(candidates: (0..<v).map { [$0] }, fallback: 3)
    }

    func testWeightZeroDecodesAsTheModelAlone() throws {
        let v = 7
        let main = T(vocabularySize: v, sources: [(0, 3), (1, 4)], probabilities: scrambledTable(vocabularySize: v))
        let lm = T(vocabularySize: v, sources: [(9, 0)], probabilities: scrambledTable(vocabularySize: v))
        let fused = try FusedScorer(main: main, lm: lm, map: identity(v), weight: 0)
        let options = DecodingOptions(maxLength: 6)
        for (a, b) in zip(try greedyDecode(main, options: options), try greedyDecode(fused, options: options)) {
            XCTAssertEqual(a.tokens, b.tokens)
            XCTAssertEqual(a.stepLogProbs, b.stepLogProbs)
        }
        let beamA = try beamSearch(main, beamSize: 3, nBest: 3, options: options)
        let beamB = try beamSearch(fused, beamSize: 3, nBest: 3, options: options)
        XCTAssertEqual(beamA.map { $0.map(\.tokens) }, beamB.map { $0.map(\.tokens) })
        XCTAssertEqual(beamA.map { $0.map(\.score) }, beamB.map { $0.map(\.score) })
    }

    /// Every step of every beam hypothesis scores log p_model + λ log p_lm of
    /// its own prefix: the language model's state and last log-probabilities
    /// follow the hypotheses through beam reordering (`select`).
    func testBeamHypothesesScoreTheFusedSumAlongTheirOwnTokens() throws {
        let v = 8, weight: Float = 0.7
        let main = T(vocabularySize: v, sources: [(0, 3), (1, 5), (2, 2)], probabilities: scrambledTable(vocabularySize: v))
        let lm = T(vocabularySize: v, sources: [(5, 0)], probabilities: scrambledTable(vocabularySize: v))
        let fused = try FusedScorer(main: main, lm: lm, map: identity(v), weight: weight)
        let options = DecodingOptions(maxLength: 5)
        let results = try beamSearch(fused, beamSize: 4, nBest: 4, options: options)
        XCTAssertEqual(results.count, 3)
        var checked = 0
        for (source, hyps) in results.enumerated() {
            for h in hyps {
                for (i, lp) in h.stepLogProbs.enumerated() where !(i == h.tokens.count && h.reachedMaxLength) {
                    let prefix = Array(h.tokens[0..<i])
                    let token = i < h.tokens.count ? h.tokens[i] : T.eos
                    let want = main.logProbs(source: source, prefix: prefix)[token] + weight * lm.logProbs(source: 0, prefix: prefix)[token]
                    XCTAssertEqual(lp, want, accuracy: 1e-5, "source \(source) hypothesis \(h.tokens) step \(i)")
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 20)
    }

    /// The model cannot tell "a" from "b"; the language model can.
    func testTheLanguageModelBreaksTheModelsTie() throws {
        let v = 5  // a = 3, b = 4
        let main = T(vocabularySize: v, table: [[]: [0, 0, 0.1, 1.0, 0.99], [T.a]: [0, 0, 1, 0, 0], [T.b]: [0, 0, 1, 0, 0]],
                     otherwise: [0, 0, 1, 1, 1])
        let lm = T(vocabularySize: v, table: [[]: [0, 0, 0.1, 0.1, 0.8]], otherwise: [0, 0, 1, 0.01, 0.01])
        XCTAssertEqual(try greedyDecode(main).map(\.tokens), [[T.a]])
        let fused = try FusedScorer(main: main, lm: lm, map: FusionMap(candidates: (0..<v).map { [$0] }, fallback: 0), weight: 0.3)
        XCTAssertEqual(try greedyDecode(fused).map(\.tokens), [[T.b]])
    }

    func testTheMapMatchesByStringAndFoldsCaseForALowercasedModel() throws {
        let specials = ["<pad>", "<s>", "</s>", "<unk>"]
        let lmTokens = specials + ["I", "i", "▁", ".", "a", "A"]
        let m = try FusionMap(target: specials + ["i", "▁", "a"], languageModel: lmTokens)
        XCTAssertEqual(m.candidates, [[], [1], [2], [3], [4, 5], [6], [8, 9]])
        XCTAssertEqual(m.fallback, 3)
        XCTAssertEqual(m.unmatched, [])
        // A target with capitals is matched exactly.
        let cased = try FusionMap(target: specials + ["i", "I", "▁", "a"], languageModel: lmTokens)
        XCTAssertEqual(cased.candidates, [[], [1], [2], [3], [5], [4], [6], [8]])
        // One unmatched token in ten is allowed (it falls back to <unk>), more are refused, naming them.
        let many = specials + (0..<10).map { String(UnicodeScalar(UInt8(98 + $0))) }
        let lm2 = specials + (0..<9).map { String(UnicodeScalar(UInt8(98 + $0))) }
        let ok = try FusionMap(target: many, languageModel: lm2)
        XCTAssertEqual(ok.unmatched, [13])
        XCTAssertEqual(ok.candidates[13], [])
        XCTAssertThrowsError(try FusionMap(target: many, languageModel: Array(lm2.dropLast()))) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("lacks 2 of the model's 10 tokens") && s.contains("'j'") && s.contains("'k'"), s)
        }
    }

    /// A lowercased model's "i" is scored as p(i) + p(I) and fed as the more
    /// probable of the two; a token without a match as the language model's <unk>.
    func testCaseFoldedTokensSumTheirMatchesAndFeedTheLikelierOne() throws {
        // Model vocabulary: 0-3 specials, 4 "i", 5 "▁", 6 "q" (not in the language model).
        // Language model: 0-3 specials, 4 "i", 5 "I", 6 "▁" (the likelier match is not the first).
        let main = T(vocabularySize: 7, table: [:], otherwise: [0, 0, 1, 1, 1, 1, 1])
        let lmTable: [[Int]: [Float]] = [
            []: [0, 0, 1, 1, 2, 6, 1],      // p(i) = 2/11, p(I) = 6/11 after BOS
            [5]: [0, 0, 1, 1, 1, 1, 16],    // after "I": "▁" likely
            [4]: [0, 0, 16, 1, 1, 1, 1],    // after "i": EOS likely
            [3]: [0, 0, 1, 7, 1, 1, 10],    // after <unk>
        ]
        let lm = T(vocabularySize: 7, table: lmTable, otherwise: [0, 0, 1, 1, 1, 1, 1])
        let map = try FusionMap(target: ["<pad>", "<s>", "</s>", "<unk>", "i", "▁", "q"],
                                languageModel: ["<pad>", "<s>", "</s>", "<unk>", "i", "I", "▁"], maxUnmatched: 0.5)
        XCTAssertEqual(map.candidates[4], [4, 5])
        XCTAssertEqual(map.unmatched, [6])
        let weight: Float = 0.5
        let fused = try FusedScorer(main: main, lm: lm, map: map, weight: weight)
        var state = try fused.initialState(sources: [0, 0])
        var out = try fused.step(state, tokens: [T.bos, T.bos])
        let base = main.logProbs(source: 0, prefix: [])
        XCTAssertEqual(out.logProbs[0, 4], base[4] + weight * log(8 / 11), accuracy: 1e-5, "i = p(I) + p(i)")
        XCTAssertEqual(out.logProbs[0, 5], base[5] + weight * log(1 / 11), accuracy: 1e-5)
        XCTAssertEqual(out.logProbs[0, 6], base[6] + weight * log(1 / 11), accuracy: 1e-5, "q scores as <unk>")
        state = out.state
        out = try fused.step(state, tokens: [4, 6])
        // Row 0 fed "i", which the language model took as "I": "▁" is now likely.
        XCTAssertEqual(out.logProbs[0, 5], base[5] + weight * log(16 / 20), accuracy: 1e-5)
        // Row 1 fed "q", which the language model took as <unk>.
        XCTAssertEqual(out.logProbs[1, 5], base[5] + weight * log(10 / 20), accuracy: 1e-5)
        // Rows reordered: each keeps its own language-model state.
        let swapped = try fused.select(out.state, rows: [1, 0])
        let again = try fused.step(swapped, tokens: [5, 5])
        XCTAssertEqual(again.logProbs.shape, [2, 7])
        XCTAssertEqual(try lm.select(out.state.lm, rows: [1, 0]).fed, [[T.bos, 3], [T.bos, 5]])
        XCTAssertEqual(again.state.lm.fed, [[T.bos, 3, 6], [T.bos, 5, 6]])
    }

    func testBadSettingsAreRefused() throws {
        let main = T(vocabularySize: 5, table: [:], otherwise: [0, 0, 1, 1, 1])
        let lm = T(vocabularySize: 5, table: [:], otherwise: [0, 0, 1, 1, 1])
        XCTAssertThrowsError(try FusedScorer(main: main, lm: lm, map: identity(5), weight: -1))
        XCTAssertThrowsError(try FusedScorer(main: main, lm: lm, map: identity(5), weight: .nan))
        XCTAssertThrowsError(try FusedScorer(main: main, lm: lm, map: identity(4), weight: 1))
        XCTAssertThrowsError(try FusedScorer(main: main, lm: lm, map: FusionMap(candidates: (0..<5).map { [$0 + 1] }, fallback: 3), weight: 1))
    }
}
