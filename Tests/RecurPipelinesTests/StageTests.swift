import Foundation
import RecurCore
import RecurDecoding
import RecurFrontends
import RecurLayers
import RecurModels
@testable import RecurPipelines
import RecurTraining
import RecurModelTestSupport
import XCTest

/// The model stages (translate, transcribe, caption, generate) on tiny models.
final class StageTests: XCTestCase {
    func testTranslateKeepsSourceTimesAndExtrasAndMovesHistory() throws {
        let dir = try makeTempDir(self)
        try TinyModels.translate(dir + "/t.safetensors")
        let stage = try TranslateStage(runner: ModelRunner(path: dir + "/t.safetensors"),
                                       options: StageOptions(decode: DecodeSettings(beam: 3, nBest: 2)))
        var input = StageRecord(source: StageSource(file: "talk.wav", start: 1.5, end: 2.25), stage: "transcribe", model: "speech-en",
                                text: "the cat sleeps", score: -1.5, start: 1.5, end: 2.25)
        input.extra["speaker"] = .string("A")
        let out = try stage.process(input).records
        XCTAssertEqual(out.count, 1)
        let r = out[0]
        XCTAssertEqual(r.source, input.source)
        XCTAssertEqual(r.start, 1.5)
        XCTAssertEqual(r.end, 2.25)
        XCTAssertEqual(r.extra["speaker"], .string("A"))
        XCTAssertEqual(r.stage, "translate")
        XCTAssertEqual(r.model, "t")
        XCTAssertEqual(r.history.count, 1)
        XCTAssertEqual(r.history[0]["text"], .string("the cat sleeps"))
        XCTAssertEqual(r.history[0]["stage"], .string("transcribe"))
        XCTAssertEqual(r.nbest?.count, 2)
        XCTAssertEqual(r.nbest?.first?.text, r.text)
        XCTAssertNotNil(r.score)
        XCTAssertLessThanOrEqual(r.score!, 0)
        XCTAssertNotNil(r.extra["norm_score"])
    }

    func testBlankLinesFailuresAndBatchingKeepTheOrder() throws {
        let dir = try makeTempDir(self)
        try TinyModels.translate(dir + "/t.safetensors")
        let stage = try TranslateStage(runner: ModelRunner(path: dir + "/t.safetensors"),
                                       options: StageOptions(decode: DecodeSettings(beam: 2, batchSize: 3)))
        let lines = ["the cat sleeps", "", "a dog runs", "the dog sleeps now", "a cat runs", "the"]
        let inputs = lines.enumerated().map { StageRecord(source: StageSource(file: "in.txt", line: $0 + 1), text: $1) }
        let together = stage.process(inputs)
        XCTAssertEqual(together.count, lines.count)
        for (i, r) in together.enumerated() {
            let rec = try r.get().records
            XCTAssertEqual(rec.count, 1)
            XCTAssertEqual(rec[0].source?.line, i + 1)
        }
        XCTAssertEqual(try together[1].get().records[0].text, "")
        let alone = inputs.map { try! stage.process($0).records[0].text }
        XCTAssertEqual(together.map { try! $0.get().records[0].text }, alone)
    }

    func testAStageRefusesAModelOfAnotherTask() throws {
        let dir = try makeTempDir(self)
        try TinyModels.transcribe(dir + "/s.safetensors")
        let runner = try ModelRunner(path: dir + "/s.safetensors")
        XCTAssertThrowsError(try CaptionStage(runner: runner)) { e in
            XCTAssertTrue("\(e)".contains("recur transcribe"), "\(e)")
        }
    }

