import RecurCore

/// Helpers shared by the decoders: starting a batch, feeding BOS and the
/// prime, and checking what a scorer returns.
enum StepSupport {
    /// The initial state for `sources` with BOS and `prime` fed, except the
    /// last of them, which is returned as the tokens to feed next (the first
    /// call of the decoding loop scores the first output token).
    static func start<S: StepScorer>(_ scorer: S, sources: [Int], prime: [Int]) throws -> (S.State, [Int]) {
        var state = try scorer.initialState(sources: sources)
        let rows = sources.count
        let fed = [scorer.specials.bos] + prime
        var tokens = [Int](repeating: fed[0], count: rows)
        for next in fed.dropFirst() {
            let out = try scorer.step(state, tokens: tokens)
            var ignored: Bool?  // attention while priming is not kept
            try check(out, rows: rows, scorer: scorer, sourceOfRow: { sources[$0] }, attentionSeen: &ignored)
            state = out.state
            for r in 0..<rows { tokens[r] = next }
        }
        return (state, tokens)
    }

    /// Throws a `.shape` error when the step output does not match the batch,
    /// and a `.value` error when attention comes at some steps only
    /// (`attentionSeen` remembers whether the first step had it).
    static func check<S: StepScorer>(_ out: StepOutput<S.State>, rows: Int, scorer: S,
                                     sourceOfRow: (Int) -> Int, attentionSeen: inout Bool?) throws {
        if let seen = attentionSeen, seen != (out.attention != nil) {
            throw RecurError(.value, "the scorer returned attention weights at some steps only")
        }
        attentionSeen = out.attention != nil
        let v = scorer.vocabularySize
        guard out.logProbs.shape == [rows, v] else {
            throw RecurError(.shape, "the scorer returned log-probabilities of shape \(out.logProbs.shape) for \(rows) rows and a vocabulary of \(v)")
        }
        if let a = out.attention {
            guard a.rank == 2, a.shape[0] == rows else {
                throw RecurError(.shape, "the scorer returned attention of shape \(a.shape) for \(rows) rows")
            }
            for r in 0..<rows where scorer.sourceLength(sourceOfRow(r)) > a.shape[1] {
                throw RecurError(.shape, "the scorer returned attention \(a.shape[1]) wide for a source of length \(scorer.sourceLength(sourceOfRow(r)))")
            }
        }
    }

    /// Takes the banned tokens' log-probabilities as -inf in every row (DecodingOptions.bannedTokens).
    static func ban<S>(_ out: StepOutput<S>, rows: Int, vocabularySize v: Int, _ banned: [Int]) {
        guard !banned.isEmpty else { return }
        let p = out.logProbs.data
        for r in 0..<rows { for t in banned { p[r * v + t] = -.infinity } }
    }

    /// Per-source (min, max) output lengths.
    static func bounds<S: StepScorer>(_ scorer: S, _ options: DecodingOptions) -> [(min: Int, max: Int)] {
        (0..<scorer.sourceCount).map { options.lengthBounds(sourceLength: scorer.sourceLength($0)) }
    }

    /// The allowed token with the highest log-probability in `row` (lowest id
    /// on ties); nil when none is allowed. Tokens with log-probability -inf
    /// (probability 0) or NaN are never chosen; only EOS forced at the
    /// maximum length is taken whatever its log-probability.
    @inline(__always)
    static func argmax(_ row: UnsafePointer<Float>, _ v: Int, eos: Int, rule: EOSRule) -> Int? {
        if rule == .forced { return eos }
        var best = -1
        var bestValue = -Float.infinity
        for t in 0..<v {
            if t == eos && rule == .forbidden { continue }
            let x = row[t]
            if x > bestValue { best = t; bestValue = x }  // false for NaN and -inf
        }
        return best < 0 ? nil : best
    }
}
