import RecurCore
import RecurTraining
import XCTest

/// Small hand-checked cases of the metrics' building blocks and error paths.
final class MetricUnitTests: XCTestCase {
    func testNGramCountsAndClippedMatches() {
        var index = NGramIndex<Int>()
        let h = NGramCounts([1, 2, 1, 2, 1], maxOrder: 3, index: &index)
        XCTAssertEqual(h.length, 5)
        XCTAssertEqual(h.byOrder[0].values.sorted(), [2, 3])         // 1 ×3, 2 ×2
        XCTAssertEqual(h.byOrder[1].values.sorted(), [2, 2])         // (1 2) ×2, (2 1) ×2
        XCTAssertEqual(h.byOrder[2].values.sorted(), [1, 2])         // (1 2 1) ×2, (2 1 2) ×1
        XCTAssertEqual(h.total(order: 3), 3)
        XCTAssertEqual(index.count, 2 + 2 + 2)
        var r = NGramCounts([1, 2], maxOrder: 3, index: &index)
        XCTAssertEqual(index.count, 6, "n-grams already seen keep their ids")
        XCTAssertEqual(h.clippedMatches(in: r, order: 1), 2)   // min(3,1) + min(2,1)
        XCTAssertEqual(h.clippedMatches(in: r, order: 3), 0)
        r.formMaximum(NGramCounts([1, 1, 3], maxOrder: 3, index: &index))
        XCTAssertEqual(r.byOrder[0].values.sorted(), [1, 1, 2])  // 1 ×2, 2 ×1, 3 ×1
        XCTAssertEqual(h.clippedMatches(in: r, order: 1), 3)
        XCTAssertEqual(h.clippedMatches(in: r, order: 2), 1)
        var chars = NGramIndex<Unicode.Scalar>()
        let one = NGramCounts(Array("a".unicodeScalars), maxOrder: 4, index: &chars)
        XCTAssertEqual(one.byOrder.count, 4)
        XCTAssertTrue(one.byOrder[3].isEmpty)
        XCTAssertEqual(one.total(order: 4), 0)
        XCTAssertTrue(NGramCounts([Int](), maxOrder: 2, index: &index).byOrder.allSatisfy(\.isEmpty))
    }

    func testClosestReferenceLengthPrefersTheShorterOnATie() {
        XCTAssertEqual(BLEU.closestLength(to: 5, among: [7, 3]), 3)
        XCTAssertEqual(BLEU.closestLength(to: 5, among: [9, 6, 4]), 4)
        XCTAssertEqual(BLEU.closestLength(to: 5, among: [9, 6]), 6)
    }

    func testPerfectHypothesesScoreFull() throws {
        let lines = ["the cat sat on the mat", "a b c d e f"]
        XCTAssertEqual(try BLEU().corpusScore(hypotheses: lines, references: lines.map { [$0] }).score, 100, accuracy: 1e-9)
        XCTAssertEqual(try ChrF().corpusScore(hypotheses: lines, references: lines.map { [$0] }).score, 100, accuracy: 1e-9)
        XCTAssertEqual(try ErrorRate.wer(references: lines, hypotheses: lines).rate, 0)
        let bleu = try CaptionMetrics.bleu(hypotheses: lines, references: lines.map { [$0] })
        for b in bleu.bleu { XCTAssertEqual(b, 1, accuracy: 1e-6) }
    }

    func testCanonicallyEquivalentTokensDifferAsInPython() throws {
        // "é" precomposed and "e" + combining acute are equal Swift Strings but
        // different Python strings; the references count them as different.
        let s = try BLEU.sentence.sentenceScore(hypothesis: "caf\u{E9} noir", references: ["cafe\u{301} noir"])
        XCTAssertEqual(s.counts[0], 1)
        XCTAssertEqual(try ErrorRate.wer(references: ["cafe\u{301}"], hypotheses: ["caf\u{E9}"]).substitutions, 1)
    }

    func testAlignmentCounts() {
        // kitten → sitting: 2 substitutions and 1 insertion.
        let r = ErrorRate.align(reference: Array("kitten"), hypothesis: Array("sitting"))
        XCTAssertEqual(r.substitutions, 2)
        XCTAssertEqual(r.insertions, 1)
        XCTAssertEqual(r.deletions, 0)
        XCTAssertEqual(r.hits, 4)
        let d = ErrorRate.align(reference: [1, 2, 3], hypothesis: [Int]())
        XCTAssertEqual(d.deletions, 3)
        XCTAssertEqual(d.rate, 1)
    }

    func testAlignmentSplitsTiesAsJiwer() throws {
        // [hits, substitutions, deletions, insertions] from jiwer 4.0.0.
        for (r, h, expected) in [("a b", "b c", [0, 2, 0, 0]), ("x a b y", "x b c y", [2, 2, 0, 0]),
                                 ("the cat sat", "cat sat on", [2, 0, 1, 1])] {
            let w = try ErrorRate.wer(references: [r], hypotheses: [h])
            XCTAssertEqual([w.hits, w.substitutions, w.deletions, w.insertions], expected, "\(r) / \(h)")
        }
    }

