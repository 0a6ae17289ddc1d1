import Foundation
import RecurCore

/// Analysis windows. `periodic` windows are the first `n` points of an
/// `n+1`-point symmetric window (what `torch.hann_window` and
/// `scipy.signal.get_window(fftbins=True)` give); Kaldi uses symmetric ones.
public enum WindowKind: String, Sendable, Codable, CaseIterable {
    case hann, hamming, povey, rectangular

    /// The `n` window coefficients.
    public func coefficients(_ n: Int, periodic: Bool) -> [Float] {
        if n == 1 { return [1] }
        let denom = Double(periodic ? n : n - 1)
        return (0..<n).map { i in
            let a = 2 * Double.pi * Double(i) / denom
            switch self {
            case .hann: return Float(0.5 - 0.5 * cos(a))
            case .hamming: return Float(0.54 - 0.46 * cos(a))
            case .povey: return Float(pow(0.5 - 0.5 * cos(a), 0.85))
            case .rectangular: return 1
            }
        }
    }
}

/// How frames are laid over the signal.
public enum Framing: String, Sendable, Codable {
    /// librosa/torch `center=True`: the signal is padded by n_fft/2 on both
    /// sides; T = 1 + n / hop; a window shorter than n_fft sits in the middle of the frame.
    case center
    /// librosa/torch `center=False`: T = 1 + (n - n_fft) / hop.
    case noCenter = "no-center"
    /// Kaldi `snip_edges=True`: frames of win_length samples zero-padded at the
    /// end to n_fft; T = 1 + (n - win_length) / hop.
    case snipEdges = "snip-edges"
}

/// Padding for `Framing.center`.
public enum PadMode: String, Sendable, Codable {
    /// Mirror without repeating the edge sample (numpy/torch "reflect").
    case reflect
    /// Zeros (librosa ≥ 0.10's default "constant").
    case constant
}

/// Mel scales and filter shapes.
public enum MelScale: String, Sendable, Codable {
    /// HTK: 2595·log10(1 + f/700); triangles linear in Hz between mel-spaced corners (torchaudio, librosa htk=True).
    case htk
    /// Slaney (Auditory Toolbox): linear below 1 kHz, logarithmic above; triangles linear in Hz (librosa's default).
    case slaney
    /// Kaldi: 1127·ln(1 + f/700); triangles linear in mel; the Nyquist bin gets no weight.
    case kaldi
}

/// Filter normalisation.
public enum MelNorm: String, Sendable, Codable {
    case none
    /// Slaney area normalisation: each triangle scaled by 2 / (its width in Hz).
    case slaney
}

/// What the log stage does to the mel energies.
public enum LogKind: Sendable, Codable, Equatable {
    /// Keep the energies.
    case none
    /// ln(max(x, floor)).
    case ln(floor: Float)
    /// 10·log10(max(x, amin)), then (when topDB is given) clipped below at
    /// (the utterance's maximum − topDB) like `librosa.power_to_db` and
    /// `torchaudio.transforms.AmplitudeToDB` (power input, ref 1).
    case db(amin: Float, topDB: Float?)
}

/// Cepstral mean and variance normalisation.
public enum CMVNKind: Sendable, Codable, Equatable {
    case none
    /// Each feature dimension of each utterance to mean 0 (and variance 1 when `variance`).
    case utterance(variance: Bool)
    /// With mean and standard deviation stored in a file (`CMVNStats` JSON).
    case global(statsPath: String)
}

/// Level normalisation of the waveform before analysis.
public enum LevelNorm: Sendable, Codable, Equatable {
    case none
    /// Scale so that max |x| = peak (e.g. 0.95).
    case peak(Float)
    /// Scale so that the RMS level is `dBFS` (e.g. -20).
    case rms(dBFS: Float)
}

/// Every setting of the audio frontend. The presets reproduce the defaults of
/// the references people trust; `signature` names a configuration for models to store.
public struct AudioConfig: Sendable, Codable, Equatable {
    /// Target sample rate in Hz: files are resampled to it (libsoxr, high quality).
    public var sampleRate = 16000
    public var nFFT = 400
    public var winLength = 400
    public var hop = 160
    public var window = WindowKind.hann
    public var periodicWindow = true
    public var framing = Framing.center
    public var padMode = PadMode.reflect
    /// Subtract each frame's mean (Kaldi `remove_dc_offset`).
    public var removeDCOffset = false
    /// Per-frame pre-emphasis x[i] -= k·x[i-1] (x[-1] = x[0], as Kaldi); 0 turns it off.
    public var preemphasis: Float = 0
    /// Gaussian dither of this standard deviation added to every sample of
    /// every frame (in the waveform's units), drawn from `ditherSeed` and the
    /// frame index, so it does not depend on threads or blocks.
    public var dither: Float = 0
    public var ditherSeed: UInt64 = 0
    /// 1: magnitude, 2: power.
    public var power: Float = 2
    public var nMels = 80
    public var melScale = MelScale.htk
    public var melNorm = MelNorm.none
    public var fMin: Float = 0
    /// Upper edge in Hz; nil is Nyquist. A value ≤ 0 means Nyquist + value (Kaldi's convention).
    public var fMax: Float? = nil
    /// Compute the HTK/Slaney filterbank the way torchaudio.functional.melscale_fbanks
    /// does, in float32 (its corner frequencies and slopes carry float32
    /// round-off up to about 1e-5 per weight); false computes it in Double.
    public var melFilterbankFloat32 = false
    public var log = LogKind.ln(floor: 1e-6)
    /// > 0: output that many MFCCs (DCT-II, orthonormal, of the log-mel) instead of the log-mel.
    public var nMFCC = 0
    /// 0, 1 or 2: append deltas (and delta-deltas), window ±2 frames, edges replicated.
    public var deltaOrder = 0
    public var cmvn = CMVNKind.utterance(variance: true)
    public var level = LevelNorm.none
    /// Trim leading and trailing frames whose energy is more than this many dB below the loudest frame.
    public var trimSilenceDB: Float? = nil

