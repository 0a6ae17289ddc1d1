import Foundation
import RecurCore
import RecurFrontends
import RecurModels
import RecurTestSupport
import RecurModelTestSupport
import XCTest

/// `recur run` as built: listing, checking, streaming through a pipe, failures.
final class RunCLITests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        guard RecurBinary.url != nil else { throw XCTSkip("the recur binary is not built") }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("recur-run-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func lines(_ s: String) -> [String] { s.split(separator: "\n", omittingEmptySubsequences: false).dropLast(s.hasSuffix("\n") ? 1 : 0).map(String.init) }

    /// Runs recur with extra environment variables.
    func recur(_ arguments: [String], env: [String: String] = [:], stdin: String = "") throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = RecurBinary.url!
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        inp.fileHandleForWriting.write(Data(stdin.utf8))
        try inp.fileHandleForWriting.close()
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    /// A two-stage pipeline file over tiny models: en→fr, then fr→en.
    func twoStagePipeline() throws -> String {
        try TinyModels.translate(dir + "/en-fr.safetensors")
        let sv = TinyModels.vocabulary(.word, ["le chat dort", "un chien court"])
        let tv = TinyModels.vocabulary(.word, ["the cat sleeps", "a dog runs"])
        let config = ModelConfig(seq2seq: Seq2SeqConfig(sourceVocabularySize: sv.count, targetVocabularySize: tv.count,
                                                        embeddingSize: 6, hiddenSize: 8, cell: .gru, attention: .general))
        try TinyModels.write(config, ModelDescription(task: .translate, config: config, sourceVocabulary: sv, targetVocabulary: tv,
                                                            normalizer: TextNormalizer(lowercase: true)),
                                   to: dir + "/fr-en.safetensors", seed: 5)
        let path = dir + "/two.yaml"
        try """
            name: two
            description: there and back
            stages:
              - task: translate
                model: en-fr.safetensors
                options: {beam: 2, max_length: 6}
              - task: translate
                model: fr-en.safetensors
                options: {max_length: 6}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testListShowsTheShippedPipelines() throws {
        let r = try recur(["run", "--list"], env: ["RECUR_PIPELINES": RecurBinary.packageRoot.appendingPathComponent("pipelines").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in ["speech-to-text", "speech-to-french", "caption", "caption-to-french", "translate-en-fr", "round-trip"] {
            XCTAssertTrue(lines(r.stdout).contains { $0.hasPrefix(name + " ") }, "\(name) listed:\n\(r.stdout)")
        }
        XCTAssertTrue(r.stdout.contains("English speech to French text"), r.stdout)
    }

    func testBadPipelineFilesAreRefusedBeforeAnythingRuns() throws {
        let path = dir + "/bad.yaml"
        try "stages:\n  - task: translate\n    model: nowhere.safetensors\n  - task: caption\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try recur(["run", path], stdin: "hello\n")
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(lines(r.stderr), ["\(path):4:11: stage 2 (caption) reads images but stage 1 (translate) writes text"])

        try "stages:\n  - task: translate\n    model: nowhere.safetensors\n".write(toFile: path, atomically: true, encoding: .utf8)
        let missing = try recur(["run", path, "--check"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.hasPrefix("\(path):3:12: stage 1 (translate): no model file nowhere.safetensors (looked for \(dir)/nowhere.safetensors"), missing.stderr)
        XCTAssertEqual(lines(missing.stderr).count, 1, missing.stderr)

        let name = try recur(["run", "no-such-pipeline"], env: ["RECUR_PIPELINES": dir])
        XCTAssertEqual(name.status, 2)
        XCTAssertTrue(name.stderr.contains("no pipeline no-such-pipeline: no-such-pipeline.yaml was not found in \(dir)"), name.stderr)
    }

    func testABadInputInTheMiddleIsNamedAndTheOthersGoOn() throws {
        let p = try twoStagePipeline()
        try "the cat sleeps\na dog runs\n".write(toFile: dir + "/a.txt", atomically: true, encoding: .utf8)
        try "the dog sleeps\n".write(toFile: dir + "/b.txt", atomically: true, encoding: .utf8)
        let r = try recur(["run", p, "--jsonl", dir + "/a.txt", dir + "/missing.txt", dir + "/b.txt"])
        XCTAssertEqual(r.status, 1)
        let out = lines(r.stdout)
        XCTAssertEqual(out.count, 3)
        XCTAssertTrue(out[2].contains("\"file\":\"\(dir)/b.txt\""), out[2])
        XCTAssertEqual(lines(r.stderr).filter { $0.contains("missing.txt") }.count, 1, r.stderr)

        let show = try recur(["run", p, "--show", dir + "/a.txt"])
        XCTAssertEqual(show.status, 0, show.stderr)
        let first = lines(show.stdout)[0]
        XCTAssertTrue(first.hasPrefix("\(dir)/a.txt:1 → 'the cat sleeps' → '"), first)
        XCTAssertEqual(first.components(separatedBy: " → ").count, 4, first)

        // --jobs 2 gives what --jobs 1 gives, record for record.
        let inputs = [dir + "/a.txt", dir + "/b.txt", dir + "/a.txt"]
        let one = try recur(["run", p, "--jsonl", "--batch-size", "1", "--jobs", "1"] + inputs)
        let two = try recur(["run", p, "--jsonl", "--batch-size", "1", "--jobs", "2"] + inputs)
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertEqual(lines(one.stdout).count, 5)
        XCTAssertEqual(one.stdout, two.stdout)
    }

    /// Audio and image pipelines: segments keep their times through a
    /// second stage; tokenize and features stages; a missing file fails alone.
    func testMediaPipelinesKeepTimesAndNameFailures() throws {
        try TinyModels.transcribe(dir + "/s.safetensors")
        try TinyModels.caption(dir + "/c.safetensors")
        try TinyModels.translate(dir + "/t.safetensors")
        try TinyModels.wav(dir + "/long.wav", tones: [1.0, 1.0, 1.0])
        try TinyModels.wav(dir + "/short.wav", tones: [0.5])
        try TinyModels.png(dir + "/a.png", left: true)
        try """
            stages:
              - task: transcribe
                model: s.safetensors
                options: {max_length: 5, max_segment: 1.25}
              - task: translate
                model: t.safetensors
                options: {max_length: 5, beam: 2}
            """.write(toFile: dir + "/speech.yaml", atomically: true, encoding: .utf8)
        let r = try recur(["run", dir + "/speech.yaml", "--jsonl", dir + "/long.wav", dir + "/missing.wav", dir + "/short.wav"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(lines(r.stderr).filter { $0.contains("missing.wav") }.count, 1, r.stderr)
        let records = try lines(r.stdout).map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertGreaterThanOrEqual(records.count, 3, r.stdout)
        let segments = records.filter { ($0["source"] as? [String: Any])?["file"] as? String == dir + "/long.wav" }
        XCTAssertGreaterThanOrEqual(segments.count, 2, r.stdout)
        for seg in segments {
            XCTAssertEqual(seg["stage"] as? String, "translate")
            XCTAssertEqual((seg["history"] as? [[String: Any]])?.first?["stage"] as? String, "transcribe")
            XCTAssertNotNil(seg["start"] as? Double)
            XCTAssertEqual((seg["source"] as? [String: Any])?["start"] as? Double, seg["start"] as? Double)
        }
        XCTAssertEqual(((records.last?["source"] as? [String: Any])?["file"] as? String), dir + "/short.wav")
        let show = try recur(["run", dir + "/speech.yaml", "--show", dir + "/long.wav"])
        XCTAssertEqual(show.status, 0, show.stderr)
        XCTAssertTrue(lines(show.stdout).allSatisfy { $0.hasPrefix(dir + "/long.wav [") && $0.components(separatedBy: " → ").count == 3 },
                      show.stdout)

        try """
            stages:
              - task: caption
                model: c.safetensors
                options: {max_length: 4}
              - task: tokenize
                model: t.safetensors
                options: {output: ids}
            """.write(toFile: dir + "/caption.yaml", atomically: true, encoding: .utf8)
        let c = try recur(["run", dir + "/caption.yaml", "--jsonl", dir + "/a.png"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let rec = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines(c.stdout)[0].utf8)) as? [String: Any])
        XCTAssertEqual(rec["stage"] as? String, "tokenize")
        XCTAssertTrue((rec["text"] as? String ?? "x").allSatisfy { $0.isNumber || $0 == " " }, c.stdout)

        try """
            stages:
              - task: features
                options: {input: image, grid: 2, size: 16, out_dir: \(dir)/features}
            """.write(toFile: dir + "/features.yaml", atomically: true, encoding: .utf8)
        let f = try recur(["run", dir + "/features.yaml", dir + "/a.png"])
        XCTAssertEqual(f.status, 0, f.stderr)
        XCTAssertEqual(lines(f.stdout), [dir + "/features/a.npy"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/features/a.npy"))
    }

    /// The first record comes out while the writer of the input is still
    /// writing (stdin still open): a FIFO consumer sees results as they are made.
    func testTheFirstRecordArrivesBeforeTheInputEnds() throws {
        let p = try twoStagePipeline()
        let proc = Process()
        proc.executableURL = RecurBinary.url!
        proc.arguments = ["run", p, "--jsonl"]
        let out = Pipe(), inp = Pipe()
        proc.standardOutput = out
        proc.standardInput = inp
        proc.standardError = FileHandle.nullDevice
        try proc.run()
        inp.fileHandleForWriting.write(Data("the cat sleeps\n".utf8))

        let firstLine = Locked<String?>(nil)
        let got = DispatchSemaphore(value: 0)
        let reader = out.fileHandleForReading
        DispatchQueue.global().async {
            var bytes = Data()
            while !bytes.contains(0x0A) {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                bytes += chunk
            }
            firstLine.set(String(decoding: bytes, as: UTF8.self))
            got.signal()
        }
        // A guard against hanging, not a timing: the line must come while stdin is open.
        let arrived = got.wait(timeout: .now() + 120) == .success
        XCTAssertTrue(arrived, "no record came out while the input was still open")
        let line = firstLine.get() ?? ""
        XCTAssertTrue(line.hasPrefix("{\"source\":{\"file\":\"<stdin>\",\"line\":1}"), line)
        inp.fileHandleForWriting.write(Data("a dog runs\n".utf8))
        try inp.fileHandleForWriting.close()
        let rest = reader.readDataToEndOfFile()
        proc.waitUntilExit()
        XCTAssertEqual(proc.terminationStatus, 0)
        XCTAssertEqual(lines(line + String(decoding: rest, as: UTF8.self)).count, 2)
    }
}

/// A value shared between threads in a test, behind a lock.
private final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
}
