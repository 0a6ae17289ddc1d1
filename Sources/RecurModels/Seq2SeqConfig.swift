import RecurCore

/// The architecture of a text encoder-decoder (`Seq2Seq`), as saved with a model.
public struct Seq2SeqConfig: Codable, Sendable, Equatable {
    /// The recurrent cell of the encoder and the decoder.
    public enum Cell: String, Codable, Sendable, CaseIterable { case lstm, gru }
    /// The decoder's attention: additive (Bahdanau), dot or general (Luong).
    public enum AttentionKind: String, Codable, Sendable, CaseIterable { case additive, dot, general }

    public var sourceVocabularySize: Int
    public var targetVocabularySize: Int
    /// E, for both embedding tables.
    public var embeddingSize: Int
    /// H, per direction in the encoder, and the decoder's state size.
    public var hiddenSize: Int
    public var encoderLayers: Int
    public var bidirectionalEncoder: Bool
    public var cell: Cell
    public var attention: AttentionKind
    /// Feed the previous attentional vector with the next input token.
    public var inputFeeding: Bool
    /// Dropout between encoder layers and on the attentional vector before the output projection (training only).
    public var dropout: Float
    /// The output projection shares `decoder.embedding.weight` (needs E = H).
    public var tiedOutputEmbeddings: Bool
    /// Special ids of the target vocabulary; pad is also the source vocabulary's padding id.
    public var pad: Int
    public var bos: Int
    public var eos: Int

    public init(sourceVocabularySize: Int, targetVocabularySize: Int, embeddingSize: Int, hiddenSize: Int,
                encoderLayers: Int = 1, bidirectionalEncoder: Bool = true, cell: Cell = .lstm,
                attention: AttentionKind = .additive, inputFeeding: Bool = true, dropout: Float = 0,
                tiedOutputEmbeddings: Bool = false, pad: Int = 0, bos: Int = 1, eos: Int = 2) {
        self.sourceVocabularySize = sourceVocabularySize
        self.targetVocabularySize = targetVocabularySize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.encoderLayers = encoderLayers
        self.bidirectionalEncoder = bidirectionalEncoder
        self.cell = cell
        self.attention = attention
        self.inputFeeding = inputFeeding
        self.dropout = dropout
        self.tiedOutputEmbeddings = tiedOutputEmbeddings
        self.pad = pad
        self.bos = bos
        self.eos = eos
    }

    /// D·H: the width of the encoder's outputs (the attention keys).
    public var encoderOutputSize: Int { (bidirectionalEncoder ? 2 : 1) * hiddenSize }

    /// Throws a RecurError saying what is inconsistent.
    public func validate() throws {
        func need(_ ok: Bool, _ why: String) throws { if !ok { throw RecurError(.value, "seq2seq config: \(why)") } }
        try need(sourceVocabularySize > 0 && targetVocabularySize > 0, "vocabulary sizes must be positive")
        try need(embeddingSize > 0 && hiddenSize > 0, "embedding and hidden sizes must be positive")
        try need(encoderLayers >= 1, "encoder layers must be at least 1, got \(encoderLayers)")
        try need(dropout >= 0 && dropout < 1, "dropout \(dropout) outside [0, 1)")
        for (name, id) in [("pad", pad), ("bos", bos), ("eos", eos)] {
            try need(id >= 0 && id < targetVocabularySize, "\(name) id \(id) outside the target vocabulary 0..<\(targetVocabularySize)")
        }
        try need(pad < sourceVocabularySize, "pad id \(pad) outside the source vocabulary 0..<\(sourceVocabularySize)")
        try need(pad != bos && pad != eos && bos != eos, "pad, bos and eos must differ (\(pad), \(bos), \(eos))")
        try need(attention != .dot || encoderOutputSize == hiddenSize,
                 "dot attention needs encoder outputs of the decoder's size \(hiddenSize), got \(encoderOutputSize) (use a unidirectional encoder or general attention)")
        try need(!tiedOutputEmbeddings || embeddingSize == hiddenSize,
                 "tied output embeddings need embedding size = hidden size (\(embeddingSize) ≠ \(hiddenSize))")
    }
}
