import Foundation
import RecurCore
import RecurFrontends
@testable import RecurTraining
import XCTest

/// `frontend.audio` in a recipe reaches the audio frontend the task trains with:
/// mel bands, MFCCs, deltas and CMVN; the feature width follows; bad values are refused
/// naming the recipe.
final class RecipeAudioTests: XCTestCase {
    let speech = """
        name: s
        task: transcribe
        data: {train: a.tsv, format: manifest}
        vocab: {target: {kind: char}}
        frontend: {audio: {preset: recur, n_mels: 40}}
        training: {max_steps: 1}
        """

    func config(_ overrides: [String]) throws -> AudioConfig {
        try TrainingSession.audioConfig(try Recipe.parse(speech, file: "recipes/s.yaml", overrides: overrides))
    }

    func testLogMelIsTheDefault() throws {
        let c = try config([])
        XCTAssertEqual(c.nMels, 40)
        XCTAssertEqual(c.nMFCC, 0)
        XCTAssertEqual(c.dimension, 40)
    }

    func testMFCCsAndDeltas() throws {
        let c = try config(["frontend.audio.n_mfcc=13", "frontend.audio.deltas=2"])
        XCTAssertEqual(c.nMFCC, 13)
        XCTAssertEqual(c.deltaOrder, 2)
        XCTAssertEqual(c.dimension, 39)
        // The frame the frontend makes has that width.
        let f = try AudioFrontend(c)
        let n = c.sampleRate / 2
        let tone = (0..<n).map { Float(sin(2 * Double.pi * 440 * Double($0) / Double(c.sampleRate))) * 0.3 }
        let x = f.compute(Tensor(shape: [n], tone))
        XCTAssertEqual(x.shape[1], 39)
        XCTAssertGreaterThan(x.shape[0], 10)
        // And the frontend signature tells a model trained on it from a log-mel one.
        XCTAssertNotEqual(FrontendSignature(c), FrontendSignature(try config([])))
    }

    func testMoreMFCCsThanBandsAreRefused() throws {
        XCTAssertThrowsError(try config(["frontend.audio.n_mfcc=41"])) {
            XCTAssertTrue("\($0)".contains("n_mfcc 41"), "\($0)")
        }
    }

    func testFrequencyWarpNeedsMelBands() throws {
        XCTAssertNoThrow(try config(["frontend.frequency_warp=0.1"]))
        XCTAssertThrowsError(try config(["frontend.audio.n_mfcc=13", "frontend.frequency_warp=0.1"])) {
            XCTAssertTrue("\($0)".contains("frontend.frequency_warp"), "\($0)")
            XCTAssertTrue("\($0)".contains("MFCCs"), "\($0)")
        }
        XCTAssertThrowsError(try config(["frontend.audio.n_mfcc=-1"])) {
            XCTAssertTrue("\($0)".contains("frontend.audio.n_mfcc"), "\($0)")
        }
    }

    /// `model.frame_stack` is read for speech and refused elsewhere or below 1, naming the key.
    func testFrameStack() throws {
        XCTAssertEqual(try Recipe.parse(speech, file: "recipes/s.yaml", overrides: []).model.frameStack, 1)
        XCTAssertEqual(try Recipe.parse(speech, file: "recipes/s.yaml", overrides: ["model.frame_stack=3"]).model.frameStack, 3)
        XCTAssertThrowsError(try Recipe.parse(speech, file: "recipes/s.yaml", overrides: ["model.frame_stack=0"])) {
            XCTAssertTrue("\($0)".contains("model.frame_stack"), "\($0)")
        }
        let text = speech.replacingOccurrences(of: "task: transcribe", with: "task: translate")
            .replacingOccurrences(of: "format: manifest", with: "format: tsv")
        XCTAssertNoThrow(try Recipe.parse(text, file: "recipes/t.yaml", overrides: []))
        XCTAssertThrowsError(try Recipe.parse(text, file: "recipes/t.yaml", overrides: ["model.frame_stack=2"])) {
            XCTAssertTrue("\($0)".contains("model.frame_stack"), "\($0)")
        }
    }
}