    func testSilenceSplitterCutsInTheGaps() throws {
        // 0.8 s tone, 0.3 s silence, 0.8 s tone, 0.3 s silence, 0.8 s tone = 3.0 s.
        let rate = 16000
        var x: [Float] = []
        for k in 0..<3 {
            if k > 0 { x += [Float](repeating: 0, count: Int(0.3 * Double(rate))) }
            x += (0..<Int(0.8 * Double(rate))).map { i in 0.5 * Foundation.sin(Float(i) * 0.2) }
        }
        let ranges = x.withUnsafeBufferPointer { SilenceSplitter(maxSeconds: 1.25).split($0.baseAddress!, count: x.count, sampleRate: rate) }
        XCTAssertEqual(ranges.count, 3, "\(ranges)")
        for r in ranges { XCTAssertLessThanOrEqual(r.count, Int(1.25 * Double(rate))) }
        // Cuts inside the silences: 0.8…1.1 s and 1.9…2.2 s.
        XCTAssertTrue((Int(0.8 * 16000)...Int(1.1 * 16000)).contains(ranges[1].lowerBound), "\(ranges)")
        XCTAssertTrue((Int(1.9 * 16000)...Int(2.2 * 16000)).contains(ranges[2].lowerBound), "\(ranges)")
        XCTAssertEqual(ranges[0].lowerBound, 0)
        XCTAssertEqual(ranges[2].upperBound, x.count)
        // Short input: one segment; silence only: none.
        let short = [Float](repeating: 0.1, count: 100)
        XCTAssertEqual(short.withUnsafeBufferPointer { SilenceSplitter(maxSeconds: 1).split($0.baseAddress!, count: 100, sampleRate: rate) }, [0..<100])
    }

    func testTranscribeSplitsALongRecordingWithTimes() throws {
        let dir = try makeTempDir(self)
        try TinyModels.transcribe(dir + "/s.safetensors")
        try TinyModels.wav(dir + "/long.wav", tones: [0.8, 0.8, 0.8])
        var o = StageOptions(decode: DecodeSettings(beam: 1, options: DecodingOptions(maxLength: 5)))
        o.attention = true
        let stage = try TranscribeStage(runner: ModelRunner(path: dir + "/s.safetensors"), options: o, maxSegmentSeconds: 1.25)
        let result = try stage.process(.media(dir + "/long.wav"))
        XCTAssertEqual(result.records.count, 3)
        XCTAssertEqual(result.pictures.count, 3)
        var last = 0.0
        for r in result.records {
            XCTAssertEqual(r.stage, "transcribe")
            XCTAssertEqual(r.source?.file, dir + "/long.wav")
            XCTAssertEqual(r.source?.start, r.start)
            XCTAssertGreaterThanOrEqual(r.start!, last)
            XCTAssertLessThanOrEqual(r.end! - r.start!, 1.25)
            last = r.end!
        }
        XCTAssertEqual(last, 3.0, accuracy: 0.001)
        // Unsplit: one record from 0 to the duration.
        let whole = try TranscribeStage(runner: ModelRunner(path: dir + "/s.safetensors"), options: o, maxSegmentSeconds: nil)
            .process(.media(dir + "/long.wav"))
        XCTAssertEqual(whole.records.count, 1)
        XCTAssertEqual(whole.records[0].start, 0)
        XCTAssertEqual(whole.records[0].end!, 3.0, accuracy: 0.001)
        // A picture: output pieces × encoder positions over the spectrogram.
        let p = try XCTUnwrap(whole.pictures[0])
        XCTAssertEqual(p.weights.shape[0], p.targetPieces.count)
        let c = p.render()
        XCTAssertGreaterThan(c.height, p.targetPieces.count * AttentionPicture.cell)
    }

    func testAttentionPictureLayout() throws {
        let w = Tensor(zeros: [3, 4])
        for i in 0..<12 { w.data[i] = Float(i % 5) }
        let text = AttentionPicture(kind: .text(sourcePieces: ["▁le", "▁chat", "▁dort", "</s>"]), targetPieces: ["▁the", "▁cat", "</s>"],
                                    weights: w).render()
        // Left: the widest row label ("_cat" / "_the": 4 glyphs of 8 px − 2) + margins; top: the longest column label.
        let left = 8 + (4 * 8 - 2) + 6
        XCTAssertEqual(text.width, left + 4 * AttentionPicture.cell + 8)
        XCTAssertEqual(text.height, 8 + 5 * 12 + 4 + 3 * AttentionPicture.cell + 8)
        let grid = AttentionPicture(kind: .image(grid: 2), targetPieces: ["▁a", "▁red", "</s>"], weights: Tensor(zeros: [3, 5])).render()
        XCTAssertGreaterThan(grid.width, 3 * 48)
        // The strongest cell of a text picture is the darkest colour.
        XCTAssertEqual(PixelCanvas.heat(1).0, 127)
        XCTAssertEqual(PixelCanvas.heat(0).0, 255)
    }

