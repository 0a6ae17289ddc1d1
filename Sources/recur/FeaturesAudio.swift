import ArgumentParser
import Foundation
import RecurCore
import RecurFrontends

extension AudioPreset: ExpressibleByArgument {}

/// `recur features audio`: audio files to feature frames (.npy) and pictures.
struct FeaturesAudio: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio",
        abstract: "Audio files to log-mel / MFCC frames (T × D float32 .npy).",
        discussion: """
        Reads every format libsndfile reads (WAV, FLAC, OGG, AIFF, …), mixes to mono, resamples \
        to the preset's rate (libsoxr), and featurizes in blocks. One line per file on stdout \
        (input, output, frames × dimension); a file that fails is one line on stderr naming it, \
        the others are still processed, and the exit status is 1 if any failed.
        Presets: recur (16 kHz, 25 ms Hann, 10 ms hop, 80 HTK mels, log, per-utterance CMVN), \
        librosa (melspectrogram defaults + power_to_db), torchaudio (MelSpectrogram defaults + \
        AmplitudeToDB top_db 80), kaldi (torchaudio.compliance.kaldi.fbank defaults).
        """
    )

    @Argument(help: "Audio files.") var files: [String] = []
    @Option(help: "Frontend preset: recur, librosa, torchaudio or kaldi.") var preset: AudioPreset = .recur
    @Option(name: .customLong("n-mels"), help: "Mel bands (default: the preset's).") var nMels: Int?
    @Option(help: "Output MFCCs (DCT-II of the log-mel) instead of the log-mel: how many.") var mfcc: Int?
    @Option(help: "Append deltas: 1 (Δ) or 2 (Δ and ΔΔ).") var deltas: Int = 0
    @Option(name: .customLong("cmvn-stats"), help: "Global CMVN from this statistics file (recur-cmvn-1 JSON) instead of the preset's normalisation.")
    var cmvnStats: String?
    @Flag(name: .customLong("no-cmvn"), help: "No mean/variance normalisation.") var noCMVN = false
    @Option(name: .customLong("write-cmvn-stats"), help: "Accumulate global CMVN statistics over all inputs into this file (the features are then written without CMVN).")
    var writeCMVNStats: String?
    @Option(help: "Level normalisation before analysis: none, peak (to 0.95) or rms (to -20 dBFS).") var level: String = "none"
    @Option(name: .customLong("trim-db"), help: "Trim leading/trailing frames this many dB below the loudest.") var trimDB: Float?
    @Option(help: "Output file (one input only).") var out: String?
    @Option(name: .customLong("out-dir"), help: "Output folder: one NAME.npy per input (default: beside each input).") var outDir: String?
    @Option(help: "Also draw the features as a PNG colour map (one input only).") var png: String?
    @Option(name: .customLong("max-seconds"), help: "Refuse longer files.") var maxSeconds: Double = 24 * 3600
    @Flag(help: "Print the frontend signature and exit.") var signature = false
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if !signature && files.isEmpty { throw ValidationError("give at least one audio file") }
        if out != nil && outDir != nil { throw ValidationError("--out and --out-dir exclude each other") }
        if out != nil && files.count > 1 { throw ValidationError("--out takes one input; use --out-dir for several") }
        if png != nil && files.count > 1 { throw ValidationError("--png takes one input") }
        if let nMels, nMels < 1 { throw ValidationError("--n-mels must be positive") }
        if !(0...2).contains(deltas) { throw ValidationError("--deltas must be 0, 1 or 2") }
        if !["none", "peak", "rms"].contains(level) { throw ValidationError("--level must be none, peak or rms") }
        if writeCMVNStats != nil && cmvnStats != nil { throw ValidationError("--write-cmvn-stats and --cmvn-stats exclude each other") }
    }

    func makeConfig() -> AudioConfig {
        var c = preset.config(nMels: nMels)
        if let mfcc { c.nMFCC = mfcc }
        c.deltaOrder = deltas
        if noCMVN || writeCMVNStats != nil { c.cmvn = .none }
        if let cmvnStats { c.cmvn = .global(statsPath: cmvnStats) }
        switch level {
        case "peak": c.level = .peak(0.95)
        case "rms": c.level = .rms(dBFS: -20)
        default: break
        }
        c.trimSilenceDB = trimDB
        return c
    }

    func run() throws {
        try compute.apply()
        let frontend: AudioFrontend
        do { frontend = try AudioFrontend(makeConfig()) } catch let e as RecurError { throw ValidationError(e.description) }
        if signature {
            print(frontend.signature.short)
            return
        }
        if let outDir {
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: outDir, isDirectory: &isDir) {
                try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
            } else if !isDir.boolValue {
                throw ValidationError("--out-dir \(outDir) is a file")
            }
        }
        var failed = 0
        var used = Set<String>()
        var stats = CMVNStats(dimension: frontend.config.baseDimension)
        for file in files {
            do {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let x = try frontend.compute(file: file, maxSeconds: maxSeconds)
                let target = outputPath(for: file, used: &used)
                try NPY.write(x, to: target)
                if writeCMVNStats != nil {
                    // Statistics of the base features (deltas, if any, are the last columns and left out).
                    let base = frontend.config.baseDimension
                    let b = Tensor(zeros: [x.shape[0], base])
                    for t in 0..<x.shape[0] { (b.data + t * base).update(from: x.data + t * x.shape[1], count: base) }
                    stats.accumulate(b)
                }
                if let png { try SpectrogramImage.write(x, to: png) }
                let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                // One record a line, written at once (unbuffered) so pipelines see it per file.
                let line = "\(file)\t\(target)\t\(x.shape[0])x\(x.shape[1])\t\(String(format: "%.1f", ms)) ms\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            } catch let e as RecurError {
                failed += 1
                printError(e.naming(file).description)
            } catch {
                failed += 1
                printError("\(file): \(error)")
            }
        }
        if let writeCMVNStats {
            if stats.count > 0 {
                try stats.save(writeCMVNStats)
                printError("CMVN statistics of \(stats.count) frames written to \(writeCMVNStats)")
            } else {
                printError("\(writeCMVNStats): no frames to take statistics of; not written")
                failed += failed == 0 ? 1 : 0
            }
        }
        if failed > 0 {
            printError("\(failed) of \(files.count) file\(files.count == 1 ? "" : "s") failed")
            throw ExitCode(1)
        }
    }

    /// Where the features of `file` go.
    func outputPath(for file: String, used: inout Set<String>) -> String {
        if let out { return out }
        let url = URL(fileURLWithPath: file)
        let stem = url.deletingPathExtension().lastPathComponent
        let dir = outDir.map { URL(fileURLWithPath: $0) } ?? url.deletingLastPathComponent()
        var candidate = dir.appendingPathComponent(stem + ".npy").path
        var k = 2
        while used.contains(candidate) {
            candidate = dir.appendingPathComponent("\(stem)-\(k).npy").path
            k += 1
        }
        used.insert(candidate)
        return candidate
    }
}
