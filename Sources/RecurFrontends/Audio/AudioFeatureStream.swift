import Foundation
import RecurCore

/// Featurizes a waveform that arrives in pieces, in bounded memory: it keeps
/// only the samples the next frames need (plus a margin for end padding), one
/// block of intermediates, and the output frames.
///
///     let s = AudioFeatureStream(frontend)
///     s.push(p, count: k)   // as often as needed, samples at config.sampleRate
///     let features = s.finish()   // (T, dimension)
public final class AudioFeatureStream {
    public let frontend: AudioFrontend
    public let stage: AudioFrontend.Stage
    private let width: Int
    // Samples [bufBase, bufBase + bufCount) of the signal.
    private var buf: UnsafeMutablePointer<Float>
    private var bufCapacity: Int
    private var bufBase = 0
    private var bufCount = 0
    // Output rows so far and their energies.
    private var rows: TensorStorage
    private var rowCount = 0
    private var energy: [Float] = []
    private var nextFrame = 0
    private let blockFrames: Int

    /// `expectedSamples` (when known) sizes the output once.
    public init(_ frontend: AudioFrontend, stage: AudioFrontend.Stage = .features, expectedSamples: Int? = nil) {
        self.frontend = frontend
        self.stage = stage
        let c = frontend.config
        width = stage == .power ? c.bins : c.nMels
        blockFrames = max(1, frontend.blockFrames)
        bufCapacity = max(1 << 16, (blockFrames + 4) * c.hop + 4 * c.nFFT)
        buf = .allocate(capacity: bufCapacity)
        let expectedFrames = expectedSamples.map { frontend.frameCount(samples: $0) + 1 } ?? 1024
        rows = TensorStorage(count: max(1, expectedFrames) * width)
        energy.reserveCapacity(expectedFrames)
    }

    deinit {
        buf.deallocate()
    }

    /// Samples received so far.
    public var samplesSeen: Int { bufBase + bufCount }

    /// Appends `count` samples and computes every whole block of frames they complete.
    public func push(_ samples: UnsafePointer<Float>, count: Int) {
        var done = 0
        while done < count {
            makeRoom()
            let k = min(count - done, bufCapacity - bufCount)
            (buf + bufCount).update(from: samples + done, count: k)
            bufCount += k
            done += k
            computeReady(final: false)
        }
    }

    /// Ends the signal: computes the remaining frames and the utterance-level
    /// steps; returns the features.
    public func finish() -> Tensor {
        computeReady(final: true)
        let x = Tensor(storage: rows, offset: 0, shape: [rowCount, width])
        return energy.withUnsafeBufferPointer { e in
            frontend.postprocess(x, energy: e.baseAddress ?? UnsafePointer(buf), stage: stage)
        }
    }

    /// The largest sample index frame `t` reads (reflected indices included).
    private func lastIndexNeeded(_ t: Int) -> Int {
        let s = frontend.frameStart(t)
        return max(s + frontend.config.winLength - 1, frontend.config.padMode == .reflect ? -s : 0)
    }

    private func computeReady(final: Bool) {
        let total = bufBase + bufCount
        let T = final ? frontend.frameCount(samples: total) : Int.max
        while nextFrame < T {
            var end = nextFrame
            if final {
                end = min(T, nextFrame + blockFrames)
            } else {
                while end < nextFrame + blockFrames && lastIndexNeeded(end) < total { end += 1 }
                if end < nextFrame + blockFrames { return }  // wait for a whole block
            }
            let source = SampleSource(data: buf, base: bufBase, count: bufCount, total: final ? total : nil,
                                      mode: frontend.config.framing == .center ? frontend.config.padMode : .constant)
            reserveRows(rowCount + (end - nextFrame))
            let e = UnsafeMutablePointer<Float>.allocate(capacity: end - nextFrame)
            defer { e.deallocate() }
            frontend.computeFrames(source, frames: nextFrame..<end, stage: stage,
                                   out: rows.base + rowCount * width, energy: e)
            energy.append(contentsOf: UnsafeBufferPointer(start: e, count: end - nextFrame))
            rowCount += end - nextFrame
            nextFrame = end
        }
    }

    /// Drops samples no future frame can read; grows the buffer when it is full anyway.
    private func makeRoom() {
        if bufCount < bufCapacity { return }
        let c = frontend.config
        // Keep a margin of 2·n_fft before the next frame for reflection at the end.
        let keepFrom = max(bufBase, min(bufBase + bufCount, frontend.frameStart(nextFrame) - 2 * c.nFFT))
        let drop = keepFrom - bufBase
        if drop > bufCapacity / 4 {
            buf.update(from: buf + drop, count: bufCount - drop)
            bufBase += drop
            bufCount -= drop
            return
        }
        let bigger = UnsafeMutablePointer<Float>.allocate(capacity: bufCapacity * 2)
        bigger.update(from: buf, count: bufCount)
        buf.deallocate()
        buf = bigger
        bufCapacity *= 2
    }

    private func reserveRows(_ n: Int) {
        if n * width <= rows.count { return }
        let bigger = TensorStorage(count: max(n, rows.count / width * 2) * width)
        bigger.base.update(from: rows.base, count: rowCount * width)
        rows = bigger
    }
}
