import Foundation
import RecurCore
import RecurFrontends
import RecurModels
import RecurTraining

/// Tiny randomly initialised models written with `ModelFile.write`, for
/// plumbing tests of the stages, the decoding commands and pipelines (their
/// outputs are arbitrary but fixed). Shared by RecurPipelinesTests and RecurCLITests.
public enum TinyModels {
    public static func vocabulary(_ kind: TokenizerKind, _ texts: [String]) -> Vocabulary {
        var b = VocabularyBuilder(kind: kind, maxSize: 0, minFrequency: 1)
        for t in texts { b.add(normalized: t) }
        return b.build()
    }

    public static let english = ["the cat sleeps", "a dog runs", "the dog sleeps", "a cat runs"]
    public static let french = ["le chat dort", "un chien court", "le chien dort", "un chat court"]

    /// `eosBias` is added to the output layer's bias of EOS, so that outputs end at varied lengths.
    public static func write(_ config: ModelConfig, _ description: ModelDescription, to path: String, seed: UInt64 = 3,
                             eosBias: Float = 0, unkBias: Float = 0) throws {
        let model = try config.makeModel()
        let store = ParameterStore(model.layout)
        var rng = RNG(seed: seed)
        model.initialize(store, rng: &rng)
        if eosBias != 0, let bias = store.value("decoder.output.bias") { bias.data[Vocabulary.eos] += eosBias }
        if unkBias != 0, let bias = store.value("decoder.output.bias") { bias.data[Vocabulary.unk] += unkBias }
        try ModelFile.write(to: path, description: description, store: store)
    }

    /// `unkBias` is added to the output bias of `<unk>` (a model that prefers it).
    public static func translate(_ path: String, eosBias: Float = 0, unkBias: Float = 0) throws {
        let sv = vocabulary(.word, english), tv = vocabulary(.word, french)
        let config = ModelConfig(seq2seq: Seq2SeqConfig(sourceVocabularySize: sv.count, targetVocabularySize: tv.count,
                                                        embeddingSize: 6, hiddenSize: 8, cell: .gru, attention: .general))
        try write(config, ModelDescription(task: .translate, config: config, sourceVocabulary: sv, targetVocabulary: tv,
                                           normalizer: TextNormalizer(lowercase: true)), to: path, eosBias: eosBias,
                  unkBias: unkBias)
    }

    public static var audio: AudioConfig {
        var a = AudioPreset.recur.config(nMels: 20)
        a.trimSilenceDB = nil
        return a
    }

    public static func transcribe(_ path: String) throws {
        let tv = vocabulary(.char, ["yes no stop"])
        let config = ModelConfig(seq2seq: Seq2SeqConfig(sourceVocabularySize: 1, targetVocabularySize: tv.count, embeddingSize: 6,
                                                        hiddenSize: 8, encoderLayers: 2, cell: .gru, attention: .general,
                                                        source: .speech, inputFeatureSize: audio.dimension, pyramidLayers: 1))
        try write(config, ModelDescription(task: .transcribe, config: config, targetVocabulary: tv,
                                           normalizer: TextNormalizer(lowercase: true), audio: audio), to: path)
    }

    public static func caption(_ path: String) throws {
        let tv = vocabulary(.word, ["a red square on the left", "a blue circle on the right"])
        let config = ModelConfig(seq2seq: Seq2SeqConfig(sourceVocabularySize: 1, targetVocabularySize: tv.count, embeddingSize: 6,
                                                        hiddenSize: 8, cell: .lstm, attention: .general, source: .image,
                                                        inputFeatureSize: GridFeatures.dimension))
        try write(config, ModelDescription(task: .caption, config: config, targetVocabulary: tv,
                                           normalizer: TextNormalizer(lowercase: true), image: GridFeatureConfig(grid: 2, size: 16)),
                  to: path)
    }

    /// A character language model over the characters of `text`.
    public static func generate(_ path: String, text: String = "hello world, the cat sleeps") throws {
        let tv = vocabulary(.char, [text])
        let config = ModelConfig(languageModel: LanguageModelConfig(vocabularySize: tv.count, embeddingSize: 6, hiddenSize: 8))
        try write(config, ModelDescription(task: .generate, config: config, targetVocabulary: tv,
                                           normalizer: TextNormalizer()), to: path)
    }

    /// A mono 16 kHz WAV: tone bursts of `tones` seconds separated by `gap` seconds of silence.
    public static func wav(_ path: String, tones: [Double], gap: Double = 0.3, frequency: Float = 440) throws {
        let rate = 16000
        var x: [Float] = []
        for (k, t) in tones.enumerated() {
            if k > 0 { x += [Float](repeating: 0, count: Int(gap * Double(rate))) }
            let n = Int(t * Double(rate))
            let f = frequency * Float(k + 1)
            x += (0..<n).map { i in 0.5 * Foundation.sin(2 * Float.pi * f * Float(i) / Float(rate)) }
        }
        try AudioFile.write(x, sampleRate: rate, to: path)
    }

    /// A 16×16 PNG with a coloured square.
    public static func png(_ path: String, left: Bool, rgb: [UInt8] = [220, 30, 30]) throws {
        var px = [UInt8](repeating: 128, count: 16 * 16 * 3)
        for y in 4..<12 { for x in (left ? 1..<8 : 8..<15) { for c in 0..<3 { px[(y * 16 + x) * 3 + c] = rgb[c] } } }
        try PNGWriter.write(path: path, width: 16, height: 16, rgb: px)
    }
}
