import Foundation
import RecurCore
import RecurDecoding
import XCTest

/// Every complete output of `scorer` for one source under the options' length
/// rules, best score first: the exact answer that beam search approximates.
func exhaustiveSearch(_ scorer: TableScorer, source: Int, options: DecodingOptions) -> [Hypothesis] {
    let bounds = options.lengthBounds(sourceLength: scorer.sourceLength(source))
    var all: [Hypothesis] = []
    func expand(_ prefix: [Int], _ cum: Float, _ steps: [Float]) {
        let lp = scorer.logProbs(source: source, prefix: options.prime + prefix)
        for t in 0..<scorer.vocabularySize {
            let forced = prefix.count >= bounds.max
            if forced && t != TableScorer.eos { continue }
            if t == TableScorer.eos && prefix.count < bounds.min { continue }
            if !forced && !(lp[t] > -.infinity) { continue }
            let total = cum + lp[t]
            if t == TableScorer.eos {
                all.append(Hypothesis(tokens: prefix, logProb: total,
                                      score: options.lengthPenalty.score(logProb: total, length: prefix.count + 1),
                                      stepLogProbs: steps + [lp[t]], reachedMaxLength: forced))
            } else {
                expand(prefix + [t], total, steps + [lp[t]])
            }
        }
    }
    expand([], 0, [])
    return all.sorted { $0.score > $1.score }
}

final class BeamSearchTests: XCTestCase {
    typealias T = TableScorer

    func assertSame(_ x: Hypothesis, _ y: Hypothesis, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(x.tokens, y.tokens, message, file: file, line: line)
        XCTAssertEqual(x.logProb, y.logProb, accuracy: 1e-5, message, file: file, line: line)
        XCTAssertEqual(x.score, y.score, accuracy: 1e-5, message, file: file, line: line)
        XCTAssertEqual(x.stepLogProbs.count, y.stepLogProbs.count, message, file: file, line: line)
        XCTAssertTrue(allCloseOrEqual(x.stepLogProbs, y.stepLogProbs), message, file: file, line: line)
        XCTAssertEqual(x.reachedMaxLength, y.reachedMaxLength, message, file: file, line: line)
        XCTAssertEqual(x.attention?.shape, y.attention?.shape, message, file: file, line: line)
        if let a = x.attention, let b = y.attention { XCTAssertEqual(a.array, b.array, message, file: file, line: line) }
    }

