import Foundation
import RecurCore

/// Mel scales, filterbanks and the DCT used for MFCCs (computed in Double,
/// stored as Float).
public enum Mel {
    /// Hz → mel on `scale`.
    public static func mel(_ f: Double, _ scale: MelScale) -> Double {
        switch scale {
        case .htk: return 2595 * log10(1 + f / 700)
        case .kaldi: return 1127 * Foundation.log(1 + f / 700)
        case .slaney:
            let fsp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fsp, logStep = Foundation.log(6.4) / 27
            return f >= minLogHz ? minLogMel + Foundation.log(f / minLogHz) / logStep : f / fsp
        }
    }

    /// mel → Hz on `scale`.
    public static func hz(_ m: Double, _ scale: MelScale) -> Double {
        switch scale {
        case .htk: return 700 * (pow(10, m / 2595) - 1)
        case .kaldi: return 700 * (Foundation.exp(m / 1127) - 1)
        case .slaney:
            let fsp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fsp, logStep = Foundation.log(6.4) / 27
            return m >= minLogMel ? minLogHz * Foundation.exp(logStep * (m - minLogMel)) : fsp * m
        }
    }

    /// The filterbank of `config`: (n_mels, n_fft/2+1), row m the weights of band m.
    ///
    /// HTK and Slaney follow librosa.filters.mel / torchaudio.functional.melscale_fbanks
    /// (corners evenly spaced in mel, triangles linear in Hz, bin k at k·sr/n_fft);
    /// Kaldi follows kaldi-feat's MelBanks (triangles linear in mel, no weight on the Nyquist bin).
    public static func filterbank(_ c: AudioConfig) -> Tensor {
        let bins = c.bins, nMels = c.nMels
        let fb = Tensor(zeros: [nMels, bins])
        let lo = Double(c.fMin), hi = Double(c.upperFrequency)
        let mlo = mel(lo, c.melScale), mhi = mel(hi, c.melScale)
        let binHz = Double(c.sampleRate) / Double(c.nFFT)
        if c.melScale == .kaldi {
            let delta = (mhi - mlo) / Double(nMels + 1)
            for m in 0..<nMels {
                let left = mlo + Double(m) * delta, center = left + delta, right = center + delta
                for k in 0..<(c.nFFT / 2) {  // Kaldi has no Nyquist bin
                    let mk = mel(binHz * Double(k), .kaldi)
                    if mk > left && mk < right {
                        let w = mk <= center ? (mk - left) / (center - left) : (right - mk) / (right - center)
                        fb[m, k] = Float(w)
                    }
                }
            }
            return fb
        }
        if c.melFilterbankFloat32 { return filterbankFloat32(c) }
        var corners = [Double](repeating: 0, count: nMels + 2)
        for i in 0..<(nMels + 2) { corners[i] = hz(mlo + (mhi - mlo) * Double(i) / Double(nMels + 1), c.melScale) }
        for m in 0..<nMels {
            let l = corners[m], ctr = corners[m + 1], r = corners[m + 2]
            let scale = c.melNorm == .slaney ? 2 / (r - l) : 1
            for k in 0..<bins {
                let f = binHz * Double(k)
                let up = (f - l) / (ctr - l), down = (r - f) / (r - ctr)
                let w = max(0, min(up, down))
                if w > 0 { fb[m, k] = Float(w * scale) }
            }
        }
        return fb
    }

    /// torch.linspace in float32: step in float32, each point start + step·i
    /// rounded once (the fused multiply-add of its vectorized kernel), the
    /// second half counted back from the end.
    static func linspace32(_ a: Double, _ b: Double, _ n: Int) -> [Float] {
        let A = Float(a), B = Float(b)
        let step = (B - A) / Float(n - 1)
        return (0..<n).map { i in
            i < n / 2 ? Float(Double(A) + Double(step) * Double(i)) : Float(Double(B) - Double(step) * Double(n - i - 1))
        }
    }

    /// mel → Hz with torchaudio's float32 tensor arithmetic.
    static func hz32(_ m: Float, _ scale: MelScale) -> Float {
        switch scale {
        case .slaney:
            let fsp: Float = 200.0 / 3, minLogHz: Float = 1000, minLogMel = Float(1000.0 / (200.0 / 3))
            let logStep = Float(Foundation.log(6.4) / 27)
            return m >= minLogMel ? minLogHz * Float(Foundation.exp(Double(logStep * (m - minLogMel)))) : fsp * m
        default:
            return Float(700) * (Float(pow(10.0, Double(m / Float(2595)))) - 1)
        }
    }

    /// The filterbank as torchaudio.functional.melscale_fbanks computes it (float32 throughout).
    static func filterbankFloat32(_ c: AudioConfig) -> Tensor {
        let bins = c.bins, nMels = c.nMels
        let fb = Tensor(zeros: [nMels, bins])
        let freqs = linspace32(0, Double(c.sampleRate / 2), bins)
        let m = linspace32(mel(Double(c.fMin), c.melScale), mel(Double(c.upperFrequency), c.melScale), nMels + 2)
        let p = m.map { hz32($0, c.melScale) }
        for b in 0..<nMels {
            let d0 = p[b + 1] - p[b], d1 = p[b + 2] - p[b + 1]
            let enorm: Float = c.melNorm == .slaney ? 2 / (p[b + 2] - p[b]) : 1
            for k in 0..<bins {
                let down = (Float(-1) * (p[b] - freqs[k])) / d0
                let up = (p[b + 2] - freqs[k]) / d1
                let w = max(0, min(down, up))
                if w > 0 { fb[b, k] = c.melNorm == .slaney ? w * enorm : w }
            }
        }
        return fb
    }

    /// The orthonormal DCT-II matrix (n_out, n_in): row k = s_k·cos(π·k·(2i+1) / (2·n_in)),
    /// s_0 = √(1/n_in), s_k = √(2/n_in) (scipy `dct(type=2, norm="ortho")`, librosa and torchaudio MFCC).
    public static func dctMatrix(_ nOut: Int, _ nIn: Int) -> Tensor {
        let d = Tensor(zeros: [nOut, nIn])
        for k in 0..<nOut {
            let s = k == 0 ? (1.0 / Double(nIn)).squareRoot() : (2.0 / Double(nIn)).squareRoot()
            for i in 0..<nIn {
                d[k, i] = Float(s * cos(Double.pi * Double(k) * Double(2 * i + 1) / Double(2 * nIn)))
            }
        }
        return d
    }
}
