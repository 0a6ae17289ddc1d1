import Foundation
import RecurCore
import RecurFrontends
import RecurModels
import RecurTestSupport
@testable import RecurTraining
import XCTest

/// `task: classify` from a recipe: the label vocabulary, the model the
/// recipe builds, training to full validation accuracy on a toy sentiment
/// task, and ranking through `ModelRunner.classify`.
final class ClassifyTrainingTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "recur-classify-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Sentences of filler words; `pos` and `neg` ones hold one cue word
    /// somewhere, `neutral` ones none: the label needs the whole sentence read.
    static func toySentiment(count: Int, seed: UInt64) -> [String] {
        var rng = RNG(seed: seed)
        let pos = ["good", "great", "lovely"], neg = ["bad", "awful", "poor"]
        let filler = ["the", "a", "day", "film", "was", "is", "very", "so", "and", "it", "food", "we"]
        let labels = ["pos", "neg", "neutral"]
        return (0..<count).map { _ in
            let label = labels[rng.int(below: 3)]
            var words = (0..<(2 + rng.int(below: 6))).map { _ in filler[rng.int(below: filler.count)] }
            if label != "neutral" {
                let cues = label == "pos" ? pos : neg
                words.insert(cues[rng.int(below: cues.count)], at: rng.int(below: words.count + 1))
            }
            return words.joined(separator: " ") + "\t" + label
        }
    }

    func write(_ lines: [String], _ name: String) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
    }

    func recipe(steps: Int, pooling: String = "mean", extra: String = "") throws -> Recipe {
        let yaml = """
        name: sentiment
        task: classify
        seed: 2
        threads: 1
        output: \(dir)/run
        data: {root: \(dir), train: train.tsv, valid_count: 60}
        vocab: {source: {kind: word, size: 100, min_frequency: 1}}
        model: {cell: gru, embedding: 16, hidden: 16, dropout: 0.0, pooling: \(pooling)}
        optimizer: {name: adam, lr: 0.01}
        training: {batch_tokens: 400, max_sentences: 32, max_steps: \(steps), validate_every: \(steps), checkpoint_every: \(steps),
                   label_smoothing: 0, log_every: 50\(extra)}
        """
        return try Recipe.parse(yaml, file: dir + "/sentiment.yaml")
    }

    func testTrainsToFullValidationAccuracyAndRanksLabels() throws {
        try write(Self.toySentiment(count: 600, seed: 4), "train.tsv")
        for pooling in ["mean", "max"] {
            let session = try TrainingSession(recipe: try recipe(steps: 200, pooling: pooling), log: { _ in }, progress: .plain)
            XCTAssertEqual(session.description.task, .classify)
            let labels = Array(session.task.targetVocabulary!.tokens.dropFirst(4))
            XCTAssertEqual(Set(labels), ["pos", "neg", "neutral"])
            let summary = try session.run()
            XCTAssertEqual(summary.bestMetric ?? 0, 100, accuracy: 0.01, "\(pooling) pooling: validation accuracy")

            // The saved model ranks labels for new sentences; log-probabilities fall and sum to at most 1.
            let runner = try ModelRunner(path: dir + "/run/best.safetensors", task: .classify)
            let sentences = ["the film was lovely", "the food was awful", "we and the day"]
            let ranked = try runner.classify(try sentences.map(runner.prepare), top: 3)
            XCTAssertEqual(ranked.map { $0[0].label }, ["pos", "neg", "neutral"], "\(pooling): \(ranked)")
            for row in ranked {
                XCTAssertEqual(Set(row.map(\.label)), ["pos", "neg", "neutral"])
                XCTAssertTrue(zip(row, row.dropFirst()).allSatisfy { $0.logProb >= $1.logProb }, "\(row)")
                XCTAssertLessThanOrEqual(row.map { exp(Double($0.logProb)) }.reduce(0, +), 1.0001)
            }
            // Evaluation on a fresh set through the same path as `recur evaluate`.
            let fresh = Self.toySentiment(count: 100, seed: 99)
            let validation = ValidationData(
                sources: try fresh.map { try runner.prepare(String($0.split(separator: "\t")[0])) },
                references: fresh.map { [String($0.split(separator: "\t")[1])] },
                targets: fresh.map { runner.io.targetIds(String($0.split(separator: "\t")[1])) }, origins: fresh.map { _ in "x" })
            let e = try TaskEvaluation.evaluate(runner.model, runner.store, data: validation, io: runner.io, metric: "exact")
            XCTAssertGreaterThanOrEqual(e.metric ?? 0, 97, "\(pooling): accuracy on unseen sentences")
            XCTAssertEqual(e.tokens, 100, "one loss term per example")
            try FileManager.default.removeItem(atPath: dir + "/run")
        }
    }

    func testUntrainedModelIsNotAccurate() throws {
        // The same check as above on a model that has not learned: the accuracy test can fail.
        try write(Self.toySentiment(count: 600, seed: 4), "train.tsv")
        let session = try TrainingSession(recipe: try recipe(steps: 1), log: { _ in }, progress: .plain)
        let summary = try session.run()
        XCTAssertLessThan(summary.bestMetric ?? 0, 80)
    }

    func testLabelVocabularyOrderAndRefusals() throws {
        let rows = ["a\tb", "c\ta", "d\tb", "e\t c ", "f\tc"].enumerated().map { i, r in
            Example(source: String(r.split(separator: "\t")[0]), target: String(r.split(separator: "\t", omittingEmptySubsequences: false)[1]),
                    id: "\(i)", file: "t.tsv", line: i + 1)
        }
        // Most frequent first, ties in code-point order; white space around a label is trimmed.
        let v = try TaskPreparation.labelVocabulary(rows)
        XCTAssertEqual(v.tokens, Vocabulary.specials + ["b", "c", "a"])
        func refusal(_ target: String) -> String {
            do {
                _ = try TaskPreparation.labelVocabulary(rows + [Example(source: "x", target: target, id: "9", file: "t.tsv", line: 9)])
                return ""
            } catch { return "\(error)" }
        }
        let spaced = refusal("very good")
        XCTAssertTrue(spaced.contains("t.tsv:9") && spaced.contains("white space") && spaced.contains("very_good"), spaced)
        XCTAssertTrue(refusal("<unk>").contains("reserved"), refusal("<unk>"))
        XCTAssertTrue(refusal("  ").contains("empty"), refusal("  "))
        XCTAssertThrowsError(try TaskPreparation.labelVocabulary([rows[0], rows[2]])) { e in
            XCTAssertTrue("\(e)".contains("at least 2 classes"), "\(e)")
        }
    }

    func testMediaListsAreRefused() throws {
        try write(["a.wav\tone", "b.wav\ttwo"], "list.tsv")
        for format in ["manifest", "captions", "fsdd"] {
            var r = try recipe(steps: 1)
            r.data.format = format
            r.data.train = "list.tsv"
            XCTAssertThrowsError(try TrainingSession(recipe: r, log: { _ in }, progress: .plain)) { e in
                XCTAssertTrue("\(e)".contains("classify reads text<TAB>label lines"), "\(format): \(e)")
            }
        }
    }

    func testLabelsMapToClassIdsAndBack() throws {
        let labels = Vocabulary(kind: .word, tokens: ["Pos", "neg"])
        let io = try TaskIO(task: .classify, sourceVocabulary: Vocabulary(kind: .word, tokens: ["x"]), targetVocabulary: labels,
                            normalizer: TextNormalizer(lowercase: true), audio: nil, image: nil)
        XCTAssertEqual(io.targetIds(" Pos\n"), [4], "labels are trimmed but never lowercased")
        XCTAssertEqual(io.targetIds("pos"), [Vocabulary.unk], "an unknown label is <unk>")
        XCTAssertEqual(io.text([5]), "neg")
        XCTAssertEqual(io.text([4, 5]), "", "a class is one id")
        XCTAssertEqual(io.normalizedReference(" Pos "), "Pos")
    }
}
