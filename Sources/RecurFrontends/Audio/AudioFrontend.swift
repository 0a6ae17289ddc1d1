import CBLAS
import Foundation
import RecurCore

/// Turns a waveform into feature frames: STFT (FFTW r2c) → power → mel (one
/// GEMM over a block of frames) → log → [trim, top-dB, MFCC, CMVN, deltas].
///
/// Shapes: samples (n) at `config.sampleRate` → features (T, config.dimension),
/// with T = `frameCount(samples: n)` (fewer when silence trimming is on).
///
/// Frames are split into one contiguous range per thread (`Threads.count`);
/// each thread transforms its range in sub-blocks of 256 frames into a
/// (256, n_fft/2+1) power matrix and projects it to mel bands with `BLAS.gemm`
/// (over groups of adjacent bands and only the bins they touch). Only those
/// sub-blocks' intermediates exist, and `AudioFeatureStream` (used for files)
/// takes samples in pieces, so an hour of audio never needs the decoded file
/// and all intermediate arrays at once: memory is the output plus a few MB.
///
/// While the threads run, OpenBLAS is set to one thread (each thread calls it
/// on its own sub-blocks) and restored to `Threads.count` afterwards.
public final class AudioFrontend: @unchecked Sendable {
    public let config: AudioConfig
    /// (n_mels, n_fft/2+1)
    public let filterbank: Tensor
    /// (n_mfcc, n_mels) when MFCCs are on.
    public let dct: Tensor?
    /// The analysis window (win_length).
    public let window: [Float]
    let windowTensor: Tensor
    /// Global CMVN mean and inverse std, when configured.
    let globalStats: (mean: [Float], invStd: [Float])?
    /// Frames `AudioFeatureStream` (files) gathers before computing them.
    public var blockFrames = 2048
    /// The mel projection as GEMMs over groups of adjacent bands, each over
    /// only the bins its filters touch: (first band, bands, first bin, bins).
    /// The filterbank is mostly zeros, so this does about a quarter of the
    /// flops of one dense (bins × n_mels) product, with the same result.
    let melGroups: [(band: Int, bands: Int, bin: Int, bins: Int)]

    /// What `compute` returns.
    public enum Stage: Sendable {
        /// |STFT|^power: (T, n_fft/2+1); no mel, log or post-processing.
        case power
        /// Mel energies: (T, n_mels).
        case mel
        /// The log stage applied (dB top-dB clipping included): (T, n_mels).
        case logMel
        /// Everything the configuration asks for: (T, dimension).
        case features
    }

    public init(_ config: AudioConfig) throws {
        try config.validate()
        self.config = config
        filterbank = Mel.filterbank(config)
        dct = config.nMFCC > 0 ? Mel.dctMatrix(config.nMFCC, config.nMels) : nil
        window = config.window.coefficients(config.winLength, periodic: config.periodicWindow)
        windowTensor = Tensor(shape: [config.winLength], window)
        melGroups = AudioFrontend.groups(filterbank, size: 16)
        if case .global(let path) = config.cmvn {
            let stats = try CMVNStats.load(path)
            guard stats.dimension == config.baseDimension else {
                throw RecurError(.value, "global CMVN stats have dimension \(stats.dimension), the frontend makes \(config.baseDimension)", file: path)
            }
            globalStats = (stats.mean.map(Float.init), stats.std.map { 1 / Float(max($0, 1e-5)) })
        } else {
            globalStats = nil
        }
    }

    /// Contiguous groups of `size` bands with the bin range their weights cover.
    static func groups(_ fb: Tensor, size: Int) -> [(band: Int, bands: Int, bin: Int, bins: Int)] {
        let nMels = fb.shape[0], bins = fb.shape[1]
        var out: [(band: Int, bands: Int, bin: Int, bins: Int)] = []
        var b0 = 0
        while b0 < nMels {
            let b1 = min(nMels, b0 + size)
            var lo = bins, hi = 0
            for m in b0..<b1 {
                for k in 0..<bins where fb.data[m * bins + k] != 0 { lo = min(lo, k); hi = max(hi, k + 1) }
            }
            out.append(lo < hi ? (b0, b1 - b0, lo, hi - lo) : (b0, b1 - b0, 0, 0))
            b0 = b1
        }
        return out
    }

    public convenience init(preset: AudioPreset, nMels: Int? = nil) throws {
        try self.init(preset.config(nMels: nMels))
    }

    public var signature: FrontendSignature { FrontendSignature(config) }

    /// Frames produced from `n` samples (before trimming).
    public func frameCount(samples n: Int) -> Int {
        switch config.framing {
        case .center: return n > 0 ? 1 + n / config.hop : 0
        case .noCenter: return n >= config.nFFT ? 1 + (n - config.nFFT) / config.hop : 0
        case .snipEdges: return n >= config.winLength ? 1 + (n - config.winLength) / config.hop : 0
        }
    }

