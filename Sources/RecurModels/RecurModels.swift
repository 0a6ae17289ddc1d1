// RecurModels: encoder-decoder models (issue 5).
//
// What is here:
//   Seq2SeqConfig.swift  the Codable description of a text encoder-decoder
//   Seq2Seq.swift        the model: embedding + stacked (bi)LSTM/GRU encoder,
//                        Linear+tanh bridge, one-layer attentional decoder with
//                        input feeding, output projection (optionally tied);
//                        `trainStep` (teacher forcing, forward and backward
//                        together) and the step API decoding uses
//                        (`encode`, `initialState`, `decodeStep`, `select`).
//
// RecurDecoding wraps the step API as a StepScorer (Seq2SeqScorer.swift there),
// since RecurDecoding depends on this module and not the other way round.
