import Foundation
import RecurCore
import RecurFrontends
import RecurLayers
import RecurModels
import RecurTestSupport
import RecurTraining
import RecurModelTestSupport
import XCTest

/// `recur translate`, `transcribe`, `caption`, `generate` and `evaluate` run
/// as built, on tiny models written by the test.
final class DecodeCLITests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("recur-decode-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func lines(_ s: String) -> [String] { s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLast(s.hasSuffix("\n") ? 1 : 0).map { $0 } }

    func records(_ s: String) throws -> [[String: Any]] {
        try lines(s).map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], $0) }
    }

    func testTranslateFileStdinJSONLAndChaining() throws {
        let model = dir + "/t.safetensors"
        try TinyModels.translate(model)
        let text = "the cat sleeps\n\na dog runs\nthe dog sleeps\n"
        try text.write(toFile: dir + "/in.txt", atomically: true, encoding: .utf8)
        let fromFile = try RecurBinary.run(["translate", "--model", model, "--max-length", "8", dir + "/in.txt"])
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        let fromStdin = try RecurBinary.run(["translate", "--model", model, "--max-length", "8"], stdin: text)
        XCTAssertEqual(fromStdin.status, 0, fromStdin.stderr)
        XCTAssertEqual(fromFile.stdout, fromStdin.stdout)
        XCTAssertEqual(lines(fromFile.stdout).count, 4)
        XCTAssertEqual(lines(fromFile.stdout)[1], "", "a blank line gives a blank line")

        let j = try RecurBinary.run(["translate", "-m", model, "--max-length", "8", "--jsonl", "--nbest", "2", dir + "/in.txt"])
        XCTAssertEqual(j.status, 0, j.stderr)
        let recs = try records(j.stdout)
        XCTAssertEqual(recs.count, 4)
        let src = try XCTUnwrap(recs[2]["source"] as? [String: Any])
        XCTAssertEqual(src["file"] as? String, dir + "/in.txt")
        XCTAssertEqual(src["line"] as? Int, 3)
        XCTAssertEqual(recs[2]["stage"] as? String, "translate")
        XCTAssertEqual(recs[2]["model"] as? String, "t")
        XCTAssertEqual((recs[2]["nbest"] as? [Any])?.count, 2)
        XCTAssertEqual(recs[2]["text"] as? String, lines(fromFile.stdout)[2])

        // Records in: the first source stays, the first translation goes to history.
        let again = try RecurBinary.run(["translate", "-m", model, "--max-length", "8", "--jsonl"], stdin: j.stdout)
        XCTAssertEqual(again.status, 0, again.stderr)
        let second = try records(again.stdout)
        XCTAssertEqual(second.count, 4)
        XCTAssertEqual((second[2]["source"] as? [String: Any])?["file"] as? String, dir + "/in.txt")
        XCTAssertEqual((second[2]["source"] as? [String: Any])?["line"] as? Int, 3)
        let history = try XCTUnwrap(second[2]["history"] as? [[String: Any]])
        XCTAssertEqual(history.first?["text"] as? String, recs[2]["text"] as? String)

        // A malformed record in the middle: named, the others translated, exit 1.
        let broken = lines(j.stdout)[0] + "\n{\"text\": oops}\n" + lines(j.stdout)[2] + "\n"
        let b = try RecurBinary.run(["translate", "-m", model, "--max-length", "8"], stdin: broken)
        XCTAssertEqual(b.status, 1, b.stderr)
        XCTAssertEqual(lines(b.stdout).count, 2, b.stdout)
        XCTAssertTrue(b.stderr.contains("<stdin>: line 2"), b.stderr)
    }

    func testTranslateSubtitlesKeepTheirTimes() throws {
        let model = dir + "/t.safetensors"
        try TinyModels.translate(model)
        let srt = "1\n00:00:01,500 --> 00:00:03,250\nthe cat sleeps\n\n2\n00:01:02,000 --> 00:01:04,125\na dog runs\n\n"
        try srt.write(toFile: dir + "/talk.srt", atomically: true, encoding: .utf8)
        let r = try RecurBinary.run(["translate", "-m", model, "--max-length", "6", dir + "/talk.srt"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = lines(r.stdout)
        XCTAssertEqual(out[0], "1")
        XCTAssertEqual(out[1], "00:00:01,500 --> 00:00:03,250")
        XCTAssertTrue(out.contains("00:01:02,000 --> 00:01:04,125"), r.stdout)
        XCTAssertTrue(out.contains("2"), r.stdout)
        let vtt = try RecurBinary.run(["translate", "-m", model, "--max-length", "6", "--format", "vtt", dir + "/talk.srt"])
        XCTAssertEqual(vtt.status, 0, vtt.stderr)
        XCTAssertTrue(vtt.stdout.hasPrefix("WEBVTT\n\n00:00:01.500 --> 00:00:03.250\n"), vtt.stdout)
        // Timed records through a pipe, back to SRT: the same times.
        let j = try RecurBinary.run(["translate", "-m", model, "--max-length", "6", "--jsonl", dir + "/talk.srt"])
        XCTAssertEqual(j.status, 0, j.stderr)
        let back = try RecurBinary.run(["translate", "-m", model, "--max-length", "6", "--format", "srt"], stdin: j.stdout)
        XCTAssertEqual(back.status, 0, back.stderr)
        let times = { (s: String) in self.lines(s).filter { $0.contains(" --> ") } }
        XCTAssertEqual(times(back.stdout), times(r.stdout))
        XCTAssertEqual(times(back.stdout).count, 2)
    }

    func testTranscribeBatchWithABadFileJobsAndSegments() throws {
        let model = dir + "/s.safetensors"
        try TinyModels.transcribe(model)
        try TinyModels.wav(dir + "/a.wav", tones: [0.4])
        try "not audio at all".write(toFile: dir + "/b.wav", atomically: true, encoding: .utf8)
        try TinyModels.wav(dir + "/c.wav", tones: [0.3, 0.3], frequency: 300)
        try TinyModels.wav(dir + "/d.wav", tones: [0.8, 0.8, 0.8], frequency: 200)
        let args = ["transcribe", "-m", model, "--max-length", "5", "--max-segment", "1.25", "--jsonl"]
        let inputs = ["a", "b", "c", "d"].map { dir + "/\($0).wav" }
        let one = try RecurBinary.run(args + inputs)
        XCTAssertEqual(one.status, 1, one.stderr)
        let errors = lines(one.stderr).filter { $0.contains("b.wav") }
        XCTAssertEqual(errors.count, 1, one.stderr)
        let recs = try records(one.stdout)
        let files = recs.map { (($0["source"] as? [String: Any])?["file"] as? String ?? "") }
        XCTAssertEqual(files, [inputs[0], inputs[2], inputs[3], inputs[3], inputs[3]], one.stdout)
        XCTAssertEqual(recs[0]["start"] as? Double, 0)
        XCTAssertEqual((recs[4]["end"] as? Double) ?? 0, 3.0, accuracy: 0.001)
        let two = try RecurBinary.run(args + ["--jobs", "2"] + inputs)
        XCTAssertEqual(two.status, 1)
        XCTAssertEqual(two.stdout, one.stdout)
        // `-`: the paths come from stdin.
        let listed = try RecurBinary.run(args + ["-"], stdin: inputs.joined(separator: "\n") + "\n")
        XCTAssertEqual(listed.stdout, one.stdout)
        XCTAssertEqual(listed.status, 1)

        // transcribe --jsonl | translate --jsonl: every segment keeps its source and times exactly.
        let translator = dir + "/t.safetensors"
        try TinyModels.translate(translator)
        let chained = try RecurBinary.run(["translate", "-m", translator, "--max-length", "4", "--jsonl"], stdin: one.stdout)
        XCTAssertEqual(chained.status, 0, chained.stderr)
        let out = try records(chained.stdout)
        XCTAssertEqual(out.count, recs.count)
        for (a, b) in zip(recs, out) {
            XCTAssertEqual(NSDictionary(dictionary: a["source"] as! [String: Any]), NSDictionary(dictionary: b["source"] as! [String: Any]))
            XCTAssertEqual(a["start"] as? Double, b["start"] as? Double)
            XCTAssertEqual(a["end"] as? Double, b["end"] as? Double)
            XCTAssertEqual((b["history"] as? [[String: Any]])?.first?["stage"] as? String, "transcribe")
            XCTAssertEqual(b["stage"] as? String, "translate")
        }

        // Subtitles: numbered cues with the segments' times.
        let srt = try RecurBinary.run(["transcribe", "-m", model, "--max-length", "5", "--max-segment", "1.25", "--format", "srt", inputs[3]])
        XCTAssertEqual(srt.status, 0, srt.stderr)
        XCTAssertTrue(srt.stdout.hasPrefix("1\n00:00:00,000 --> "), srt.stdout)
        XCTAssertTrue(srt.stdout.contains("\n3\n"), srt.stdout)
    }

    func testModelsAreFoundOrRefusedClearly() throws {
        let missing = try RecurBinary.run(["translate", "--model", "no-such-model"], stdin: "hello\n")
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("no-such-model.safetensors was not found in"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("recur train recipes/no-such-model.yaml"), missing.stderr)
        XCTAssertEqual(lines(missing.stderr).count, 1, missing.stderr)

        let speech = dir + "/s.safetensors"
        try TinyModels.transcribe(speech)
        try TinyModels.png(dir + "/a.png", left: true)
        let wrong = try RecurBinary.run(["caption", "-m", speech, dir + "/a.png"])
        XCTAssertEqual(wrong.status, 2)
        XCTAssertTrue(wrong.stderr.contains("recur transcribe"), wrong.stderr)

        // --verbose names the model file used and why, on stderr only.
        try FileManager.default.createDirectory(atPath: dir + "/models", withIntermediateDirectories: true)
        try TinyModels.translate(dir + "/models/translate-en-fr.safetensors")
        let env = ["RECUR_MODELS": dir + "/models"]
        let quiet = try RecurBinary.run(["translate", "--max-length", "6"], stdin: "the cat sleeps\n", environment: env)
        let told = try RecurBinary.run(["translate", "--max-length", "6", "--verbose"], stdin: "the cat sleeps\n", environment: env)
        XCTAssertEqual(told.status, 0, told.stderr)
        XCTAssertEqual(told.stdout, quiet.stdout)
        XCTAssertEqual(quiet.stderr, "")
        XCTAssertEqual(lines(told.stderr), ["model: \(dir)/models/translate-en-fr.safetensors (the default for translate; 0.00 M parameters)"])
        let lm = dir + "/lm.safetensors"
        try TinyModels.generate(lm, text: "yes no stop")
        let named = try RecurBinary.run(["transcribe", "--verbose", "-m", speech, "--lm", lm, "--beam", "2", "--max-length", "4",
                                         dir + "/missing.wav"])
        XCTAssertEqual(lines(named.stderr).prefix(2).map { String($0.prefix(while: { $0 != "(" })) },
                       ["model: \(speech) ", "language model: \(lm) "], named.stderr)
        XCTAssertTrue(named.stderr.contains("(--model \(speech);") && named.stderr.contains("(--lm \(lm), weight 0.2;"), named.stderr)
        let generated = try RecurBinary.run(["generate", "--verbose", "-m", lm, "--length", "3"])
        XCTAssertTrue(generated.stderr.hasPrefix("model: \(lm) (--model \(lm);"), generated.stderr)
    }

    func testAttentionPicturesAndCaptions() throws {
        let model = dir + "/t.safetensors"
        try TinyModels.translate(model)
        let pics = dir + "/att"
        let r = try RecurBinary.run(["translate", "-m", model, "--max-length", "4", "--attention-png", pics], stdin: "the cat sleeps\na dog\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: pics).sorted()
        XCTAssertEqual(files, ["0001-stdin-1.png", "0002-stdin-2.png"])
        for f in files {
            let image = try PNGReader().read(path: pics + "/" + f)   // (H, W, 3): a valid PNG
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: pics + "/" + f)).prefix(24))
            let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
            XCTAssertEqual(image.shape, [height, width, 3])
            // Source pieces (+ EOS if the encoder reads one) × 14-pixel cells, plus labels and margins.
            let pieces = f.hasSuffix("-1.png") ? 3 : 2
            XCTAssertGreaterThanOrEqual(width, pieces * 14 + 16)
            XCTAssertLessThanOrEqual(width, (pieces + 1) * 14 + 16 + 14 * 8 + 14)
            XCTAssertGreaterThanOrEqual(height, 2 * 14 + 16)
        }

        let cap = dir + "/c.safetensors"
        try TinyModels.caption(cap)
        try FileManager.default.createDirectory(atPath: dir + "/img", withIntermediateDirectories: true)
        try TinyModels.png(dir + "/img/a.png", left: true)
        try TinyModels.png(dir + "/img/b.png", left: false, rgb: [20, 20, 200])
        let c = try RecurBinary.run(["caption", "-m", cap, "--max-length", "4", "--attention-png", dir + "/catt", dir + "/img"])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertEqual(lines(c.stdout).count, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/catt").sorted(), ["0001-a.png", "0002-b.png"])
    }

    func testGenerateIsSeededAndEvaluateScores() throws {
        let lm = dir + "/g.safetensors"
        try TinyModels.generate(lm)
        let args = ["generate", "-m", lm, "--prime", "the", "--length", "10", "--count", "3", "--seed", "5"]
        let a = try RecurBinary.run(args), b = try RecurBinary.run(args)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, b.stdout)
        XCTAssertEqual(lines(a.stdout).count, 3)
        let c = try RecurBinary.run(["generate", "-m", lm, "--prime", "the", "--length", "10", "--count", "3", "--seed", "6"])
        XCTAssertNotEqual(a.stdout, c.stdout)

        let model = dir + "/t.safetensors"
        try TinyModels.translate(model)
        try "the cat sleeps\tle chat dort\na dog runs\tun chien court\n".write(toFile: dir + "/test.tsv", atomically: true, encoding: .utf8)
        let e = try RecurBinary.run(["evaluate", "-m", model, "--data", dir + "/test.tsv", "--max-length", "6", "--jsonl"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let o = try XCTUnwrap(records(e.stdout).first)
        XCTAssertEqual(o["metric"] as? String, "bleu")
        XCTAssertEqual(o["examples"] as? Int, 2)
        XCTAssertNotNil(o["value"] as? Double)
        XCTAssertTrue((o["signature"] as? String)?.contains("BLEU") ?? false || (o["signature"] as? String)?.contains("nrefs") ?? false, e.stdout)
    }

    /// `--lm`: a language model fused into transcription; refused, naming its
    /// file, when it is no language model or does not cover the model's tokens.
    func testLanguageModelFusion() throws {
        let model = dir + "/s.safetensors", wav = dir + "/a.wav"
        try TinyModels.transcribe(model)
        try TinyModels.wav(wav, tones: [0.3, 0.2])
        let lm = dir + "/lm.safetensors", other = dir + "/other.safetensors", translate = dir + "/t.safetensors"
        try TinyModels.generate(lm, text: "Yes, no. Stop!")  // capitals: matched to the lowercased model's letters
        try TinyModels.generate(other)                     // lacks 'y' and 'n'
        try TinyModels.translate(translate)
        let base = ["transcribe", "-m", model, "--max-length", "12", "--beam", "3", "--jsonl", wav]
        let plain = try RecurBinary.run(base)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let zero = try RecurBinary.run(base + ["--lm", lm, "--lm-weight", "0"])
        XCTAssertEqual(zero.status, 0, zero.stderr)
        XCTAssertEqual(zero.stdout, plain.stdout, "weight 0 changes nothing")
        let fused = try RecurBinary.run(base + ["--lm", lm, "--lm-weight", "2"])
        XCTAssertEqual(fused.status, 0, fused.stderr)
        let a = try XCTUnwrap(records(plain.stdout).first?["score"] as? Double)
        let b = try XCTUnwrap(records(fused.stdout).first?["score"] as? Double)
        XCTAssertLessThan(b, a - 1e-3, "the language model's log-probabilities are added")

        for (bad, reason) in [(translate, "not a language model"), (other, "lacks 2 of the model's")] {
            let r = try RecurBinary.run(base + ["--lm", bad])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stdout.isEmpty)
            XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(bad) && r.stderr.contains(reason), r.stderr)
        }
        let negative = try RecurBinary.run(base + ["--lm", lm, "--lm-weight", "-1"])
        XCTAssertNotEqual(negative.status, 0)
        XCTAssertTrue(negative.stderr.contains("--lm-weight"), negative.stderr)

        // A pipeline stage's lm and lm_weight decode as the command's flags.
        func pipeline(_ options: String) throws -> RecurBinary.Result {
            try "stages:\n  - task: transcribe\n    model: s.safetensors\n    options: {max_length: 12, beam: 3\(options)}\n"
                .write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
            return try RecurBinary.run(["run", dir + "/p.yaml", "--jsonl", wav])
        }
        let piped = try pipeline(", lm: lm.safetensors, lm_weight: 2")
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(try records(piped.stdout).first?["score"] as? Double, b)
        XCTAssertEqual(try records(pipeline("").stdout).first?["score"] as? Double, a)
        let lonely = try pipeline(", lm_weight: 2")
        XCTAssertNotEqual(lonely.status, 0)
        XCTAssertTrue(lonely.stderr.contains("stage 1 (transcribe): lm_weight goes with lm") && lonely.stderr.contains("p.yaml"), lonely.stderr)
        let wrong = try pipeline(", lm: other.safetensors")
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.stderr.contains("stage 1 (transcribe)") && wrong.stderr.contains("other.safetensors"), wrong.stderr)

        try "path\ttranscript\n\(wav)\tyes\n".write(toFile: dir + "/m.tsv", atomically: true, encoding: .utf8)
        let e = try RecurBinary.run(["evaluate", "-m", model, "--data", dir + "/m.tsv", "--metric", "cer", "--beam", "2",
                                     "--lm", lm, "--lm-weight", "0.5", "--jsonl"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let o = try XCTUnwrap(records(e.stdout).first)
        XCTAssertEqual(o["lm"] as? String, lm)
        XCTAssertEqual(o["lm_weight"] as? Double, 0.5)
    }

    /// A model exported with `--beam` and `--lm` decodes with them unless told
    /// otherwise (`--beam`, `--no-lm`, a stage's `lm: none`), as Marian ships
    /// a model with its decoder.yml; a missing language model is named.
    func testTheModelsNotesChooseItsBeamAndLanguageModel() throws {
        let plain = dir + "/s.safetensors", noted = dir + "/noted.safetensors", lost = dir + "/lost.safetensors"
        let lm = dir + "/lm.safetensors", wav = dir + "/a.wav"
        try TinyModels.transcribe(plain)
        try TinyModels.generate(lm, text: "yes no stop")
        try TinyModels.wav(wav, tones: [0.3, 0.2])
        let export = try RecurBinary.run(["export", plain, "--out", noted, "--float32", "--beam", "3", "--lm", lm, "--lm-weight", "2"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(try RecurBinary.run(["export", plain, "--out", lost, "--float32", "--lm", "no-such-lm"]).status, 0)
        func score(_ args: [String]) throws -> Double {
            let r = try RecurBinary.run(["transcribe", "--jsonl", "--max-length", "12"] + args + [wav])
            XCTAssertEqual(r.status, 0, r.stderr)
            return try XCTUnwrap(records(r.stdout).first?["score"] as? Double, r.stdout)
        }
        let fused = try score(["-m", plain, "--beam", "3", "--lm", lm, "--lm-weight", "2"])
        let alone = try score(["-m", plain, "--beam", "3"])
        XCTAssertNotEqual(fused, alone)
        XCTAssertEqual(try score(["-m", noted]), fused, "the notes' beam, language model and weight")
        XCTAssertEqual(try score(["-m", noted, "--no-lm"]), alone)
        XCTAssertEqual(try score(["-m", noted, "--lm-weight", "0"]), alone)
        XCTAssertEqual(try score(["-m", noted, "--beam", "1"]), try score(["-m", plain, "--lm", lm, "--lm-weight", "2"]))

        let missing = try RecurBinary.run(["transcribe", "-m", lost, wav])
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(lines(missing.stderr).count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("lost.safetensors") && missing.stderr.contains("no-such-lm")
                      && missing.stderr.contains("--no-lm"), missing.stderr)
        XCTAssertEqual(try RecurBinary.run(["transcribe", "-m", lost, "--no-lm", wav]).status, 0)
        let stray = try RecurBinary.run(["transcribe", "-m", plain, "--lm-weight", "1", wav])
        XCTAssertEqual(stray.status, 2)
        XCTAssertTrue(stray.stderr.contains("--lm-weight goes with --lm"), stray.stderr)

        func pipeline(_ options: String) throws -> Double {
            try "stages:\n  - task: transcribe\n    model: noted.safetensors\n    options: {max_length: 12\(options)}\n"
                .write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
            let r = try RecurBinary.run(["run", dir + "/p.yaml", "--jsonl", wav])
            XCTAssertEqual(r.status, 0, r.stderr)
            return try XCTUnwrap(records(r.stdout).first?["score"] as? Double, r.stdout)
        }
        XCTAssertEqual(try pipeline(""), fused)
        XCTAssertEqual(try pipeline(", lm: none"), alone)
        try "stages:\n  - task: transcribe\n    model: noted.safetensors\n    options: {lm: none, lm_weight: 1}\n"
            .write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let contradictory = try RecurBinary.run(["run", dir + "/p.yaml", wav])
        XCTAssertNotEqual(contradictory.status, 0)
        XCTAssertTrue(contradictory.stderr.contains("lm_weight does not go with lm: none"), contradictory.stderr)

        // Exporting with --lm none and --beam 0 removes the notes again.
        let bare = dir + "/bare.safetensors"
        XCTAssertEqual(try RecurBinary.run(["export", noted, "--out", bare, "--float32", "--lm", "none", "--beam", "0"]).status, 0)
        XCTAssertEqual(try score(["-m", bare]), try score(["-m", plain]))

        try "path\ttranscript\n\(wav)\tyes\n".write(toFile: dir + "/m.tsv", atomically: true, encoding: .utf8)
        let e = try RecurBinary.run(["evaluate", "-m", noted, "--data", dir + "/m.tsv", "--metric", "cer", "--jsonl"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let o = try XCTUnwrap(records(e.stdout).first)
        XCTAssertEqual(o["beam"] as? Int, 3)
        XCTAssertEqual(o["lm_weight"] as? Double, 2)
    }

    /// A toy language learnt to exactness: `recur translate` gives every target, `recur evaluate` 100 % exact.
    func testTrainedModelTranslatesExactly() throws {
        let map = ["a": "x", "b": "y", "c": "z", "d": "w"]
        var rng = RNG(seed: 1)
        var pairs: [(String, String)] = []
        for _ in 0..<12 {
            let n = 1 + rng.int(below: 3)
            let src = (0..<n).map { _ in ["a", "b", "c", "d"][rng.int(below: 4)] }
            pairs.append((src.joined(separator: " "), src.reversed().map { map[$0]! }.joined(separator: " ")))
        }
        let data = dir + "/pairs.tsv"
        try (pairs.map { "\($0.0)\t\($0.1)" }.joined(separator: "\n") + "\n").write(toFile: data, atomically: true, encoding: .utf8)
        var spec = TaskDataSpec(task: .translate, train: [data], format: .tsv)
        spec.validFraction = 0
        let task = try TaskPreparation.prepare(spec, sourceVocabulary: nil, targetVocabulary: nil, lowercase: true, audio: nil, image: nil)
        let cfg = Seq2SeqConfig(sourceVocabularySize: task.sourceVocabulary!.count, targetVocabularySize: task.targetVocabulary!.count,
                                embeddingSize: 8, hiddenSize: 16, cell: .gru)
        let model = try Seq2Seq(config: cfg)
        let store = ParameterStore(model.layout)
        model.initialize(store, rng: &rng)
        var adam = Adam(learningRate: 0.01)
        let all = Array(0..<task.train.count)
        let asValidation = ValidationData(sources: task.train.sources, references: task.train.targets.map { [task.io.text($0)] },
                                          targets: task.train.targets, origins: all.map(String.init))
        for step in 1...600 {
            store.zeroGrads()
            let (sources, targets) = try task.train.batch(all, rng: &rng)
            _ = try model.loss(store, sources: sources, targets: targets, training: true, labelSmoothing: 0, backward: true, rng: &rng)
            _ = GradientClipping.clipGlobalNorm(store, maxNorm: 5)
            adam.step(store)
            if step % 50 == 0,
               try TaskEvaluation.evaluate(model, store, data: asValidation, io: task.io, metric: "exact").metric == 100 { break }
        }
        let path = dir + "/toy.safetensors"
        try ModelFile.write(to: path, description: ModelDescription(task: .translate, config: ModelConfig(seq2seq: cfg),
                                                                    sourceVocabulary: task.sourceVocabulary,
                                                                    targetVocabulary: task.targetVocabulary, normalizer: task.normalizer),
                            store: store)
        let r = try RecurBinary.run(["translate", "-m", path, "--beam", "1"], stdin: pairs.map(\.0).joined(separator: "\n") + "\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(lines(r.stdout), pairs.map(\.1))
        let e = try RecurBinary.run(["evaluate", "-m", path, "--data", data, "--metric", "exact", "--jsonl"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let o = try XCTUnwrap(records(e.stdout).first)
        XCTAssertEqual(o["value"] as? Double, 100)
        XCTAssertEqual(o["examples"] as? Int, Set(pairs.map(\.0)).count)
        // Text form (BLEU is the default metric: 0 here, as sacrebleu's, since no sentence has 4 words).
        // The model lowercases, so its references are lowercased and the signature says case:lc (sacrebleu -lc).
        let text = try RecurBinary.run(["evaluate", "-m", path, "--data", data])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("\nbleu        0  (nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:"), text.stdout)
        XCTAssertTrue(text.stdout.contains("\nloss        0."), text.stdout)
        // A metric name longer than the column is printed whole.
        let chrf = try RecurBinary.run(["evaluate", "-m", path, "--data", data, "--metric", "chrf++"])
        XCTAssertTrue(chrf.stdout.contains("\nchrf++      "), chrf.stdout)
        let long = try RecurBinary.run(["evaluate", "-m", path, "--data", data, "--metric", "caption-bleu4"])
        XCTAssertEqual(long.status, 0, long.stderr)
        XCTAssertTrue(long.stdout.contains("\ncaption-bleu4 "), long.stdout)
    }
}
