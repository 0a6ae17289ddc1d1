import Foundation
import RecurCore
import RecurFrontends
import RecurModels
import RecurTestSupport
import XCTest

/// Every shipped pipeline on the shipped samples gives the outputs recorded in
/// `samples/expected/` (made by `make expected` from the shipped models): the
/// text of each stage for each input, in order. Scores are left out (they
/// may differ in the last bits between a debug and a release build).
final class ExpectedSamplesTests: XCTestCase {
    static func inputs(_ pipeline: String, root: URL) throws -> [String] {
        func files(_ dir: String, _ prefix: String, _ ext: String) throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(dir).path)
                .filter { $0.hasPrefix(prefix) && $0.hasSuffix(ext) }.sorted().map { root.appendingPathComponent(dir + "/" + $0).path }
        }
        // The shipped speech model knows spoken digits: the speech pipelines run on the digit samples (as make demo).
        if pipeline.hasPrefix("speech-") { return try files("samples/speech", "digits-", ".wav") }
        // speech-en-sentences: the spoken sentences.
        if pipeline.hasPrefix("sentences-") { return try files("samples/speech", "en-", ".wav") }
        if pipeline.hasPrefix("caption") { return try files("samples/images", "", ".png") }
        if pipeline == "translate-fr-en" { return [root.appendingPathComponent("samples/text/fr.txt").path] }
        return [root.appendingPathComponent("samples/text/en.txt").path]
    }

    /// The texts of a record: its history's, oldest first, then its own; and its source file's name.
    static func texts(_ line: String) throws -> (file: String, texts: [String]) {
        guard case .object(let o) = try JSONValue.parse(line) else { throw NSError(domain: "not an object", code: 1) }
        var texts: [String] = []
        if case .array(let h)? = o["history"] {
            for item in h { if case .object(let r) = item, case .string(let t)? = r["text"] { texts.append(t) } }
        }
        if case .string(let t)? = o["text"] { texts.append(t) }
        var file = ""
        if case .object(let s)? = o["source"], case .string(let f)? = s["file"] { file = (f as NSString).lastPathComponent }
        return (file, texts)
    }

    /// vocab/ holds each shipped model's vocabularies exactly as the model does (`make vocab`).
    func testShippedVocabulariesMatchTheShippedModels() throws {
        let root = RecurBinary.packageRoot
        let models = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("models").path)
            .filter { $0.hasSuffix(".safetensors") }.sorted()
        XCTAssertFalse(models.isEmpty)
        for m in models {
            let name = String(m.dropLast(".safetensors".count))
            let d = try ModelFile.read(root.appendingPathComponent("models/" + m).path).description
            for (role, v) in [("source", d.sourceVocabulary), ("target", d.targetVocabulary)] {
                let file = root.appendingPathComponent("vocab/\(name).\(role).vocab").path
                guard let v else {
                    XCTAssertFalse(FileManager.default.fileExists(atPath: file), "\(file): \(m) has no \(role) vocabulary")
                    continue
                }
                let shipped = try Vocabulary.load(file, kind: v.kind)
                XCTAssertEqual(shipped.hash, v.hash, "\(file) is not \(m)'s \(role) vocabulary: run make vocab")
            }
        }
    }

    func testShippedPipelinesGiveTheExpectedOutputs() throws {
        let root = RecurBinary.packageRoot
        let expectedDir = root.appendingPathComponent("samples/expected")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: expectedDir.path)) ?? [])
            .filter { $0.hasSuffix(".jsonl") }.sorted()
        guard !names.isEmpty else { throw XCTSkip("samples/expected/ holds no outputs yet (make expected writes them from the shipped models)") }
        for name in names {
            let pipeline = String(name.dropLast(".jsonl".count))
            let pipelineFile = root.appendingPathComponent("pipelines/\(pipeline).yaml").path
            let expected = try String(contentsOfFile: expectedDir.appendingPathComponent(name).path, encoding: .utf8)
                .split(separator: "\n").map(String.init)
            let r = try RecurBinary.run(["run", pipelineFile, "--jsonl"] + (try Self.inputs(pipeline, root: root)))
            XCTAssertEqual(r.status, 0, "\(pipeline): \(r.stderr)")
            let got = r.stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(got.count, expected.count, "\(pipeline): \(got.count) records, expected \(expected.count)")
            for (g, e) in zip(got, expected) {
                let (gf, gt) = try Self.texts(g), (ef, et) = try Self.texts(e)
                XCTAssertEqual(gf, ef, "\(pipeline)")
                XCTAssertEqual(gt, et, "\(pipeline): \(gf)")
            }
        }
    }

    /// `recur transcribe --jsonl | recur translate --jsonl` through a real shell
    /// pipe gives the same records as the speech-to-french pipeline in one process.
    func testShellPipeEqualsThePipeline() throws {
        let root = RecurBinary.packageRoot
        for m in ["speech-en", "translate-en-fr"] where !FileManager.default.fileExists(atPath: root.appendingPathComponent("models/\(m).safetensors").path) {
            throw XCTSkip("models/\(m).safetensors is not shipped")
        }
        guard let exe = RecurBinary.url?.path else { throw XCTSkip("recur is not built") }
        let wavs = try Self.inputs("speech-to-french", root: root)
        let pipeline = try RecurBinary.run(["run", root.appendingPathComponent("pipelines/speech-to-french.yaml").path, "--jsonl"] + wavs)
        XCTAssertEqual(pipeline.status, 0, pipeline.stderr)
        let quoted = wavs.map { "'\($0)'" }.joined(separator: " ")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "'\(exe)' transcribe --jsonl \(quoted) | '\(exe)' translate --jsonl"]
        p.currentDirectoryURL = root
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let piped = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        let inProcess = pipeline.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(piped.count, wavs.count)
        XCTAssertEqual(piped.count, inProcess.count)
        for (a, b) in zip(piped, inProcess) {
            XCTAssertEqual(try JSONValue.parse(a), try JSONValue.parse(b), "shell pipe: \(a)\npipeline:   \(b)")
        }
    }
}
