import Foundation
import RecurCore
import RecurFrontends
import RecurLayers
import RecurModels
import RecurTestSupport
@testable import RecurTraining
import XCTest

/// One tiny model per modality, trained on data the test makes, until it
/// decodes its whole training set exactly (task data → model → greedy decode
/// → metric, the same path as `recur train` and `recur evaluate`).
final class TaskTrainingTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "recur-task-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Full-batch Adam until exact match on the training set (checked every 20 steps).
    func trainUntilExact(_ config: Seq2SeqConfig, _ task: PreparedTask, maxSteps: Int, lr: Float = 0.01,
                         file: StaticString = #filePath, line: UInt = #line) throws -> (steps: Int, exact: Double) {
        let model = try Seq2Seq(config: config)
        let store = ParameterStore(model.layout)
        var rng = RNG(seed: 3)
        model.initialize(store, rng: &rng)
        var adam = Adam(learningRate: lr)
        let all = Array(0..<task.train.count)
        // The training set as a validation set: every reference of each source.
        let asValidation = ValidationData(sources: task.train.sources, references: task.train.targets.map { [task.io.text($0)] },
                                          targets: task.train.targets, origins: all.map(String.init))
        var exact = 0.0
        for step in 1...maxSteps {
            store.zeroGrads()
            let (sources, targets) = try task.train.batch(all, rng: &rng)
            _ = try model.loss(store, sources: sources, targets: targets, training: true, labelSmoothing: 0, backward: true, rng: &rng)
            _ = GradientClipping.clipGlobalNorm(store, maxNorm: 5)
            adam.step(store)
            if step % 20 == 0 {
                exact = try TaskEvaluation.evaluate(model, store, data: asValidation, io: task.io, metric: "exact").metric!
                if exact == 100 { return (step, exact) }
            }
        }
        return (maxSteps, exact)
    }

    func testSourcesAreBatchedShortestFirst() {
        let sources: [PreparedSource] = [[1, 2, 3], [1], [4, 5], [6], [7, 8, 9, 10]].map { .tokens($0) }
        // Lengths 3 1 2 1 4: shortest first, ties in index order, at most 2 a batch (0 counts as 1).
        XCTAssertEqual(sources.batchesByLength(2), [[1, 3], [2, 0], [4]])
        XCTAssertEqual(sources.batchesByLength(0), [[1], [3], [2], [0], [4]])
        XCTAssertEqual(sources.batchesByLength(10), [[1, 3, 2, 0, 4]])
        XCTAssertEqual([PreparedSource]().batchesByLength(4), [])
    }

    func testTextToySubstitutionLanguage() throws {
        // Target: each source word mapped to another word, order reversed.
        let map = ["a": "x", "b": "y", "c": "z", "d": "w"]
        var rng = RNG(seed: 1)
        var lines: [String] = []
        for _ in 0..<16 {
            let n = 1 + rng.int(below: 3)
            let src = (0..<n).map { _ in ["a", "b", "c", "d"][rng.int(below: 4)] }
            lines.append(src.joined(separator: " ") + "\t" + src.reversed().map { map[$0]! }.joined(separator: " "))
        }
        let path = dir + "/pairs.tsv"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        var spec = TaskDataSpec(task: .translate, train: [path], format: .tsv)
        spec.validFraction = 0
        let task = try TaskPreparation.prepare(spec, sourceVocabulary: nil, targetVocabulary: nil, lowercase: true,
                                               audio: nil, image: nil)
        // Word pieces keep their leading space (▁a after a space, a at the start): 4 specials + 8.
        XCTAssertEqual(task.sourceVocabulary?.count, 12, "\(task.sourceVocabulary!.tokens)")
        let cfg = Seq2SeqConfig(sourceVocabularySize: task.sourceVocabulary!.count,
                                targetVocabularySize: task.targetVocabulary!.count, embeddingSize: 8, hiddenSize: 16, cell: .gru)
        let r = try trainUntilExact(cfg, task, maxSteps: 300)
        XCTAssertEqual(r.exact, 100, "after \(r.steps) steps")
    }

    func testImageColouredSquares() throws {
        // A 16×16 picture: one coloured square on the left or the right half.
        let colours: [(String, [UInt8])] = [("red", [220, 30, 30]), ("green", [30, 200, 40]), ("blue", [30, 40, 220])]
        var rows: [String] = []
        for (name, rgb) in colours {
            for side in ["left", "right"] {
                var px = [UInt8](repeating: 128, count: 16 * 16 * 3)
                for y in 4..<12 { for x in (side == "left" ? 1..<8 : 8..<15) { for c in 0..<3 { px[(y * 16 + x) * 3 + c] = rgb[c] } } }
                let file = "\(name)-\(side).png"
                try PNGWriter.write(path: dir + "/" + file, width: 16, height: 16, rgb: px)
                rows.append("\(file)\ta \(name) square on the \(side)")
            }
        }
        try (rows.joined(separator: "\n") + "\n").write(toFile: dir + "/captions.tsv", atomically: true, encoding: .utf8)
        var spec = TaskDataSpec(task: .caption, train: [dir + "/captions.tsv"], format: .captions)
        spec.validFraction = 0
        let task = try TaskPreparation.prepare(spec, sourceVocabulary: nil, targetVocabulary: nil, lowercase: true,
                                               audio: nil, image: GridFeatureConfig(grid: 2, size: 16))
        guard case .features(let f) = task.train.sources[0] else { return XCTFail("image sources are features") }
        XCTAssertEqual(f.shape, [5, GridFeatures.dimension])
        let cfg = Seq2SeqConfig(sourceVocabularySize: 1, targetVocabularySize: task.targetVocabulary!.count, embeddingSize: 8,
                                hiddenSize: 16, cell: .lstm, attention: .general, source: .image,
                                inputFeatureSize: GridFeatures.dimension)
        let r = try trainUntilExact(cfg, task, maxSteps: 300)
        XCTAssertEqual(r.exact, 100, "after \(r.steps) steps")
    }

    func testSpeechEspeakWords() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/espeak-ng") else {
            throw XCTSkip("espeak-ng is not installed (make deps installs it)")
        }
        var rows = ["path\ttranscript"]
        for (i, word) in ["yes", "no", "stop"].enumerated() {
            for (j, voice) in ["en", "en-us"].enumerated() {
                let file = "w\(i)-\(j).wav"
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/espeak-ng")
                p.arguments = ["-v", voice, "-s", "160", "-w", dir + "/" + file, word]
                try p.run()
                p.waitUntilExit()
                XCTAssertEqual(p.terminationStatus, 0)
                rows.append("\(file)\t\(word)")
            }
        }
        try (rows.joined(separator: "\n") + "\n").write(toFile: dir + "/transcripts.tsv", atomically: true, encoding: .utf8)
        var spec = TaskDataSpec(task: .transcribe, train: [dir + "/transcripts.tsv"], format: .manifest)
        spec.validFraction = 0
        var audio = AudioPreset.recur.config(nMels: 20)
        audio.trimSilenceDB = nil
        let task = try TaskPreparation.prepare(spec, sourceVocabulary: nil, targetVocabulary: nil, lowercase: true,
                                               audio: audio, image: nil)
        XCTAssertEqual(task.targetVocabulary?.kind, .char)
        let cfg = Seq2SeqConfig(sourceVocabularySize: 1, targetVocabularySize: task.targetVocabulary!.count, embeddingSize: 8,
                                hiddenSize: 16, encoderLayers: 2, cell: .gru, attention: .general, source: .speech,
                                inputFeatureSize: audio.dimension, pyramidLayers: 1)
        let r = try trainUntilExact(cfg, task, maxSteps: 300)
        XCTAssertEqual(r.exact, 100, "after \(r.steps) steps")
    }

    func testExactMetricAndBadData() throws {
        XCTAssertEqual(try TaskMetric.exact.score(hypotheses: ["a b", "c"], references: [["x", "a  b"], ["d"]]), 50)
        let path = dir + "/bad.tsv"
        try "only one column\n".write(toFile: path, atomically: true, encoding: .utf8)
        let spec = TaskDataSpec(task: .translate, train: [path], format: .tsv)
        XCTAssertThrowsError(try TaskPreparation.prepare(spec, sourceVocabulary: nil, targetVocabulary: nil, lowercase: true,
                                                         audio: nil, image: nil)) { e in
            XCTAssertTrue("\(e)".contains("bad.tsv"), "\(e)")
        }
    }
}
