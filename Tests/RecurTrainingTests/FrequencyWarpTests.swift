import Foundation
import RecurCore
import RecurFrontends
import RecurModels
@testable import RecurTraining
import XCTest

/// Frequency warping of speech features (`frontend.frequency_warp`): bands resampled
/// along the band axis by α, block by block; one α drawn per training example at batch
/// time from the training generator; bad values and other tasks refused.
final class FrequencyWarpTests: XCTestCase {
    /// T frames of two 40-band blocks, each frame a peak at `band` (1 there, 0 elsewhere).
    func peaks(_ band: Int, frames: Int = 3, bands: Int = 40, blocks: Int = 2) -> Tensor {
        let x = Tensor(zeros: [frames, bands * blocks])
        for t in 0..<frames { for b in 0..<blocks { x.data[t * bands * blocks + b * bands + band] = 1 } }
        return x
    }

    func argmax(_ x: Tensor, frame t: Int, block b: Int, bands: Int = 40) -> Int {
        let row = x.data + t * x.shape[1] + b * bands
        return (0..<bands).max { row[$0] < row[$1] }!
    }

    func testWarpMovesThePeakByAlphaInEveryBlock() {
        let x = peaks(20)
        let same = SpecAugment.warpFrequency(x, alpha: 1, bands: 40)
        XCTAssertEqual(same.array, x.array)
        // α > 1 reads higher bands: the peak at 20 appears at 20 / α.
        let down = SpecAugment.warpFrequency(x, alpha: 1.25, bands: 40)
        let up = SpecAugment.warpFrequency(x, alpha: 0.8, bands: 40)
        for t in 0..<3 {
            for b in 0..<2 {
                XCTAssertEqual(argmax(down, frame: t, block: b), 16)
                XCTAssertEqual(argmax(up, frame: t, block: b), 25)
            }
        }
        XCTAssertEqual(down.data[16], 1, accuracy: 1e-6)
        XCTAssertEqual(up.data[25], 1, accuracy: 1e-6)
    }

    func testWarpInterpolatesLinearlyAndClampsAtTheTop() {
        let x = Tensor(zeros: [1, 10])
        for f in 0..<10 { x.data[f] = Float(f * f) }
        let y = SpecAugment.warpFrequency(x, alpha: 1.5, bands: 10)
        for f in 0..<10 {
            let pos = min(Float(f) * 1.5, 9), lo = Int(pos), w = pos - Float(lo)
            let expected = lo + 1 < 10 ? Float(lo * lo) * (1 - w) + Float((lo + 1) * (lo + 1)) * w : 81
            XCTAssertEqual(y.data[f], expected, accuracy: 1e-4, "band \(f)")
        }
        XCTAssertEqual(y.data[9], 81)   // beyond the top: the last band
    }

    /// At batch time: one α per example from the generator (same seed, same batch), each
    /// within [1 - w, 1 + w], the stored sources left as they were.
    func testBatchesDrawOneFactorPerExampleFromTheGenerator() throws {
        let sources: [PreparedSource] = (0..<6).map { _ in .features(peaks(30, bands: 40, blocks: 1)) }
        let data = ExampleData(sources: sources, targets: Array(repeating: [4, 5], count: 6))
        data.frequencyWarp = (0.2, 40)
        var r1 = RNG(seed: 9), r2 = RNG(seed: 9), r3 = RNG(seed: 10)
        let a = try data.batch(Array(0..<6), rng: &r1), b = try data.batch(Array(0..<6), rng: &r2)
        let c = try data.batch(Array(0..<6), rng: &r3)
        func peakBands(_ s: SourceBatch) -> [Int] {
            guard case .features(let f) = s else { return [] }
            return f.map { argmax($0, frame: 0, block: 0) }
        }
        let pa = peakBands(a.sources)
        XCTAssertEqual(pa, peakBands(b.sources))
        XCTAssertEqual(pa.count, 6)
        // 30 / 1.2 = 25 … 30 / 0.8 = 37.5
        for p in pa { XCTAssertTrue((25...38).contains(p), "\(pa)") }
        XCTAssertGreaterThan(Set(pa).count, 1, "factors vary between examples: \(pa)")
        XCTAssertNotEqual(pa, peakBands(c.sources), "another seed, other factors")
        for s in sources { if case .features(let f) = s { XCTAssertEqual(argmax(f, frame: 0, block: 0), 30) } }
    }

    func testRecipeKeyIsCheckedAndOnlyForSpeech() throws {
        let speech = """
            name: s
            task: transcribe
            data: {train: a.tsv, format: manifest}
            vocab: {target: {kind: char}}
            training: {max_steps: 1}
            """
        func parse(_ text: String, _ overrides: [String]) throws -> Recipe {
            try Recipe.parse(text, file: "recipes/s.yaml", overrides: overrides)
        }
        XCTAssertEqual(try parse(speech, ["frontend.frequency_warp=0.1"]).frontend.frequencyWarp, 0.1)
        XCTAssertEqual(try parse(speech, []).frontend.frequencyWarp, 0)
        XCTAssertThrowsError(try parse(speech, ["frontend.frequency_warp=0.6"])) {
            XCTAssertTrue("\($0)".contains("frontend.frequency_warp must be in [0, 0.5)"), "\($0)")
        }
        let text = speech.replacingOccurrences(of: "task: transcribe", with: "task: translate")
        XCTAssertThrowsError(try parse(text, ["frontend.frequency_warp=0.1"])) {
            XCTAssertTrue("\($0)".contains("only for transcribe"), "\($0)")
        }
    }
}
