import RecurCore

/// One decoded output.
public struct Hypothesis: Sendable {
    /// The output tokens, without BOS, prime and EOS.
    public var tokens: [Int]
    /// The model's total log-probability: the sum of `stepLogProbs` (EOS included).
    public var logProb: Float
    /// `logProb` under the length penalty; beam search ranks by it.
    public var score: Float
    /// The model's log-probability of each chosen token, then of EOS
    /// (`tokens.count + 1` entries). Sampling reports the untempered model's.
    public var stepLogProbs: [Float]
    /// Attention weights per step when the scorer gives them:
    /// `(tokens.count + 1, sourceLength)`, row t the weights used to choose
    /// token t (the last row: EOS).
    public var attention: Tensor?
    /// Whether EOS was forced because the maximum length was reached.
    public var reachedMaxLength: Bool

    public init(tokens: [Int], logProb: Float, score: Float, stepLogProbs: [Float],
                attention: Tensor? = nil, reachedMaxLength: Bool = false) {
        self.tokens = tokens
        self.logProb = logProb
        self.score = score
        self.stepLogProbs = stepLogProbs
        self.attention = attention
        self.reachedMaxLength = reachedMaxLength
    }
}