    public init() {}

    /// n_fft/2 + 1.
    public var bins: Int { nFFT / 2 + 1 }
    public var upperFrequency: Float {
        let nyq = Float(sampleRate) / 2
        guard let f = fMax else { return nyq }
        return f > 0 ? f : nyq + f
    }
    /// Feature dimension of one output frame (before deltas: n_mels or n_mfcc).
    public var baseDimension: Int { nMFCC > 0 ? nMFCC : nMels }
    /// Feature dimension of one output frame, deltas included.
    public var dimension: Int { baseDimension * (1 + deltaOrder) }

    /// Checks the settings; throws a `RecurError(.value)` that names the bad one.
    public func validate() throws {
        func bad(_ s: String) -> RecurError { RecurError(.value, "audio frontend: \(s)") }
        guard sampleRate >= 1000 && sampleRate <= 384_000 else { throw bad("sample rate \(sampleRate) outside 1000…384000 Hz") }
        guard nFFT >= 16 && nFFT <= 65536 else { throw bad("n_fft \(nFFT) outside 16…65536") }
        guard winLength >= 1 && winLength <= nFFT else { throw bad("win_length \(winLength) must be in 1…n_fft (\(nFFT))") }
        guard hop >= 1 else { throw bad("hop must be at least 1") }
        guard power == 1 || power == 2 else { throw bad("power must be 1 or 2, got \(power)") }
        guard nMels >= 1 && nMels <= 1024 else { throw bad("n_mels \(nMels) outside 1…1024") }
        guard fMin >= 0 && fMin < upperFrequency && upperFrequency <= Float(sampleRate) / 2 + 1e-3 else {
            throw bad("mel range \(fMin)…\(upperFrequency) Hz must lie inside 0…\(sampleRate / 2) Hz")
        }
        guard nMFCC >= 0 && nMFCC <= nMels else { throw bad("n_mfcc \(nMFCC) must be in 0…n_mels (\(nMels))") }
        guard (0...2).contains(deltaOrder) else { throw bad("delta order \(deltaOrder) must be 0, 1 or 2") }
        guard dither >= 0, preemphasis >= 0 && preemphasis < 1 else { throw bad("dither must be ≥ 0 and pre-emphasis in [0, 1)") }
        if nMFCC > 0, case .none = log { throw bad("MFCCs need a log stage") }
    }
}

/// The named configurations.
public enum AudioPreset: String, Sendable, CaseIterable, Codable {
    case recur, librosa, torchaudio, kaldi

    /// The configuration, with `nMels` overriding the preset's band count when given.
    public func config(nMels: Int? = nil) -> AudioConfig {
        var c = AudioConfig()
        switch self {
        case .recur:
            // 16 kHz, 25 ms periodic Hann, 10 ms hop, 80 HTK mels 0–8 kHz, ln(max(x, 1e-6)), per-utterance CMVN.
            break
        case .librosa:
            // librosa.feature.melspectrogram defaults, then librosa.power_to_db (ref 1, amin 1e-10, top_db 80).
            c.sampleRate = 22050; c.nFFT = 2048; c.winLength = 2048; c.hop = 512
            c.framing = .center; c.padMode = .constant
            c.nMels = 128; c.melScale = .slaney; c.melNorm = .slaney
            c.log = .db(amin: 1e-10, topDB: 80); c.cmvn = .none
        case .torchaudio:
            // torchaudio.transforms.MelSpectrogram defaults, then AmplitudeToDB("power", top_db=80) as transforms.MFCC uses.
            c.sampleRate = 16000; c.nFFT = 400; c.winLength = 400; c.hop = 200
            c.framing = .center; c.padMode = .reflect
            c.nMels = 128; c.melScale = .htk; c.melNorm = .none; c.melFilterbankFloat32 = true
            c.log = .db(amin: 1e-10, topDB: 80); c.cmvn = .none
        case .kaldi:
            // torchaudio.compliance.kaldi.fbank defaults (dither 0, as there).
            c.sampleRate = 16000; c.nFFT = 512; c.winLength = 400; c.hop = 160
            c.window = .povey; c.periodicWindow = false; c.framing = .snipEdges
            c.removeDCOffset = true; c.preemphasis = 0.97
            c.nMels = 23; c.melScale = .kaldi; c.melNorm = .none; c.fMin = 20; c.fMax = 0
            c.log = .ln(floor: Float.ulpOfOne); c.cmvn = .none
        }
        if let nMels { c.nMels = nMels }
        return c
    }

    /// The MFCC count of the reference (librosa 20, torchaudio 40, Kaldi 13, Recur 13).
    public var defaultMFCC: Int {
        switch self { case .librosa: 20; case .torchaudio: 40; case .kaldi: 13; case .recur: 13 }
    }
}
