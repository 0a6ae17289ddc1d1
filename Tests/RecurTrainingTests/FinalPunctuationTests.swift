import Foundation
import RecurCore
import RecurModels
@testable import RecurTraining
import XCTest

/// `data.drop_final_punctuation`: text sources lose their final `.`/`!`/`?`
/// in some batches, so that a translation model also learns unpunctuated input.
final class FinalPunctuationTests: XCTestCase {
    func data(_ p: Double) -> ExampleData {
        // 9 = ".", 8 = "?"; 5, 6, 7 are words.
        let d = ExampleData(sources: [.tokens([5, 6, 9]), .tokens([9]), .tokens([5, 7]), .tokens([6, 8])],
                            targets: [[4], [4], [4], [4]])
        d.finalPunctuationDrop = (p, [8, 9])
        return d
    }

    func tokens(_ b: SourceBatch) -> [[Int]] {
        guard case .tokens(let t) = b else { XCTFail("text batch"); return [] }
        return t
    }

    func testAlwaysNeverAndHalf() throws {
        var rng = RNG(seed: 1)
        XCTAssertEqual(tokens(try data(1).batch([0, 1, 2, 3], rng: &rng).sources), [[5, 6], [9], [5, 7], [6]],
                       "the last token goes only when it is final punctuation and not the only token")
        XCTAssertEqual(tokens(try data(0).batch([0, 1, 2, 3], rng: &rng).sources), [[5, 6, 9], [9], [5, 7], [6, 8]])
        let half = data(0.5)
        var dropped = 0
        for _ in 0..<400 where tokens(try half.batch([0], rng: &rng).sources)[0].count == 2 { dropped += 1 }
        XCTAssertTrue((150...250).contains(dropped), "\(dropped) of 400 dropped at p = 0.5")
        // Reproducible from the seed.
        var a = RNG(seed: 7), b = RNG(seed: 7)
        let x = (0..<20).map { _ in tokens(try! half.batch([0, 3], rng: &a).sources) }
        let y = (0..<20).map { _ in tokens(try! half.batch([0, 3], rng: &b).sources) }
        XCTAssertEqual(x, y)
    }

    func testSessionFindsThePunctuationTokensAndRecipesCheckTheField() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recur-punct-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = (0..<12).map { i in ["hello there.\tbonjour.", "who is it?\tqui est-ce ?", "run!\tcours !",
                                        "stop\tarrête"][i % 4] }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/pairs.tsv", atomically: true, encoding: .utf8)
        func recipe(_ task: String, _ p: String) throws -> Recipe {
            try Recipe.parse("""
            name: punct
            task: \(task)
            threads: 1
            output: \(dir)/run
            data: {root: \(dir), train: pairs.tsv, format: tsv, valid_count: 1, drop_final_punctuation: \(p)}
            model: {cell: gru, embedding: 8, hidden: 8, dropout: 0}
            training: {max_steps: 1, validate_every: 1, checkpoint_every: 1}
            """, file: dir + "/punct.yaml")
        }
        var log: [String] = []
        let session = try TrainingSession(recipe: try recipe("translate", "0.3"), log: { log.append($0) }, progress: .plain)
        let (p, ids) = try XCTUnwrap(session.task.train.finalPunctuationDrop)
        XCTAssertEqual(p, 0.3)
        let v = try XCTUnwrap(session.task.sourceVocabulary)
        XCTAssertEqual(Set(ids.map { v.tokens[$0] }), [".", "?", "!"], "the source pieces that end a sentence")
        XCTAssertTrue(log.contains { $0.contains("final punctuation (3 source tokens)") }, "\(log)")
        for (task, value, why) in [("translate", "1.5", "probability"), ("transcribe", "0.2", "text sources")] {
            XCTAssertThrowsError(try recipe(task, value)) { e in
                XCTAssertTrue("\(e)".contains("data.drop_final_punctuation") && "\(e)".contains(why), "\(e)")
            }
        }
    }
}
