import Foundation
import RecurCore
import RecurFrontends
import RecurModels
import RecurPipelines
import RecurTestSupport
import RecurTraining
import RecurModelTestSupport
import XCTest

/// Pipeline files: the checks before anything runs (with file, line and
/// column), and running stages in one process the way a shell pipe does.
final class PipelineTests: XCTestCase {
    /// A tiny random translation model whose output bias favours a few
    /// words (so that an untrained model writes words, not only </s>).
    static func translator(_ path: String, from: [String], to: [String], cell: Seq2SeqConfig.Cell, seed: UInt64) throws {
        let sv = TinyModels.vocabulary(.word, from), tv = TinyModels.vocabulary(.word, to)
        let config = ModelConfig(seq2seq: Seq2SeqConfig(sourceVocabularySize: sv.count, targetVocabularySize: tv.count,
                                                        embeddingSize: 6, hiddenSize: 8, cell: cell, attention: .general))
        let model = try config.makeModel()
        let store = ParameterStore(model.layout)
        var rng = RNG(seed: seed)
        model.initialize(store, rng: &rng)
        let bias = try XCTUnwrap(store.value("decoder.output.bias"))
        for i in 0..<tv.count { bias.data[i] = i >= 4 ? 2.5 * Float(Foundation.sin(Double(i) * 1.7 + Double(seed))) + 1 : 0 }
        bias.data[2] = -2   // </s>: reachable, not first
        try ModelFile.write(to: path, description: ModelDescription(task: .translate, config: config, sourceVocabulary: sv,
                                                                    targetVocabulary: tv, normalizer: TextNormalizer(lowercase: true)),
                            store: store)
    }

    static func englishToFrench(_ path: String) throws {
        try translator(path, from: TinyModels.english, to: TinyModels.french, cell: .gru, seed: 4)
    }

    static func frenchToEnglish(_ path: String) throws {
        try translator(path, from: TinyModels.french, to: TinyModels.english, cell: .lstm, seed: 11)
    }

    /// The error `Pipeline.parse` throws for `text`.
    func error(_ text: String, file: String = "p.yaml", env: [String: String] = [:]) -> String {
        do {
            _ = try Pipeline.parse(text, file: file, environment: env, executable: "/nonexistent/bin/recur")
            XCTFail("no error for:\n\(text)")
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testMalformedPipelinesGiveFileLineAndColumn() throws {
        let dir = try makeTempDir(self)
        let model = dir + "/en-fr.safetensors"
        try TinyModels.translate(model)
        let env = ["RECUR_MODELS": dir]

        let task = error("name: x\nstages:\n  - task: transcibe\n")
        XCTAssertTrue(task.hasPrefix("p.yaml:3:11: stage 1: unknown task transcibe; did you mean transcribe?"), task)
        for t in PipelineTask.names { XCTAssertTrue(task.contains(t), "the known tasks are listed: \(task)") }

        let option = error("stages:\n  - task: translate\n    model: \(model)\n    options:\n      beams: 5\n")
        XCTAssertTrue(option.hasPrefix("p.yaml:5:7: unknown option beams for translate in stage 1; did you mean beam?"), option)
        XCTAssertTrue(option.contains("max_length"), option)

        let value = error("stages:\n  - task: translate\n    model: \(model)\n    options: {beam: 0}\n")
        XCTAssertEqual(value, "p.yaml:4:21: stage 1 (translate): option beam must be a whole number ≥ 1, got 0")

        let kinds = error("stages:\n  - task: translate\n    model: en-fr\n  - task: caption\n    model: nowhere\n", env: env)
        XCTAssertEqual(kinds, "p.yaml:4:11: stage 2 (caption) reads images but stage 1 (translate) writes text")

        let missing = error("stages:\n  - task: translate\n    model: en-fr\n  - task: translate\n    model: fr-de\n", env: env)
        XCTAssertTrue(missing.hasPrefix("p.yaml:5:12: stage 2 (translate): no model: fr-de.safetensors was not found in \(dir)"), missing)
        // The default model is looked up in ./models too, where the shipped one is: look from an empty folder.
        let here = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir))
        let defaulted = error("stages:\n  - task: transcribe\n", env: env)
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(here))
        XCTAssertTrue(defaulted.hasPrefix("p.yaml:2:11: stage 1 (transcribe): no model: speech-en.safetensors was not found"), defaulted)
        let path = error("stages:\n  - task: translate\n    model: models/none.safetensors\n", file: dir + "/p.yaml")
        XCTAssertTrue(path.hasPrefix(dir + "/p.yaml:3:12: stage 1 (translate): no model file models/none.safetensors (looked for \(dir)/models/none.safetensors"), path)

