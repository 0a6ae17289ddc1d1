import Foundation
import RecurCore
import RecurDecoding
import RecurTestSupport
import XCTest

final class SamplingTests: XCTestCase {
    typealias T = TableScorer

    /// One step: EOS .1, a .2, b .3, c .4, then EOS (maximum length 1).
    func oneStep(sources: Int = 1) -> TableScorer {
        TableScorer(vocabularySize: 6, sources: Array(repeating: (0, 1), count: sources)) { _, prefix in
            prefix.isEmpty ? [0, 0, 0.1, 0.2, 0.3, 0.4] : [0, 0, 1, 0, 0, 0]
        }
    }

    /// Frequencies of the first output token (EOS when empty) over many samples.
    func firstTokenFrequencies(temperature: Float = 1, topK: Int = 0, draws: Int, seed: UInt64) throws -> [Float] {
        var rng = RNG(seed: seed)
        let samples = try sampleDecode(oneStep(), temperature: temperature, topK: topK, samplesPerSource: draws,
                                       options: DecodingOptions(maxLength: 1), rng: &rng)[0]
        XCTAssertEqual(samples.count, draws)
        var counts = [Float](repeating: 0, count: 6)
        for s in samples { counts[s.tokens.first ?? T.eos] += 1 }
        return counts.map { $0 / Float(draws) }
    }

    func testFrequenciesMatchTheTable() throws {
        // 4000 draws: one standard deviation is at most √(.25/4000) ≈ .008; allow .03.
        let plain = try firstTokenFrequencies(draws: 4000, seed: 11)
        XCTAssertTrue(allClose(plain, [0, 0, 0.1, 0.2, 0.3, 0.4], rtol: 0, atol: 0.03), "\(plain)")

        // Temperature 0.5 squares the probabilities: .01, .04, .09, .16 over .30.
        let cold = try firstTokenFrequencies(temperature: 0.5, draws: 4000, seed: 12)
        XCTAssertTrue(allClose(cold, [0, 0, 0.01 / 0.3, 0.04 / 0.3, 0.09 / 0.3, 0.16 / 0.3], rtol: 0, atol: 0.03), "\(cold)")

        // Top-2 keeps c and b, renormalised: .4/.7 and .3/.7.
        let top2 = try firstTokenFrequencies(topK: 2, draws: 4000, seed: 13)
        XCTAssertTrue(allClose(top2, [0, 0, 0, 0, 0.3 / 0.7, 0.4 / 0.7], rtol: 0, atol: 0.03), "\(top2)")

        // Temperature 2 flattens: √p normalised.
        let hot = try firstTokenFrequencies(temperature: 2, draws: 4000, seed: 14)
        let roots = [0.1, 0.2, 0.3, 0.4].map { Float($0).squareRoot() }
        let z = roots.reduce(0, +)
        XCTAssertTrue(allClose(hot, [0, 0] + roots.map { $0 / z }, rtol: 0, atol: 0.03), "\(hot)")
    }

    func testSampleLogProbsAreTheModels() throws {
        var rng = RNG(seed: 2)
        let samples = try sampleDecode(oneStep(), temperature: 3, samplesPerSource: 50,
                                       options: DecodingOptions(maxLength: 1), rng: &rng)[0]
        let p: [Float] = [0, 0, 0.1, 0.2, 0.3, 0.4]
        for s in samples {
            let first = s.tokens.first ?? T.eos
            XCTAssertEqual(s.stepLogProbs[0], Foundation.log(p[first]), accuracy: 1e-5)
            XCTAssertEqual(s.logProb, s.stepLogProbs.reduce(0, +), accuracy: 1e-6)
            XCTAssertEqual(s.reachedMaxLength, !s.tokens.isEmpty)
        }
    }

    func testColdOrTopOneSamplingEqualsGreedy() throws {
        let scorer = TableScorer(vocabularySize: 7, sources: [(0, 2), (1, 3), (2, 1)], withAttention: true,
                                 probabilities: scrambledTable(vocabularySize: 7))
        let options = DecodingOptions(minLength: 1, maxLength: 7)
        let greedy = try greedyDecode(scorer, options: options)
        for (temperature, topK) in [(Float(1), 1), (0, 0), (1e-4, 0), (1e-4, 3)] {
            var rng = RNG(seed: 9)
            let samples = try sampleDecode(scorer, temperature: temperature, topK: topK, samplesPerSource: 3,
                                           options: options, rng: &rng)
            for s in 0..<3 {
                for h in samples[s] {
                    XCTAssertEqual(h.tokens, greedy[s].tokens, "T \(temperature) top-k \(topK)")
                    XCTAssertEqual(h.logProb, greedy[s].logProb, accuracy: 1e-6)
                    XCTAssertEqual(h.attention?.array, greedy[s].attention?.array)
                }
            }
        }
    }

    func testSameSeedSameSamples() throws {
        let scorer = TableScorer(vocabularySize: 8, sources: [(0, 1), (1, 1)],
                                 probabilities: scrambledTable(vocabularySize: 8, eosWeightScale: 0.3))
        let options = DecodingOptions(maxLength: 10)
        func draw(_ seed: UInt64, topK: Int = 0) throws -> [[Int]] {
            var rng = RNG(seed: seed)
            return try sampleDecode(scorer, temperature: 1.3, topK: topK, samplesPerSource: 10, options: options, rng: &rng)
                .joined().map(\.tokens)
        }
        XCTAssertEqual(try draw(42), try draw(42))
        XCTAssertEqual(try draw(42, topK: 3), try draw(42, topK: 3))
        XCTAssertNotEqual(try draw(42), try draw(43))
        // Samples of one source differ from each other (it is sampling, not a copy).
        XCTAssertGreaterThan(Set(try draw(42).prefix(10)).count, 1)
        // And the generator advances: the caller's next draws continue the stream.
        var rng = RNG(seed: 42)
        _ = try sampleDecode(scorer, samplesPerSource: 2, options: options, rng: &rng)
        XCTAssertNotEqual(rng, RNG(seed: 42))
    }
}
