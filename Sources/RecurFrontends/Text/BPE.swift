/// One byte-pair merge: `left` followed by `right` becomes `left + right`.
public struct BPEMerge: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let left: String
    public let right: String
    public init(_ left: String, _ right: String) { self.left = left; self.right = right }
    public var merged: String { left + right }
    public var description: String { "\(left) \(right)" }
}

/// Learns byte-pair-encoding merges from word counts.
///
/// Pieces start as Unicode scalars (the alphabet); each step merges the
/// adjacent pair that occurs most often across the corpus (word counts
/// weighted). **Ties** go to the pair whose left piece comes first in UTF-8
/// byte order, then whose right piece does. Merges never cross word pieces
/// (see `Pretokenizer`), and a merge replaces the pair's occurrences in a
/// word left to right without overlap (`a a a` → `aa a`), exactly as
/// `BPEEncoder` applies them. The same corpus and settings always give the
/// same merges.
public enum BPELearner {
    /// The learned alphabet (most frequent scalar first; ties by scalar value)
    /// and merges in rank order.
    ///
    /// - `maxTokens`: alphabet plus distinct merged pieces stop growing here.
    /// - `minFrequency`: scalars rarer than this are left out of the alphabet
    ///   (they become `<unk>`), and pairs rarer than this are never merged.
    public static func learn(wordCounts: [String: Int], maxTokens: Int, minFrequency: Int) -> (alphabet: [String], merges: [BPEMerge]) {
        // Deterministic word order (dictionary order is not).
        let words = wordCounts.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var scalarCounts: [Unicode.Scalar: Int] = [:]
        for w in words {
            let c = wordCounts[w]!
            for u in w.unicodeScalars { scalarCounts[u, default: 0] += c }
        }
        let alphabetScalars = scalarCounts.filter { $0.value >= minFrequency }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.value < $1.key.value }
            .prefix(max(maxTokens, 0)).map(\.key)
        var tokens: [String] = alphabetScalars.map { String($0) }
        var tokenBytes: [[UInt8]] = tokens.map { Array($0.utf8) }
        var idOf: [String: Int32] = [:]
        for (i, t) in tokens.enumerated() { idOf[t] = Int32(i) }
        let barrier: Int32 = -1

        var seqs: [[Int32]] = words.map { w in w.unicodeScalars.map { idOf[String($0)] ?? barrier } }
        let counts: [Int] = words.map { wordCounts[$0]! }
        @inline(__always) func key(_ a: Int32, _ b: Int32) -> Int64 { Int64(a) << 32 | Int64(UInt32(bitPattern: b)) }

        var pairCounts: [Int64: Int] = [:]
        var pairWords: [Int64: [Int32]] = [:]
        for (wi, s) in seqs.enumerated() where s.count > 1 {
            for i in 0..<(s.count - 1) where s[i] != barrier && s[i + 1] != barrier {
                let k = key(s[i], s[i + 1])
                pairCounts[k, default: 0] += counts[wi]
                pairWords[k, default: []].append(Int32(wi))
            }
        }
        var heap = PairHeap(tokenBytes: tokenBytes)
        for (k, c) in pairCounts { heap.push(count: c, key: k) }

        var merges: [BPEMerge] = []
        while tokens.count < maxTokens, let top = heap.pop() {
            guard let current = pairCounts[top.key], current == top.count else { continue }  // stale entry
            guard current >= max(minFrequency, 1) else { break }
            let a = Int32(truncatingIfNeeded: top.key >> 32), b = Int32(truncatingIfNeeded: top.key)
            let mergedString = tokens[Int(a)] + tokens[Int(b)]
            let newID: Int32
            if let existing = idOf[mergedString] {
                newID = existing
            } else {
                newID = Int32(tokens.count)
                tokens.append(mergedString)
                tokenBytes.append(Array(mergedString.utf8))
                heap.tokenBytes = tokenBytes
                idOf[mergedString] = newID
            }
            merges.append(BPEMerge(tokens[Int(a)], tokens[Int(b)]))
            var changed: Set<Int64> = []
            var seen: Set<Int32> = []
            for wi in pairWords[top.key] ?? [] where seen.insert(wi).inserted {
                let s = seqs[Int(wi)]
                // Does the pair still occur here (the list may hold stale words)?
                var occurs = false
                for i in 0..<(s.count - 1) where s[i] == a && s[i + 1] == b { occurs = true; break }
                guard occurs else { continue }
                let c = counts[Int(wi)]
                var merged: [Int32] = []
                merged.reserveCapacity(s.count)
                var i = 0
                while i < s.count {
                    if i + 1 < s.count && s[i] == a && s[i + 1] == b {
                        merged.append(newID); i += 2
                    } else {
                        merged.append(s[i]); i += 1
                    }
                }
                for j in 0..<(s.count - 1) where s[j] != barrier && s[j + 1] != barrier {
                    let k = key(s[j], s[j + 1])
                    pairCounts[k, default: 0] -= c
                    changed.insert(k)
                }
                for j in 0..<(merged.count - 1) where merged[j] != barrier && merged[j + 1] != barrier {
                    let k = key(merged[j], merged[j + 1])
                    pairCounts[k, default: 0] += c
                    changed.insert(k)
                    if merged[j] == newID || merged[j + 1] == newID { pairWords[k, default: []].append(wi) }
                }
                seqs[Int(wi)] = merged
            }
            pairWords[top.key] = nil
            for k in changed {
                let c = pairCounts[k] ?? 0
                if c <= 0 { pairCounts[k] = nil } else { heap.push(count: c, key: k) }
            }
        }
        return (tokens.prefix(alphabetScalars.count).map { $0 }, merges)
    }
}