    func testWordSplittingKeepsLoneTabsInsideWordsAsJiwer() {
        XCTAssertEqual(ErrorRate.words(" a\tb  c ").map { String(String.UnicodeScalarView($0)) }, ["a\tb", "c"])
    }

    func testMismatchedCountsAndMissingReferencesThrow() {
        XCTAssertThrowsError(try BLEU().corpusScore(hypotheses: ["a", "b"], references: [["a"]]))
        XCTAssertThrowsError(try BLEU().corpusScore(hypotheses: ["a"], references: [[]]))
        XCTAssertThrowsError(try ChrF().corpusScore(hypotheses: ["a"], references: [["a"], ["b"]]))
        XCTAssertThrowsError(try ErrorRate.wer(references: ["a"], hypotheses: []))
        XCTAssertThrowsError(try ErrorRate.cer(references: [], hypotheses: ["a"]))
        XCTAssertThrowsError(try CaptionMetrics.bleu(hypotheses: ["a"], references: [[]]))
        XCTAssertThrowsError(try CaptionMetrics.ciderD(hypotheses: ["a", "b"], references: [["a"]]))
    }

    func testVariableReferenceCountsGiveNrefsVar() throws {
        let s = try BLEU().corpusScore(hypotheses: ["a b", "c d"], references: [["a b"], ["c d", "c e"]])
        XCTAssertTrue(s.signature.hasPrefix("nrefs:var|"), s.signature)
        XCTAssertTrue(s.signature.hasSuffix("|version:\(MetricSignature.version)"), s.signature)
    }

    func testSmoothingSignatures() {
        XCTAssertEqual(BLEU(smoothing: .floor(0.1)).signature(nrefs: "1"),
                       "nrefs:1|case:mixed|eff:no|tok:13a|smooth:floor[0.10]|version:\(MetricSignature.version)")
        XCTAssertEqual(BLEU.Smoothing.addK(1).signature, "add-k[1.00]")
    }
}

/// TaskMetric, the by-name entry the training loop uses.
final class MetricTaskTests: XCTestCase {
    func testTaskMetricsAgreeWithTheDirectCalls() throws {
        let hyps = ["the cat sat on a mat", "hello world", "a b c d"]
        let refs = [["the cat sat on the mat"], ["hello there world"], ["a b c e"]]
        XCTAssertEqual(try TaskMetric(name: "BLEU").score(hypotheses: hyps, references: refs),
                       try BLEU().corpusScore(hypotheses: hyps, references: refs).score)
        XCTAssertEqual(try TaskMetric.chrfPlusPlus.score(hypotheses: hyps, references: refs),
                       try ChrF.plusPlus.corpusScore(hypotheses: hyps, references: refs).score)
        XCTAssertEqual(try TaskMetric.wer.score(hypotheses: hyps, references: refs), 3.0 / 13.0, accuracy: 1e-12)
        XCTAssertEqual(try TaskMetric.ciderD.score(hypotheses: hyps, references: refs),
                       try CaptionMetrics.ciderD(hypotheses: hyps, references: refs).score)
        XCTAssertThrowsError(try TaskMetric(name: "meteor"))
    }

    func testBetterDependsOnTheDirection() throws {
        XCTAssertTrue(TaskMetric.bleu.isBetter(30, than: 20))
        XCTAssertFalse(TaskMetric.wer.isBetter(0.3, than: 0.2))
        XCTAssertTrue(TaskMetric.cer.isBetter(0.1, than: 0.2))
        XCTAssertTrue(TaskMetric.ciderD.isBetter(0, than: nil))
        XCTAssertTrue(TaskMetric.bleu.signature(nrefs: 2).hasPrefix("nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|"))
        // Case-insensitive scoring (sacrebleu -lc) equals scoring lowercased text, and says so.
        XCTAssertTrue(TaskMetric.bleu.signature(nrefs: 1, lowercase: true).hasPrefix("nrefs:1|case:lc|"))
        XCTAssertTrue(TaskMetric.chrf.signature(nrefs: 1, lowercase: true).hasPrefix("nrefs:1|case:lc|"))
        let hyps = ["je suis content de te voir .", "il pleut à Paris"], refs = [["Je suis content de te voir ."], ["Il pleut à Paris."]]
        for m in [TaskMetric.bleu, .chrf, .chrfPlusPlus] {
            let lc = try m.score(hypotheses: hyps, references: refs, lowercase: true)
            let lowered = try m.score(hypotheses: hyps.map { $0.lowercased() }, references: refs.map { $0.map { $0.lowercased() } })
            XCTAssertEqual(lc, lowered, accuracy: 1e-9, m.rawValue)
            XCTAssertGreaterThan(lc, try m.score(hypotheses: hyps, references: refs), m.rawValue)
        }
    }
}
