import Foundation
import RecurTraining
import XCTest

/// Recur's metrics against the numbers sacrebleu 2.6.0, jiwer 4.0.0 and
/// pycocoevalcap 1.2 give on the same inputs (scripts/make_metric_fixtures.py).
final class MetricFixtureTests: XCTestCase {
    struct TextCase: Decodable {
        struct BLEUFigures: Decodable {
            let score: Double
            let counts: [Int]
            let totals: [Int]
            let precisions: [Double]
            let bp: Double
            let sys_len: Int
            let ref_len: Int
            let signature: String
            let formatted: String
        }
        struct ChrFFigures: Decodable {
            let score: Double
            let signature: String
            let name: String
        }
        struct Errors: Decodable {
            let wer: Double?
            let cer: Double?
            let hits: Int
            let substitutions: Int
            let deletions: Int
            let insertions: Int
        }
        let name: String
        let hyps: [String]
        /// Reference streams, as sacrebleu takes them: refs[k][i] is reference k of segment i.
        let refs: [[String]]
        let bleu: BLEUFigures
        let sentence_bleu: [Double]
        let chrf: ChrFFigures
        let chrf_pp: ChrFFigures
        let sentence_chrf: [Double]
        let tokens_13a: [String]
        let lines_13a: [String]
        let wer: Errors
        let cer: Errors

        /// references[i]: the references of segment i.
        var perSegment: [[String]] { hyps.indices.map { i in refs.map { $0[i] } } }
    }
    struct JiwerEdge: Decodable {
        let refs: [String]
        let hyps: [String]
        let wer: Double
        let cer: Double
    }
    struct TextFixture: Decodable {
        let sacrebleu_version: String
        let jiwer_version: String
        let cases: [TextCase]
        let jiwer_edges: [JiwerEdge]
    }
    struct CaptionCase: Decodable {
        let name: String
        let hyps: [String]
        let refs: [[String]]
        let bleu: [Double]
        let bleu_per_image: [[Double]]
        let cider: Double
        let cider_per_image: [Double]
    }
    struct PTBExample: Decodable {
        let raw: String
        let tokens: String
    }
    struct CaptionFixture: Decodable {
        let pycocoevalcap_version: String
        let ptb_tokenized: [PTBExample]
        let cases: [CaptionCase]
    }