    /// Index of the first sample frame `t` analyses (may be negative: padding).
    @inline(__always)
    func frameStart(_ t: Int) -> Int {
        switch config.framing {
        case .center: return t * config.hop - config.nFFT / 2 + (config.nFFT - config.winLength) / 2
        case .noCenter: return t * config.hop + (config.nFFT - config.winLength) / 2
        case .snipEdges: return t * config.hop
        }
    }

    /// Features of a whole waveform held in memory (at `config.sampleRate`):
    /// blocks read the samples in place, no copy.
    public func compute(_ samples: Tensor, stage: Stage = .features) -> Tensor {
        var x = samples
        let gain = levelGain(samples)
        if gain != 1 {
            x = samples.copy()
            BLAS.scal(n: x.count, alpha: gain, x: x.data)
        }
        let n = x.count, T = frameCount(samples: n), bins = config.bins
        let width = stage == .power ? bins : config.nMels
        let out = Tensor(zeros: [T, width])
        let energy = UnsafeMutablePointer<Float>.allocate(capacity: max(T, 1))
        defer { energy.deallocate() }
        let source = SampleSource(data: x.data, base: 0, count: n, total: n,
                                  mode: config.framing == .center ? config.padMode : .constant)
        computeFrames(source, frames: 0..<T, stage: stage, out: out.data, energy: energy)
        return withExtendedLifetime(x) { postprocess(out, energy: energy, stage: stage) }
    }

