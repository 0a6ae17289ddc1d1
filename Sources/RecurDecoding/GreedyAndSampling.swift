import Foundation
import RecurCore

/// Greedy decoding of every source of `scorer`, batched: one row per source,
/// each stopping at its own EOS (finished rows leave the batch through
/// `select`). At each step the allowed token with the highest log-probability
/// is chosen; ties go to the lowest token id.
///
/// - Returns: one hypothesis per source, in source order.
public func greedyDecode<S: StepScorer>(_ scorer: S, options: DecodingOptions = DecodingOptions()) throws -> [Hypothesis] {
    var unused = RNG(seed: 0)
    return try decodeChains(scorer, copies: 1, choice: .argmax, options: options, rng: &unused).map { $0[0] }
}

/// Ancestral sampling of `samplesPerSource` outputs for every source of
/// `scorer`, batched, drawing from `rng` only (same seed, same samples).
///
/// Each token is drawn with probability ∝ p^(1/temperature) among the
/// allowed tokens, restricted to the `topK` most probable when `topK` > 0
/// (ties at the cut go to the lowest id). `temperature` 0 chooses the most
/// probable token (greedy); `topK` 1 does too. One uniform draw is taken per
/// row and step, in row order (source-major, then sample), except where
/// the choice is forced (EOS at the maximum length) or certain (`temperature`
/// 0 or too small for 1/temperature to be a Float, `topK` 1).
///
/// - Returns: per source, its samples in draw order. `stepLogProbs`,
///   `logProb` and `score` are the untempered model's.
public func sampleDecode<S: StepScorer>(_ scorer: S, temperature: Float = 1, topK: Int = 0,
                                        samplesPerSource: Int = 1, options: DecodingOptions = DecodingOptions(),
                                        rng: inout RNG) throws -> [[Hypothesis]] {
    guard temperature >= 0, temperature.isFinite else {
        throw RecurError(.value, "sampling temperature must be finite and not negative, got \(temperature)")
    }
    guard topK >= 0 else { throw RecurError(.value, "top-k must not be negative, got \(topK)") }
    guard samplesPerSource >= 1 else { throw RecurError(.value, "samples per source must be at least 1, got \(samplesPerSource)") }
    let choice: TokenChoice = temperature == 0 || topK == 1 ? .argmax : .sample(temperature: temperature, topK: topK)
    return try decodeChains(scorer, copies: samplesPerSource, choice: choice, options: options, rng: &rng)
}

enum TokenChoice {
    case argmax
    case sample(temperature: Float, topK: Int)
}

