import Foundation
import RecurCore
import RecurFrontends
import RecurModels
import RecurTestSupport
import XCTest

/// `recur inspect` on model files written by `ModelFile.write`.
final class InspectCLITests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("recur-inspect-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    static let source = Vocabulary(kind: .word, tokens: ["le", "chat", "dort"])
    static let target = Vocabulary(kind: .char, tokens: ["a", "b", "c", "d"])
    static let training = #"{"step":1200,"epoch":3,"best":{"metric":"bleu","value":27.5},"rng":[1,2,3,4]}"#

    /// A small translation checkpoint (with Adam moments) at DIR/m.safetensors.
    func writeModel(float16: Bool = false) throws -> (path: String, parameters: Int) {
        let config = ModelConfig(seq2seq: Seq2SeqConfig(sourceVocabularySize: Self.source.count, targetVocabularySize: Self.target.count,
                                                        embeddingSize: 4, hiddenSize: 5, cell: .gru, attention: .general))
        let model = try config.makeModel()
        let store = ParameterStore(model.layout)
        var rng = RNG(seed: 3)
        model.initialize(store, rng: &rng)
        let description = ModelDescription(task: .translate, config: config, sourceVocabulary: Self.source,
                                           targetVocabulary: Self.target, normalizer: TextNormalizer(lowercase: true),
                                           notes: ["recipe": "toy-recipe"])
        let path = dir + "/m.safetensors"
        try ModelFile.write(to: path, description: description, store: store, training: Self.training,
                            includeOptimizer: true, float16: float16)
        return (path, store.parameterCount)
    }

    func testInspectPrintsTheModel() throws {
        let (path, parameters) = try writeModel()
        let r = try RecurBinary.run(["inspect", path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = r.stdout
        for expected in ["recur-model-1", "translate", "seq2seq, text source: 1-layer bidirectional GRU encoder, GRU decoder with general attention, input feeding",
                         "hidden size", "image RNN", "parameters", "stored F32", "Adam moments included",
                         "word, 7 tokens, \(Self.source.hash)", "char, 8 tokens, \(Self.target.hash)",
                         "nfc-lower-v1", "step", "1200", "epoch", #"{"metric":"bleu","value":27.5}"#, "toy-recipe"] {
            XCTAssertTrue(out.contains(expected), "inspect lacks '\(expected)':\n\(out)")
        }
        let count = out.split(separator: "\n").first { $0.hasPrefix("parameters") }
        XCTAssertTrue(count?.contains(groupedDigits(parameters)) == true, "\(String(describing: count)) vs \(parameters)")
        XCTAssertFalse(out.contains("decoder.output.weight"), "tensors are listed only with --tensors")

        let t = try RecurBinary.run(["inspect", path, "--tensors"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stdout.contains("decoder.output.weight"), t.stdout)
        XCTAssertTrue(t.stdout.contains("optimizer.exp_avg_sq.decoder.output.bias"), t.stdout)
    }

    func testInspectJSON() throws {
        let (path, parameters) = try writeModel(float16: true)
        let r = try RecurBinary.run(["inspect", path, "--json", "--tensors"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.filter { $0 == "\n" }.count, 1, "one JSON object on one line")
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(o["task"] as? String, "translate")
        XCTAssertEqual(o["format"] as? String, "recur-model-1")
        XCTAssertEqual(o["storage"] as? String, "F16")
        XCTAssertEqual(o["parameter_count"] as? Int, parameters)
        XCTAssertEqual(o["optimizer_state"] as? Bool, true)
        XCTAssertGreaterThan(o["file_bytes"] as? Int ?? 0, 2 * parameters)
        let config = try XCTUnwrap(o["config"] as? [String: Any])
        XCTAssertEqual(config["kind"] as? String, "seq2seq")
        XCTAssertEqual((config["seq2seq"] as? [String: Any])?["hiddenSize"] as? Int, 5)
        let source = try XCTUnwrap(o["source_vocabulary"] as? [String: Any])
        XCTAssertEqual(source["size"] as? Int, 7)
        XCTAssertEqual(source["hash"] as? String, Self.source.hash)
        let training = try XCTUnwrap(o["training"] as? [String: Any])
        XCTAssertEqual(training["step"] as? Int, 1200)
        XCTAssertEqual((training["best"] as? [String: Any])?["metric"] as? String, "bleu")
        XCTAssertEqual((o["notes"] as? [String: String])?["recipe"], "toy-recipe")
        let tensors = try XCTUnwrap(o["tensors"] as? [[String: Any]])
        XCTAssertTrue(tensors.contains { $0["name"] as? String == "decoder.output.bias" && $0["dtype"] as? String == "F16" })
        XCTAssertTrue(tensors.contains { $0["name"] as? String == "optimizer.exp_avg.decoder.output.bias" && $0["dtype"] as? String == "F32" })
    }

    func testVocabExtractWritesTheModelsVocabularies() throws {
        let (path, _) = try writeModel()
        let out = dir + "/vocab"
        let r = try RecurBinary.run(["vocab", "extract", path, "--out-dir", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        for (role, v) in [("source", Self.source), ("target", Self.target)] {
            let file = out + "/m.\(role).vocab"
            let back = try Vocabulary.load(file)
            XCTAssertEqual(back.tokens, v.tokens, role)
            XCTAssertEqual(back.hash, v.hash, "\(role): the same content hash as the model's")
            XCTAssertTrue(r.stdout.contains("\(file)\t\(v.kind.rawValue)\t\(v.count)\t\(v.hash)"), r.stdout)
        }
        // A missing model is named; the others are still written; exit 1.
        let bad = try RecurBinary.run(["vocab", "extract", dir + "/nope.safetensors", path, "--out-dir", dir + "/v2"])
        XCTAssertEqual(bad.status, 1, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("nope.safetensors"), bad.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/v2/m.source.vocab"))
    }

    func testInspectRefusesABadFile() throws {
        let path = dir + "/not-a-model.safetensors"
        try Data("just text".utf8).write(to: URL(fileURLWithPath: path))
        let r = try RecurBinary.run(["inspect", path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stdout.isEmpty, r.stdout)
        XCTAssertTrue(r.stderr.contains(path), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)")
    }
}

/// 1234567 → "1,234,567" (as inspect prints counts).
private func groupedDigits(_ n: Int) -> String {
    let digits = String(n)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return out
}
