import ArgumentParser
import Foundation
import RecurCore
import RecurFrontends

/// `recur bench frontend`: log-mel of an hour of audio (and pooled PNG features).
///
/// Compare with `python ../shared/bench/baseline_stft.py --impl torch --threads 2`
/// in the same sitting: the same pipeline (center/reflect, n_fft 400, hop 160,
/// periodic Hann, power, 80 HTK mels 0–8 kHz, log) on random audio, decoding not timed.
struct BenchFrontend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frontend",
        abstract: "Log-mel of an hour of audio and pooled PNG features (release build)."
    )

    @OptionGroup var compute: ComputeOptions
    @Option(help: "Timed runs per measurement (the median is reported).") var runs = 5
    @Option(help: "Seconds of 16 kHz audio to featurize.") var seconds = 3600
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Option(help: "Run only one part: audio or image (default: both).") var only: String?

    func run() throws {
        try compute.apply()
        guard runs >= 1, seconds >= 1 else { throw ValidationError("--runs and --seconds must be positive") }
        if let only, only != "audio" && only != "image" { throw ValidationError("--only must be audio or image") }
        var rows: [[String: Any]] = []

        // MARK: audio
        if only != "image" {
        let n = 16000 * seconds
        let x = Tensor(zeros: [n])
        var rng = RNG(seed: 0)
        rng.fillUniform(x, -0.17, 0.17)  // about the level of baseline_stft.py's 0.1·N(0, 1)
        var logMel = AudioPreset.recur.config()
        logMel.cmvn = .none
        let cases: [(String, AudioConfig, AudioFrontend.Stage)] = [
            ("log-mel (recur preset, no CMVN; baseline_stft.py's pipeline)", logMel, .features),
            ("recur preset (log-mel + per-utterance CMVN)", AudioPreset.recur.config(), .features),
            ("power spectrogram only (201 bins)", logMel, .power),
        ]
        for (name, config, stage) in cases {
            let f = try AudioFrontend(config)
            var frames = 0
            // The warm-up call plans FFTW and touches the pages.
            let times = sortedTimes(runs: runs) { frames = f.compute(x, stage: stage).shape[0] }
            let t = median(times)
            rows.append(["workload": name, "audio_seconds": seconds, "frames": frames, "seconds": t,
                         "min_seconds": times[0], "max_seconds": times[times.count - 1], "x_real_time": Double(seconds) / t])
        }
        }

        // MARK: image (pooled PNG features; benchPooledImageFeatures is in FeaturesImage.swift)
        let imageRows = only == "audio" ? [] : try benchPooledImageFeatures(runs: max(runs, 21))

        if json {
            let obj: [String: Any] = ["threads": Threads.count, "runs": runs, "frontend": rows, "image": imageRows]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if !rows.isEmpty {
            print("threads: \(Threads.count), median [min–max] of \(runs) runs, \(seconds) s of 16 kHz audio (decoding not timed)")
        }
        for r in rows {
            let name = (r["workload"] as! String).padding(toLength: 64, withPad: " ", startingAt: 0)
            print(name + String(format: " %7.3f s [%.3f–%.3f]  %6.0fx real time  (%d frames)", r["seconds"] as! Double,
                                r["min_seconds"] as! Double, r["max_seconds"] as! Double, r["x_real_time"] as! Double,
                                r["frames"] as! Int))
        }
        if imageRows.isEmpty { return }
        print("pooled image features (median of \(max(runs, 21)) runs):")
        for r in imageRows {
            print(String(format: "%-64@ %9.2f ms", (r["workload"] as! String) as NSString, r["milliseconds"] as! Double))
        }
    }
}
