import Foundation
import RecurCore

/// Cuts a long recording into segments of at most `maxSeconds`, each cut
/// placed at the quietest moment near the limit, so words are rarely cut.
///
/// Energy-based: the mean square of 10 ms frames, in dB, smoothed over
/// 50 ms (5 frames). From the start of the current segment, while more than
/// `maxSeconds` remain, the cut goes at the centre of the quietest smoothed
/// frame among those in the last `searchFraction` of the allowed span (ties:
/// the latest, so segments stay long); the next segment starts there.
/// Segments whose loudest frame is more than `silenceDB` below the
/// recording's loudest are silence and left out (nothing to transcribe).
public struct SilenceSplitter: Sendable {
    public var maxSeconds: Double
    /// The part of the allowed span, before the limit, searched for a cut.
    public var searchFraction: Double = 0.4
    public var frameSeconds: Double = 0.01
    /// Segments this far below the loudest frame are dropped (nil: keep all).
    public var silenceDB: Float? = 45

    public init(maxSeconds: Double) {
        self.maxSeconds = maxSeconds
    }

    /// Sample ranges of the segments of `samples` (n) at `sampleRate`, in order;
    /// together they cover the recording except the silent segments dropped.
    public func split(_ samples: UnsafePointer<Float>, count n: Int, sampleRate: Int) -> [Range<Int>] {
        let maxSamples = max(1, Int(maxSeconds * Double(sampleRate)))
        guard n > maxSamples else { return n > 0 ? [0..<n] : [] }
        let hop = max(1, Int(frameSeconds * Double(sampleRate)))
        let frames = (n + hop - 1) / hop
        // Frame energies in dB.
        var db = [Float](repeating: 0, count: frames)
        for f in 0..<frames {
            let lo = f * hop, hi = min(n, lo + hop)
            var s: Float = 0
            for i in lo..<hi { s += samples[i] * samples[i] }
            db[f] = 10 * Foundation.log10(s / Float(max(hi - lo, 1)) + 1e-10)
        }
        // Smoothed over 5 frames.
        var smooth = [Float](repeating: 0, count: frames)
        for f in 0..<frames {
            let lo = max(0, f - 2), hi = min(frames, f + 3)
            var s: Float = 0
            for g in lo..<hi { s += db[g] }
            smooth[f] = s / Float(hi - lo)
        }
        var cuts: [Int] = [0]
        var start = 0
        while n - start > maxSamples {
            let limit = start + maxSamples
            let from = max(start + 1, limit - Int(Double(maxSamples) * searchFraction))
            var best = limit, bestDB = Float.infinity
            var f = from / hop
            while f * hop + hop / 2 <= limit {
                let centre = f * hop + hop / 2
                if centre > start && smooth[f] <= bestDB { bestDB = smooth[f]; best = centre }
                f += 1
            }
            best = min(max(best, start + 1), limit)
            cuts.append(best)
            start = best
        }
        cuts.append(n)
        var ranges: [Range<Int>] = []
        let loudest = db.max() ?? 0
        for (a, b) in zip(cuts, cuts.dropFirst()) where b > a {
            if let silenceDB {
                let peak = db[(a / hop)..<min(frames, (b + hop - 1) / hop)].max() ?? -200
                if peak < loudest - silenceDB { continue }
            }
            ranges.append(a..<b)
        }
        return ranges
    }
}
