import CFFTW
import Foundation
import RecurCore
import Synchronization

/// Real-to-complex FFTs through FFTW (single precision, FFTW_ESTIMATE so plans
/// are cheap and results deterministic).
///
/// FFTW's planner is not thread-safe (unguarded concurrent planning crashed in
/// ../shared/SWIFT-NOTES.md), so every plan is made under one lock and cached
/// per size for the life of the process; executing a plan on new arrays
/// (`fftwf_execute_dft_r2c`) is thread-safe and is what the hot loops do.
public enum FFT {
    private static let plans = Mutex<[Int: UnsafeSendablePlan]>([:])

    struct UnsafeSendablePlan: @unchecked Sendable { let plan: fftwf_plan }

    /// The cached r2c plan for size `n`, made on 64-byte aligned arrays; use it
    /// only with 64-byte aligned input (n floats) and output (n/2+1 complex).
    static func r2cPlan(_ n: Int) -> fftwf_plan {
        plans.withLock { cache in
            if let p = cache[n] { return p.plan }
            let inp = fftwf_alloc_real(n)!, out = fftwf_alloc_complex(n / 2 + 1)!
            defer { fftwf_free(inp); fftwf_free(out) }
            let p = fftwf_plan_dft_r2c_1d(Int32(n), inp, out, UInt32(FFTW_ESTIMATE))!
            cache[n] = UnsafeSendablePlan(plan: p)
            return p
        }
    }

    /// Computes the n/2+1 bins of the DFT of `x` (n reals) into `re`, `im`.
    /// Convenience path for tests and small jobs (allocates); the STFT uses
    /// `RealFFT` workspaces instead.
    public static func rfft(_ x: [Float]) -> (re: [Float], im: [Float]) {
        let f = RealFFT(size: x.count)
        x.withUnsafeBufferPointer { f.input.update(from: $0.baseAddress!, count: x.count) }
        f.execute()
        let bins = x.count / 2 + 1
        var re = [Float](repeating: 0, count: bins), im = re
        for k in 0..<bins { re[k] = f.output[2 * k]; im[k] = f.output[2 * k + 1] }
        return (re, im)
    }
}

/// One thread's FFTW workspace for size `size`: `input` (size floats) and
/// `output` (size/2+1 interleaved complex: re, im, re, im, …), both aligned.
public final class RealFFT {
    public let size: Int
    public let input: UnsafeMutablePointer<Float>
    /// 2·(size/2+1) floats: bin k is (output[2k], output[2k+1]).
    public let output: UnsafeMutablePointer<Float>
    private let plan: fftwf_plan
    private let complexOut: UnsafeMutablePointer<fftwf_complex>

    public init(size: Int) {
        precondition(size >= 2, "FFT size must be at least 2")
        self.size = size
        plan = FFT.r2cPlan(size)
        input = fftwf_alloc_real(size)!
        complexOut = fftwf_alloc_complex(size / 2 + 1)!
        output = UnsafeMutableRawPointer(complexOut).bindMemory(to: Float.self, capacity: 2 * (size / 2 + 1))
        input.update(repeating: 0, count: size)
    }

    deinit {
        fftwf_free(input)
        fftwf_free(complexOut)
    }

    /// Transforms `input` into `output` (input is left unchanged).
    @inline(__always)
    public func execute() {
        fftwf_execute_dft_r2c(plan, input, complexOut)
    }
}

/// The naive O(n²) DFT in Double, the reference the FFT is tested against.
public enum NaiveDFT {
    /// Bins 0…n/2 of Σ x[t]·e^{-2πikt/n}.
    public static func rdft(_ x: [Float]) -> (re: [Double], im: [Double]) {
        let n = x.count
        var re = [Double](repeating: 0, count: n / 2 + 1), im = re
        for k in 0...(n / 2) {
            var sr = 0.0, si = 0.0
            for t in 0..<n {
                let a = -2 * Double.pi * Double((k * t) % n) / Double(n)
                sr += Double(x[t]) * cos(a)
                si += Double(x[t]) * sin(a)
            }
            re[k] = sr; im[k] = si
        }
        return (re, im)
    }
}