    func allCloseOrEqual(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0 == $1 || abs($0 - $1) <= 1e-5 }
    }

    /// Checks a hypothesis against the table: its step log-probabilities, total,
    /// score and attention rows are the scorer's along its own tokens.
    func assertConsistent(_ h: Hypothesis, _ scorer: TableScorer, source: Int, options: DecodingOptions,
                          file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(h.stepLogProbs.count, h.tokens.count + 1, file: file, line: line)
        var total: Float = 0
        for (i, lp) in h.stepLogProbs.enumerated() {
            let token = i < h.tokens.count ? h.tokens[i] : T.eos
            let want = scorer.logProbs(source: source, prefix: options.prime + Array(h.tokens[0..<i]))[token]
            XCTAssertEqual(lp, want, file: file, line: line)
            total += lp
        }
        XCTAssertEqual(h.logProb, total, accuracy: 1e-5, file: file, line: line)
        XCTAssertEqual(h.score, options.lengthPenalty.score(logProb: h.logProb, length: h.tokens.count + 1),
                       accuracy: 1e-5, file: file, line: line)
        if scorer.withAttention {
            guard let att = h.attention else { return XCTFail("attention missing", file: file, line: line) }
            XCTAssertEqual(att.shape, [h.tokens.count + 1, scorer.sourceLength(source)], file: file, line: line)
            for i in 0...h.tokens.count {
                let want = scorer.attentionRow(source: source, prefix: options.prime + Array(h.tokens[0..<i]))
                XCTAssertEqual(att[i].array, want, "attention row \(i)", file: file, line: line)
            }
        } else {
            XCTAssertNil(h.attention, file: file, line: line)
        }
    }

    /// Greedy is wrong here and beam 2 finds the better output:
    /// after BOS a .6, b .4; after a: a .35 b .35 c .3 (then EOS); after b: EOS .9.
    /// Greedy: a a EOS = .6 × .35 = .21. Best: b EOS = .4 × .9 = .36.
    func handTable() -> TableScorer {
        T(vocabularySize: 6, table: [
            []: [0, 0, 0, 0.6, 0.4, 0],
            [T.a]: [0, 0, 0, 0.35, 0.35, 0.3],
            [T.b]: [0, 0, 0.9, 0.05, 0.05, 0],
        ], otherwise: [0, 0, 1, 0, 0, 0])
    }

    func testBeamFindsTheBetterOutputGreedyMisses() throws {
        let scorer = handTable()
        let greedy = try greedyDecode(scorer)[0]
        XCTAssertEqual(greedy.tokens, [T.a, T.a])  // ties (a .35, b .35) go to the lower id
        XCTAssertEqual(greedy.logProb, Foundation.log(0.6 * 0.35), accuracy: 1e-5)

        let beam = try beamSearch(scorer, beamSize: 2, nBest: 2)[0]
        XCTAssertEqual(beam.map(\.tokens), [[T.b], [T.a, T.a]])
        XCTAssertEqual(beam[0].logProb, Foundation.log(0.4 * 0.9), accuracy: 1e-5)
        XCTAssertEqual(beam[0].stepLogProbs, [Foundation.log(Float(0.4)), Foundation.log(Float(0.9))])

        // With a beam wide enough to be exhaustive, the whole ranking is known:
        // b (.36), a a (.21), a b (.21, later: the tie goes to the better parent then lower id,
        // a a and a b come from the same parent, a < b), a c (.18), b a (.02), b b (.02).
        let all = try beamSearch(scorer, beamSize: 6, nBest: 6)[0]
        XCTAssertEqual(all.map(\.tokens), [[T.b], [T.a, T.a], [T.a, T.b], [T.a, T.c], [T.b, T.a], [T.b, T.b]])
        for h in all { assertConsistent(h, scorer, source: 0, options: DecodingOptions()) }
    }

    /// Banned tokens are never chosen; the outputs are the best of those without them, with the
    /// model's own log-probabilities (no renormalization); EOS cannot be banned.
    func testBannedTokensAreNeverChosen() throws {
        let scorer = handTable()
        let banA = DecodingOptions(bannedTokens: [T.a])
        XCTAssertEqual(try greedyDecode(scorer)[0].tokens, [T.a, T.a])   // a is the greedy choice
        let greedy = try greedyDecode(scorer, options: banA)[0]
        XCTAssertEqual(greedy.tokens, [T.b])
        XCTAssertEqual(greedy.logProb, Foundation.log(0.4 * 0.9), accuracy: 1e-5)
        let all = try beamSearch(scorer, beamSize: 6, nBest: 6)[0]
        let expected = all.filter { !$0.tokens.contains(T.a) }
        XCTAssertEqual(expected.map(\.tokens), [[T.b], [T.b, T.b]])
        let banned = try beamSearch(scorer, beamSize: 4, nBest: 2, options: banA)[0]
        XCTAssertEqual(banned.map(\.tokens), expected.map(\.tokens))
        for (x, y) in zip(banned, expected) { assertSame(x, y) }
        var rng = RNG(seed: 4)
        for h in try sampleDecode(scorer, samplesPerSource: 50, options: banA, rng: &rng)[0] {
            XCTAssertFalse(h.tokens.contains(T.a), "\(h.tokens)")
        }
        XCTAssertThrowsError(try greedyDecode(scorer, options: DecodingOptions(bannedTokens: [T.eos]))) {
            XCTAssertTrue("\($0)".contains("EOS cannot be banned"))
        }
        XCTAssertThrowsError(try beamSearch(scorer, beamSize: 2, options: DecodingOptions(bannedTokens: [99])))
    }

    func testBeamOneEqualsGreedy() throws {
        let scorer = TableScorer(vocabularySize: 7, sources: [(0, 3), (1, 1), (2, 4), (3, 2)], withAttention: true,
                                 probabilities: scrambledTable(vocabularySize: 7))
        for options in [DecodingOptions(maxLength: 6),
                        DecodingOptions(minLength: 2, maxLength: 5, lengthPenalty: .gnmt(alpha: 0.8)),
                        DecodingOptions(maxLength: 9, maxLengthRatio: 1.5, maxLengthOffset: 1, lengthPenalty: .average),
                        DecodingOptions(maxLength: 6, prime: [T.c, T.a])] {
            let greedy = try greedyDecode(scorer, options: options)
            let beam = try beamSearch(scorer, beamSize: 1, options: options)
            XCTAssertEqual(greedy.count, 4)
            for s in 0..<4 {
                XCTAssertEqual(beam[s].count, 1)
                assertSame(beam[s][0], greedy[s], "source \(s), \(options)")
                assertConsistent(greedy[s], scorer, source: s, options: options)
            }
        }
    }

    func testWideBeamMatchesExhaustiveSearch() throws {
        // Tokens EOS, a, b: at most 2^4 live prefixes, so a beam of 64 keeps every one
        // and the n-best must be the exact n best outputs.
        let scorer = TableScorer(vocabularySize: 5, sources: [(5, 2), (6, 3)], withAttention: true,
                                 probabilities: scrambledTable(vocabularySize: 5))
        for options in [DecodingOptions(maxLength: 4),
                        DecodingOptions(minLength: 1, maxLength: 4, lengthPenalty: .gnmt(alpha: 1)),
                        DecodingOptions(maxLength: 4, lengthPenalty: .average)] {
            let beam = try beamSearch(scorer, beamSize: 64, nBest: 6, options: options)
            for s in 0..<2 {
                let exact = exhaustiveSearch(scorer, source: s, options: options)
                XCTAssertEqual(beam[s].map(\.tokens), exact.prefix(6).map(\.tokens), "source \(s), \(options) \(beam[s].map(\.score)) \(exact.prefix(6).map(\.score))")
                for (h, e) in zip(beam[s], exact) {
                    XCTAssertEqual(h.score, e.score, accuracy: 1e-5)
                    assertConsistent(h, scorer, source: s, options: options)
                }
            }
        }
    }

    func testNBestAreDistinctSortedAndTheirOwn() throws {
        let scorer = TableScorer(vocabularySize: 8, sources: [(1, 5), (2, 2), (3, 3)], withAttention: true,
                                 probabilities: scrambledTable(vocabularySize: 8, eosWeightScale: 0.5))
        let options = DecodingOptions(maxLength: 7, lengthPenalty: .gnmt(alpha: 0.6))
        let results = try beamSearch(scorer, beamSize: 5, nBest: 5, options: options)
        XCTAssertEqual(results.count, 3)
        for (s, nbest) in results.enumerated() {
            XCTAssertEqual(nbest.count, 5)
            XCTAssertEqual(Set(nbest.map(\.tokens)).count, nbest.count, "n-best of source \(s) not distinct")
            for i in 1..<nbest.count { XCTAssertGreaterThanOrEqual(nbest[i - 1].score, nbest[i].score) }
            for h in nbest {
                assertConsistent(h, scorer, source: s, options: options)
                XCTAssertFalse(h.tokens.contains(T.eos))
            }
        }
        // A wider beam never finds a worse best output on this table.
        let wide = try beamSearch(scorer, beamSize: 12, options: options)
        for s in 0..<3 { XCTAssertGreaterThanOrEqual(wide[s][0].score, results[s][0].score - 1e-6) }
    }

    func testLengthPenaltySwapsShortAndLong() throws {
        // EOS at once: .45. a a EOS: .55 × .9 × .9 = .4455. a EOS: .55 × .1 = .055.
        let scorer = T(vocabularySize: 6, table: [
            []: [0, 0, 0.45, 0.55, 0, 0],
            [T.a]: [0, 0, 0.1, 0.9, 0, 0],
            [T.a, T.a]: [0, 0, 0.9, 0.1, 0, 0],
        ], otherwise: [0, 0, 1, 0, 0, 0])
        let raw = try beamSearch(scorer, beamSize: 3, nBest: 3)[0]
        XCTAssertEqual(raw.map(\.tokens), [[], [T.a, T.a], [T.a]])
        XCTAssertEqual(raw[0].score, Foundation.log(0.45), accuracy: 1e-5)

        let alpha: Float = 1
        let gnmt = try beamSearch(scorer, beamSize: 3, nBest: 3, options: DecodingOptions(lengthPenalty: .gnmt(alpha: alpha)))[0]
        // a a a EOS (.55 × .9 × .1 = .0495 over length 4) outscores a EOS (.055 over length 2) under α = 1.
        XCTAssertEqual(gnmt.map(\.tokens), [[T.a, T.a], [], [T.a, T.a, T.a]])
        let long = Foundation.log(Float(0.55 * 0.9 * 0.9))
        XCTAssertEqual(gnmt[0].logProb, long, accuracy: 1e-5)
        XCTAssertEqual(gnmt[0].score, long / Foundation.pow((5 + 3) / 6, alpha), accuracy: 1e-5)
        XCTAssertEqual(gnmt[1].score, Foundation.log(0.45) / Foundation.pow((5 + 1) / 6, alpha), accuracy: 1e-5)

        let average = try beamSearch(scorer, beamSize: 3, nBest: 3, options: DecodingOptions(lengthPenalty: .average))[0]
        XCTAssertEqual(average.map(\.tokens), [[T.a, T.a], [T.a, T.a, T.a], []])
        XCTAssertEqual(average[0].score, long / 3, accuracy: 1e-5)

        // Two hypotheses have finished after step 2 (EOS at once, then a EOS), but a a, still
        // live at .495, can beat a EOS (.055): the search goes on and a a EOS (.4455) comes second.
        // (Stopping at beamSize finished hypotheses, as fairseq does, would return [] and a.)
        let counted = T(vocabularySize: 6, table: [
            []: [0, 0, 0.45, 0.55, 0, 0],
            [T.a]: [0, 0, 0.1, 0.9, 0, 0],
            [T.a, T.a]: [0, 0, 0.9, 0.1, 0, 0],
        ], otherwise: [0, 0, 1, 0, 0, 0])
        let two = try beamSearch(counted, beamSize: 2, nBest: 2)[0]
        XCTAssertEqual(two.map(\.tokens), [[], [T.a, T.a]])
        XCTAssertEqual(counted.stepCalls, 3)

        // α = 0 is no penalty.
        let zero = try beamSearch(scorer, beamSize: 3, nBest: 3, options: DecodingOptions(lengthPenalty: .gnmt(alpha: 0)))[0]
        XCTAssertEqual(zero.map(\.tokens), raw.map(\.tokens))
    }

    func testMinLengthIsRespected() throws {
        // EOS is by far the most likely token everywhere.
        let scorer = TableScorer(vocabularySize: 6, sources: [(0, 1), (0, 3)]) { _, prefix in
            [0, 0, 0.7, 0.1 + 0.01 * Float(prefix.count), 0.1, 0.09]
        }
        XCTAssertEqual(try greedyDecode(scorer).map(\.tokens), [[], []])
        let options = DecodingOptions(minLength: 2)
        for h in try greedyDecode(scorer, options: options) { XCTAssertEqual(h.tokens, [T.a, T.a]) }
        for nbest in try beamSearch(scorer, beamSize: 3, nBest: 3, options: options) {
            XCTAssertEqual(nbest.count, 3)
            XCTAssertEqual(nbest[0].tokens, [T.a, T.a])
            for h in nbest { XCTAssertGreaterThanOrEqual(h.tokens.count, 2) }
        }
        var rng = RNG(seed: 3)
        for sample in try sampleDecode(scorer, samplesPerSource: 20, options: options, rng: &rng).joined() {
            XCTAssertGreaterThanOrEqual(sample.tokens.count, 2)
        }
        // Relative to the source: at least ⌈1 × length⌉ tokens (lengths 1 and 3).
        let relative = try beamSearch(scorer, beamSize: 2, options: DecodingOptions(minLengthRatio: 1))
        XCTAssertEqual(relative.map { $0[0].tokens.count }, [1, 3])
        // The step log-probabilities stay the model's: EOS was not renormalised away.
        let h = try greedyDecode(scorer, options: options)[0]
        XCTAssertEqual(h.stepLogProbs[0], Foundation.log(Float(0.1) / 0.99), accuracy: 1e-5)
    }

    func testMaxLengthStopsDecoding() throws {
        // EOS is unlikely: without a limit nothing would end.
        let never = TableScorer(vocabularySize: 6, sources: [(0, 1), (0, 2)]) { _, prefix in
            [0, 0, 0.001, prefix.count % 2 == 0 ? 0.6 : 0.3, prefix.count % 2 == 0 ? 0.3 : 0.6, 0.099]
        }
        let options = DecodingOptions(maxLength: 5)
        for h in try greedyDecode(never, options: options) {
            XCTAssertEqual(h.tokens, [T.a, T.b, T.a, T.b, T.a])
            XCTAssertTrue(h.reachedMaxLength)
            XCTAssertEqual(h.stepLogProbs.count, 6)
            XCTAssertEqual(h.stepLogProbs[5], Foundation.log(0.001), accuracy: 1e-4)
        }
        XCTAssertEqual(never.stepCalls, 6)  // BOS + five tokens, then EOS forced

        for nbest in try beamSearch(never, beamSize: 3, nBest: 3, options: options) {
            for h in nbest {
                XCTAssertLessThanOrEqual(h.tokens.count, 5)
                XCTAssertEqual(h.reachedMaxLength, h.tokens.count == 5)
            }
            XCTAssertTrue(nbest[0].reachedMaxLength)
        }
        var rng = RNG(seed: 1)
        for h in try sampleDecode(never, samplesPerSource: 5, options: options, rng: &rng).joined() {
            XCTAssertLessThanOrEqual(h.tokens.count, 5)
        }

        // Relative to the source: at most ⌈2 × length⌉ + 1 (lengths 1 and 2), never above maxLength 9.
        let relative = DecodingOptions(maxLength: 9, maxLengthRatio: 2, maxLengthOffset: 1)
        XCTAssertEqual(try greedyDecode(never, options: relative).map(\.tokens.count), [3, 5])
        XCTAssertEqual(try beamSearch(never, beamSize: 2, options: relative).map { $0[0].tokens.count }, [3, 5])
        XCTAssertEqual(try greedyDecode(never, options: DecodingOptions(maxLength: 4, maxLengthRatio: 2, maxLengthOffset: 1))
            .map(\.tokens.count), [3, 4])
        // maxLength 0: only EOS.
        XCTAssertEqual(try beamSearch(never, beamSize: 2, options: DecodingOptions(minLength: 3, maxLength: 0))
            .map { $0[0].tokens }, [[], []])
    }

    func testBatchedDecodingEqualsDecodingAlone() throws {
        let scorer = TableScorer(vocabularySize: 7, sources: [(10, 2), (11, 5), (12, 1), (13, 3)], withAttention: true,
                                 probabilities: scrambledTable(vocabularySize: 7, eosWeightScale: 0.7))
        let options = DecodingOptions(minLength: 1, maxLength: 8, maxLengthRatio: 2, maxLengthOffset: 1,
                                      lengthPenalty: .gnmt(alpha: 0.6))
        let greedy = try greedyDecode(scorer, options: options)
        let beam = try beamSearch(scorer, beamSize: 4, nBest: 3, options: options)
        for s in 0..<4 {
            let alone = scorer.only(s)
            assertSame(greedy[s], try greedyDecode(alone, options: options)[0], "greedy source \(s)")
            let beamAlone = try beamSearch(alone, beamSize: 4, nBest: 3, options: options)[0]
            XCTAssertEqual(beam[s].count, beamAlone.count)
            for (x, y) in zip(beam[s], beamAlone) { assertSame(x, y, "beam source \(s)") }
        }
        // Different sources really decode differently here (the test can tell them apart).
        XCTAssertGreaterThan(Set(beam.map { $0[0].tokens }).count, 1)
    }

    func testEarlyStopWhenNoLiveHypothesisCanWin() throws {
        // EOS at once has probability .99: nothing longer can beat it, so the
        // search stops after one step instead of running to the maximum length.
        let scorer = T(vocabularySize: 6, table: [[]: [0, 0, 0.99, 0.005, 0.005, 0]],
                       otherwise: [0, 0, 0.2, 0.4, 0.4, 0])
        let options = DecodingOptions(maxLength: 50, lengthPenalty: .gnmt(alpha: 1))
        let best = try beamSearch(scorer, beamSize: 4, options: options)[0]
        XCTAssertEqual(best.count, 1)
        XCTAssertEqual(best[0].tokens, [])
        XCTAssertEqual(scorer.stepCalls, 1)
    }

    func testEarlyStopWaitsForLongerOutputsThePenaltyFavours() throws {
        // EOS at once (.73) beats a… on raw log-probability, but under GNMT α = 3
        // ten a's then EOS wins (log .27 + 10 log .99 over ((5 + 11) / 6)^3). The
        // stop rule must bound a live hypothesis at the longest length it can still
        // reach, not only the next one, or it stops after the first step.
        var table: [[Int]: [Float]] = [[]: [0, 0, 0.73, 0.27, 0, 0]]
        for n in 1..<10 { table[Array(repeating: T.a, count: n)] = [0, 0, 0.01, 0.99, 0, 0] }
        table[Array(repeating: T.a, count: 10)] = [0, 0, 0.99, 0.01, 0, 0]
        let scorer = T(vocabularySize: 6, table: table, otherwise: [0, 0, 1, 0, 0, 0])
        let options = DecodingOptions(maxLength: 20, lengthPenalty: .gnmt(alpha: 3))
        let best = try beamSearch(scorer, beamSize: 12, options: options)[0][0]
        XCTAssertEqual(best.tokens, Array(repeating: T.a, count: 10))
        XCTAssertEqual(best.tokens, exhaustiveSearch(scorer, source: 0, options: options)[0].tokens)
    }

    func testPrimeIsFedBeforeDecoding() throws {
        let table = scrambledTable(vocabularySize: 7)
        let prime = [T.c, T.a, T.d]
        let primed = TableScorer(vocabularySize: 7, sources: [(4, 1)], probabilities: table)
        // The same model already past the prime.
        let shifted = TableScorer(vocabularySize: 7, sources: [(4, 1)]) { key, prefix in table(key, prime + prefix) }
        let options = DecodingOptions(maxLength: 6)
        let withPrime = DecodingOptions(maxLength: 6, prime: prime)
        assertSame(try greedyDecode(primed, options: withPrime)[0], try greedyDecode(shifted, options: options)[0])
        let a = try beamSearch(primed, beamSize: 3, nBest: 3, options: withPrime)[0]
        let b = try beamSearch(shifted, beamSize: 3, nBest: 3, options: options)[0]
        for (x, y) in zip(a, b) { assertSame(x, y) }
        var r1 = RNG(seed: 5), r2 = RNG(seed: 5)
        let s1 = try sampleDecode(primed, samplesPerSource: 4, options: withPrime, rng: &r1)[0]
        let s2 = try sampleDecode(shifted, samplesPerSource: 4, options: options, rng: &r2)[0]
        for (x, y) in zip(s1, s2) { assertSame(x, y) }
    }

    func testBadArgumentsAndScorersThrow() {
        let scorer = handTable()
        XCTAssertThrowsError(try beamSearch(scorer, beamSize: 0))
        XCTAssertThrowsError(try beamSearch(scorer, beamSize: 2, nBest: 3))
        XCTAssertThrowsError(try greedyDecode(scorer, options: DecodingOptions(maxLength: -1)))
        XCTAssertThrowsError(try greedyDecode(scorer, options: DecodingOptions(prime: [99])))
        XCTAssertThrowsError(try beamSearch(scorer, beamSize: 2, options: DecodingOptions(lengthPenalty: .gnmt(alpha: .nan))))
        var rng = RNG(seed: 0)
        XCTAssertThrowsError(try sampleDecode(scorer, temperature: -1, rng: &rng))
        XCTAssertThrowsError(try sampleDecode(scorer, topK: -2, rng: &rng))
        XCTAssertThrowsError(try sampleDecode(scorer, samplesPerSource: 0, rng: &rng))

        // A table whose every token is impossible: a clear error, not a crash.
        let dead = T(vocabularySize: 6, table: [:], otherwise: [1, 1, 0, 0, 0, 0].map { $0 * Float.nan })
        XCTAssertThrowsError(try greedyDecode(dead)) { XCTAssertTrue("\($0)".contains("no token can be chosen")) }
        XCTAssertThrowsError(try beamSearch(dead, beamSize: 2)) { XCTAssertTrue("\($0)".contains("no token can be chosen")) }

        // A scorer returning the wrong shape.
        XCTAssertThrowsError(try greedyDecode(WrongShapeScorer())) { XCTAssertEqual(($0 as? RecurError)?.kind, .shape) }
        XCTAssertThrowsError(try beamSearch(WrongShapeScorer(), beamSize: 3)) { XCTAssertEqual(($0 as? RecurError)?.kind, .shape) }
    }

    func testNoSources() throws {
        let empty = TableScorer(vocabularySize: 6, sources: [], probabilities: scrambledTable(vocabularySize: 6))
        XCTAssertTrue(try greedyDecode(empty).isEmpty)
        XCTAssertTrue(try beamSearch(empty, beamSize: 3).isEmpty)
    }
}

/// Returns one column too few.
struct WrongShapeScorer: StepScorer {
    let vocabularySize = 5
    let specials = SpecialTokens(pad: 0, bos: 1, eos: 2)
    let sourceCount = 2
    func sourceLength(_ source: Int) -> Int { 1 }
    func initialState(sources: [Int]) throws -> Int { sources.count }
    func step(_ state: Int, tokens: [Int]) throws -> StepOutput<Int> {
        StepOutput(logProbs: Tensor(zeros: [state, vocabularySize - 1]), state: state)
    }
    func select(_ state: Int, rows: [Int]) throws -> Int { rows.count }
}
