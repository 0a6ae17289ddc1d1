// Tokenized data and length filtering.
//
// Lengths are in whatever unit the caller measures: tokens for text, frames
// for audio, grid cells for images. Text is turned into ids by a closure so
// that this code depends on no particular tokenizer.
import Foundation
import RecurCore

/// The source and target length of one example.
public struct Lengths: Sendable, Hashable, Codable {
    public var source: Int
    public var target: Int

    public init(source: Int, target: Int) {
        self.source = source
        self.target = target
    }
}

/// Examples with their token ids. For speech and images `source` is empty
/// (the frontend featurizes the path later) and `lengths[i].source` is 0 until
/// the caller sets the frame count.
public struct TokenizedData: Sendable {
    /// (N) source ids per example.
    public var source: [[Int32]]
    /// (N) target ids per example.
    public var target: [[Int32]]
    /// (N) lengths (in ids, or frames once set).
    public var lengths: [Lengths]

    public init(source: [[Int32]], target: [[Int32]], lengths: [Lengths]) {
        self.source = source
        self.target = target
        self.lengths = lengths
    }

    /// Tokenizes `examples` with the given closures (`sourceTokenizer` nil:
    /// the source is a media file, left for the frontend).
    public init(_ examples: [Example], source sourceTokenizer: ((String) throws -> [Int32])?,
                target targetTokenizer: (String) throws -> [Int32]) rethrows {
        var src: [[Int32]] = [], tgt: [[Int32]] = [], lens: [Lengths] = []
        src.reserveCapacity(examples.count)
        tgt.reserveCapacity(examples.count)
        lens.reserveCapacity(examples.count)
        for e in examples {
            let s = try sourceTokenizer.map { try $0(e.source) } ?? []
            let t = try targetTokenizer(e.target)
            src.append(s)
            tgt.append(t)
            lens.append(Lengths(source: s.count, target: t.count))
        }
        self.init(source: src, target: tgt, lengths: lens)
    }

    public var count: Int { lengths.count }

    /// The examples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> TokenizedData {
        TokenizedData(source: indices.map { source[$0] }, target: indices.map { target[$0] }, lengths: indices.map { lengths[$0] })
    }
}

/// Counts of what a `LengthFilter` kept and dropped. Each dropped example is
/// counted once, under the first rule it breaks in the order source too
/// short, source too long, target too short, target too long.
public struct LengthFilterReport: Sendable, Equatable, CustomStringConvertible {
    public var total = 0
    public var kept = 0
    public var sourceTooShort = 0
    public var sourceTooLong = 0
    public var targetTooShort = 0
    public var targetTooLong = 0

    public init(total: Int = 0, kept: Int = 0, sourceTooShort: Int = 0, sourceTooLong: Int = 0,
                targetTooShort: Int = 0, targetTooLong: Int = 0) {
        self.total = total
        self.kept = kept
        self.sourceTooShort = sourceTooShort
        self.sourceTooLong = sourceTooLong
        self.targetTooShort = targetTooShort
        self.targetTooLong = targetTooLong
    }

    public var dropped: Int { total - kept }

    public var description: String {
        "kept \(kept) of \(total); dropped \(dropped): source too short \(sourceTooShort), source too long \(sourceTooLong), "
            + "target too short \(targetTooShort), target too long \(targetTooLong)"
    }
}

/// Keeps examples whose lengths lie in [min, max] on both sides (inclusive).
public struct LengthFilter: Sendable, Equatable {
    public var minSource: Int
    public var maxSource: Int
    public var minTarget: Int
    public var maxTarget: Int

    /// The defaults keep everything.
    public init(minSource: Int = 0, maxSource: Int = .max, minTarget: Int = 0, maxTarget: Int = .max) {
        self.minSource = minSource
        self.maxSource = maxSource
        self.minTarget = minTarget
        self.maxTarget = maxTarget
    }

    /// The indices kept, in order, and the counts.
    public func apply(_ lengths: [Lengths]) -> (kept: [Int], report: LengthFilterReport) {
        var r = LengthFilterReport()
        r.total = lengths.count
        var kept: [Int] = []
        kept.reserveCapacity(lengths.count)
        for (i, l) in lengths.enumerated() {
            if l.source < minSource { r.sourceTooShort += 1 }
            else if l.source > maxSource { r.sourceTooLong += 1 }
            else if l.target < minTarget { r.targetTooShort += 1 }
            else if l.target > maxTarget { r.targetTooLong += 1 }
            else { kept.append(i) }
        }
        r.kept = kept.count
        return (kept, r)
    }
}
