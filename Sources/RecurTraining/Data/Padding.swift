// Padding a batch of sequences into time-major arrays.
//
//   ids:     (T, B) Int32, ids[t * B + b] is step t of sequence b, PAD past its length
//   lengths: (B)    Int32
//   frames:  (T, B, F) Float for speech and image features, zeros past each length
import Foundation
import RecurCore

/// A padded, time-major batch of token ids.
public struct PaddedIDs: Sendable, Equatable {
    /// (T, B) time-major ids.
    public var ids: [Int32]
    /// (B) the unpadded lengths.
    public var lengths: [Int32]
    /// T.
    public var steps: Int
    /// B.
    public var batch: Int

    /// Step `t` of sequence `b`.
    public subscript(t: Int, b: Int) -> Int32 { ids[t * batch + b] }

    /// Sequence `b` without its padding.
    public func sequence(_ b: Int) -> [Int32] { (0..<Int(lengths[b])).map { self[$0, b] } }
}

public enum Padding {
    /// `sequences` (B of them) as a (T, B) array, T the longest length (at
    /// least `minSteps`), shorter ones filled with `pad`.
    public static func timeMajor(_ sequences: [[Int32]], pad: Int32, minSteps: Int = 0) -> PaddedIDs {
        let b = sequences.count
        let t = Swift.max(minSteps, sequences.map(\.count).max() ?? 0)
        var ids = [Int32](repeating: pad, count: t * b)
        for (j, s) in sequences.enumerated() {
            for (i, v) in s.enumerated() { ids[i * b + j] = v }
        }
        return PaddedIDs(ids: ids, lengths: sequences.map { Int32($0.count) }, steps: t, batch: b)
    }

    /// The decoder's teacher-forcing pair for `targets`: input `BOS y1 … yn`
    /// and output `y1 … yn EOS`, both of length n + 1, padded with `pad`.
    public static func decoderPair(_ targets: [[Int32]], bos: Int32, eos: Int32, pad: Int32) -> (input: PaddedIDs, output: PaddedIDs) {
        (timeMajor(targets.map { [bos] + $0 }, pad: pad), timeMajor(targets.map { $0 + [eos] }, pad: pad))
    }

    /// Feature sequences (each (T_i, F), the same F) as a (T, B, F) tensor,
    /// zeros past each length, with the (B) lengths.
    public static func timeMajorFrames(_ sequences: [Tensor], minSteps: Int = 0) throws -> (frames: Tensor, lengths: [Int32]) {
        guard let first = sequences.first else { throw RecurError(.shape, "no sequences to pad") }
        guard first.rank == 2 else { throw RecurError(.shape, "feature sequences must be (T, F), got \(first.shape)") }
        let f = first.shape[1]
        for s in sequences where s.rank != 2 || s.shape[1] != f {
            throw RecurError(.shape, "feature sequences must all be (T, \(f)), got \(s.shape)")
        }
        let b = sequences.count
        let t = Swift.max(minSteps, sequences.map { $0.shape[0] }.max()!)
        let out = Tensor(zeros: [t, b, f])
        for (j, s) in sequences.enumerated() {
            for i in 0..<s.shape[0] {
                (out.data + (i * b + j) * f).update(from: s.data + i * f, count: f)
            }
        }
        return (out, sequences.map { Int32($0.shape[0]) })
    }
}
