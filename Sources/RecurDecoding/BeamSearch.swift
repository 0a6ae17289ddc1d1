import RecurCore

/// Beam search over every source of `scorer`, batched: each source keeps its
/// own beam, and all live hypotheses of all sources advance together as rows
/// of one state. Returns, per source, up to `nBest` finished hypotheses, best
/// score first.
///
/// The algorithm (fairseq's and OpenNMT-py's, made exact where it can be):
/// - A source starts with one hypothesis (BOS and the prime), so the beam never
///   holds two equal prefixes and the n-best are distinct sequences.
/// - Each step scores every (live hypothesis, token) pair by its cumulative
///   log-probability and keeps the best 2 × `beamSize` (EOS left out while a
///   hypothesis is shorter than the minimum length; only EOS at the maximum;
///   never a token of probability 0 or NaN, except EOS forced at the maximum).
///   Walking them best first, an EOS among the first `beamSize` finishes that
///   hypothesis (set aside with its length-penalised score; EOS further down
///   is dropped), and other tokens fill the next beam until it holds
///   `beamSize` hypotheses. Live hypotheses are ranked by raw log-probability;
///   only finished ones by the length-penalised score.
/// - Ties are broken deterministically: equal cumulative log-probabilities go
///   to the better-ranked parent, then to the lower token id; equal finished
///   scores to the hypothesis that finished first (earlier step, better rank).
/// - A source stops when its beam is empty, or when no live hypothesis can
///   still enter the n-best: with log-probabilities ≤ 0, a live hypothesis's
///   score can at best be its current log-probability under the length
///   penalty at the shortest or the longest length it could still finish
///   with, and the source stops once that bound is no better than the
///   `nBest`-th finished score. The maximum length forces EOS, so every
///   source stops. (fairseq also stops once `beamSize` hypotheses have
///   finished; with a small vocabulary, as characters, EOS after weak
///   hypotheses then fills the count while a far better one is still live:
///   a speech model's beam of 5 returned "zero" at −5.05 where greedy
///   decoding found "nine zero" at −1.05. Recur does not.)
///
/// Beam size 1 gives the same hypothesis as `greedyDecode` (tested).
public func beamSearch<S: StepScorer>(_ scorer: S, beamSize: Int, nBest: Int = 1,
                                      options: DecodingOptions = DecodingOptions()) throws -> [[Hypothesis]] {
    guard beamSize >= 1 else { throw RecurError(.value, "beam size must be at least 1, got \(beamSize)") }
    guard nBest >= 1 && nBest <= beamSize else {
        throw RecurError(.value, "n-best must be between 1 and the beam size \(beamSize), got \(nBest)")
    }
    let v = scorer.vocabularySize
    let eos = scorer.specials.eos
    try options.validate(vocabularySize: v, specials: scorer.specials)
    let nSources = scorer.sourceCount
    if nSources == 0 { return [] }
    let bounds = StepSupport.bounds(scorer, options)
    let penalty = options.lengthPenalty
    let k = beamSize

    var history = BeamHistory()
    var finished = [[FinishedHypothesis]](repeating: [], count: nSources)
    var finishOrder = 0

    // The live rows (grouped by source, best first within a source) and the
    // next step's rows, swapped after each step.
    var rowSource = Array(0..<nSources)
    var rowNode = [Int](repeating: -1, count: nSources)
    var rowCum = [Float](repeating: 0, count: nSources)
    var (state, feed) = try StepSupport.start(scorer, sources: rowSource, prime: options.prime)
    var nextParent: [Int] = [], nextSource: [Int] = [], nextNode: [Int] = [], nextCum: [Float] = []
    var nextFeed: [Int] = []
    let capacity = nSources * k  // the largest batch: reserve it once
    nextParent.reserveCapacity(capacity)
    nextSource.reserveCapacity(capacity)
    nextNode.reserveCapacity(capacity)
    nextCum.reserveCapacity(capacity)
    nextFeed.reserveCapacity(capacity)
    var selector = TopKSelector(capacity: 2 * k)
    var length = 0  // output tokens of every live hypothesis
    var attentionSeen: Bool?

    while !rowSource.isEmpty {
        let rows = rowSource.count
        let out = try scorer.step(state, tokens: feed)
        try StepSupport.check(out, rows: rows, scorer: scorer, sourceOfRow: { rowSource[$0] },
                              attentionSeen: &attentionSeen)
        StepSupport.ban(out, rows: rows, vocabularySize: v, options.bannedTokens)
        let logProbs = out.logProbs.data
        nextParent.removeAll(keepingCapacity: true)
        nextSource.removeAll(keepingCapacity: true)
        nextNode.removeAll(keepingCapacity: true)
        nextCum.removeAll(keepingCapacity: true)
        nextFeed.removeAll(keepingCapacity: true)

        var blockStart = 0
        while blockStart < rows {
            let source = rowSource[blockStart]
            var blockEnd = blockStart + 1
            while blockEnd < rows && rowSource[blockEnd] == source { blockEnd += 1 }
            let rule = EOSRule(length: length, bounds: bounds[source])
            let width = scorer.sourceLength(source)

            // The best 2k expansions of this source's beam (k when only EOS is allowed).
            selector.reset(k: rule == .forced ? k : 2 * k)
            for r in blockStart..<blockEnd {
                let base = rowCum[r]
                let p = logProbs + r * v
                if rule == .forced {
                    selector.insert(base + p[eos], id: r * v + eos)
                    continue
                }
                let skip = rule == .forbidden ? eos : -1
                for t in 0..<v {
                    let x = base + p[t]
                    // Never probability 0 or NaN; most candidates fail the threshold.
                    if x >= selector.threshold && x > -.infinity && t != skip { selector.insert(x, id: r * v + t) }
                }
            }
            if selector.count == 0 {
                throw RecurError(.value, "source \(source): no token can be chosen at step \(length + 1) (every allowed token has probability 0 or NaN)")
            }

            let firstNext = nextParent.count
            var live = 0
            selector.drainBestFirst { rank, cum, id in
                let r = id / v, t = id % v
                let isEOS = t == eos
                if isEOS ? rank >= k : live >= k { return }
                let node = history.add(token: t, parent: rowNode[r], logProb: logProbs[r * v + t],
                                       attention: out.attention.map { UnsafePointer($0.data + r * $0.shape[1]) },
                                       width: width)
                if isEOS {
                    let f = FinishedHypothesis(node: node, logProb: cum,
                                               score: penalty.score(logProb: cum, length: length + 1),
                                               order: finishOrder, reachedMaxLength: rule == .forced)
                    finishOrder += 1
                    finished[source].insertSorted(f)
                } else {
                    nextParent.append(r)
                    nextSource.append(source)
                    nextNode.append(node)
                    nextCum.append(cum)
                    nextFeed.append(t)
                    live += 1
                }
            }

            // Is this source done?
            let fin = finished[source]
            var done = live == 0
            if !done && fin.count >= nBest {
                let best = nextCum[firstNext]  // the best live hypothesis
                let bound = max(penalty.score(logProb: best, length: length + 2),
                                penalty.score(logProb: best, length: bounds[source].max + 1))
                done = bound <= fin[nBest - 1].score
            }
            if done {
                let drop = nextParent.count - firstNext
                nextParent.removeLast(drop)
                nextSource.removeLast(drop)
                nextNode.removeLast(drop)
                nextCum.removeLast(drop)
                nextFeed.removeLast(drop)
            }
            blockStart = blockEnd
        }
        length += 1
        if nextParent.isEmpty { break }

        let identity = nextParent.count == rows && nextParent.indices.allSatisfy { nextParent[$0] == $0 }
        state = identity ? out.state : try scorer.select(out.state, rows: nextParent)
        swap(&rowSource, &nextSource)
        swap(&rowNode, &nextNode)
        swap(&rowCum, &nextCum)
        swap(&feed, &nextFeed)
    }

    return (0..<nSources).map { s in
        finished[s].prefix(nBest).map { f in
            history.hypothesis(f, sourceLength: scorer.sourceLength(s))
        }
    }
}