        let yaml = error("stages:\n  - task: translate\n    options: {beam: 5\n")
        XCTAssertTrue(yaml.range(of: #"^p\.yaml:\d+:\d+: not valid YAML: "#, options: .regularExpression) != nil, yaml)
        XCTAssertFalse(yaml.contains("\n"), "one line: \(yaml)")

        let top = error("stage:\n  - task: translate\n")
        XCTAssertTrue(top.hasPrefix("p.yaml:1:1: unknown key stage at the top level; did you mean stages?"), top)
        XCTAssertTrue(error("stages: []\n").hasPrefix("p.yaml:1:9: stages is empty"))
        XCTAssertTrue(error("").contains("empty"))

        // A model made for another task is refused when the stages are built (before any input is read).
        try TinyModels.caption(dir + "/c.safetensors")
        let wrong = try Pipeline.parse("stages:\n  - task: translate\n    model: c\n", file: "p.yaml", environment: env,
                                       executable: "/nonexistent/bin/recur")
        XCTAssertThrowsError(try wrong.build()) { e in
            XCTAssertTrue("\(e)".hasPrefix("p.yaml:3:12: stage 1 (translate): \(dir)/c.safetensors: this is a caption model"), "\(e)")
        }

        // A good one loads, with the model found by name.
        let ok = try Pipeline.parse("name: t\ndescription: d\nstages:\n  - task: translate\n    model: en-fr\n    options: {beam: 2, max_length: 7}\n",
                                    file: "p.yaml", environment: env, executable: "/nonexistent/bin/recur")
        XCTAssertEqual(ok.steps.count, 1)
        XCTAssertEqual(ok.steps[0].modelPath, dir + "/en-fr.safetensors")
        XCTAssertEqual(ok.steps[0].int("beam"), 2)
        XCTAssertEqual(ok.inputKind, .text)
    }

    /// Two translate stages in one process give, record for record, what
    /// the two commands give chained through a real shell pipe (the first
    /// stage with the defaults of both, the second with options).
    func testTwoStagesInProcessEqualTheCommandsThroughAShellPipe() throws {
        guard let recur = RecurBinary.url?.path else { throw XCTSkip("the recur binary is not built") }
        let dir = try makeTempDir(self)
        let a = dir + "/a.safetensors", b = dir + "/b.safetensors"
        try Self.englishToFrench(a)
        try Self.frenchToEnglish(b)
        let input = dir + "/in.txt"
        try writeFile(input, "the cat sleeps\n\na dog runs now\nthe dog sleeps\na cat runs\n")
        let pipeline = try Pipeline.parse("""
            stages:
              - task: translate
                model: \(a)
              - task: translate
                model: \(b)
                options: {beam: 2, max_length: 9, nbest: 2}
            """, file: dir + "/p.yaml")
        let inProcess = try runToText(pipeline, inputs: [input], dir: dir)

        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "'\(recur)' translate --model '\(a)' --jsonl '\(input)' | '\(recur)' translate --model '\(b)' --beam 2 --max-length 9 --nbest 2 --jsonl"]
        let out = Pipe()
        shell.standardOutput = out
        try shell.run()
        let piped = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        shell.waitUntilExit()
        XCTAssertEqual(shell.terminationStatus, 0)

        let mine = inProcess.split(separator: "\n").map(String.init), theirs = piped.split(separator: "\n").map(String.init)
        XCTAssertEqual(mine.count, 5)
        XCTAssertEqual(mine, theirs)
        let r = try StageRecord(jsonLine: mine[2])
        XCTAssertEqual(r.source, StageSource(file: input, line: 3), mine[2])
        XCTAssertEqual(r.model, "b")
        XCTAssertEqual(r.history.count, 1)
        XCTAssertEqual(r.history[0]["model"], .string("a"))
        let all = try mine.map { try StageRecord(jsonLine: $0) }
        XCTAssertTrue(all.contains { $0.nbest?.count == 2 }, "stage 2's options reach it: \(mine)")
        XCTAssertGreaterThanOrEqual(all.filter { !$0.text.isEmpty && $0.history.first?["text"] != .string("") }.count, 3,
                                    "both stages wrote words: \(mine)")
    }