    /// Features of an audio file: read in blocks, resampled to `config.sampleRate`
    /// with libsoxr as it streams, featurized block by block.
    public func compute(file path: String, stage: Stage = .features, maxSeconds: Double = 24 * 3600) throws -> Tensor {
        var gain: Float = 1
        if config.level != .none {
            // First pass: the level of the decoded file.
            let d = try AudioDecoder(path: path, maxSeconds: maxSeconds)
            var stats = LevelStats()
            let buf = UnsafeMutablePointer<Float>.allocate(capacity: 65536)
            defer { buf.deallocate() }
            while true {
                let k = try d.read(into: buf, maxFrames: 65536)
                if k == 0 { break }
                stats.add(buf, k)
            }
            gain = stats.gain(config.level)
        }
        let d = try AudioDecoder(path: path, maxSeconds: maxSeconds)
        let rate = Double(d.info.sampleRate), target = Double(config.sampleRate)
        let expected = Resampler.outputLength(d.info.frames, from: rate, to: target)
        let stream = AudioFeatureStream(self, stage: stage, expectedSamples: expected)
        let resampler = rate == target ? nil : try Resampler(from: rate, to: target)
        let cap = 65536
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: cap)
        defer { buf.deallocate() }
        do {
            while true {
                let k = try d.read(into: buf, maxFrames: cap)
                if k == 0 { break }
                if gain != 1 { BLAS.scal(n: k, alpha: gain, x: buf) }
                if let resampler {
                    try resampler.process(buf, count: k) { p, m in stream.push(p, count: m) }
                } else {
                    stream.push(buf, count: k)
                }
            }
            try resampler?.finish { p, m in stream.push(p, count: m) }
        } catch let e as RecurError {
            throw e.naming(path)
        }
        return stream.finish()
    }

    /// The gain `config.level` asks for on `x`.
    func levelGain(_ x: Tensor) -> Float {
        if config.level == .none { return 1 }
        var s = LevelStats()
        s.add(x.data, x.count)
        return s.gain(config.level)
    }

    // MARK: the block kernel

    /// Frames per thread-local sub-block (one FFT workspace, one scratch power matrix, one GEMM per band group).
    static let subBlock = 256

    /// Computes frames `frames` from `source` into `out` (frames.count rows of
    /// `stage == .power ? bins : n_mels` floats), and each frame's energy
    /// (Σ|X|², before mel) into `energy`.
    ///
    /// The frames are split into `Threads.count` contiguous ranges, one per
    /// thread, and each thread runs FFT → power → mel GEMM → log over its range
    /// in sub-blocks of 256 frames with OpenBLAS single-threaded meanwhile: no
    /// barrier between the stages, so a busy core delays only its own range.
    /// The same seed and input give the same bits with any thread count.
    func computeFrames(_ source: SampleSource, frames: Range<Int>, stage: Stage,
                       out: UnsafeMutablePointer<Float>, energy: UnsafeMutablePointer<Float>) {
        let bins = config.bins
        let width = stage == .power ? bins : config.nMels
        let sub = AudioFrontend.subBlock
        // Sub-blocks start at absolute multiples of 256 frames, so the same frame
        // always meets the same GEMM shape: the bits do not depend on the thread count.
        var cuts = [frames.lowerBound]
        var next = (frames.lowerBound / sub + 1) * sub
        while next < frames.upperBound { cuts.append(next); next += sub }
        cuts.append(frames.upperBound)
        let blocks = cuts.count - 1
        let run = { (range: Range<Int>) in
            let fft = RealFFT(size: self.config.nFFT)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: stage == .power ? 1 : sub * bins)
            defer { scratch.deallocate() }
            for b in range {
                let s = cuts[b] - frames.lowerBound
                self.computeSubBlock(source, fft: fft, frames: cuts[b]..<cuts[b + 1], stage: stage,
                                     power: stage == .power ? out + s * width : scratch,
                                     out: out + s * width, energy: energy + s)
            }
        }
        if frames.isEmpty { return }
        if Threads.count > 1 {
            openblas_set_num_threads(1)
            defer { openblas_set_num_threads(Int32(Threads.count)) }
            parallelFor(blocks, minChunk: 1, run)
        } else {
            run(0..<blocks)
        }
    }

    /// One thread's sub-block: frames → `power` (frames.count × bins) → `out`.
    func computeSubBlock(_ source: SampleSource, fft: RealFFT, frames: Range<Int>, stage: Stage,
                         power: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>,
                         energy: UnsafeMutablePointer<Float>) {
        let c = config
        let bins = c.bins, nFFT = c.nFFT, L = c.winLength
        let win = UnsafePointer(windowTensor.data)
        let count = frames.count
        let plain = c.dither == 0 && !c.removeDCOffset && c.preemphasis == 0
        let x = fft.input, y = fft.output
        for r in 0..<count {
            let t = frames.lowerBound + r
            let start = frameStart(t)
            if plain, let src = source.interior(start, L) {
                // The common case: window the samples straight into the FFT input.
                for i in 0..<L { x[i] = src[i] * win[i] }
            } else {
                source.copy(from: start, count: L, into: x)
                if c.dither > 0 {
                    var rng = RNG(seed: c.ditherSeed ^ (UInt64(t) &* 0x9E37_79B9_7F4A_7C15))
                    for i in 0..<L { x[i] += c.dither * rng.normal() }
                }
                if c.removeDCOffset {
                    var s: Float = 0
                    for i in 0..<L { s += x[i] }
                    let mean = s / Float(L)
                    for i in 0..<L { x[i] -= mean }
                }
                if c.preemphasis > 0 {
                    let k = c.preemphasis
                    var i = L - 1
                    while i > 0 { x[i] -= k * x[i - 1]; i -= 1 }
                    x[0] -= k * x[0]
                }
                for i in 0..<L { x[i] *= win[i] }
            }
            if L < nFFT { (x + L).update(repeating: 0, count: nFFT - L) }
            fft.execute()
            energy[r] = AudioFrontend.power(y, bins: bins, into: power + r * bins, magnitude: c.power == 1)
        }
        if stage == .power { return }
        for g in melGroups {
            BLAS.gemm(.none, .transpose, m: count, n: g.bands, k: g.bins, a: power + g.bin, lda: bins,
                      b: filterbank.data + g.band * bins + g.bin, ldb: bins, c: out + g.band, ldc: c.nMels)
        }
        if stage == .mel { return }
        let n = count * c.nMels
        let floor: Float, scale: Float
        switch c.log {
        case .none: return
        case .ln(let f): (floor, scale) = (f, 1)
        case .db(let amin, _): (floor, scale) = (amin, Float(10 / M_LN10))
        }
        for i in 0..<n { out[i] = max(out[i], floor) }
        Kernels.log(n, out, out)
        if scale != 1 { for i in 0..<n { out[i] *= scale } }
    }

    /// Bins 0…bins-1 of the interleaved FFT output `y` as |X|² (or |X| when
    /// `magnitude`) into `p`; returns Σ|X|² (the frame's energy).
    @inline(__always)
    static func power(_ y: UnsafePointer<Float>, bins: Int, into p: UnsafeMutablePointer<Float>, magnitude: Bool) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var k = 0
        while k + 8 <= bins {
            let v = UnsafeRawPointer(y + 2 * k).loadUnaligned(as: SIMD16<Float>.self)
            let re = v.evenHalf, im = v.oddHalf
            let pw = re * re + im * im
            acc += pw
            UnsafeMutableRawPointer(p + k).storeBytes(of: magnitude ? pw.squareRoot() : pw, as: SIMD8<Float>.self)
            k += 8
        }
        var e = acc.sum()
        while k < bins {
            let re = y[2 * k], im = y[2 * k + 1]
            let pw = re * re + im * im
            e += pw
            p[k] = magnitude ? pw.squareRoot() : pw
            k += 1
        }
        return e
    }

    // MARK: utterance-level post-processing

    /// Trim, top-dB, MFCC, CMVN and deltas on the (T, n_mels) log-mel `x`,
    /// with `energy` (T) for trimming. Returns (T', dimension).
    func postprocess(_ x: Tensor, energy: UnsafePointer<Float>, stage: Stage) -> Tensor {
        var x = x
        let c = config
        if stage == .features, let trimDB = c.trimSilenceDB, x.shape[0] > 0 {
            let (lo, hi) = AudioFrontend.trimRange(energy, x.shape[0], topDB: trimDB)
            x = x.slice(lo..<hi)
        }
        if stage == .mel || stage == .power { return x }
        if case .db(_, let topDB?) = c.log, x.count > 0 {
            let floor = Kernels.max(x.count, x.data) - topDB
            let f = Kernels.V(repeating: floor)
            Kernels.map(x.count, x.data, x.data) { Kernels.maximum($0, f) }
        }
        if stage == .logMel { return x }
        let T = x.shape[0]
        if let dct {
            let m = Tensor(zeros: [T, c.nMFCC])
            if T > 0 { BLAS.gemm(x, .none, dct, .transpose, into: m) }
            x = m
        }
        switch c.cmvn {
        case .none: break
        case .utterance(let variance): Normalize.utteranceCMVN(x, variance: variance)
        case .global:
            if let g = globalStats { Normalize.apply(x, mean: g.mean, invStd: g.invStd) }
        }
        if c.deltaOrder > 0 { x = Deltas.append(x, order: c.deltaOrder) }
        return x
    }

    /// Frames [lo, hi) whose energy is within `topDB` dB of the loudest one
    /// (from the first such frame to the last); all frames when none is.
    static func trimRange(_ energy: UnsafePointer<Float>, _ T: Int, topDB: Float) -> (Int, Int) {
        var maxE: Float = 0
        for t in 0..<T { maxE = max(maxE, energy[t]) }
        if maxE <= 0 { return (0, T) }
        let threshold = maxE * Foundation.pow(10, -topDB / 10)
        var lo = 0, hi = T
        while lo < T && energy[lo] < threshold { lo += 1 }
        while hi > lo && energy[hi - 1] < threshold { hi -= 1 }
        return lo < hi ? (lo, hi) : (0, T)
    }
}

