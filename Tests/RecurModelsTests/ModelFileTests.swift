import Foundation
import RecurCore
import RecurFrontends
@testable import RecurModels
import RecurTestSupport
import XCTest

/// Model files: round trips, atomic writes, and every refusal naming the file
/// and the reason.
final class ModelFileTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("recur-modelfile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    // MARK: - Fixtures

    static let source = Vocabulary(kind: .word, tokens: ["le", "chat", "noir", "dort"])       // 8 with the specials
    static let target = Vocabulary(kind: .word, tokens: ["the", "cat", "black", "sleeps", "a"]) // 9

    static func config(hidden: Int = 6) -> ModelConfig {
        ModelConfig(seq2seq: Seq2SeqConfig(sourceVocabularySize: source.count, targetVocabularySize: target.count,
                                           embeddingSize: 4, hiddenSize: hidden))
    }

    static func description(task: ModelTask = .translate) -> ModelDescription {
        ModelDescription(task: task, config: config(), sourceVocabulary: source, targetVocabulary: target,
                         normalizer: TextNormalizer(form: .nfc, lowercase: true),
                         notes: ["recipe": "toy", "data": "four words, \"quoted\"\nand a second line"])
    }

    /// A store for `config()` with random weights (and moments when asked).
    static func store(seed: UInt64 = 7, moments: Bool = false) throws -> ParameterStore {
        let model = try config().makeModel()
        let store = ParameterStore(model.layout)
        var rng = RNG(seed: seed)
        model.initialize(store, rng: &rng)
        if moments {
            for ref in store.layout.refs {
                for i in 0 ..< ref.count {
                    store.moment1.data[ref.offset + i] = rng.uniform(-1e-3, 1e-3)
                    store.moment2.data[ref.offset + i] = rng.uniform(0, 1e-6)
                }
            }
        }
        return store
    }

    func path(_ name: String) -> String { dir + "/" + name }

    /// Copies the safetensors file at `from` to `to` with its metadata and
    /// tensors edited (everything re-stored as F32).
    func rewrite(_ from: String, to: String, _ edit: (inout [String: String], inout [(String, Tensor)]) throws -> Void) throws {
        let f = try SafeTensorsFile(path: from)
        var metadata = f.metadata
        var tensors = try f.names.map { ($0, try f.floats($0)) }
        try edit(&metadata, &tensors)
        var w = SafeTensorsWriter(metadata: metadata)
        for (name, t) in tensors { try w.add(name, t) }
        try w.write(to: to)
    }

    /// The error `body` throws, as a RecurError.
    func recurError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> RecurError? {
        do {
            try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let e as RecurError {
            return e
        } catch {
            XCTFail("expected a RecurError, got \(error)", file: file, line: line)
        }
        return nil
    }

    func bits(_ t: Tensor) -> [UInt32] { t.array.map(\.bitPattern) }

    // MARK: - Round trips

    func testF32RoundTripIsBitExact() throws {
        let store = try Self.store()
        let training = #"{"step":120,"epoch":3,"best":{"metric":"bleu","value":12.5}}"#
        let p = path("m.safetensors")
        try ModelFile.write(to: p, description: Self.description(), store: store, training: training)

        let loaded = try ModelFile.read(p)
        XCTAssertEqual(loaded.path, p)
        XCTAssertEqual(loaded.storage, "F32")
        XCTAssertEqual(loaded.format, "recur-model-1")
        XCTAssertEqual(loaded.training, training)
        XCTAssertFalse(loaded.hasOptimizerState)
        XCTAssertEqual(loaded.parameterCount, store.parameterCount)
        XCTAssertGreaterThan(loaded.fileSize, 4 * store.parameterCount)
        let d = loaded.description
        XCTAssertEqual(d.task, .translate)
        XCTAssertEqual(d.config, Self.config())
        XCTAssertEqual(d.sourceVocabulary?.tokens, Self.source.tokens)
        XCTAssertEqual(d.sourceVocabulary?.hash, Self.source.hash)
        XCTAssertEqual(d.targetVocabulary?.tokens, Self.target.tokens)
        XCTAssertEqual(d.targetVocabulary?.kind, .word)
        XCTAssertEqual(d.normalizer, TextNormalizer(form: .nfc, lowercase: true))
        XCTAssertEqual(d.notes, Self.description().notes)
        XCTAssertNil(d.audio)
        XCTAssertNil(d.image)

        // Every tensor under its layout name, nothing else.
        XCTAssertEqual(Set(loaded.tensors.map(\.name)), Set(store.layout.names))
        let (model, restored) = try loaded.instantiate()
        XCTAssertEqual(model.layout, store.layout)
        XCTAssertEqual(bits(restored.values), bits(store.values))

        // The metadata keys the format promises.
        let meta = try SafeTensorsFile(path: p).metadata
        for key in ["format", "recur_version", "task", "model_config", "source_vocab", "source_vocab_kind",
                    "source_vocab_hash", "target_vocab", "target_vocab_kind", "target_vocab_hash", "normalizer",
                    "training", "notes", "parameter_count"] {
            XCTAssertNotNil(meta[key], "metadata lacks \(key)")
        }
        XCTAssertEqual(meta["source_vocab"], Self.source.fileText)
        XCTAssertEqual(meta["parameter_count"], String(store.parameterCount))
    }

    func testBPEVocabularyRoundTrips() throws {
        let merges = [BPEMerge("c", "a"), BPEMerge("ca", "t")]
        let bpe = Vocabulary(kind: .bpe, tokens: ["c", "a", "t", "ca", "cat"], merges: merges)
        var d = Self.description()
        d.sourceVocabulary = bpe
        d.config = ModelConfig(seq2seq: Seq2SeqConfig(sourceVocabularySize: bpe.count, targetVocabularySize: Self.target.count,
                                                      embeddingSize: 4, hiddenSize: 6))
        let model = try d.config.makeModel()
        let store = ParameterStore(model.layout)
        let p = path("bpe.safetensors")
        try ModelFile.write(to: p, description: d, store: store)
        let v = try XCTUnwrap(try ModelFile.read(p).description.sourceVocabulary)
        XCTAssertEqual(v.kind, .bpe)
        XCTAssertEqual(v.merges, merges)
        XCTAssertEqual(v.hash, bpe.hash)
    }

    func testFloat16WithinHalfPrecision() throws {
        let store = try Self.store()
        let p32 = path("m32.safetensors"), p16 = path("m16.safetensors")
        try ModelFile.write(to: p32, description: Self.description(), store: store)
        try ModelFile.write(to: p16, description: Self.description(), store: store, float16: true)
        let loaded = try ModelFile.read(p16)
        XCTAssertEqual(loaded.storage, "F16")
        XCTAssertTrue(loaded.tensors.allSatisfy { $0.dtype == .f16 })
        XCTAssertLessThan(loaded.fileSize, try ModelFile.read(p32).fileSize)
        let restored = try loaded.instantiate().store
        var changed = 0
        for i in 0 ..< store.values.count {
            let a = store.values.data[i], b = restored.values.data[i]
            // Half precision: 11 significant bits (relative error ≤ 2^-11), subnormals below 2^-14.
            XCTAssertLessThanOrEqual(abs(a - b), abs(a) * 0x1p-11 + 0x1p-25, "element \(i): \(a) vs \(b)")
            if a != b { changed += 1 }
        }
        XCTAssertGreaterThan(changed, 0, "F16 storage should round some weights")
    }

    func testFloat16RefusesValuesBeyondItsRange() throws {
        let store = try Self.store()
        store.value("decoder.output.bias")!.data[0] = 1e6
        let e = recurError { try ModelFile.write(to: path("big.safetensors"), description: Self.description(), store: store, float16: true) }
        XCTAssertTrue(e?.description.contains("decoder.output.bias") == true, "\(String(describing: e))")
        XCTAssertTrue(e?.description.contains("float16") == true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("big.safetensors")))
    }

    func testOptimizerMomentsRoundTrip() throws {
        let store = try Self.store(moments: true)
        let p = path("ckpt.safetensors")
        // Moments stay F32 even when the weights are F16.
        try ModelFile.write(to: p, description: Self.description(), store: store, training: "{}", includeOptimizer: true, float16: true)
        let loaded = try ModelFile.read(p)
        XCTAssertTrue(loaded.hasOptimizerState)
        XCTAssertEqual(loaded.storage, "F16")
        let first = store.layout.names[0]
        XCTAssertEqual(try SafeTensorsFile(path: p).dtype("optimizer.exp_avg." + first), .f32)
        XCTAssertEqual(try SafeTensorsFile(path: p).dtype("optimizer.exp_avg_sq." + first), .f32)
        XCTAssertEqual(loaded.tensors.count, 3 * store.layout.names.count)

        let restored = try loaded.instantiate(optimizer: true).store
        XCTAssertEqual(bits(restored.moment1), bits(store.moment1))
        XCTAssertEqual(bits(restored.moment2), bits(store.moment2))
        // Without asking, the moments stay zero.
        XCTAssertTrue(try loaded.instantiate().store.moment1.array.allSatisfy { $0 == 0 })

        // A file without moments says so when they are asked for.
        let plain = path("plain.safetensors")
        try ModelFile.write(to: plain, description: Self.description(), store: store)
        let e = recurError { _ = try ModelFile.read(plain).instantiate(optimizer: true) }
        XCTAssertEqual(e?.file, plain)
        XCTAssertTrue(e?.reason.contains("no optimizer state") == true, "\(String(describing: e))")

        // A checkpoint missing one moment names it.
        let broken = path("broken.safetensors")
        let dropped = "optimizer.exp_avg_sq." + store.layout.names[1]
        try rewrite(p, to: broken) { _, tensors in tensors.removeAll { $0.0 == dropped } }
        let e2 = recurError { _ = try ModelFile.read(broken).instantiate(optimizer: true) }
        XCTAssertTrue(e2?.reason.contains("missing 1: \(dropped)") == true, "\(String(describing: e2))")
    }

    // MARK: - Atomic writes

    func testFailedWriteLeavesTheOldFileAndNoTemporary() throws {
        let p = path("m.safetensors")
        try ModelFile.write(to: p, description: Self.description(), store: try Self.store(seed: 1))
        let before = try Data(contentsOf: URL(fileURLWithPath: p))

        struct Injected: Error {}
        var calls = 0
        XCTAssertThrowsError(try ModelFile.write(to: p, description: Self.description(), store: try Self.store(seed: 2),
                                                 training: nil, includeOptimizer: true, float16: false,
                                                 afterChunk: { _ in calls += 1; throw Injected() })) { error in
            XCTAssertTrue(error is Injected, "\(error)")
        }
        XCTAssertEqual(calls, 1, "the failure came after bytes were written")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p)), before, "the old file must be intact")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["m.safetensors"], "no temporary file left behind")

        // Refusals before writing leave it intact too.
        XCTAssertThrowsError(try ModelFile.write(to: p, description: Self.description(), store: try Self.store(), training: "{step: 1"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p)), before)
        // A missing directory is named.
        let e = recurError { try ModelFile.write(to: self.path("nope/m.safetensors"), description: Self.description(), store: try Self.store()) }
        XCTAssertTrue(e?.description.contains("nope") == true, "\(String(describing: e))")
        // The successful rewrite replaces it.
        try ModelFile.write(to: p, description: Self.description(), store: try Self.store(seed: 2))
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: p)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["m.safetensors"])
    }

    func testWriteRefusesInconsistentInput() throws {
        let p = path("m.safetensors")
        // A store of another architecture.
        let other = try ModelConfig(seq2seq: Seq2SeqConfig(sourceVocabularySize: 8, targetVocabularySize: 9, embeddingSize: 4, hiddenSize: 5)).makeModel()
        var e = recurError { try ModelFile.write(to: p, description: Self.description(), store: ParameterStore(other.layout)) }
        XCTAssertEqual(e?.kind, .shape)
        XCTAssertTrue(e?.reason.contains("wrong shape") == true, "\(String(describing: e))")
        // A vocabulary that is not the config's size.
        var d = Self.description()
        d.targetVocabulary = Self.source
        e = recurError { try ModelFile.write(to: p, description: d, store: try Self.store()) }
        XCTAssertTrue(e?.reason.contains("target vocabulary has 8 tokens but the config says 9") == true, "\(String(describing: e))")
        // A transcribe model without its frontend.
        e = recurError { try ModelFile.write(to: p, description: Self.description(task: .transcribe), store: try Self.store()) }
        XCTAssertTrue(e?.reason.contains("audio frontend") == true, "\(String(describing: e))")
        // Non-finite weights.
        let store = try Self.store()
        store.value("bridge.weight")!.data[3] = .nan
        e = recurError { try ModelFile.write(to: p, description: Self.description(), store: store) }
        XCTAssertTrue(e?.reason.contains("bridge.weight holds nan") == true, "\(String(describing: e))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: p))
    }

    // MARK: - Layout checks

    func testLayoutMismatchesAreListed() throws {
        let store = try Self.store()
        let p = path("m.safetensors"), bad = path("bad.safetensors")
        try ModelFile.write(to: p, description: Self.description(), store: store)
        try rewrite(p, to: bad) { _, tensors in
            tensors.removeAll { $0.0 == "decoder.output.bias" }
            tensors.append(("decoder.extra.weight", Tensor(zeros: [2, 2])))
            let i = tensors.firstIndex { $0.0 == "bridge.weight" }!
            tensors[i].1 = Tensor(zeros: [6, 3])
        }
        let loaded = try ModelFile.read(bad)   // the metadata is fine; the weights are checked on instantiate
        let e = recurError { _ = try loaded.instantiate() }
        XCTAssertEqual(e?.file, bad)
        XCTAssertEqual(e?.kind, .shape)
        let reason = e?.reason ?? ""
        XCTAssertTrue(reason.contains("missing 1: decoder.output.bias [9]"), reason)
        XCTAssertTrue(reason.contains("unexpected 1: decoder.extra.weight [2, 2]"), reason)
        XCTAssertTrue(reason.contains("wrong shape 1: bridge.weight is [6, 3], the model needs [6, 12]"), reason)
    }

    // MARK: - Refusals on reading

    func testTamperedVocabularyIsRefused() throws {
        let p = path("m.safetensors"), bad = path("tampered.safetensors")
        try ModelFile.write(to: p, description: Self.description(), store: try Self.store())
        try rewrite(p, to: bad) { meta, _ in
            meta["source_vocab"] = meta["source_vocab"]!.replacingOccurrences(of: "chat\n", with: "chien\n")
        }
        let e = recurError { _ = try ModelFile.read(bad) }
        XCTAssertEqual(e?.file, bad)
        XCTAssertTrue(e?.reason.contains("source vocabulary") == true, "\(String(describing: e))")
        XCTAssertTrue(e?.reason.contains("file records \(Self.source.hash)") == true, "\(String(describing: e))")

        // A changed hash is caught the same way.
        try rewrite(p, to: bad) { meta, _ in meta["target_vocab_hash"] = "fnv1a64:0000000000000000" }
        let e2 = recurError { _ = try ModelFile.read(bad) }
        XCTAssertTrue(e2?.reason.contains("target vocabulary") == true, "\(String(describing: e2))")
    }

    func testWrongFormatsAreRefused() throws {
        let p = path("m.safetensors"), bad = path("bad.safetensors")
        try ModelFile.write(to: p, description: Self.description(), store: try Self.store())

        try rewrite(p, to: bad) { meta, _ in meta["format"] = "recur-model-2" }
        var e = recurError { _ = try ModelFile.read(bad) }
        XCTAssertEqual(e?.file, bad)
        XCTAssertTrue(e?.reason.contains("recur-model-2 is newer") == true, "\(String(describing: e))")

        try rewrite(p, to: bad) { meta, _ in meta["format"] = "keras-7" }
        e = recurError { _ = try ModelFile.read(bad) }
        XCTAssertTrue(e?.reason.contains("unknown format 'keras-7'") == true, "\(String(describing: e))")

        try rewrite(p, to: bad) { meta, _ in meta = [:] }
        e = recurError { _ = try ModelFile.read(bad) }
        XCTAssertTrue(e?.reason.contains("not a Recur model file") == true, "\(String(describing: e))")

        try rewrite(p, to: bad) { meta, _ in meta["model_config"] = #"{"kind":"seq2seq","seq2seq":{"cell":"lstm"}}"# }
        e = recurError { _ = try ModelFile.read(bad) }
        XCTAssertTrue(e?.reason.contains("metadata 'model_config' does not decode") == true, "\(String(describing: e))")

        // Not safetensors at all.
        try Data("hello, this is text\n".utf8).write(to: URL(fileURLWithPath: bad))
        e = recurError { _ = try ModelFile.read(bad) }
        XCTAssertEqual(e?.file, bad)
        XCTAssertTrue(e?.reason.contains("header length") == true, "\(String(describing: e))")

        // Truncated.
        let whole = try Data(contentsOf: URL(fileURLWithPath: p))
        try whole.prefix(whole.count - 10).write(to: URL(fileURLWithPath: bad))
        e = recurError { _ = try ModelFile.read(bad) }
        XCTAssertEqual(e?.file, bad)
        XCTAssertTrue(e?.reason.contains("truncated") == true, "\(String(describing: e))")

        // Missing.
        e = recurError { _ = try ModelFile.read(self.path("absent.safetensors")) }
        XCTAssertEqual(e?.kind, .io)
    }

    // MARK: - Checks against inputs

    func testAudioFrontendMismatchNamesTheField() throws {
        var d = Self.description(task: .transcribe)
        d.sourceVocabulary = nil
        d.audio = AudioPreset.recur.config(nMels: 40)
        let p = path("asr.safetensors")
        try ModelFile.write(to: p, description: d, store: try Self.store())
        let loaded = try ModelFile.read(p)
        XCTAssertEqual(loaded.description.audio, d.audio)
        XCTAssertEqual(loaded.frontendSignature, FrontendSignature(d.audio!))
        XCTAssertNoThrow(try loaded.checkAudio(AudioPreset.recur.config(nMels: 40)))

        let e = recurError { try loaded.checkAudio(AudioPreset.recur.config()) }
        XCTAssertEqual(e?.file, p)
        XCTAssertTrue(e?.reason.contains("n_mels: model 40, given 80") == true, "\(String(describing: e))")
        XCTAssertFalse(e?.reason.contains("hop") == true, "only differing fields are named")
        XCTAssertNotNil(try SafeTensorsFile(path: p).metadata["frontend_signature"])

        // Every preset's settings come back exactly.
        for preset in AudioPreset.allCases {
            var d2 = d
            d2.audio = preset.config()
            d2.audio!.trimSilenceDB = preset == .recur ? 40 : nil
            try ModelFile.write(to: p, description: d2, store: try Self.store())
            let back = try ModelFile.read(p)
            XCTAssertEqual(back.description.audio, d2.audio, "\(preset)")
            XCTAssertNoThrow(try back.checkAudio(d2.audio!), "\(preset)")
        }

        // An image check on a speech model is refused too.
        XCTAssertThrowsError(try loaded.checkImage(GridFeatureConfig()))
    }

    func testImageGridMismatchNamesTheField() throws {
        var d = Self.description(task: .caption)
        d.sourceVocabulary = nil
        d.image = GridFeatureConfig(grid: 4, size: 64, fit: .pad, padValue: 0.25)
        let p = path("cap.safetensors")
        try ModelFile.write(to: p, description: d, store: try Self.store())
        let loaded = try ModelFile.read(p)
        XCTAssertEqual(loaded.description.image, d.image)
        XCTAssertEqual(loaded.imageSignature, d.image!.signature)
        XCTAssertNoThrow(try loaded.checkImage(GridFeatureConfig(grid: 4, size: 64, fit: .pad, padValue: 0.25)))
        let e = recurError { try loaded.checkImage(GridFeatureConfig(grid: 7, size: 64, fit: .pad, padValue: 0.25)) }
        XCTAssertTrue(e?.reason.contains("grid: model 4, given 7") == true, "\(String(describing: e))")
        XCTAssertTrue(e?.reason.contains("--grid 4 --size 64 --fit pad") == true, "\(String(describing: e))")
    }

    func testVocabularyCheck() throws {
        let p = path("m.safetensors")
        try ModelFile.write(to: p, description: Self.description(), store: try Self.store())
        let loaded = try ModelFile.read(p)
        XCTAssertNoThrow(try loaded.checkVocabulary(Self.source, role: "source"))
        XCTAssertNoThrow(try loaded.checkVocabulary(Self.target, role: "target"))
        let other = Vocabulary(kind: .word, tokens: ["le", "chat", "noir", "court"])
        let e = recurError { try loaded.checkVocabulary(other, role: "source") }
        XCTAssertEqual(e?.file, p)
        XCTAssertTrue(e?.reason.contains("trained with vocabulary \(Self.source.hash) (8 tokens), got \(other.hash) (8 tokens)") == true,
                      "\(String(describing: e))")
        XCTAssertTrue(e?.reason.contains("use the vocabulary shipped with the model (recur inspect shows it) or retrain") == true)
        XCTAssertThrowsError(try loaded.checkVocabulary(Self.source, role: "middle"))
    }

    func testNormalizerCodable() throws {
        let n = TextNormalizer(form: .nfkc, lowercase: true)
        let text = try ModelFile.json(n)
        XCTAssertEqual(text, #"{"form":"nfkc","lowercase":true}"#)
        XCTAssertEqual(try JSONDecoder().decode(TextNormalizer.self, from: Data(text.utf8)), n)
        XCTAssertEqual(try JSONDecoder().decode(TextNormalizer.self, from: Data("{}".utf8)), TextNormalizer())
    }
}