    static func load<T: Decodable>(_ name: String, as: T.Type) throws -> T {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    /// sacrebleu's signature with our version field in place of its version.
    func ours(_ sacrebleuSignature: String) -> String {
        sacrebleuSignature.replacingOccurrences(of: "version:\(MetricSignature.sacrebleuVersion)",
                                                with: "version:\(MetricSignature.version)")
    }

    func testFixtureVersionsAreTheOnesWeName() throws {
        let text = try Self.load("metrics_text.json", as: TextFixture.self)
        XCTAssertEqual(text.sacrebleu_version, MetricSignature.sacrebleuVersion)
        XCTAssertEqual(text.jiwer_version, MetricSignature.jiwerVersion)
        let caption = try Self.load("metrics_caption.json", as: CaptionFixture.self)
        XCTAssertEqual(caption.pycocoevalcap_version, MetricSignature.pycocoevalcapVersion)
        XCTAssertGreaterThanOrEqual(text.cases.count, 8)
    }

    func testTokenizer13aMatchesSacrebleu() throws {
        for c in try Self.load("metrics_text.json", as: TextFixture.self).cases {
            for (line, expected) in zip(c.lines_13a, c.tokens_13a) {
                XCTAssertEqual(Tokenizer13a.tokenize(line), expected, "\(c.name): \(line.debugDescription)")
            }
        }
    }

    func testCorpusBLEUMatchesSacrebleu() throws {
        for c in try Self.load("metrics_text.json", as: TextFixture.self).cases {
            let s = try BLEU().corpusScore(hypotheses: c.hyps, references: c.perSegment)
            XCTAssertEqual(s.score, c.bleu.score, accuracy: 0.01, c.name)
            XCTAssertEqual(s.counts, c.bleu.counts, c.name)
            XCTAssertEqual(s.totals, c.bleu.totals, c.name)
            XCTAssertEqual(s.hypothesisLength, c.bleu.sys_len, c.name)
            XCTAssertEqual(s.referenceLength, c.bleu.ref_len, c.name)
            XCTAssertEqual(s.brevityPenalty, c.bleu.bp, accuracy: 1e-9, c.name)
            for (p, q) in zip(s.precisions, c.bleu.precisions) { XCTAssertEqual(p, q, accuracy: 1e-9, c.name) }
            XCTAssertEqual(s.signature, ours(c.bleu.signature), c.name)
            XCTAssertEqual(s.formatted(width: 1), ours(c.bleu.formatted), c.name)
        }
    }

    func testSentenceBLEUMatchesSacrebleu() throws {
        for c in try Self.load("metrics_text.json", as: TextFixture.self).cases {
            for (i, expected) in c.sentence_bleu.enumerated() {
                let s = try BLEU.sentence.sentenceScore(hypothesis: c.hyps[i], references: c.perSegment[i])
                XCTAssertEqual(s.score, expected, accuracy: 0.01, "\(c.name) line \(i)")
            }
        }
    }

    func testChrFMatchesSacrebleu() throws {
        for c in try Self.load("metrics_text.json", as: TextFixture.self).cases {
            let s = try ChrF().corpusScore(hypotheses: c.hyps, references: c.perSegment)
            XCTAssertEqual(s.score, c.chrf.score, accuracy: 0.01, c.name)
            XCTAssertEqual(s.name, c.chrf.name)
            XCTAssertEqual(s.signature, ours(c.chrf.signature), c.name)
            let pp = try ChrF.plusPlus.corpusScore(hypotheses: c.hyps, references: c.perSegment)
            XCTAssertEqual(pp.score, c.chrf_pp.score, accuracy: 0.01, c.name)
            XCTAssertEqual(pp.name, c.chrf_pp.name)
            XCTAssertEqual(pp.signature, ours(c.chrf_pp.signature), c.name)
            for (i, expected) in c.sentence_chrf.enumerated() {
                let one = try ChrF().sentenceScore(hypothesis: c.hyps[i], references: c.perSegment[i])
                XCTAssertEqual(one.score, expected, accuracy: 0.01, "\(c.name) line \(i)")
            }
        }
    }

    func testWERAndCERMatchJiwer() throws {
        let fixture = try Self.load("metrics_text.json", as: TextFixture.self)
        for c in fixture.cases {
            let first = c.refs[0]
            let w = try ErrorRate.wer(references: first, hypotheses: c.hyps)
            XCTAssertEqual(w.rate, c.wer.wer!, accuracy: 1e-9, c.name)
            XCTAssertEqual([w.hits, w.substitutions, w.deletions, w.insertions],
                           [c.wer.hits, c.wer.substitutions, c.wer.deletions, c.wer.insertions], c.name)
            let ch = try ErrorRate.cer(references: first, hypotheses: c.hyps)
            XCTAssertEqual(ch.rate, c.cer.cer!, accuracy: 1e-9, c.name)
            XCTAssertEqual([ch.hits, ch.substitutions, ch.deletions, ch.insertions],
                           [c.cer.hits, c.cer.substitutions, c.cer.deletions, c.cer.insertions], c.name)
        }
        for e in fixture.jiwer_edges {
            XCTAssertEqual(try ErrorRate.wer(references: e.refs, hypotheses: e.hyps).rate, e.wer, accuracy: 1e-9, "\(e.refs)")
            XCTAssertEqual(try ErrorRate.cer(references: e.refs, hypotheses: e.hyps).rate, e.cer, accuracy: 1e-9, "\(e.refs)")
        }
    }

    func testCaptionBLEUMatchesPycocoevalcap() throws {
        for c in try Self.load("metrics_caption.json", as: CaptionFixture.self).cases {
            let s = try CaptionMetrics.bleu(hypotheses: c.hyps, references: c.refs)
            XCTAssertEqual(s.bleu.count, 4)
            for k in 0..<4 { XCTAssertEqual(s.bleu[k], c.bleu[k], accuracy: 1e-6, "\(c.name) BLEU-\(k + 1)") }
            for (i, expected) in c.bleu_per_image.enumerated() {
                for k in 0..<4 { XCTAssertEqual(s.perImage[i][k], expected[k], accuracy: 1e-6, "\(c.name) image \(i) BLEU-\(k + 1)") }
            }
        }
    }

    func testCIDErDMatchesPycocoevalcap() throws {
        for c in try Self.load("metrics_caption.json", as: CaptionFixture.self).cases {
            let s = try CaptionMetrics.ciderD(hypotheses: c.hyps, references: c.refs)
            XCTAssertEqual(s.score, c.cider, accuracy: 1e-6, c.name)
            for (i, expected) in c.cider_per_image.enumerated() {
                XCTAssertEqual(s.perImage[i], expected, accuracy: 1e-6, "\(c.name) image \(i)")
            }
        }
    }

    func testCocoTokenizeMatchesThePTBTokenizerOnCaptions() throws {
        let fixture = try Self.load("metrics_caption.json", as: CaptionFixture.self)
        XCTAssertGreaterThanOrEqual(fixture.ptb_tokenized.count, 20)
        for e in fixture.ptb_tokenized {
            XCTAssertEqual(CaptionMetrics.cocoTokenize(e.raw), e.tokens, e.raw)
            // Tokenized text goes through unchanged.
            XCTAssertEqual(CaptionMetrics.cocoTokenize(e.tokens), e.tokens, e.tokens)
        }
    }
}
