import Foundation
import RecurCore
import RecurFrontends
import RecurTestSupport
import XCTest

/// Recur's presets against librosa, torchaudio and Kaldi (torchaudio.compliance.kaldi)
/// on the signals of scripts/make_frontend_fixtures.py.
///
/// Tolerances: log-mel, CMVN features and deltas: max |Δ| ≤ 1e-3. Power and mel
/// energies: max |Δ| ≤ 1e-4 · max |reference| (relative to the spectrogram's
/// peak: bins 100 dB down are float32 round-off in both). MFCCs: max |Δ| ≤
/// 1e-3 · max(1, max |reference|) (dB-valued inputs reach hundreds).
final class AudioParityTests: XCTestCase {
    struct Case { let preset: AudioPreset; let signal: String; let stage: String; let file: String }

    func cases() throws -> [Case] {
        let refs = (try AudioFixtures.manifest()["references"] as? [String: Any]) ?? [:]
        return refs.keys.sorted().compactMap { name in
            let parts = name.dropLast(4).split(separator: "_")  // audio_ref_<preset>_<sig>_<stage>
            guard parts.count == 5, let p = AudioPreset(rawValue: String(parts[2])) else { return nil }
            return Case(preset: p, signal: String(parts[3]), stage: String(parts[4]), file: name)
        }
    }

    func compute(_ c: Case) throws -> Tensor {
        var cfg = c.preset.config()
        let stage: AudioFrontend.Stage
        switch c.stage {
        case "power": stage = .power
        case "mel": stage = .mel
        case "logmel": stage = .logMel
        case "features": stage = .features
        case "mfcc": cfg.nMFCC = c.preset.defaultMFCC; stage = .features
        case "deltas": cfg.nMFCC = 13; cfg.deltaOrder = 2; stage = .features
        default: throw XCTSkip("unknown stage \(c.stage)")
        }
        let (x, sr) = try AudioFile.read(AudioFixtures.path("audio_sig_\(c.signal).wav"))
        XCTAssertEqual(sr, cfg.sampleRate, c.file)
        return try AudioFrontend(cfg).compute(x, stage: stage)
    }

    func testEveryReference() throws {
        let all = try cases()
        XCTAssertGreaterThanOrEqual(all.count, 20, "fixtures missing")
        var seen = Set<String>()
        for c in all {
            seen.insert("\(c.preset.rawValue)/\(c.stage)")
            let ref = try NPY.read(AudioFixtures.path(c.file))
            let got = try compute(c)
            XCTAssertEqual(got.shape, ref.shape, c.file)
            guard got.shape == ref.shape else { continue }
            var err: Float = 0, peak: Float = 0
            for i in 0..<ref.count where !ref.data[i].isNaN {
                err = max(err, abs(got.data[i] - ref.data[i]))
                peak = max(peak, abs(ref.data[i]))
            }
            let tol: Float
            switch c.stage {
            case "power", "mel": tol = 1e-4 * peak
            case "mfcc": tol = 1e-3 * max(1, peak)
            default: tol = 1e-3
            }
            XCTAssertLessThanOrEqual(err, tol, "\(c.file): max |Δ| \(err) (peak \(peak))")
            print(String(format: "parity %-44@ max |Δ| %.3g (tolerance %.3g, peak %.4g)", c.file as NSString, err, tol, peak))
        }
        for p in AudioPreset.allCases {
            XCTAssertTrue(seen.contains("\(p.rawValue)/logmel"), "no log-mel reference for \(p)")
            XCTAssertTrue(seen.contains("\(p.rawValue)/power"), "no power reference for \(p)")
        }
    }
}