/// One independent chain of tokens per row: greedy and sampling.
/// Chain c belongs to source c / copies.
func decodeChains<S: StepScorer>(_ scorer: S, copies: Int, choice: TokenChoice, options: DecodingOptions,
                                 rng: inout RNG) throws -> [[Hypothesis]] {
    let v = scorer.vocabularySize
    let eos = scorer.specials.eos
    try options.validate(vocabularySize: v, specials: scorer.specials)
    let nSources = scorer.sourceCount
    if nSources == 0 { return [] }
    let bounds = StepSupport.bounds(scorer, options)
    let chains = nSources * copies

    // Per chain: the tokens, the log-probability of each step, attention rows.
    var tokens = [[Int]](repeating: [], count: chains)
    var stepLogProbs = [[Float]](repeating: [], count: chains)
    var attention = [[Float]](repeating: [], count: chains)
    var hasAttention = false
    var attentionSeen: Bool?
    var reachedMax = [Bool](repeating: false, count: chains)

    // Live rows, their chains, and the scratch of a step (reused).
    var rowChain = Array(0..<chains)
    var (state, feed) = try StepSupport.start(scorer, sources: rowChain.map { $0 / copies }, prime: options.prime)
    var keep: [Int] = []
    var nextFeed: [Int] = []
    keep.reserveCapacity(chains)
    nextFeed.reserveCapacity(chains)
    var selector = TopKSelector(capacity: 1)
    var weights = [Float](repeating: 0, count: v)
    var candidates = [Int](repeating: 0, count: v)

    while !rowChain.isEmpty {
        let out = try scorer.step(state, tokens: feed)
        try StepSupport.check(out, rows: rowChain.count, scorer: scorer, sourceOfRow: { rowChain[$0] / copies },
                              attentionSeen: &attentionSeen)
        StepSupport.ban(out, rows: rowChain.count, vocabularySize: v, options.bannedTokens)
        keep.removeAll(keepingCapacity: true)
        nextFeed.removeAll(keepingCapacity: true)
        for r in 0..<rowChain.count {
            let c = rowChain[r]
            let source = c / copies
            let rule = EOSRule(length: tokens[c].count, bounds: bounds[source])
            let row = UnsafePointer(out.logProbs.data + r * v)
            let chosen: Int?
            switch choice {
            case .argmax:
                chosen = StepSupport.argmax(row, v, eos: eos, rule: rule)
            case .sample(let temperature, let topK):
                chosen = sampleToken(row, v, eos: eos, rule: rule, temperature: temperature, topK: topK,
                                     selector: &selector, candidates: &candidates, weights: &weights, rng: &rng)
            }
            guard let token = chosen else {
                throw RecurError(.value, "source \(source): no token can be chosen at step \(tokens[c].count + 1) (every allowed token has probability 0 or NaN)")
            }
            stepLogProbs[c].append(row[token])
            if let a = out.attention {
                hasAttention = true
                let width = scorer.sourceLength(source)
                attention[c].append(contentsOf: UnsafeBufferPointer(start: a.data + r * a.shape[1], count: width))
            }
            if token == eos {
                reachedMax[c] = rule == .forced
            } else {
                tokens[c].append(token)
                keep.append(r)
                nextFeed.append(token)
            }
        }
        if keep.isEmpty { break }
        state = keep.count == rowChain.count ? out.state : try scorer.select(out.state, rows: keep)
        for (i, r) in keep.enumerated() { rowChain[i] = rowChain[r] }
        rowChain.removeLast(rowChain.count - keep.count)
        swap(&feed, &nextFeed)
    }

    var results: [[Hypothesis]] = []
    results.reserveCapacity(nSources)
    for s in 0..<nSources {
        var hyps: [Hypothesis] = []
        for c in (s * copies)..<((s + 1) * copies) {
            let lp = stepLogProbs[c].reduce(0, +)
            var att: Tensor?
            if hasAttention {
                att = Tensor(shape: [stepLogProbs[c].count, scorer.sourceLength(s)], attention[c])
            }
            hyps.append(Hypothesis(tokens: tokens[c], logProb: lp,
                                   score: options.lengthPenalty.score(logProb: lp, length: stepLogProbs[c].count),
                                   stepLogProbs: stepLogProbs[c], attention: att, reachedMaxLength: reachedMax[c]))
        }
        results.append(hyps)
    }
    return results
}

/// Draws one token from `row` (log-probabilities over `v` tokens) under the EOS
/// rule, temperature and top-k; nil when no token is allowed. Tokens of
/// probability 0 or NaN are never drawn (as in greedy).
@inline(__always)
func sampleToken(_ row: UnsafePointer<Float>, _ v: Int, eos: Int, rule: EOSRule, temperature: Float, topK: Int,
                 selector: inout TopKSelector, candidates: inout [Int], weights: inout [Float],
                 rng: inout RNG) -> Int? {
    if rule == .forced { return eos }
    let inv = 1 / temperature
    if !inv.isFinite { return StepSupport.argmax(row, v, eos: eos, rule: rule) }  // colder than Float resolves
    let skip = rule == .forbidden ? eos : -1
    if topK > 0 && topK < v {
        // The top k allowed tokens, best first, weighted exp((lp - best) / T).
        selector.reset(k: topK)
        for t in 0..<v where t != skip {
            let x = row[t]
            if x >= selector.threshold && x > -.infinity { selector.insert(x, id: t) }
        }
        var n = 0
        selector.drainBestFirst { _, _, id in candidates[n] = id; n += 1 }
        if n == 0 { return nil }
        let top = row[candidates[0]]
        if top == .infinity { return candidates[0] }  // not a log-probability
        for i in 0..<n { weights[i] = (row[candidates[i]] - top) * inv }
        weights.withUnsafeMutableBufferPointer { Kernels.exp(n, $0.baseAddress!, $0.baseAddress!) }
        let pick = weights.withUnsafeBufferPointer { rng.categorical(UnsafeBufferPointer(rebasing: $0[0..<n])) }
        return candidates[pick]
    }
    // Every allowed token, weighted exp((lp - max) / T) in one vector pass.
    var top = -Float.infinity
    for t in 0..<v where t != skip {
        let x = row[t]
        if x > top { top = x }  // false for NaN
    }
    if !(top > -.infinity) { return nil }
    if top == .infinity { return StepSupport.argmax(row, v, eos: eos, rule: rule) }  // not a log-probability
    weights.withUnsafeMutableBufferPointer { w in
        let p = w.baseAddress!
        for t in 0..<v { p[t] = (row[t] - top) * inv }
        Kernels.exp(v, p, p)
        for t in 0..<v where !(p[t] > 0) { p[t] = 0 }  // NaN in, weight 0 out
        if skip >= 0 { p[skip] = 0 }
    }
    return weights.withUnsafeBufferPointer { rng.categorical($0) }
}
