/// Text to ids and back, with one vocabulary and one normalizer.
///
/// `decode(encode(s)) == normalizer.normalize(s)` whenever every piece of `s`
/// is in the vocabulary (for BPE: every scalar of `s` is in the alphabet).
/// An unknown piece becomes `<unk>` (id 3), which decodes as the text
/// `<unk>` (after a space unless it starts the line).
public struct Tokenizer: Sendable {
    public let vocabulary: Vocabulary
    public let normalizer: TextNormalizer
    private let bpe: BPEEncoder?

    public init(vocabulary: Vocabulary, normalizer: TextNormalizer = TextNormalizer()) {
        self.vocabulary = vocabulary
        self.normalizer = normalizer
        bpe = vocabulary.kind == .bpe ? BPEEncoder(merges: vocabulary.merges, idOf: vocabulary.idOf) : nil
    }

    /// The ids of `text` (normalized first), without `<s>` and `</s>`.
    public func encode(_ text: String) -> [Int] {
        encode(normalized: normalizer.normalize(text))
    }

    /// The ids of text that is already normalized.
    public func encode(normalized text: String) -> [Int] {
        var ids: [Int] = []
        switch vocabulary.kind {
        case .char:
            for p in Pretokenizer.characters(text) { ids.append(vocabulary.idOf[p] ?? Vocabulary.unk) }
        case .word:
            for p in Pretokenizer.words(text) { ids.append(vocabulary.idOf[p] ?? Vocabulary.unk) }
        case .bpe:
            for w in Pretokenizer.words(text) { bpe!.encode(word: w, unk: Vocabulary.unk, into: &ids) }
        }
        return ids
    }

    /// The pieces of `text`, as the vocabulary spells them (`<unk>` for unknowns).
    public func pieces(_ text: String) -> [String] {
        encode(text).map { vocabulary.tokens[$0] }
    }

    /// Text from ids: `<pad>`, `<s>`, `</s>` are dropped; ids outside the
    /// vocabulary count as `<unk>`.
    public func decode(_ ids: [Int]) -> String {
        decode(pieces: ids.map { $0 >= 0 && $0 < vocabulary.count ? vocabulary.tokens[$0] : Vocabulary.specials[Vocabulary.unk] })
    }

    /// Text from pieces (they need not be in the vocabulary).
    public func decode(pieces: [String]) -> String {
        var parts: [String] = []
        parts.reserveCapacity(pieces.count)
        for p in pieces {
            switch p {
            case "<pad>", "<s>", "</s>": continue
            case "<unk>": parts.append(spaceMarkerString + p)
            default: parts.append(p)
            }
        }
        return Pretokenizer.join(parts)
    }
}