    func testCaptionAndGenerate() throws {
        let dir = try makeTempDir(self)
        try TinyModels.caption(dir + "/c.safetensors")
        try TinyModels.png(dir + "/a.png", left: true)
        let stage = try CaptionStage(runner: ModelRunner(path: dir + "/c.safetensors"),
                                     options: StageOptions(decode: DecodeSettings(options: DecodingOptions(maxLength: 6)), attention: true))
        let results = stage.process([.media(dir + "/a.png"), .media(dir + "/missing.png")])
        let r = try results[0].get()
        XCTAssertEqual(r.records[0].source?.file, dir + "/a.png")
        XCTAssertEqual(r.records[0].stage, "caption")
        XCTAssertNotNil(r.pictures[0])
        XCTAssertThrowsError(try results[1].get()) { e in XCTAssertTrue("\(e)".contains("missing.png"), "\(e)") }

        try TinyModels.generate(dir + "/g.safetensors")
        var s = GenerateStage.Sampling()
        s.length = 12
        s.count = 2
        s.seed = 7
        let g = try GenerateStage(runner: ModelRunner(path: dir + "/g.safetensors"), sampling: s)
        let a = try g.process(StageRecord(text: "the")).records
        let b = try g.process(StageRecord(text: "the")).records
        XCTAssertEqual(a.count, 2)
        XCTAssertEqual(a.map(\.text), b.map(\.text))
        XCTAssertTrue(a.allSatisfy { $0.text.hasPrefix("the") }, "\(a.map(\.text))")
        s.seed = 8
        let c = try GenerateStage(runner: ModelRunner(path: dir + "/g.safetensors"), sampling: s).process(StageRecord(text: "the")).records
        XCTAssertNotEqual(a.map(\.text), c.map(\.text))
    }

    /// A model trained to exactness on a toy language translates its training set exactly through the stage.
    func testTrainedTranslatorIsExactThroughTheStage() throws {
        let dir = try makeTempDir(self)
        let map = ["a": "x", "b": "y", "c": "z", "d": "w"]
        var rng = RNG(seed: 1)
        var pairs: [(String, String)] = []
        for _ in 0..<12 {
            let n = 1 + rng.int(below: 3)
            let src = (0..<n).map { _ in ["a", "b", "c", "d"][rng.int(below: 4)] }
            pairs.append((src.joined(separator: " "), src.reversed().map { map[$0]! }.joined(separator: " ")))
        }
        try (pairs.map { "\($0.0)\t\($0.1)" }.joined(separator: "\n") + "\n").write(toFile: dir + "/pairs.tsv", atomically: true, encoding: .utf8)
        var spec = TaskDataSpec(task: .translate, train: [dir + "/pairs.tsv"], format: .tsv)
        spec.validFraction = 0
        let task = try TaskPreparation.prepare(spec, sourceVocabulary: nil, targetVocabulary: nil, lowercase: true, audio: nil, image: nil)
        let cfg = Seq2SeqConfig(sourceVocabularySize: task.sourceVocabulary!.count, targetVocabularySize: task.targetVocabulary!.count,
                                embeddingSize: 8, hiddenSize: 16, cell: .gru)
        let model = try Seq2Seq(config: cfg)
        let store = ParameterStore(model.layout)
        model.initialize(store, rng: &rng)
        var adam = Adam(learningRate: 0.01)
        let all = Array(0..<task.train.count)
        let description = ModelDescription(task: .translate, config: ModelConfig(seq2seq: cfg), sourceVocabulary: task.sourceVocabulary,
                                           targetVocabulary: task.targetVocabulary, normalizer: task.normalizer)
        let path = dir + "/toy.safetensors"
        var texts: [String] = []
        for step in 1...400 {
            store.zeroGrads()
            let (sources, targets) = try task.train.batch(all, rng: &rng)
            _ = try model.loss(store, sources: sources, targets: targets, training: true, labelSmoothing: 0, backward: true, rng: &rng)
            _ = GradientClipping.clipGlobalNorm(store, maxNorm: 5)
            adam.step(store)
            if step % 50 == 0 {
                try ModelFile.write(to: path, description: description, store: store)
                let stage = try TranslateStage(runner: ModelRunner(path: path), options: StageOptions(decode: DecodeSettings(beam: 3)))
                texts = stage.process(pairs.map { StageRecord(text: $0.0) }).map { (try? $0.get().records[0].text) ?? "?" }
                if texts == pairs.map(\.1) { break }
            }
        }
        XCTAssertEqual(texts, pairs.map(\.1))
    }
}
