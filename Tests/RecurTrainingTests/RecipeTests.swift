import Foundation
import RecurCore
import RecurModels
@testable import RecurTraining
import XCTest

final class RecipeTests: XCTestCase {
    let sample = """
        name: translate-en-fr-small
        task: translate
        seed: 7
        data:
          root: ../shared/data
          train: eng-fra/pairs.tsv
          max_source_words: 10
          max_target_words: 10
        vocab:
          source: {kind: word, size: 8000}
          target: {kind: word, size: 6000}
        model:
          cell: gru
          hidden: 256
          dropout: 0.2
        optimizer:
          lr: 2e-3
          eps: 1e-8
        training:
          max_epochs: 10
          validate_every: 500
        """

    private func parse(_ text: String, overrides: [String] = [], dataRoot: String? = nil) throws -> Recipe {
        try Recipe.parse(text, file: "recipes/x.yaml", overrides: overrides, dataRoot: dataRoot)
    }

    private func error(_ body: () throws -> Recipe) -> String {
        do {
            _ = try body()
            XCTFail("expected an error")
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testParsesValuesAndDefaults() throws {
        let r = try parse(sample)
        XCTAssertEqual(r.name, "translate-en-fr-small")
        XCTAssertEqual(r.task, .translate)
        XCTAssertEqual(r.seed, 7)
        XCTAssertEqual(r.data.train, "eng-fra/pairs.tsv")
        XCTAssertEqual(r.data.resolve("eng-fra/pairs.tsv"), "../shared/data/eng-fra/pairs.tsv")
        XCTAssertEqual(r.data.maxSourceWords, 10)
        XCTAssertNil(r.data.valid)
        XCTAssertEqual(r.data.validFraction, 0.05)
        XCTAssertEqual(r.vocab.target.size, 6000)
        XCTAssertEqual(r.vocab.target.minFrequency, 1)
        XCTAssertEqual(r.model.cell, .gru)
        XCTAssertEqual(r.model.embedding, 128)
        XCTAssertEqual(r.optimizer.lr, 0.002)
        XCTAssertEqual(r.optimizer.eps, 1e-8)
        XCTAssertEqual(r.optimizer.name, .adam)
        XCTAssertEqual(r.schedule.name, .constant)
        XCTAssertEqual(r.training.maxEpochs, 10)
        XCTAssertNil(r.training.maxSteps)
        XCTAssertEqual(r.training.metric, "bleu")  // the task's default
        XCTAssertEqual(r.output, "runs/translate-en-fr-small")
        XCTAssertEqual(r.threads, 2)

        let speech = try parse("task: transcribe\n")
        XCTAssertEqual(speech.training.metric, "wer")
        XCTAssertEqual(speech.name, "recipe")
    }

    func testSchemaMatchesStructs() throws {
        // Every section of the defaults has exactly the struct's coding keys.
        for (path, keys) in Recipe.structKeys {
            let node = path.isEmpty ? RecipeReader.defaultsTree : RecipeReader.node(at: path, in: RecipeReader.defaultsTree)
            let names = node?.mapping.map { Array($0.keys).compactMap { $0.string } } ?? []
            XCTAssertEqual(Set(names), Set(keys), "section \(path.isEmpty ? "(top)" : path)")
        }
    }

    func testUnknownKeyNamesLineAndColumn() {
        let text = """
            task: translate
            model:
              cell: gru
              hiden: 128
            """
        let message = error { try parse(text) }
        XCTAssertTrue(message.hasPrefix("recipes/x.yaml:4:3:"), message)
        XCTAssertTrue(message.contains("unknown key hiden in model"), message)
        XCTAssertTrue(message.contains("did you mean hidden"), message)

        let top = error { try parse("task: translate\noptimiser: {lr: 1}\n") }
        XCTAssertTrue(top.hasPrefix("recipes/x.yaml:2:1:"), top)
        XCTAssertTrue(top.contains("optimizer"), top)
    }

    func testWrongTypesNameTheValue() {
        let m = error { try parse("task: translate\ntraining:\n  max_steps: lots\n") }
        XCTAssertTrue(m.hasPrefix("recipes/x.yaml:3:14:"), m)
        XCTAssertTrue(m.contains("training.max_steps must be a whole number, got lots"), m)

        let e = error { try parse("task: translate\nmodel: {cell: gruu}\n") }
        XCTAssertTrue(e.contains("model.cell must be one of lstm, gru, got gruu"), e)
        XCTAssertTrue(e.hasPrefix("recipes/x.yaml:2:15:"), e)

        let s = error { try parse("task: translate\nmodel: 3\n") }
        XCTAssertTrue(s.contains("model is a section"), s)

        let t = error { try parse("seed: 1\n") }
        XCTAssertTrue(t.contains("must set task"), t)

        let n = error { try parse("task: translate\nmodel: {hidden: null}\n") }
        XCTAssertTrue(n.contains("model.hidden must have a value"), n)

        let bad = error { try parse("task: translate\nmodel: {dropout: 1.5}\n") }
        XCTAssertTrue(bad.contains("model.dropout must be in [0, 1)"), bad)
        XCTAssertTrue(bad.hasPrefix("recipes/x.yaml:2:18:"), bad)

        let twice = error { try parse("task: translate\ntask: caption\n") }
        XCTAssertTrue(twice.hasPrefix("recipes/x.yaml:") && twice.contains("task given twice"), twice)

        let flag = error { try parse("task: translate\nmodel: {bidirectional: maybe}\n") }
        XCTAssertTrue(flag.contains("model.bidirectional must be true or false, got maybe"), flag)

        let yaml = error { try parse("task: [translate\n") }
        XCTAssertTrue(yaml.hasPrefix("recipes/x.yaml:2:1: not valid YAML"), yaml)
    }

    func testOverridesAndProvenance() throws {
        let r = try parse(sample, overrides: ["training.max_steps=200", "model.hidden=128", "optimizer.name=sgd",
                                              "frontend.speed_perturb=[0.9, 1.0, 1.1]"],
                          dataRoot: "/data")
        XCTAssertEqual(r.training.maxSteps, 200)
        XCTAssertEqual(r.model.hidden, 128)
        XCTAssertEqual(r.optimizer.name, .sgd)
        XCTAssertEqual(r.frontend.speedPerturb, [0.9, 1.0, 1.1])
        XCTAssertEqual(r.data.root, "/data")
        XCTAssertEqual(r.provenance["training.max_steps"], .commandLine)
        XCTAssertEqual(r.provenance["model.cell"], .recipe)
        XCTAssertNil(r.provenance["model.embedding"])
        let report = r.provenanceReport()
        XCTAssertTrue(report.contains { $0.hasPrefix("training.max_steps = 200") && $0.hasSuffix("(--set)") }, "\(report)")
        XCTAssertTrue(report.contains { $0.hasPrefix("data.root = /data") && $0.hasSuffix("(--data-root)") }, "\(report)")
        XCTAssertTrue(report.contains { $0.hasPrefix("model.cell = gru") && $0.hasSuffix("(recipe)") }, "\(report)")
        XCTAssertFalse(report.contains { $0.hasPrefix("model.embedding") })
        XCTAssertTrue(r.provenanceReport(includeDefaults: true).contains { $0.hasPrefix("model.embedding = 128") && $0.hasSuffix("(default)") })

        let unknown = error { try parse(sample, overrides: ["training.max_step=5"]) }
        XCTAssertTrue(unknown.contains("--set training.max_step=5: unknown key training.max_step"), unknown)
        XCTAssertTrue(unknown.contains("training.max_steps"), unknown)
        let typed = error { try parse(sample, overrides: ["model.hidden=big"]) }
        XCTAssertTrue(typed.contains("--set model.hidden=big: model.hidden must be a whole number, got big"), typed)
        let list = error { try parse(sample, overrides: ["frontend.speed_perturb=fast"]) }
        XCTAssertTrue(list.contains("frontend.speed_perturb must be a list, got fast"), list)
        let section = error { try parse(sample, overrides: ["model=3"]) }
        XCTAssertTrue(section.contains("model is a section"), section)
        let noEquals = error { try parse(sample, overrides: ["model.hidden"]) }
        XCTAssertTrue(noEquals.contains("key=value"), noEquals)
    }

    func testEncodeYAMLRoundTrips() throws {
        let r = try parse(sample, overrides: ["training.max_steps=200", "frontend.speed_perturb=[0.9, 1.1]"])
        let yaml = try r.encodeYAML()
        XCTAssertTrue(yaml.contains("max_steps: 200"), yaml)
        XCTAssertTrue(yaml.contains("valid: null"), yaml)
        XCTAssertTrue(yaml.contains("eps: 1.0e-08") || yaml.contains("eps: 1e-08"), yaml)
        var back = try Recipe.parse(yaml, file: "saved", source: .resumed)
        XCTAssertEqual(back.provenance["model.cell"], .resumed)
        back.provenance = r.provenance
        back.file = r.file
        XCTAssertEqual(back, r)
        XCTAssertEqual(back.trainingHash, r.trainingHash)
        // Stopping rules do not change the training hash; the model does.
        XCTAssertEqual(try parse(sample, overrides: ["training.max_steps=5", "frontend.speed_perturb=[0.9, 1.1]"]).trainingHash, r.trainingHash)
        XCTAssertNotEqual(try parse(sample, overrides: ["model.hidden=64", "frontend.speed_perturb=[0.9, 1.1]"]).trainingHash, r.trainingHash)
    }

    func testLoadsFileAndOptions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("tiny-copy.yaml").path
        try "task: translate\nschedule: {name: step, decay_steps: 10, gamma: 0.5, warmup: 4}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try Recipe.load(path)
        XCTAssertEqual(r.name, "tiny-copy")
        XCTAssertEqual(r.file, path)
        let o = TrainingOptions(recipe: r)
        XCTAssertEqual(o.runDirectory?.path, "runs/tiny-copy")
        XCTAssertEqual(o.learningRate(step: 0, plateauRate: nil, lrScale: 1), 0.002 / 4, accuracy: 1e-12)
        XCTAssertEqual(o.learningRate(step: 4, plateauRate: nil, lrScale: 1), 0.002, accuracy: 1e-12)
        XCTAssertEqual(o.learningRate(step: 14, plateauRate: nil, lrScale: 1), 0.001, accuracy: 1e-12)
        XCTAssertEqual(o.learningRate(step: 14, plateauRate: nil, lrScale: 0.5), 0.0005, accuracy: 1e-12)
        // Far along, the rate stops at min_lr.
        XCTAssertEqual(o.learningRate(step: 10_000, plateauRate: nil, lrScale: 1), 1e-5, accuracy: 1e-12)
        XCTAssertThrowsError(try Recipe.load(dir.appendingPathComponent("missing.yaml").path)) { e in
            XCTAssertTrue("\(e)".contains("no such recipe file"))
        }
    }

    // MARK: training.scheduled_sampling and training.scheduled_sampling_ramp

    func testScheduledSamplingParsesAndRamps() throws {
        let defaults = try parse("task: translate\n")
        XCTAssertEqual(defaults.training.scheduledSampling, 0)
        XCTAssertEqual(defaults.training.scheduledSamplingRamp, 0)
        XCTAssertEqual(TrainingOptions(recipe: defaults).scheduledSamplingRate(step: 100), 0)

        let r = try parse("task: translate\ntraining:\n  scheduled_sampling: 0.25\n  scheduled_sampling_ramp: 4000\n")
        XCTAssertEqual(r.training.scheduledSampling, 0.25)
        XCTAssertEqual(r.training.scheduledSamplingRamp, 4000)
        XCTAssertEqual(r.provenance["training.scheduled_sampling"], .recipe)
        XCTAssertNotEqual(r.trainingHash, defaults.trainingHash)
        let o = TrainingOptions(recipe: r)
        XCTAssertEqual(o.scheduledSamplingRate(step: 0), 0)
        XCTAssertEqual(o.scheduledSamplingRate(step: 2000), 0.125, accuracy: 1e-7)
        XCTAssertEqual(o.scheduledSamplingRate(step: 4000), 0.25)
        XCTAssertEqual(o.scheduledSamplingRate(step: 90000), 0.25)

        let noRamp = TrainingOptions(recipe: try parse("task: caption\n", overrides: ["training.scheduled_sampling=0.1"]))
        XCTAssertEqual(noRamp.scheduledSamplingRate(step: 0), 0.1, accuracy: 1e-7)

        // Round trip through the written recipe.
        let back = try parse(try r.encodeYAML())
        XCTAssertEqual(back.training.scheduledSampling, 0.25)
        XCTAssertEqual(back.training.scheduledSamplingRamp, 4000)
    }

    func testScheduledSamplingRefusesBadValuesAndTasksWithoutADecoder() {
        let high = error { try parse("task: translate\ntraining: {scheduled_sampling: 1.0}\n") }
        XCTAssertTrue(high.contains("training.scheduled_sampling must be in [0, 1)"), high)
        let negative = error { try parse("task: transcribe\ntraining: {scheduled_sampling: -0.5}\n") }
        XCTAssertTrue(negative.contains("training.scheduled_sampling must be in [0, 1)"), negative)
        let ramp = error { try parse("task: translate\ntraining: {scheduled_sampling_ramp: -1}\n") }
        XCTAssertTrue(ramp.contains("training.scheduled_sampling_ramp must be ≥ 0"), ramp)
        for task in ["generate", "classify"] {
            let m = error { try parse("task: \(task)\ntraining: {scheduled_sampling: 0.2}\n") }
            XCTAssertTrue(m.contains("training.scheduled_sampling") && m.contains("encoder-decoder") && m.contains(task), m)
        }
        XCTAssertNoThrow(try parse("task: generate\ntraining: {scheduled_sampling: 0}\n"))
    }

    func testClassifyRecipeDefaultsToAccuracyAndReadsPooling() throws {
        let r = try parse("task: classify\nmodel: {pooling: max}\n")
        XCTAssertEqual(r.training.metric ?? Recipe.defaultMetric(for: r.task), "exact")
        XCTAssertEqual(r.model.pooling, .max)
        XCTAssertEqual(try parse("task: classify\n").model.pooling, .mean)
        XCTAssertEqual(try parse(try r.encodeYAML()).model.pooling, .max)
        let bad = error { try parse("task: classify\nmodel: {pooling: average}\n") }
        XCTAssertTrue(bad.contains("model.pooling") && bad.contains("mean, max, last"), bad)
    }
}