    /// Runs `pipeline` over `inputs` into a file in JSON Lines and returns the text.
    func runToText(_ pipeline: Pipeline, inputs: [String], dir: String, jobs: Int = 1, batchSize: Int? = nil,
                   log: @escaping (String) -> Void = { XCTFail("unexpected failure: \($0)") }) throws -> String {
        let path = dir + "/out-\(UUID().uuidString).jsonl"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let sink = try ResultSink(format: .jsonl, fd: fd)
        _ = try pipeline.run(inputs: inputs, sink: sink, jobs: jobs, batchSize: batchSize, log: log)
        close(fd)
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    func testJobsTwoEqualsJobsOneAndAFailedInputIsNamedInPlace() throws {
        let dir = try makeTempDir(self)
        try Self.englishToFrench(dir + "/en-fr.safetensors")
        try Self.frenchToEnglish(dir + "/fr-en.safetensors")
        try writeFile(dir + "/one.txt", "the cat sleeps\na dog runs\nthe dog sleeps\n")
        try writeFile(dir + "/two.txt", "a cat runs\n\nthe cat runs\n")
        try writeFile(dir + "/p.yaml", "stages:\n  - task: translate\n    model: en-fr.safetensors\n    options: {beam: 2, max_length: 6}\n"
                      + "  - task: translate\n    model: fr-en.safetensors\n    options: {max_length: 6}\n")
        let pipeline = try Pipeline.load(dir + "/p.yaml")
        let inputs = [dir + "/one.txt", dir + "/missing.txt", dir + "/two.txt"]
        let failures = Locked<[String]>([])
        let log: (String) -> Void = { line in failures.update { $0.append(line) } }
        let one = try runToText(pipeline, inputs: inputs, dir: dir, jobs: 1, batchSize: 1, log: log)
        XCTAssertEqual(failures.get().count, 1)
        XCTAssertTrue(failures.get()[0].hasPrefix(dir + "/missing.txt: "), failures.get()[0])
        let two = try runToText(pipeline, inputs: inputs, dir: dir, jobs: 2, batchSize: 1, log: log)
        let batched = try runToText(pipeline, inputs: inputs, dir: dir, jobs: 2, batchSize: 4, log: log)
        XCTAssertEqual(failures.get().count, 3)
        XCTAssertEqual(one.split(separator: "\n").count, 6)
        XCTAssertEqual(one, two)
        XCTAssertEqual(one.split(separator: "\n").map { try! StageRecord(jsonLine: String($0)).text },
                       batched.split(separator: "\n").map { try! StageRecord(jsonLine: String($0)).text })

        // Each model is loaded once, even when two stages name the same one.
        try writeFile(dir + "/twice.yaml", "stages:\n  - task: translate\n    model: en-fr.safetensors\n"
                      + "  - task: translate\n    model: en-fr.safetensors\n"
                      + "  - task: tokenize\n    model: en-fr.safetensors\n    options: {side: target}\n")
        let twice = try Pipeline.load(dir + "/twice.yaml")
        let stages = try twice.stages()
        let first = try XCTUnwrap(stages[0] as? TranslateStage), second = try XCTUnwrap(stages[1] as? TranslateStage)
        XCTAssertTrue(first.runner === second.runner, "one model file, loaded once")
        XCTAssertTrue(try twice.stages()[0] === stages[0], "built once")
        let tokens = try runToText(twice, inputs: [dir + "/one.txt"], dir: dir)
        let r = try StageRecord(jsonLine: String(tokens.split(separator: "\n")[0]))
        XCTAssertEqual(r.stage, "tokenize")
        XCTAssertEqual(r.history.count, 2)
        guard case .string(let french)? = r.history[1]["text"] else { return XCTFail("no text in history") }
        XCTAssertEqual(french.split(separator: " ").count, r.text.split(separator: " ").count, "\(french) → \(r.text)")
    }

    func testShowLineListsEveryStage() {
        let input = StageRecord(source: StageSource(file: "en.txt", line: 2), text: "hello world")
        let out = input.advanced(stage: "translate", model: "a", text: "bonjour le monde")
            .advanced(stage: "translate", model: "b", text: "hello the world")
        XCTAssertEqual(Pipeline.showLine(input: input, output: out), "en.txt:2 → 'hello world' → 'bonjour le monde' → 'hello the world'")
        let wav = StageRecord.media("samples/speech/en-1.wav")
        var t = wav.advanced(stage: "transcribe", model: "s", text: "hello world")
        t.start = 0
        t.end = 1.5
        let fr = t.advanced(stage: "translate", model: "t", text: "bonjour le monde")
        XCTAssertEqual(Pipeline.showLine(input: wav, output: fr), "samples/speech/en-1.wav → 'hello world' → 'bonjour le monde'")
    }

    /// The shipped pipeline files are well-formed; with the shipped models
    /// present they load completely.
    func testShippedPipelinesParse() throws {
        let folder = RecurBinary.packageRoot.appendingPathComponent("pipelines").path
        let models = RecurBinary.packageRoot.appendingPathComponent("models").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }.sorted()
        for required in ["speech-to-text", "speech-to-french", "caption", "caption-to-french", "translate-en-fr", "round-trip"] {
            XCTAssertTrue(files.contains(required + ".yaml"), "pipelines/\(required).yaml is shipped")
        }
        var missingModels: [String] = []
        for f in files {
            let path = folder + "/" + f
            do {
                let p = try Pipeline.load(path, environment: ["RECUR_MODELS": models], executable: "/nonexistent/bin/recur")
                XCTAssertFalse(p.description.isEmpty, "\(f) has a description")
                XCTAssertEqual(p.name + ".yaml", f)
            } catch let e as RecurError {
                // Only a model not trained yet may be missing.
                XCTAssertTrue(e.reason.contains("no model:"), "\(e)")
                if let name = e.reason.split(separator: " ").first(where: { $0.hasSuffix(".safetensors") }) {
                    missingModels.append("\(f): \(name)")
                }
            }
        }
        if !missingModels.isEmpty {
            throw XCTSkip("shipped models not trained yet (pipelines checked up to them): \(missingModels.joined(separator: ", "))")
        }
    }
}