/// A max-heap of (count, pair) ordered by count, then by the pair's pieces in
/// UTF-8 byte order (the smaller pair first). Entries go stale when counts
/// change; the learner skips those.
struct PairHeap {
    var items: [(count: Int, key: Int64)] = []
    var tokenBytes: [[UInt8]]

    init(tokenBytes: [[UInt8]]) { self.tokenBytes = tokenBytes }

    /// True when `x` should come out before `y`.
    func before(_ x: (count: Int, key: Int64), _ y: (count: Int, key: Int64)) -> Bool {
        if x.count != y.count { return x.count > y.count }
        let xa = Int(x.key >> 32), xb = Int(Int32(truncatingIfNeeded: x.key))
        let ya = Int(y.key >> 32), yb = Int(Int32(truncatingIfNeeded: y.key))
        if xa != ya { return tokenBytes[xa].lexicographicallyPrecedes(tokenBytes[ya]) }
        if xb != yb { return tokenBytes[xb].lexicographicallyPrecedes(tokenBytes[yb]) }
        return false
    }

    mutating func push(count: Int, key: Int64) {
        items.append((count, key))
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard before(items[i], items[p]) else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> (count: Int, key: Int64)? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && before(items[l], items[m]) { m = l }
                if r < items.count && before(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}

/// Applies BPE merges by rank: in each word piece, the adjacent pair with
/// the lowest merge rank is merged (all its occurrences, left to right,
/// without overlap), until no adjacent pair has a merge.
public struct BPEEncoder: Sendable {
    /// (left id, right id) → (rank, merged id).
    let ranks: [Int64: (rank: Int32, merged: Int32)]
    /// Scalar → id of the one-scalar piece.
    let scalarIDs: [Unicode.Scalar: Int32]

    /// `idOf` maps every piece of the vocabulary to its id; merges whose pieces
    /// are not all in it are ignored.
    public init(merges: [BPEMerge], idOf: [String: Int]) {
        var r: [Int64: (rank: Int32, merged: Int32)] = [:]
        for (rank, m) in merges.enumerated() {
            guard let a = idOf[m.left], let b = idOf[m.right], let c = idOf[m.merged] else { continue }
            let k = Int64(a) << 32 | Int64(b)
            if r[k] == nil { r[k] = (Int32(rank), Int32(c)) }
        }
        ranks = r
        var s: [Unicode.Scalar: Int32] = [:]
        for (piece, id) in idOf {
            let scalars = piece.unicodeScalars
            if scalars.count == 1, let u = scalars.first { s[u] = Int32(id) }
        }
        scalarIDs = s
    }

    /// The ids of one word piece; scalars outside the alphabet become `unk`.
    public func encode(word: String, unk: Int, into out: inout [Int]) {
        var seq: [Int32] = word.unicodeScalars.map { scalarIDs[$0] ?? -1 }
        while seq.count > 1 {
            var bestRank = Int32.max, bestMerged: Int32 = 0, ba: Int32 = 0, bb: Int32 = 0
            for i in 0..<(seq.count - 1) where seq[i] >= 0 && seq[i + 1] >= 0 {
                if let m = ranks[Int64(seq[i]) << 32 | Int64(seq[i + 1])], m.rank < bestRank {
                    bestRank = m.rank; bestMerged = m.merged; ba = seq[i]; bb = seq[i + 1]
                }
            }
            if bestRank == Int32.max { break }
            var merged: [Int32] = []
            merged.reserveCapacity(seq.count)
            var i = 0
            while i < seq.count {
                if i + 1 < seq.count && seq[i] == ba && seq[i + 1] == bb {
                    merged.append(bestMerged); i += 2
                } else {
                    merged.append(seq[i]); i += 1
                }
            }
            seq = merged
        }
        for id in seq { out.append(id >= 0 ? Int(id) : unk) }
    }
}
