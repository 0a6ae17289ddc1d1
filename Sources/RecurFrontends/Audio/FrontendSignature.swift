import Foundation
import RecurCore

/// Everything that decides what an audio frontend produces, as a dictionary
/// (for checkpoint metadata) and a short string (for logs and file names).
/// Models store it and refuse features made with another one.
///
/// Keys: version, sample_rate, n_fft, win_length, hop, window, framing, pad,
/// dc, preemphasis, dither, power, n_mels, mel_scale, mel_norm, mel_precision, f_min, f_max,
/// log, n_mfcc, deltas, cmvn, level, trim. The dither seed is left out: it
/// changes noise, not what the features mean.
public struct FrontendSignature: Sendable, Equatable, Codable, CustomStringConvertible {
    public static let version = "recur-audio-1"
    public let dictionary: [String: String]

    /// The order keys appear in `short`.
    public static let keys = ["version", "sample_rate", "n_fft", "win_length", "hop", "window", "framing", "pad", "dc",
                              "preemphasis", "dither", "power", "n_mels", "mel_scale", "mel_norm", "mel_precision", "f_min", "f_max",
                              "log", "n_mfcc", "deltas", "cmvn", "level", "trim"]

    public init(dictionary: [String: String]) { self.dictionary = dictionary }

    public init(_ c: AudioConfig) {
        func num(_ x: Float) -> String { x == x.rounded() && abs(x) < 1e7 ? String(Int(x)) : "\(x)" }
        let log: String
        switch c.log {
        case .none: log = "none"
        case .ln(let f): log = "ln:\(f)"
        case .db(let a, let t): log = "db:\(a):\(t.map(num) ?? "none")"
        }
        let cmvn: String
        switch c.cmvn {
        case .none: cmvn = "none"
        case .utterance(let v): cmvn = v ? "utterance" : "utterance-mean"
        case .global(let p): cmvn = "global:\(URL(fileURLWithPath: p).lastPathComponent)"
        }
        let level: String
        switch c.level {
        case .none: level = "none"
        case .peak(let p): level = "peak:\(num(p))"
        case .rms(let d): level = "rms:\(num(d))"
        }
        dictionary = [
            "version": FrontendSignature.version,
            "sample_rate": String(c.sampleRate), "n_fft": String(c.nFFT), "win_length": String(c.winLength),
            "hop": String(c.hop), "window": c.window.rawValue + (c.periodicWindow ? "-periodic" : "-symmetric"),
            "framing": c.framing.rawValue, "pad": c.framing == .center ? c.padMode.rawValue : "none",
            "dc": c.removeDCOffset ? "remove" : "keep", "preemphasis": num(c.preemphasis), "dither": num(c.dither),
            "power": num(c.power), "n_mels": String(c.nMels), "mel_scale": c.melScale.rawValue,
            "mel_norm": c.melNorm.rawValue, "mel_precision": c.melFilterbankFloat32 ? "float32" : "float64",
            "f_min": num(c.fMin), "f_max": num(c.upperFrequency), "log": log,
            "n_mfcc": String(c.nMFCC), "deltas": String(c.deltaOrder), "cmvn": cmvn, "level": level,
            "trim": c.trimSilenceDB.map(num) ?? "none",
        ]
    }

    /// `key=value` pairs in `keys` order, space-separated.
    public var short: String {
        FrontendSignature.keys.compactMap { k in dictionary[k].map { "\(k)=\($0)" } }.joined(separator: " ")
    }

    public var description: String { short }

    /// Parses `short` back.
    public init(short: String) throws {
        var d: [String: String] = [:]
        for part in short.split(separator: " ") {
            guard let eq = part.firstIndex(of: "=") else {
                throw RecurError(.format, "frontend signature: '\(part)' is not key=value")
            }
            d[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        dictionary = d
    }

    /// The keys whose values differ (or that only one side has), sorted.
    public func differences(_ other: FrontendSignature) -> [String] {
        Set(dictionary.keys).union(other.dictionary.keys).filter { dictionary[$0] != other.dictionary[$0] }.sorted()
    }

    /// Throws a `RecurError` listing every difference when `self` (what a model
    /// was trained with) differs from `features` (what the input was made with).
    public func check(_ features: FrontendSignature, model: String? = nil) throws {
        let diff = differences(features)
        guard !diff.isEmpty else { return }
        let items = diff.map { "\($0): model \(dictionary[$0] ?? "-"), features \(features.dictionary[$0] ?? "-")" }
        throw RecurError(.value, "audio frontend mismatch (\(items.joined(separator: "; "))); make the features with the model's frontend settings",
                         file: model)
    }
}
