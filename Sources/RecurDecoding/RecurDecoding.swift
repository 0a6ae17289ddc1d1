// RecurDecoding: greedy decoding, beam search and sampling (issue 5), written
// against `StepScorer`, the one protocol a model implements to be decoded.
//
//   greedyDecode(scorer, options:)                         → [Hypothesis], one per source
//   beamSearch(scorer, beamSize:, nBest:, options:)        → [[Hypothesis]], n-best per source
//   sampleDecode(scorer, temperature:, topK:, samplesPerSource:, options:, rng:) → [[Hypothesis]]
//
// All three decode every source the scorer was prepared with, batched (one
// state row per live hypothesis; finished ones leave the batch through
// `StepScorer.select`), share `DecodingOptions` (min/max length absolute and
// relative to the source, length penalty, prime) and return `Hypothesis`
// values carrying tokens, total log-probability, the length-penalised score,
// per-step log-probabilities and, when the scorer gives them, per-step
// attention weights.
