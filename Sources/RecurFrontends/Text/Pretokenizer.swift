/// The marker a piece carries when a space came before it: U+2581 `▁`
/// (SentencePiece's convention). Normalized text never contains it.
public let spaceMarker: Unicode.Scalar = "\u{2581}"
public let spaceMarkerString = "\u{2581}"

/// Which tokenizer a vocabulary is for.
public enum TokenizerKind: String, Sendable, CaseIterable {
    /// One piece per Unicode scalar; a space is the piece `▁`.
    case char
    /// Words and single punctuation marks (see `Pretokenizer`).
    case word
    /// Byte-pair-encoding subwords inside the word pieces.
    case bpe
}

/// Splits normalized text into word pieces, reversibly.
///
/// A word is a run of letters, digits and combining marks; every other
/// character (punctuation, symbols, emoji) is a piece of its own, with any
/// combining marks, emoji modifiers and zero-width-joined scalars that follow. A piece that had a space before it starts with `▁`.
/// So `Tom didn't go, l'homme « dit » : 3.5 !` becomes
/// `Tom ▁didn ' t ▁go , ▁l ' homme ▁« ▁dit ▁» ▁: ▁3 . 5 ▁!`, and joining the
/// pieces and turning `▁` back into spaces gives the text again, byte for byte.
public enum Pretokenizer {
    /// The word pieces of `text` (already normalized: single spaces, no `▁`).
    public static func words(_ text: String) -> [String] {
        var pieces: [String] = []
        var current = String.UnicodeScalarView()
        var currentIsWord = false
        var spaceBefore = false
        var joinNext = false   // after a zero-width joiner
        func flush() {
            if !current.isEmpty { pieces.append(String(current)); current = String.UnicodeScalarView() }
        }
        for u in text.unicodeScalars {
            if u == " " {
                joinNext = false
                flush()
                spaceBefore = true
                continue
            }
            let cls = classify(u)
            if (cls == .mark || joinNext) && !current.isEmpty {
                current.append(u)
                joinNext = u.value == 0x200D
                continue
            }
            joinNext = false
            let isWord = cls != .other
            if current.isEmpty || !(isWord && currentIsWord) || spaceBefore {
                flush()
                if spaceBefore { current.append(spaceMarker) }
                spaceBefore = false
            }
            current.append(u)
            currentIsWord = isWord
        }
        flush()
        return pieces
    }

    enum Class { case word, mark, other }

    @inline(__always)
    static func classify(_ u: Unicode.Scalar) -> Class {
        let v = u.value
        if v < 0x80 {
            if (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v) { return .word }
            return .other
        }
        // Zero-width joiners and emoji modifiers (skin tones) stay with what they modify.
        if v == 0x200D || u.properties.isEmojiModifier { return .mark }
        switch u.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return .mark
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return .word
        default: return .other
        }
    }

    /// The character pieces of `text`: one per Unicode scalar, spaces as `▁`.
    public static func characters(_ text: String) -> [String] {
        text.unicodeScalars.map { $0 == " " ? spaceMarkerString : String($0) }
    }

    /// Text from pieces: concatenated, `▁` turned back into spaces, and a
    /// space at the very start dropped.
    public static func join<S: Sequence>(_ pieces: S) -> String where S.Element == String {
        var out = String.UnicodeScalarView()
        for p in pieces {
            for u in p.unicodeScalars {
                if u == spaceMarker {
                    if !out.isEmpty { out.append(" ") }
                } else {
                    out.append(u)
                }
            }
        }
        return String(out)
    }
}
