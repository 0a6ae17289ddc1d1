import Foundation
import RecurCore
import RecurFrontends
import RecurModels
import RecurTestSupport
@testable import RecurTraining
import XCTest

/// `recur train`'s session end to end on a toy translation task: files in
/// the run directory, and resume from a checkpoint bit-identical to an
/// uninterrupted run (dropout on, same seed and threads).
final class TrainingSessionTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "recur-session-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rng = RNG(seed: 5)
        var lines: [String] = []
        let words = ["a", "b", "c", "d", "e"]
        for _ in 0..<60 {
            let src = (0..<(1 + rng.int(below: 4))).map { _ in words[rng.int(below: 5)] }
            lines.append(src.joined(separator: " ") + "\t" + src.reversed().map { $0.uppercased() }.joined(separator: " "))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/pairs.tsv", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func recipe(output: String, steps: Int) throws -> Recipe {
        let yaml = """
        name: toy
        task: translate
        seed: 3
        threads: 1
        output: \(output)
        data: {root: \(dir), train: pairs.tsv, valid_count: 6, valid_key: source}
        vocab: {source: {kind: word, size: 100, min_frequency: 1}, target: {kind: word, size: 100, min_frequency: 1}}
        model: {cell: lstm, embedding: 8, hidden: 12, dropout: 0.2}
        optimizer: {name: adam, lr: 0.01}
        training: {batch_tokens: 40, max_sentences: 8, max_steps: \(steps), validate_every: 5, checkpoint_every: 5,
                   keep_last: 3, log_every: 5, metric: bleu, label_smoothing: 0.1}
        """
        return try Recipe.parse(yaml, file: dir + "/toy.yaml")
    }

    func weights(_ path: String) throws -> [Float] {
        let (_, store) = try ModelFile.read(path).instantiate()
        return Array(UnsafeBufferPointer(start: store.values.data, count: store.values.count))
    }

    func testResumeIsBitIdentical() throws {
        var lines: [String] = []
        let straight = try TrainingSession(recipe: try recipe(output: dir + "/straight", steps: 20), log: { lines.append($0) },
                                           progress: .plain)
        _ = try straight.run()
        let first = try TrainingSession(recipe: try recipe(output: dir + "/split", steps: 10), log: { _ in }, progress: .plain)
        _ = try first.run()
        // Continue from the run directory's latest checkpoint (step 10) to step 20.
        let second = try TrainingSession(recipe: try recipe(output: dir + "/split", steps: 20), resume: dir + "/split",
                                         log: { _ in }, progress: .plain)
        _ = try second.run()
        let a = try weights(dir + "/straight/model.safetensors"), b = try weights(dir + "/split/model.safetensors")
        XCTAssertEqual(a.count, b.count)
        XCTAssertTrue(a == b, "resumed weights differ from the uninterrupted run's (max diff \(zip(a, b).map { abs($0 - $1) }.max() ?? 0))")
        // And the run did something: the weights moved from their initial values.
        let start = try TrainingSession(recipe: try recipe(output: dir + "/init", steps: 0), log: { _ in }, progress: .plain)
        XCTAssertNotEqual(Array(UnsafeBufferPointer(start: start.store.values.data, count: start.store.values.count)), a)
        for f in ["model.safetensors", "best.safetensors", "log.jsonl", "loss.png", "recipe.yaml", "checkpoint-20.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/straight/" + f), "missing \(f)")
        }
        XCTAssertTrue(lines.contains { $0.contains("split (source)") }, lines.joined(separator: "\n"))
    }

    /// `valid.tsv` in the run directory holds the held-out examples; read
    /// back as `recur evaluate` reads it, the best model scores exactly the
    /// validation figure the run recorded.
    func testValidationFileReproducesTheRecordedValidationFigure() throws {
        var r = try recipe(output: dir + "/run", steps: 60)
        r.training.metric = "chrf"   // BLEU of 1–4-word sentences is mostly 0
        _ = try TrainingSession(recipe: r, log: { _ in }, progress: .plain).run()
        let valid = try String(contentsOfFile: dir + "/run/valid.tsv", encoding: .utf8)
        let rows = valid.split(separator: "\n")
        let pairs = Set(try String(contentsOfFile: dir + "/pairs.tsv", encoding: .utf8).split(separator: "\n"))
        XCTAssertTrue(rows.allSatisfy { pairs.contains($0) }, valid)
        XCTAssertEqual(Set(rows.map { $0.split(separator: "\t")[0] }).count, 6, "valid_count: 6 distinct sources\n\(valid)")

        let runner = try ModelRunner(path: dir + "/run/best.safetensors")
        var spec = TaskDataSpec(task: .translate, train: [dir + "/run/valid.tsv"], format: .tsv)
        spec.valid = dir + "/run/valid.tsv"
        spec.validFraction = 0
        let d = runner.loaded.description
        let prepared = try TaskPreparation.prepare(spec, sourceVocabulary: nil, targetVocabulary: nil, lowercase: true, audio: nil,
                                                   image: nil, existing: (d.sourceVocabulary, d.targetVocabulary))
        let e = try TaskEvaluation.evaluate(runner.model, runner.store, data: prepared.validation, io: runner.io, metric: "chrf")
        let recorded = try XCTUnwrap(d.notes["best_chrf"].flatMap(Double.init))
        XCTAssertGreaterThan(recorded, 0, "the toy run learned something")
        XCTAssertEqual(Double(try XCTUnwrap(e.metric)), recorded, accuracy: 1e-4)
    }

    func testResumeWithWeightAveragingIsBitIdentical() throws {
        func averaging(_ r: Recipe) -> Recipe { var r = r; r.training.ema = 0.95; return r }
        _ = try TrainingSession(recipe: averaging(try recipe(output: dir + "/straight", steps: 20)), log: { _ in }, progress: .plain).run()
        _ = try TrainingSession(recipe: averaging(try recipe(output: dir + "/split", steps: 10)), log: { _ in }, progress: .plain).run()
        _ = try TrainingSession(recipe: averaging(try recipe(output: dir + "/split", steps: 20)), resume: dir + "/split",
                                log: { _ in }, progress: .plain).run()
        let straight = try ModelFile.read(dir + "/straight/checkpoint-20.safetensors")
        let split = try ModelFile.read(dir + "/split/checkpoint-20.safetensors")
        XCTAssertTrue(straight.hasTrainingWeights && split.hasTrainingWeights)
        // The parameters (the average) and the trained weights both match bit for bit.
        let a = try XCTUnwrap(try straight.averagedWeights()), b = try XCTUnwrap(try split.averagedWeights())
        XCTAssertTrue(Array(UnsafeBufferPointer(start: a.data, count: a.count)) == Array(UnsafeBufferPointer(start: b.data, count: b.count)),
                      "resumed averaged weights differ")
        let (_, trainedA) = try straight.instantiate(optimizer: true), (_, trainedB) = try split.instantiate(optimizer: true)
        let ta = Array(UnsafeBufferPointer(start: trainedA.values.data, count: trainedA.values.count))
        XCTAssertEqual(ta, Array(UnsafeBufferPointer(start: trainedB.values.data, count: trainedB.values.count)), "resumed trained weights differ")
        XCTAssertNotEqual(ta, Array(UnsafeBufferPointer(start: a.data, count: a.count)), "the average is not the trained weights")
        // The final model holds the average and no training state; decoding loads the average.
        let final = try ModelFile.read(dir + "/straight/model.safetensors")
        XCTAssertFalse(final.hasTrainingWeights)
        XCTAssertEqual(try weights(dir + "/straight/model.safetensors"), try weights(dir + "/straight/checkpoint-20.safetensors"))
        XCTAssertEqual(try weights(dir + "/straight/model.safetensors"), Array(UnsafeBufferPointer(start: a.data, count: a.count)))
    }

    func testCheckpointsDecodeAndMismatchIsRefused() throws {
        _ = try TrainingSession(recipe: try recipe(output: dir + "/run", steps: 5), log: { _ in }, progress: .plain).run()
        let runner = try ModelRunner(path: dir + "/run/checkpoint-5.safetensors", task: .translate)
        let h = try runner.decode([try runner.prepare("a b")], settings: DecodeSettings())
        XCTAssertEqual(h.count, 1)
        // A recipe with another model cannot resume this checkpoint.
        var r = try recipe(output: dir + "/run", steps: 10)
        r.model.hidden = 16
        XCTAssertThrowsError(try TrainingSession(recipe: r, resume: dir + "/run", log: { _ in })) { e in
            XCTAssertTrue("\(e)".contains("differs"), "\(e)")
        }
        XCTAssertThrowsError(try ModelRunner(path: dir + "/run/checkpoint-5.safetensors", task: .caption)) { e in
            XCTAssertTrue("\(e)".contains("recur translate"), "\(e)")
        }
    }
    /// `data.media_root`: a caption list whose PNGs live in another folder
    /// (as `../shared/data/captions/`: `captions.tsv` beside `images/`).
    func testMediaRootFindsImagesOutsideTheListsFolder() throws {
        try FileManager.default.createDirectory(atPath: dir + "/pics", withIntermediateDirectories: true)
        var rows: [String] = []
        for (i, name) in ["red", "green", "blue"].enumerated() {
            var px = [UInt8](repeating: 100, count: 8 * 8 * 3)
            for k in stride(from: i, to: px.count, by: 3) { px[k] = 250 }
            try PNGWriter.write(path: dir + "/pics/\(name).png", width: 8, height: 8, rgb: px)
            rows += ["\(name).png\ta \(name) picture", "\(name).png\tsomething \(name)"]
        }
        try (rows.joined(separator: "\n") + "\n").write(toFile: dir + "/captions.tsv", atomically: true, encoding: .utf8)
        func recipe(_ media: String?) throws -> Recipe {
            try Recipe.parse("""
            task: caption
            threads: 1
            output: \(dir)/run
            data: {root: \(dir), train: captions.tsv, valid_count: 1, valid_key: source\(media.map { ", media_root: " + $0 } ?? "")}
            vocab: {target: {kind: word, size: 50, min_frequency: 1}}
            frontend: {image: {grid: 2, size: 8}}
            model: {cell: gru, embedding: 8, hidden: 8}
            training: {batch_tokens: 40, max_steps: 2, validate_every: 2, log_every: 1}
            """, file: dir + "/c.yaml")
        }
        let session = try TrainingSession(recipe: try recipe("pics"), log: { _ in }, progress: .plain)
        XCTAssertEqual(session.task.train.sources.count, 4, "two images' captions train, the third image validates")
        XCTAssertEqual(session.task.validation.references.map(\.count), [2])
        _ = try session.run()
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/run/model.safetensors"))
        // The held-out image's captions, with its absolute path, as `recur evaluate --data` reads them.
        let valid = try String(contentsOfFile: dir + "/run/valid.tsv", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(valid.count, 2, "\(valid)")
        let image = try XCTUnwrap(valid.first?.split(separator: "\t").first.map(String.init))
        XCTAssertTrue(image.hasPrefix(dir + "/pics/") && FileManager.default.fileExists(atPath: image), image)
        // Without it the PNGs are looked for beside the list, and the error names the first missing one.
        XCTAssertThrowsError(try TrainingSession(recipe: try recipe(nil), log: { _ in }, progress: .plain)) { e in
            XCTAssertTrue("\(e)".contains("red.png"), "\(e)")
        }
        XCTAssertThrowsError(try Recipe.parse("task: translate\ndata: {media_root: pics}\n", file: "t.yaml")) { e in
            XCTAssertTrue("\(e)".contains("data.media_root is for audio or image lists"), "\(e)")
        }
    }
}
