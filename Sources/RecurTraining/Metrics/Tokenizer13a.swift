// sacrebleu's default BLEU tokenizer, "13a" (the mteval-v13a.pl tokenization
// used by WMT), rewritten from sacrebleu 2.x's tokenizer_13a.py and
// tokenizer_re.py. It works on Unicode scalars as Python does on code points.

/// sacrebleu's `13a` tokenizer.
///
/// In order, as sacrebleu does:
/// 1. remove `<skipped>` and `-\n`, turn `\n` into a space;
/// 2. unescape `&quot;` `&amp;` `&lt;` `&gt;`;
/// 3. put spaces around each of ``{|}~[\]^_` !"#$%&()*+:;<=>?@/`` (not around
///    `'`, `,`, `-`, `.`);
/// 4. split `.` and `,` off unless preceded by a digit, then unless followed
///    by a digit (so `1.5` and `3,000` stay whole but `5.` and `.5` split);
/// 5. split a `-` that follows a digit (`20-30` → `20 - 30`, `x-1` stays);
/// 6. collapse whitespace (Python's) to single spaces and trim.
public enum Tokenizer13a {
    /// The tokenized line, tokens separated by single spaces (what sacrebleu's
    /// `Tokenizer13a()(line)` returns).
    public static func tokenize(_ line: String) -> String {
        tokens(line).map { PythonText.string($0) }.joined(separator: " ")
    }

    /// The tokens of `line`, each as its exact Unicode scalars.
    public static func tokens(_ line: String) -> [[Unicode.Scalar]] {
        var s = Array(line.unicodeScalars)
        s = replace(s, "<skipped>", "")
        s = replace(s, "-\n", "")
        s = replace(s, "\n", " ")
        if s.contains("&") {
            s = replace(s, "&quot;", "\"")
            s = replace(s, "&amp;", "&")
            s = replace(s, "&lt;", "<")
            s = replace(s, "&gt;", ">")
        }
        // Step 3, on " line " as sacrebleu pads it.
        var spaced: [Unicode.Scalar] = [" "]
        spaced.reserveCapacity(s.count * 2 + 2)
        for c in s {
            if isIsolatedSymbol(c) {
                spaced.append(" "); spaced.append(c); spaced.append(" ")
            } else {
                spaced.append(c)
            }
        }
        spaced.append(" ")
        // Step 4: ([^0-9])([\.,]) → "\1 \2 ", then ([\.,])([^0-9]) → " \1 \2".
        s = substitutePairs(spaced, { !isDigit($0) }, isPeriodOrComma) { [$0, " ", $1, " "] }
        s = substitutePairs(s, isPeriodOrComma, { !isDigit($0) }) { [" ", $0, " ", $1] }
        // Step 5: ([0-9])(-) → "\1 \2 ".
        s = substitutePairs(s, isDigit, { $0 == "-" }) { [$0, " ", $1, " "] }
        return PythonText.split(s)
    }

    /// The characters of sacrebleu's first regular expression,
    /// `[\{-\~\[-\` -\&\(-\+\:-\@\/]`.
    static func isIsolatedSymbol(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: return true
        default: return false
        }
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }
    static func isPeriodOrComma(_ c: Unicode.Scalar) -> Bool { c == "." || c == "," }

    /// Python's `re.sub` for a pattern of two one-character classes: scanning
    /// left to right, each non-overlapping pair (a, b) with `first(a)` and
    /// `second(b)` is replaced by `replacement(a, b)`.
    static func substitutePairs(
        _ s: [Unicode.Scalar],
        _ first: (Unicode.Scalar) -> Bool,
        _ second: (Unicode.Scalar) -> Bool,
        _ replacement: (Unicode.Scalar, Unicode.Scalar) -> [Unicode.Scalar]
    ) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count + s.count / 2)
        var i = 0
        while i < s.count {
            if i + 1 < s.count, first(s[i]), second(s[i + 1]) {
                out.append(contentsOf: replacement(s[i], s[i + 1]))
                i += 2
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    /// `str.replace(old, new)` on scalars (non-overlapping, left to right).
    static func replace(_ s: [Unicode.Scalar], _ old: String, _ new: String) -> [Unicode.Scalar] {
        let o = Array(old.unicodeScalars), n = Array(new.unicodeScalars)
        guard !o.isEmpty, s.count >= o.count else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if s[i] == o[0], i + o.count <= s.count, s[i..<(i + o.count)].elementsEqual(o) {
                out.append(contentsOf: n)
                i += o.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}
