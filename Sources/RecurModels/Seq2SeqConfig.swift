import RecurCore

/// The architecture of a text encoder-decoder (`Seq2Seq`), as saved with a model.
public struct Seq2SeqConfig: Codable, Sendable, Equatable {
    /// The recurrent cell of the encoder and the decoder.
    public enum Cell: String, Codable, Sendable, CaseIterable { case lstm, gru }
    /// The decoder's attention: additive (Bahdanau), dot or general (Luong).
    public enum AttentionKind: String, Codable, Sendable, CaseIterable { case additive, dot, general }

    /// What the encoder reads: tokens (text), frames (speech) or grid cells (image).
    public var source: SourceKind
    /// F: the width of a speech frame or an image cell (0 for text).
    public var inputFeatureSize: Int
    /// Speech: how many times the encoder halves the time axis (before layers 1…P; P < encoder layers).
    public var pyramidLayers: Int
    /// Speech: k consecutive frames joined into one k·F-wide step before the first layer (low
    /// frame rate: the first layer runs ⌈T/k⌉ steps); 1: none.
    public var frameStack: Int
    /// Image: a (bi)RNN over the projected cells in raster order (else the projection alone).
    public var imageRNN: Bool
    /// Source vocabulary size (text); for speech and image sources it only bounds `pad` (use 1).
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
                tiedOutputEmbeddings: Bool = false, pad: Int = 0, bos: Int = 1, eos: Int = 2,
                source: SourceKind = .text, inputFeatureSize: Int = 0, pyramidLayers: Int = 0, frameStack: Int = 1,
                imageRNN: Bool = false) {
        self.source = source
        self.inputFeatureSize = inputFeatureSize
        self.pyramidLayers = pyramidLayers
        self.frameStack = frameStack
        self.imageRNN = imageRNN
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

    private enum CodingKeys: String, CodingKey {
        case source, inputFeatureSize, pyramidLayers, frameStack, imageRNN, sourceVocabularySize, targetVocabularySize
        case embeddingSize, hiddenSize, encoderLayers, bidirectionalEncoder, cell, attention, inputFeeding, dropout
        case tiedOutputEmbeddings, pad, bos, eos
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decodeIfPresent(SourceKind.self, forKey: .source) ?? .text
        inputFeatureSize = try c.decodeIfPresent(Int.self, forKey: .inputFeatureSize) ?? 0
        pyramidLayers = try c.decodeIfPresent(Int.self, forKey: .pyramidLayers) ?? 0
        frameStack = try c.decodeIfPresent(Int.self, forKey: .frameStack) ?? 1
        imageRNN = try c.decodeIfPresent(Bool.self, forKey: .imageRNN) ?? false
        sourceVocabularySize = try c.decode(Int.self, forKey: .sourceVocabularySize)
        targetVocabularySize = try c.decode(Int.self, forKey: .targetVocabularySize)
        embeddingSize = try c.decode(Int.self, forKey: .embeddingSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        encoderLayers = try c.decode(Int.self, forKey: .encoderLayers)
        bidirectionalEncoder = try c.decode(Bool.self, forKey: .bidirectionalEncoder)
        cell = try c.decode(Cell.self, forKey: .cell)
        attention = try c.decode(AttentionKind.self, forKey: .attention)
        inputFeeding = try c.decode(Bool.self, forKey: .inputFeeding)
        dropout = try c.decode(Float.self, forKey: .dropout)
        tiedOutputEmbeddings = try c.decode(Bool.self, forKey: .tiedOutputEmbeddings)
        pad = try c.decode(Int.self, forKey: .pad)
        bos = try c.decode(Int.self, forKey: .bos)
        eos = try c.decode(Int.self, forKey: .eos)
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
        switch source {
        case .text:
            try need(inputFeatureSize == 0, "a text encoder has no input feature size (got \(inputFeatureSize))")
        case .speech, .image:
            try need(inputFeatureSize > 0, "a \(source.rawValue) encoder needs an input feature size > 0")
        case .none:
            try need(false, "an encoder-decoder needs a source (text, speech or image)")
        }
        try need(pyramidLayers >= 0 && (pyramidLayers == 0 || source == .speech),
                 "pyramid layers (\(pyramidLayers)) are for speech encoders only")
        try need(pyramidLayers < encoderLayers, "pyramid layers (\(pyramidLayers)) must be fewer than encoder layers (\(encoderLayers))")
        try need(frameStack >= 1 && (frameStack == 1 || source == .speech),
                 "frame stacking (\(frameStack)) is for speech encoders only, and at least 1")
        try need(!imageRNN || source == .image, "image_rnn is for image encoders only")
        try need(source != .text || pad < sourceVocabularySize, "pad id \(pad) outside the source vocabulary 0..<\(sourceVocabularySize)")
        try need(pad != bos && pad != eos && bos != eos, "pad, bos and eos must differ (\(pad), \(bos), \(eos))")
        try need(attention != .dot || encoderOutputSize == hiddenSize,
                 "dot attention needs encoder outputs of the decoder's size \(hiddenSize), got \(encoderOutputSize) (use a unidirectional encoder or general attention)")
        try need(!tiedOutputEmbeddings || embeddingSize == hiddenSize,
                 "tied output embeddings need embedding size = hidden size (\(embeddingSize) ≠ \(hiddenSize))")
    }
}