/// A hypothesis that chose EOS (or had it forced), set aside.
struct FinishedHypothesis {
    var node: Int
    var logProb: Float
    var score: Float
    /// When it finished, counted over the whole search (ties go to the earlier).
    var order: Int
    var reachedMaxLength: Bool
}

extension Array where Element == FinishedHypothesis {
    /// Inserts keeping the order: best score first, then earlier `order`.
    mutating func insertSorted(_ f: FinishedHypothesis) {
        var i = count
        while i > 0 && self[i - 1].score < f.score { i -= 1 }
        insert(f, at: i)
    }
}

/// The tree of every kept expansion: each node is one chosen token with its
/// parent node (-1: the start), its log-probability and its attention row.
struct BeamHistory {
    var token: [Int] = []
    var parent: [Int] = []
    var logProb: [Float] = []
    var attentionStart: [Int] = []
    var attention: [Float] = []
    var hasAttention = false

    mutating func add(token t: Int, parent p: Int, logProb lp: Float,
                      attention row: UnsafePointer<Float>?, width: Int) -> Int {
        token.append(t)
        parent.append(p)
        logProb.append(lp)
        attentionStart.append(attention.count)
        if let row {
            hasAttention = true
            attention.append(contentsOf: UnsafeBufferPointer(start: row, count: width))
        }
        return token.count - 1
    }

    /// The hypothesis ending at a finished node (its EOS).
    func hypothesis(_ f: FinishedHypothesis, sourceLength: Int) -> Hypothesis {
        var path: [Int] = []
        var n = f.node
        while n >= 0 { path.append(n); n = parent[n] }
        path.reverse()
        let tokens = path.dropLast().map { token[$0] }
        let steps = path.map { logProb[$0] }
        var att: Tensor?
        if hasAttention {
            let t = Tensor(zeros: [path.count, sourceLength])
            for (i, node) in path.enumerated() where sourceLength > 0 {
                attention.withUnsafeBufferPointer { a in
                    (t.data + i * sourceLength).update(from: a.baseAddress! + attentionStart[node], count: sourceLength)
                }
            }
            att = t
        }
        return Hypothesis(tokens: tokens, logProb: f.logProb, score: f.score, stepLogProbs: steps,
                          attention: att, reachedMaxLength: f.reachedMaxLength)
    }
}
