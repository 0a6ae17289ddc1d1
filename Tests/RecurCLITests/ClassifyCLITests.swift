import Foundation
import RecurModelTestSupport
import RecurTestSupport
import XCTest

/// A text classifier end to end through the built binary: `recur train`
/// with `task: classify`, then `recur classify` (lines, blank lines, JSON
/// Lines with --top, a wrong model), `recur evaluate`, `recur inspect` and a
/// pipeline's classify stage.
final class ClassifyCLITests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("recur-classify-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Language identification of toy words: `en` lines use one alphabet of
    /// words, `fr` lines another, `mixed` lines both.
    func writeData() throws {
        var lines: [String] = []
        let en = ["the", "cat", "sleeps", "dog", "runs", "and"], fr = ["le", "chat", "dort", "chien", "court", "et"]
        var state: UInt64 = 7
        func next(_ n: Int) -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) % n }
        for _ in 0..<400 {
            let label = ["en", "fr", "mixed"][next(3)]
            var words = (0..<(2 + next(4))).map { _ in label == "fr" ? fr[next(6)] : en[next(6)] }
            if label == "mixed" { words[next(words.count)] = fr[next(6)] }
            lines.append(words.joined(separator: " ") + "\t" + label)
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/lang.tsv", atomically: true, encoding: .utf8)
        try """
        name: lang
        task: classify
        seed: 1
        threads: 1
        output: \(dir)/run
        data: {root: \(dir), train: lang.tsv, valid_count: 40}
        vocab: {source: {kind: word, size: 50, min_frequency: 1}}
        model: {cell: lstm, embedding: 8, hidden: 12, dropout: 0.0, pooling: max}
        optimizer: {name: adam, lr: 0.02}
        training: {batch_tokens: 300, max_sentences: 32, max_steps: 120, validate_every: 60, checkpoint_every: 60, label_smoothing: 0}

        """.write(toFile: dir + "/lang.yaml", atomically: true, encoding: .utf8)
    }

    func testTrainClassifyEvaluateInspectAndPipeline() throws {
        try writeData()
        let train = try RecurBinary.run(["train", dir + "/lang.yaml"])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stderr.contains("exact 100"), train.stderr)
        let model = dir + "/run/best.safetensors"

        let input = "the cat sleeps\n\nle chien court\nthe dog court\n"
        let plain = try RecurBinary.run(["classify", "--model", model], stdin: input)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(plain.stdout, "en\n\nfr\nmixed\n")

        let jsonl = try RecurBinary.run(["classify", "--model", model, "--jsonl", "--top", "2"], stdin: "le chat dort\n")
        XCTAssertEqual(jsonl.status, 0, jsonl.stderr)
        let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(jsonl.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(record["text"] as? String, "fr")
        XCTAssertEqual(record["stage"] as? String, "classify")
        let nbest = try XCTUnwrap(record["nbest"] as? [[String: Any]])
        XCTAssertEqual(nbest.count, 2)
        XCTAssertEqual(nbest[0]["text"] as? String, "fr")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(nbest[0]["score"] as? Double), try XCTUnwrap(nbest[1]["score"] as? Double))

        // Another task's model: one line naming the file and the command that runs it, exit 2.
        let translate = dir + "/t.safetensors"
        try TinyModels.translate(translate)
        let wrong = try RecurBinary.run(["classify", "--model", translate], stdin: "the cat\n")
        XCTAssertEqual(wrong.status, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("t.safetensors") && wrong.stderr.contains("recur translate"), wrong.stderr)
        XCTAssertEqual(wrong.stderr.split(separator: "\n").count, 1, wrong.stderr)

        let evaluate = try RecurBinary.run(["evaluate", "--model", model, "--data", dir + "/lang.tsv"])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        XCTAssertTrue(evaluate.stdout.range(of: #"exact\s+100(\.0+)?\s"#, options: .regularExpression) != nil, evaluate.stdout)

        let inspect = try RecurBinary.run(["inspect", model])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("task                  classify"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.range(of: #"labels\s+3: (en|fr|mixed), (en|fr|mixed), (en|fr|mixed)"#, options: .regularExpression) != nil,
                      inspect.stdout)

        // The same stage in a pipeline, after nothing: same labels.
        try """
        name: lang
        stages:
          - task: classify
            model: run/best.safetensors
            options: {top: 2}

        """.write(toFile: dir + "/lang-pipeline.yaml", atomically: true, encoding: .utf8)
        let run = try RecurBinary.run(["run", dir + "/lang-pipeline.yaml"], stdin: input)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, plain.stdout)
    }

    func testClassifyWithoutAModelOrWithAnotherTasksModelIsRefused() throws {
        let none = try RecurBinary.run(["classify"], stdin: "x\n")
        XCTAssertEqual(none.status, 64, none.stderr)   // ArgumentParser's usage error: --model is required
        XCTAssertTrue(none.stderr.contains("--model"), none.stderr)
        try """
        name: x
        stages:
          - task: classify

        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let check = try RecurBinary.run(["run", dir + "/p.yaml", "--check"])
        XCTAssertEqual(check.status, 2, check.stderr)
        XCTAssertTrue(check.stderr.contains("p.yaml:3:11: stage 1 (classify): classify needs a model"), check.stderr)
    }
}
