import Foundation

/// Turns raw text into the canonical form tokenizers work on and
/// detokenizers give back: `detokenize(tokenize(s)) == normalize(s)`.
///
/// In order:
/// 1. optional lowercasing (Unicode-aware, `String.lowercased()`);
/// 2. Unicode normalization form C (or KC);
/// 3. every white-space character (tab, U+00A0 no-break space, U+202F narrow
///    no-break space, U+2000–U+200A, U+3000, line breaks, …) becomes an ASCII
///    space; typographic apostrophes (U+2019, U+2018, U+02BC, U+FF07) become
///    `'`; control characters (U+0000–U+001F other than white space, U+007F)
///    and invisible ones (U+200B zero-width space, U+2060, U+FEFF) are
///    dropped (the joiners U+200C and U+200D stay);
///    U+2581 `▁`, which tokenizers use to mark a space, becomes `_`;
/// 4. runs of spaces become one space, and the ends are trimmed;
/// 5. the normalization form once more (dropping an invisible character can
///    leave two composable neighbours).
///
/// Punctuation is not moved here: the word and BPE tokenizers split it from
/// words and mark, on each piece, whether a space came before it (see
/// `Pretokenizer`), so detokenization restores the spacing exactly, English
/// `What?` and French `Quoi ?` alike. `normalize` is idempotent.
public struct TextNormalizer: Sendable, Equatable {
    public enum Form: String, Sendable, CaseIterable {
        case nfc, nfkc
    }

    public var form: Form
    public var lowercase: Bool

    public init(form: Form = .nfc, lowercase: Bool = false) {
        self.form = form
        self.lowercase = lowercase
    }

    /// A short string naming these settings (for models to record).
    public var signature: String { "\(form.rawValue)\(lowercase ? "-lower" : "")-v1" }

    public func normalize(_ text: String) -> String {
        var s = lowercase ? text.lowercased() : text
        let ascii = s.utf8.allSatisfy { $0 < 0x80 }
        if !ascii { s = applyForm(s) }
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for u in s.unicodeScalars {
            let v = u.value
            if TextNormalizer.isSpace(u) {
                pendingSpace = !out.isEmpty
                continue
            }
            if v < 0x20 || v == 0x7F || v == 0x200B || v == 0x2060 || v == 0xFEFF { continue }
            let mapped: Unicode.Scalar
            switch v {
            case 0x2019, 0x2018, 0x02BC, 0xFF07: mapped = "'"
            case 0x2581: mapped = "_"
            default: mapped = u
            }
            if pendingSpace { out.append(" "); pendingSpace = false }
            out.append(mapped)
        }
        // Dropping an invisible character can make two neighbours composable:
        // normalize once more so the result is stable.
        return ascii ? String(out) : applyForm(String(out))
    }

    private func applyForm(_ s: String) -> String {
        form == .nfc ? s.precomposedStringWithCanonicalMapping : s.precomposedStringWithCompatibilityMapping
    }

    /// White space as Unicode defines it (tabs, line breaks, U+00A0, U+202F, …).
    @inline(__always)
    static func isSpace(_ u: Unicode.Scalar) -> Bool {
        if u.value < 0x80 { return u == " " || (0x09...0x0D).contains(u.value) }
        return u.properties.isWhitespace
    }
}