/// Samples [base, base+count) of a signal of `total` samples (nil while unknown),
/// with `mode` padding outside [0, total).
struct SampleSource {
    let data: UnsafePointer<Float>
    let base: Int
    let count: Int
    let total: Int?
    let mode: PadMode

    /// The samples [start, start+n) in place when they all lie inside the signal and the buffer.
    @inline(__always)
    func interior(_ start: Int, _ n: Int) -> UnsafePointer<Float>? {
        start >= base && start + n <= base + count && (total == nil || start + n <= total!) ? data + (start - base) : nil
    }

    /// Copies samples [start, start+n) (padded where outside the signal) into `out`.
    @inline(__always)
    func copy(from start: Int, count n: Int, into out: UnsafeMutablePointer<Float>) {
        if start >= base && start + n <= base + count && (total == nil || start + n <= total!) {
            out.update(from: data + (start - base), count: n)
            return
        }
        for i in 0..<n { out[i] = sample(start + i) }
    }

    @inline(__always)
    func sample(_ i: Int) -> Float {
        let len = total ?? (base + count)
        if i >= 0 && i < len { return data[i - base] }
        if mode == .constant || len == 0 { return 0 }
        if len == 1 { return data[0 - base] }
        let period = 2 * (len - 1)
        var j = i % period
        if j < 0 { j += period }
        if j >= len { j = period - j }
        return data[j - base]
    }
}

/// Running peak and energy of a waveform, for level normalisation.
struct LevelStats {
    var peak: Float = 0
    var sumSquares = 0.0
    var count = 0

    mutating func add(_ x: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { peak = max(peak, abs(x[i])) }
        sumSquares += Kernels.sumOfSquares(n, x)
        count += n
    }

    /// The gain that brings these statistics to `level` (1 for silence).
    func gain(_ level: LevelNorm) -> Float {
        switch level {
        case .none: return 1
        case .peak(let target): return peak > 0 ? target / peak : 1
        case .rms(let dBFS):
            let rms = count > 0 ? (sumSquares / Double(count)).squareRoot() : 0
            return rms > 0 ? Float(Foundation.pow(10, Double(dBFS) / 20) / rms) : 1
        }
    }
}
