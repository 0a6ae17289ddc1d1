import Foundation
import RecurCore
import RecurFrontends
import RecurModels
@testable import RecurTraining
import XCTest

/// Kaldi-style speed perturbation (`frontend.speed_perturb`): each training
/// file's features once per factor at preparation time, one factor drawn per
/// example at batch time, validation untouched, bad values refused.
final class SpeedPerturbTests: XCTestCase {
    var dir = ""
    /// Tone frequencies of the files t0.wav … t3.wav (1 s each at 16 kHz).
    let tones: [Float] = [1000, 1500, 2000, 2500]
    let factors = [0.9, 1.0, 1.1]

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "recur-speed-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rows = ["path\ttranscript"]
        for (i, hz) in tones.enumerated() {
            // A steady tone with short fades: 16,000 samples.
            let n = 16000
            let samples = (0..<n).map { t -> Float in
                let fade = min(1, Float(min(t, n - 1 - t)) / 400)
                return 0.3 * fade * sin(2 * .pi * hz * Float(t) / 16000)
            }
            try AudioFile.write(samples, sampleRate: 16000, to: dir + "/t\(i).wav")
            rows.append("t\(i).wav\t\(["one", "two", "three", "four"][i])")
        }
        try (rows.joined(separator: "\n") + "\n").write(toFile: dir + "/transcripts.tsv", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Log mel without CMVN (a steady tone would normalise to nothing), 40 bands.
    var audio: AudioConfig {
        var c = AudioPreset.recur.config(nMels: 40)
        c.cmvn = .none
        c.level = .rms(dBFS: -20)
        return c
    }

    /// The four files as a transcribe task: the last one (by the split) validates.
    func prepare(factors: [Double]?) throws -> PreparedTask {
        var spec = TaskDataSpec(task: .transcribe, train: [dir + "/transcripts.tsv"], format: .manifest)
        spec.validCount = 1
        spec.speedFactors = factors
        return try TaskPreparation.prepare(spec, sourceVocabulary: nil, targetVocabulary: nil, lowercase: true,
                                           audio: audio, image: nil)
    }

    func features(_ s: PreparedSource, file: StaticString = #filePath, line: UInt = #line) throws -> Tensor {
        guard case .features(let f) = s else { XCTFail("not features", file: file, line: line); throw RecurError(.value, "not features") }
        return f
    }

    func values(_ t: Tensor) -> [Float] { Array(UnsafeBufferPointer(start: t.data, count: t.count)) }

    /// The mel band with the most energy, summed over the middle frames.
    func peakBand(_ f: Tensor) -> Int {
        let T = f.shape[0], D = f.shape[1]
        var sums = [Float](repeating: 0, count: D)
        for t in (T / 4)..<(3 * T / 4) { for d in 0..<D { sums[d] += f.data[t * D + d] } }
        return sums.indices.max { sums[$0] < sums[$1] }!
    }

    func testFactorsChangeLengthAndPitchTheRightWay() throws {
        let task = try prepare(factors: factors)
        XCTAssertEqual(task.train.count, 3)
        XCTAssertEqual(task.train.speedFactors, factors)
        XCTAssertEqual(task.train.alternatives.count, 3)
        XCTAssertTrue(task.report.contains { $0.hasPrefix("speed perturbation (0.9, 1.0, 1.1): 9 feature sets of 3 training files, 6 of them perturbed, computed in ") },
                      task.report.joined(separator: "\n"))
        for i in 0..<task.train.count {
            let alts = try task.train.alternatives[i].map { try features($0) }
            XCTAssertEqual(alts.count, 3)
            let base = try features(task.train.sources[i])
            // 1.0 is the unperturbed features, bit for bit.
            XCTAssertEqual(alts[1].shape, base.shape)
            XCTAssertEqual(values(alts[1]), values(base))
            XCTAssertEqual(task.train.lengths(i).source, base.shape[0])
            // Slower is longer: about T / factor frames (1 s: 101 frames → 112 at 0.9, 91 at 1.1).
            for (k, f) in factors.enumerated() where f != 1 {
                let ratio = Double(alts[k].shape[0]) / Double(base.shape[0])
                XCTAssertEqual(ratio, 1 / f, accuracy: 0.015, "factor \(f): \(alts[k].shape[0]) vs \(base.shape[0]) frames")
                XCTAssertEqual(alts[k].shape[1], base.shape[1])
            }
            // Slower is lower, faster is higher: the tone's mel band moves.
            XCTAssertLessThan(peakBand(alts[0]), peakBand(alts[1]), "example \(i)")
            XCTAssertGreaterThan(peakBand(alts[2]), peakBand(alts[1]), "example \(i)")
        }
    }

    func testValidationIsUnperturbed() throws {
        let task = try prepare(factors: factors)
        XCTAssertEqual(task.validation.count, 1)
        let path = task.validation.origins[0]
        let v = try features(task.validation.sources[0])
        let expected = try features(try task.io.prepare(path))
        XCTAssertEqual(v.shape, expected.shape)
        XCTAssertEqual(values(v), values(expected))
        XCTAssertEqual(v.shape[0], 101, "1 s at a 10 ms hop, centred")
        // And the same as without perturbation: training sources too.
        let plain = try prepare(factors: nil)
        XCTAssertTrue(plain.train.alternatives.isEmpty)
        XCTAssertTrue(plain.train.speedFactors.isEmpty)
        XCTAssertEqual(values(try features(plain.validation.sources[0])), values(v))
        for i in 0..<plain.train.count {
            XCTAssertEqual(values(try features(plain.train.sources[i])), values(try features(task.train.sources[i])))
        }
    }

    /// The factor of each example of a batch, told by its frame count.
    func drawnFactors(_ task: PreparedTask, _ indices: [Int], rng: inout RNG) throws -> [Int] {
        let (sources, _) = try task.train.batch(indices, rng: &rng)
        guard case .features(let fs) = sources else { XCTFail("a speech batch is features"); return [] }
        return try zip(indices, fs).map { i, f in
            let lengths = try task.train.alternatives[i].map { try features($0).shape[0] }
            XCTAssertEqual(Set(lengths).count, 3, "the factors' lengths must differ to tell them apart")
            guard let k = lengths.firstIndex(of: f.shape[0]) else {
                XCTFail("a batch source of \(f.shape[0]) frames is none of \(lengths)")
                return -1
            }
            return k
        }
    }

    func testBatchesDrawEveryFactorReproducibly() throws {
        let task = try prepare(factors: factors)
        let indices = [2, 0, 1]
        func draws(seed: UInt64, batches: Int) throws -> [Int] {
            var rng = RNG(seed: seed)
            var out: [Int] = []
            for _ in 0..<batches { out += try drawnFactors(task, indices, rng: &rng) }
            return out
        }
        let a = try draws(seed: 7, batches: 200)
        // Uniform: each factor about a third of 600 draws, for every example.
        for k in 0..<3 {
            let n = a.filter { $0 == k }.count
            XCTAssertGreaterThan(n, 150, "factor \(factors[k]) drawn \(n) of 600 times")
            XCTAssertLessThan(n, 250, "factor \(factors[k]) drawn \(n) of 600 times")
            for e in 0..<3 {
                XCTAssertTrue(stride(from: e, to: a.count, by: 3).contains { a[$0] == k }, "example \(e) never drew \(factors[k])")
            }
        }
        XCTAssertEqual(try draws(seed: 7, batches: 200), a, "the same seed must draw the same factors")
        XCTAssertNotEqual(try draws(seed: 8, batches: 200), a, "another seed should draw others")

        // SpecAugment draws after the factors: a first batch draws the same factors with it on.
        for seed: UInt64 in 1...10 {
            var r1 = RNG(seed: seed), r2 = RNG(seed: seed)
            let plain = try drawnFactors(task, indices, rng: &r1)
            task.train.specAugment = SpecAugment.Options()
            defer { task.train.specAugment = nil }
            let masked = try drawnFactors(task, indices, rng: &r2)
            XCTAssertEqual(masked, plain, "seed \(seed)")
        }
        // Without perturbation a batch is the unperturbed sources and draws nothing.
        let plain = try prepare(factors: nil)
        var r = RNG(seed: 3)
        var before = r
        let (sources, _) = try plain.train.batch(indices, rng: &r)
        guard case .features(let fs) = sources else { return XCTFail("a speech batch is features") }
        XCTAssertEqual(fs.map { $0.shape[0] }, indices.map { plain.train.sources[$0].length })
        XCTAssertEqual(r.next(), before.next())
    }

    func recipe(task: String = "transcribe", speed: String) throws -> Recipe {
        let yaml = """
        name: speed
        task: \(task)
        seed: 3
        threads: 1
        output: \(dir)/run
        data: {root: \(dir), train: transcripts.tsv, format: manifest, valid_count: 1}
        vocab: {target: {kind: char, size: 100, min_frequency: 1}}
        frontend: {audio: {preset: recur, n_mels: 16, cmvn: utterance}, spec_augment: true, speed_perturb: \(speed)}
        model: {cell: gru, embedding: 8, hidden: 8, pyramid: 0, dropout: 0}
        optimizer: {name: adam, lr: 0.01}
        training: {batch_tokens: 1000, max_sentences: 4, max_steps: 2, validate_every: 2, checkpoint_every: 2,
                   log_every: 1, valid_limit: 1}
        """
        return try Recipe.parse(yaml, file: dir + "/speed.yaml")
    }

    func testBadFactorsAreRefused() throws {
        for (task, speed, why) in [("transcribe", "[0.9, 2.5]", "2.5"), ("transcribe", "[0.0, 1.0]", "0.0"),
                                   ("transcribe", "[-1.1]", "-1.1"), ("transcribe", "[]", "empty"),
                                   ("translate", "[0.9, 1.0, 1.1]", "transcribe")] {
            XCTAssertThrowsError(try TrainingSession(recipe: try recipe(task: task, speed: speed), log: { _ in }, progress: .plain),
                                 "\(task) \(speed)") { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains("frontend.speed_perturb"), text)
                XCTAssertTrue(text.contains(why), text)
                XCTAssertTrue(text.contains("speed.yaml"), "names the recipe: \(text)")
            }
        }
        // The data layer refuses too.
        var spec = TaskDataSpec(task: .transcribe, train: [dir + "/transcripts.tsv"], format: .manifest)
        spec.speedFactors = [1.0, 3.0]
        XCTAssertThrowsError(try TaskPreparation.prepare(spec, sourceVocabulary: nil, targetVocabulary: nil, lowercase: true,
                                                         audio: audio, image: nil)) { e in
            XCTAssertTrue("\(e)".contains("frontend.speed_perturb"), "\(e)")
        }
        // Sensible values pass.
        XCTAssertNoThrow(try TaskPreparation.checkSpeedFactors([0.9, 1.0, 1.1], task: .transcribe))
        XCTAssertNoThrow(try TaskPreparation.checkSpeedFactors([2.0, 0.5], task: .transcribe))
    }

    func testSessionTrainsWithSpeedPerturbation() throws {
        var lines: [String] = []
        let session = try TrainingSession(recipe: try recipe(speed: "[0.9, 1.0, 1.1]"), log: { lines.append($0) }, progress: .plain)
        XCTAssertEqual(session.task.train.speedFactors, factors)
        XCTAssertEqual(session.task.train.alternatives.count, 3)
        XCTAssertNotNil(session.task.train.specAugment)
        XCTAssertEqual(lines.filter { $0.contains("speed perturbation") }.count, 1, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.contains("9 feature sets") }, lines.joined(separator: "\n"))
        _ = try session.run()
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/run/model.safetensors"))
        // Without the field: no perturbation.
        let off = try TrainingSession(recipe: try recipe(speed: "null"), log: { _ in }, progress: .plain)
        XCTAssertTrue(off.task.train.alternatives.isEmpty)
    }
}
