import Foundation
import RecurModelTestSupport
import RecurTestSupport
import XCTest

/// A model file carries the length penalty its beam search uses by default
/// (`recur export --length-penalty`): `recur translate`, `recur evaluate`
/// and a pipeline stage use it unless given one; an explicit value (0
/// included) wins; a bad note is refused naming the file.
final class ModelDecodingDefaultsCLITests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("recur-defaults-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// The n-best lists (text and log-probability, best first) of `recur translate --jsonl --nbest 3`
    /// on the tiny model's sentences: their order is the penalised scores'.
    func scores(_ args: [String]) throws -> [String] {
        let r = try RecurBinary.run(["translate", "--jsonl", "--beam", "3", "--nbest", "3", "--max-length", "10"] + args,
                                    stdin: TinyModels.english.joined(separator: "\n") + "\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        return try r.stdout.split(separator: "\n").map {
            let nbest = try XCTUnwrap((JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["nbest"] as? [[String: Any]])
            return nbest.map { "\($0["text"] ?? "") \($0["score"] ?? "")" }.joined(separator: " | ")
        }
    }

    func testExportedLengthPenaltyIsTheDefaultEverywhere() throws {
        let plain = dir + "/plain.safetensors", tuned = dir + "/tuned.safetensors"
        try TinyModels.translate(plain, eosBias: 0.4)
        let export = try RecurBinary.run(["export", plain, "--out", tuned, "--float32", "--length-penalty", "20"])
        XCTAssertEqual(export.status, 0, export.stderr)
        let inspect = try RecurBinary.run(["inspect", tuned])
        XCTAssertTrue(inspect.stdout.range(of: #"length_penalty\s+20\.0\n"#, options: .regularExpression) != nil, inspect.stdout)

        // A large α, so that the ranking of this random model's hypotheses (each token costs about as
        // much as ending) changes.
        let none = try scores(["--model", plain])
        let alpha = try scores(["--model", plain, "--length-penalty", "20"])
        XCTAssertNotEqual(none, alpha, "the penalty changes the ranking")
        XCTAssertEqual(try scores(["--model", tuned]), alpha, "the model's α is the default")
        XCTAssertEqual(try scores(["--model", tuned, "--length-penalty", "0"]), none, "an explicit α wins")

        try "the cat sleeps\tle chat dort\na dog runs\tun chien court\n".write(toFile: dir + "/data.tsv", atomically: true, encoding: .utf8)
        for (model, expected) in [(plain, 0.0), (tuned, 20.0)] {
            let e = try RecurBinary.run(["evaluate", "-m", model, "--data", dir + "/data.tsv", "--beam", "3", "--jsonl"])
            XCTAssertEqual(e.status, 0, e.stderr)
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(try XCTUnwrap(o["length_penalty"] as? Double), expected, accuracy: 1e-6)
        }
        let text = try RecurBinary.run(["evaluate", "-m", tuned, "--data", dir + "/data.tsv", "--beam", "3"])
        XCTAssertTrue(text.stdout.contains("decoding    beam 3, length penalty 20.0 (the model's)"), text.stdout)

        // A pipeline stage: the model's α unless the stage gives one.
        for (options, expected) in [("{beam: 3, nbest: 3, max_length: 10}", alpha), ("{beam: 3, nbest: 3, max_length: 10, length_penalty: 0}", none)] {
            try "name: t\nstages:\n  - task: translate\n    model: \(tuned)\n    options: \(options)\n"
                .write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
            let run = try RecurBinary.run(["run", dir + "/p.yaml", "--jsonl"], stdin: TinyModels.english.joined(separator: "\n") + "\n")
            XCTAssertEqual(run.status, 0, run.stderr)
            let got = try run.stdout.split(separator: "\n").map {
                let nbest = try XCTUnwrap((JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["nbest"] as? [[String: Any]])
                return nbest.map { "\($0["text"] ?? "") \($0["score"] ?? "")" }.joined(separator: " | ")
            }
            XCTAssertEqual(got, expected, options)
        }

        // Exporting with 0 removes the note.
        XCTAssertEqual(try RecurBinary.run(["export", tuned, "--out", dir + "/back.safetensors", "--float32", "--length-penalty", "0"]).status, 0)
        XCTAssertEqual(try scores(["--model", dir + "/back.safetensors"]), none)
    }

    /// `--ban-unk` (and a pipeline stage's `ban_unk: true`, and `recur evaluate --ban-unk`): a model
    /// that prefers `<unk>` outputs it without the option and never with it.
    func testBanUnkKeepsUnknownOutOfEveryOutput() throws {
        let model = dir + "/unk.safetensors"
        try TinyModels.translate(model, eosBias: 1, unkBias: 3)
        let input = TinyModels.english.joined(separator: "\n") + "\n"
        func nbest(_ args: [String]) throws -> [String] {
            let r = try RecurBinary.run(["translate", "--model", model, "--jsonl", "--beam", "3", "--nbest", "3",
                                         "--max-length", "6"] + args, stdin: input)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try r.stdout.split(separator: "\n").flatMap {
                let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
                return try XCTUnwrap(o["nbest"] as? [[String: Any]]).map { "\($0["text"] ?? "")" }
            }
        }
        XCTAssertTrue(try nbest([]).contains { $0.contains("<unk>") }, "the model prefers <unk>")
        let banned = try nbest(["--ban-unk"])
        XCTAssertEqual(banned.count, 3 * TinyModels.english.count)
        XCTAssertFalse(banned.contains { $0.contains("<unk>") }, "\(banned)")
        let greedy = try RecurBinary.run(["translate", "--model", model, "--beam", "1", "--ban-unk"], stdin: input)
        XCTAssertEqual(greedy.status, 0, greedy.stderr)
        XCTAssertFalse(greedy.stdout.contains("<unk>"), greedy.stdout)

        for (options, unk) in [("{beam: 1, ban_unk: true}", false), ("{beam: 1, ban_unk: false}", true)] {
            try "name: t\nstages:\n  - task: translate\n    model: \(model)\n    options: \(options)\n"
                .write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
            let run = try RecurBinary.run(["run", dir + "/p.yaml"], stdin: input)
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertEqual(run.stdout.contains("<unk>"), unk, "\(options): \(run.stdout)")
        }
        try "name: t\nstages:\n  - task: translate\n    model: \(model)\n    options: {ban_unk: 3}\n"
            .write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let bad = try RecurBinary.run(["run", dir + "/p.yaml"], stdin: input)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("ban_unk"), bad.stderr)

        try "the cat sleeps\tle chat dort\n".write(toFile: dir + "/data.tsv", atomically: true, encoding: .utf8)
        let e = try RecurBinary.run(["evaluate", "-m", model, "--data", dir + "/data.tsv", "--ban-unk"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("greedy, <unk> banned"), e.stdout)
    }

    func testABadLengthPenaltyNoteIsRefusedNamingTheFile() throws {
        let plain = dir + "/plain.safetensors", bad = dir + "/bad.safetensors"
        try TinyModels.translate(plain)
        XCTAssertEqual(try RecurBinary.run(["export", plain, "--out", bad, "--note", "length_penalty=lots"]).status, 0)
        let r = try RecurBinary.run(["translate", "--model", bad], stdin: "the cat sleeps\n")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("bad.safetensors") && r.stderr.contains("length_penalty") && r.stderr.contains("'lots'"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        let negative = try RecurBinary.run(["export", plain, "--out", bad, "--length-penalty", "-1"])
        XCTAssertEqual(negative.status, 64, negative.stderr)
    }
}
