import CSoxr
import Foundation
import RecurCore

/// Sample-rate conversion through libsoxr at its high quality (`SOXR_HQ`,
/// 20-bit: about 120 dB stop-band, pass band to 91 % of the lower Nyquist).
///
/// Output length rule (libsoxr's): `n` input samples become
/// `Resampler.outputLength(n, from:to:)` = ⌊n · out/in + 0.5⌋ output samples,
/// with libsoxr's filter delay already removed, so sample `i` of the output is
/// at time `i / out` like sample `i · in/out` of the input. The streaming and
/// the one-shot paths give the same samples and the same count.
public final class Resampler {
    public let inputRate: Double
    public let outputRate: Double
    private var soxr: soxr_t?
    private var inputCount = 0
    private var outputCount = 0
    private var scratch: UnsafeMutablePointer<Float>
    private var scratchCapacity: Int

    /// A streaming resampler from `inputRate` to `outputRate` (Hz, both positive).
    public init(from inputRate: Double, to outputRate: Double) throws {
        guard inputRate > 0, outputRate > 0, inputRate.isFinite, outputRate.isFinite,
              outputRate / inputRate < 256, inputRate / outputRate < 256 else {
            throw RecurError(.value, "cannot resample from \(inputRate) Hz to \(outputRate) Hz")
        }
        self.inputRate = inputRate
        self.outputRate = outputRate
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var q = soxr_quality_spec(UInt(SOXR_HQ), 0)
        var err: soxr_error_t?
        soxr = soxr_create(inputRate, outputRate, 1, &err, &io, &q, nil)
        if let err { throw RecurError(.value, "libsoxr: \(String(cString: err))") }
        scratchCapacity = 4096
        scratch = .allocate(capacity: scratchCapacity)
    }

    deinit {
        if let soxr { soxr_delete(soxr) }
        scratch.deallocate()
    }

    /// ⌊n · out/in + 0.5⌋: the number of samples `n` input samples become.
    public static func outputLength(_ n: Int, from inputRate: Double, to outputRate: Double) -> Int {
        Int((Double(n) * outputRate / inputRate + 0.5).rounded(.down))
    }

    /// Feeds `count` samples; hands each run of output samples to `emit`.
    public func process(_ input: UnsafePointer<Float>, count: Int, _ emit: (UnsafePointer<Float>, Int) throws -> Void) throws {
        inputCount += count
        var consumed = 0
        while consumed < count {
            let want = Int(Double(count - consumed) * outputRate / inputRate) + 256
            reserve(want)
            var idone = 0, odone = 0
            let err = soxr_process(soxr, input + consumed, count - consumed, &idone, scratch, want, &odone)
            if let err { throw RecurError(.value, "libsoxr: \(String(cString: err))") }
            consumed += idone
            try emitLimited(odone, emit)
            if idone == 0 && odone == 0 { break }
        }
    }

    /// Ends the input: emits the remaining samples, so that the total is `outputLength(inputCount)`.
    public func finish(_ emit: (UnsafePointer<Float>, Int) throws -> Void) throws {
        let total = Resampler.outputLength(inputCount, from: inputRate, to: outputRate)
        while outputCount < total {
            reserve(4096)
            var odone = 0
            let err = soxr_process(soxr, nil, 0, nil, scratch, 4096, &odone)
            if let err { throw RecurError(.value, "libsoxr: \(String(cString: err))") }
            if odone == 0 { break }
            try emitLimited(odone, emit)
        }
        if outputCount < total {
            // libsoxr ended short of the rule (never seen): pad with zeros to keep the length contract.
            let pad = total - outputCount
            reserve(pad)
            scratch.update(repeating: 0, count: pad)
            try emitLimited(pad, emit)
        }
    }

    private func emitLimited(_ n: Int, _ emit: (UnsafePointer<Float>, Int) throws -> Void) throws {
        // Never emit more than the length rule allows for the input seen so far plus the tail.
        let cap = Resampler.outputLength(inputCount, from: inputRate, to: outputRate)
        let k = min(n, max(0, cap - outputCount))
        if k > 0 { try emit(scratch, k) }
        outputCount += k
    }

    private func reserve(_ n: Int) {
        if n > scratchCapacity {
            scratch.deallocate()
            scratchCapacity = n
            scratch = .allocate(capacity: n)
        }
    }

    /// `x` (n) resampled from `inputRate` to `outputRate`: (outputLength(n)).
    public static func resample(_ x: Tensor, from inputRate: Double, to outputRate: Double) throws -> Tensor {
        if inputRate == outputRate { return x.copy() }
        let r = try Resampler(from: inputRate, to: outputRate)
        let out = Tensor(zeros: [outputLength(x.count, from: inputRate, to: outputRate)])
        var n = 0
        let sink: (UnsafePointer<Float>, Int) -> Void = { p, k in
            (out.data + n).update(from: p, count: k)
            n += k
        }
        try r.process(x.data, count: x.count, sink)
        try r.finish(sink)
        precondition(n == out.count, "resampler length rule broken: \(n) vs \(out.count)")
        return out
    }

    /// Speed perturbation: `x` played `factor` times faster (0.9 slower and
    /// lower, 1.1 faster and higher), like `sox speed`: the samples are
    /// resampled as if recorded at `factor · rate` and the length becomes
    /// ⌊n / factor + 0.5⌋.
    public static func speed(_ x: Tensor, factor: Double, sampleRate: Int) throws -> Tensor {
        guard factor > 0.25, factor < 4 else { throw RecurError(.value, "speed factor \(factor) outside (0.25, 4)") }
        if factor == 1 { return x.copy() }
        return try resample(x, from: factor * Double(sampleRate), to: Double(sampleRate))
    }
}
