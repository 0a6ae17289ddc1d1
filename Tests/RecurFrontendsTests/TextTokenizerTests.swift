import Foundation
import RecurCore
import RecurTestSupport
@testable import RecurFrontends
import XCTest

/// Normalization, the three tokenizers, BPE learning, vocabularies.
final class TextTokenizerTests: XCTestCase {
    static func fixtureLines(_ name: String) throws -> [String] {
        try Vocabulary.readLines(Bundle.module.resourceURL!.appendingPathComponent("Fixtures/\(name)").path)
    }

    /// A new folder for this test, removed when the test ends.
    func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("recur-texttests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: u) }
        return u
    }

    static func vocabulary(_ kind: TokenizerKind, _ lines: [String], _ norm: TextNormalizer, size: Int = 0, minFreq: Int = 1) -> Vocabulary {
        var b = VocabularyBuilder(kind: kind, maxSize: size, minFrequency: minFreq)
        for l in lines { b.add(normalized: norm.normalize(l)) }
        return b.build()
    }

    // MARK: normalization

    func testNormalization() {
        let n = TextNormalizer()
        let nfd = "E\u{0301}le\u{0300}ve", nfc = "\u{00C9}l\u{00E8}ve"
        XCTAssertEqual(n.normalize(nfd), nfc)
        XCTAssertEqual(n.normalize(nfd).unicodeScalars.count, 5)
        XCTAssertEqual(n.normalize("Quoi\u{202F}?\u{00A0}Oui"), "Quoi ? Oui")
        XCTAssertEqual(n.normalize("C\u{2019}est l\u{2018}a"), "C'est l'a")
        XCTAssertEqual(n.normalize("  a \t\t b\n"), "a b")
        XCTAssertEqual(n.normalize("zero\u{200B}width\u{FEFF}"), "zerowidth")
        XCTAssertEqual(n.normalize("a\u{2581}b"), "a_b")
        XCTAssertEqual(n.normalize("\u{FB01}n"), "\u{FB01}n")          // NFC keeps the ligature
        XCTAssertEqual(TextNormalizer(form: .nfkc).normalize("\u{FB01}n"), "fin")
        XCTAssertEqual(TextNormalizer(lowercase: true).normalize("ÉLÈVE Straße"), "élève straße")
        XCTAssertEqual(n.normalize(""), "")
        // Removing an invisible character between a letter and a combining mark still gives NFC.
        XCTAssertEqual(n.normalize("e\u{200B}\u{0301}"), "\u{00E9}")
    }

    func testNormalizationIsIdempotent() throws {
        for form in TextNormalizer.Form.allCases {
            for lower in [false, true] {
                let n = TextNormalizer(form: form, lowercase: lower)
                for l in try Self.fixtureLines("text_tricky.txt") {
                    let once = n.normalize(l)
                    XCTAssertEqual(n.normalize(once), once, "\(form) \(lower): \(l)")
                    XCTAssertFalse(once.hasPrefix(" ") || once.hasSuffix(" ") || once.contains("  "))
                }
            }
        }
    }

    // MARK: pretokenization

    func testWordPieces() {
        let n = TextNormalizer()
        XCTAssertEqual(Pretokenizer.words(n.normalize("Tom didn't go, l'homme « dit » : 3.5 !")),
                       ["Tom", "▁didn", "'", "t", "▁go", ",", "▁l", "'", "homme", "▁«", "▁dit", "▁»", "▁:", "▁3", ".", "5", "▁!"])
        XCTAssertEqual(Pretokenizer.words("What?"), ["What", "?"])
        XCTAssertEqual(Pretokenizer.words("Quoi ?"), ["Quoi", "▁?"])
        // Combining marks stay with their letter (NFD text).
        XCTAssertEqual(Pretokenizer.words("e\u{0301}te\u{0301}"), ["e\u{0301}te\u{0301}"])
        XCTAssertEqual(Pretokenizer.characters("a b"), ["a", "▁", "b"])
        XCTAssertEqual(Pretokenizer.join(["Quoi", "▁?"]), "Quoi ?")
        // Emoji modifiers and zero-width-joined sequences stay in one piece.
        XCTAssertEqual(Pretokenizer.words("ok 👍🏽👨\u{200D}👩\u{200D}👧!"), ["ok", "▁👍🏽", "👨\u{200D}👩\u{200D}👧", "!"])
    }

    // MARK: round trips

    func testRoundTripOnTrickyFixture() throws {
        let lines = try Self.fixtureLines("text_tricky.txt")
        XCTAssertGreaterThanOrEqual(lines.count, 15)
        for norm in [TextNormalizer(), TextNormalizer(form: .nfkc, lowercase: true)] {
            for kind in TokenizerKind.allCases {
                let vocab = Self.vocabulary(kind, lines, norm, size: kind == .bpe ? 300 : 0)
                let tok = Tokenizer(vocabulary: vocab, normalizer: norm)
                for l in lines {
                    let ids = tok.encode(l)
                    XCTAssertFalse(ids.contains(Vocabulary.unk), "\(kind): unknown piece in \(l)")
                    XCTAssertEqual(tok.decode(ids), norm.normalize(l), "\(kind) ids")
                    XCTAssertEqual(tok.decode(pieces: tok.pieces(l)), norm.normalize(l), "\(kind) pieces")
                }
            }
        }
    }

    /// English and French sides of the shared eng-fra pairs. Debug builds are
    /// slow, so every 40th line is used (3,520 lines, 7,040 sentences) unless
    /// RECUR_ROUNDTRIP_STEP says otherwise (1: every line; run it with
    /// `swift test -c release`); vocabularies are learned on those lines.
    func testRoundTripOnEngFraPairs() throws {
        guard let data = RecurBinary.sharedData else { throw XCTSkip("../shared/data is not beside the checkout") }
        let path = data.appendingPathComponent("eng-fra/pairs.tsv").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("no eng-fra/pairs.tsv in shared data") }
        let step = max(1, Int(ProcessInfo.processInfo.environment["RECUR_ROUNDTRIP_STEP"] ?? "") ?? 40)
        let reader = try TextLineReader(path: path)
        var sides: [[String]] = [[], []]
        var n = 0
        while let line = try reader.next() {
            defer { n += 1 }
            guard n % step == 0 else { continue }
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
            XCTAssertEqual(parts.count, 2)
            sides[0].append(String(parts[0])); sides[1].append(String(parts[1]))
        }
        XCTAssertGreaterThan(sides[0].count, 140_000 / step)
        let norm = TextNormalizer()
        var report: [String] = []
        for (side, lines) in zip(["en", "fr"], sides) {
            for kind in TokenizerKind.allCases {
                let vocab = Self.vocabulary(kind, lines, norm, size: kind == .bpe ? 2000 : 0)
                let tok = Tokenizer(vocabulary: vocab, normalizer: norm)
                var differ = 0
                for l in lines where tok.decode(tok.encode(l)) != norm.normalize(l) {
                    if differ < 3 { print("round trip differs (\(side), \(kind)): \(l)") }
                    differ += 1
                }
                report.append("\(side) \(kind): \(differ) of \(lines.count) differ")
                XCTAssertEqual(differ, 0, "\(side) \(kind)")
            }
        }
        print("eng-fra round trip (every \(step)th line): " + report.joined(separator: "; "))
    }

    // MARK: BPE

    func testBPEMergesByHand() {
        // "ab ab cd" → words ab, ▁ab, ▁cd. (a, b) occurs twice; then three pairs
        // occur once each and the tie goes by UTF-8 order of the left piece
        // ("c" < "▁"), then of the right piece ("ab" < "cd").
        let v = Self.vocabulary(.bpe, ["ab ab cd"], TextNormalizer())
        XCTAssertEqual(v.merges, [BPEMerge("a", "b"), BPEMerge("c", "d"), BPEMerge("▁", "ab"), BPEMerge("▁", "cd")])
        XCTAssertEqual(v.tokens, Vocabulary.specials + ["a", "b", "▁", "c", "d", "ab", "cd", "▁ab", "▁cd"])
        // min-freq 2: c and d leave the alphabet, and pairs seen once are not merged.
        let v2 = Self.vocabulary(.bpe, ["ab ab cd"], TextNormalizer(), minFreq: 2)
        XCTAssertEqual(v2.merges, [BPEMerge("a", "b")])
        XCTAssertEqual(v2.tokens, Vocabulary.specials + ["a", "b", "▁", "ab"])
        let tok = Tokenizer(vocabulary: v2)
        XCTAssertEqual(tok.pieces("ab cd"), ["ab", "▁", "<unk>", "<unk>"])
        // Size: 4 specials + 3 letters + 1 merge.
        let v3 = Self.vocabulary(.bpe, ["ab ab cd"], TextNormalizer(), size: 10)
        XCTAssertEqual(v3.count, 10)
        XCTAssertEqual(v3.merges.count, 1)
        // "aaaa" merges left to right without overlap.
        let v4 = Self.vocabulary(.bpe, ["aaa aaa"], TextNormalizer(), size: 7)
        XCTAssertEqual(v4.merges.first, BPEMerge("a", "a"))
        XCTAssertEqual(Tokenizer(vocabulary: v4).pieces("aaa"), ["aa", "a"])
    }

    func testBPELearningIsDeterministic() throws {
        let lines = try Self.fixtureLines("text_tricky.txt")
        let a = Self.vocabulary(.bpe, lines, TextNormalizer(), size: 250)
        let b = Self.vocabulary(.bpe, lines.reversed(), TextNormalizer(), size: 250)
        XCTAssertEqual(a.merges, b.merges)
        XCTAssertEqual(a.tokens, b.tokens)
        XCTAssertEqual(a.hash, b.hash)
        XCTAssertEqual(a.count, 250)
        XCTAssertGreaterThan(a.merges.count, 50)
        // Every merge's pieces exist, and merged pieces follow the alphabet in merge order.
        for m in a.merges { XCTAssertNotNil(a.id(m.left)); XCTAssertNotNil(a.id(m.right)); XCTAssertNotNil(a.id(m.merged)) }
    }

    // MARK: vocabularies

    func testVocabBuildRespectsMinFreqAndSize() {
        let norm = TextNormalizer()
        // Words: a ▁a ▁a ▁b ▁b ▁c (the first word of a line has no ▁).
        let v = Self.vocabulary(.word, ["a a a b b c"], norm, minFreq: 2)
        XCTAssertEqual(v.tokens, Vocabulary.specials + ["▁a", "▁b"])
        let v2 = Self.vocabulary(.word, ["a a a b b c"], norm, size: 5, minFreq: 1)
        XCTAssertEqual(v2.tokens, Vocabulary.specials + ["▁a"])
        let v3 = Self.vocabulary(.word, ["a a a b b c"], norm)
        XCTAssertEqual(v3.tokens, Vocabulary.specials + ["▁a", "▁b", "a", "▁c"])  // ties in UTF-8 order
        let c = Self.vocabulary(.char, ["abba c"], norm)
        XCTAssertEqual(c.tokens, Vocabulary.specials + ["a", "b", "c", "▁"])
        XCTAssertEqual(Array(c.tokens.prefix(4)), ["<pad>", "<s>", "</s>", "<unk>"])
        // Unknown words: <unk>, decoded after a space.
        let tok = Tokenizer(vocabulary: v)
        XCTAssertEqual(tok.encode("b zzz"), [Vocabulary.unk, Vocabulary.unk])
        XCTAssertEqual(tok.decode([5, 3, 4]), "▁b <unk> ▁a".replacingOccurrences(of: "▁", with: "").trimmingCharacters(in: .whitespaces))
        XCTAssertEqual(tok.decode([Vocabulary.bos, 4, 5, Vocabulary.eos, Vocabulary.pad]), "a b")
    }

    func testVocabFileRoundTripAndHash() throws {
        let dir = try tempDir()
        let lines = try Self.fixtureLines("text_tricky.txt")
        for kind in TokenizerKind.allCases {
            let v = Self.vocabulary(kind, lines, TextNormalizer(), size: kind == .bpe ? 200 : 0)
            let p = dir.appendingPathComponent("\(kind).vocab").path
            try v.write(to: p)
            XCTAssertEqual(FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(kind).merges").path), kind == .bpe)
            let back = try Vocabulary.load(p)
            XCTAssertEqual(back.kind, kind)
            XCTAssertEqual(back.tokens, v.tokens)
            XCTAssertEqual(back.merges, v.merges)
            XCTAssertEqual(back.hash, v.hash)
            XCTAssertTrue(v.hash.hasPrefix("fnv1a64:") && v.hash.count == 24, v.hash)
        }
        // Merges whose right piece is a combining mark or an emoji modifier
        // (" " plus such a scalar is one Character) survive the file.
        let odd = Self.vocabulary(.bpe, ["q\u{0301}q\u{0301} 👍🏽👍🏽"], TextNormalizer())
        XCTAssertTrue(odd.merges.contains(BPEMerge("q", "\u{0301}")) && odd.merges.contains(BPEMerge("👍", "🏽")), "\(odd.merges)")
        let op = dir.appendingPathComponent("odd.vocab").path
        try odd.write(to: op)
        XCTAssertEqual(try Vocabulary.load(op).merges, odd.merges)
        // FNV-1a 64 reference values.
        var h = FNV1a64(); h.update(Array("a".utf8))
        XCTAssertEqual(h.hex, "fnv1a64:af63dc4c8601ec8c")
        XCTAssertEqual(FNV1a64().hex, "fnv1a64:cbf29ce484222325")
        // One piece changed → another hash.
        XCTAssertNotEqual(Vocabulary(kind: .word, tokens: ["x"]).hash, Vocabulary(kind: .word, tokens: ["y"]).hash)
        // No temporary files left.
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: dir.path).contains { $0.hasPrefix(".") })
    }

    func testVocabLoadErrorsNameFileAndLine() throws {
        let dir = try tempDir()
        func check(_ content: [UInt8], _ needle: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let p = dir.appendingPathComponent("v\(UUID().uuidString).vocab").path
            try Data(content).write(to: URL(fileURLWithPath: p))
            XCTAssertThrowsError(try Vocabulary.load(p), file: file, line: line) { e in
                XCTAssertTrue("\(e)".hasPrefix(p + ": ") && "\(e)".contains(needle), "\(e)", file: file, line: line)
            }
        }
        try check(Array("<pad>\n<s>\n<unk>\n</s>\na\n".utf8), "line 3 must be the special </s>")
        try check(Array("<pad>\n<s>\n</s>\n<unk>\na\nb\na\n".utf8), "line 7 repeats the piece 'a' of line 5")
        try check(Array("<pad>\n<s>\n</s>\n<unk>\na\n\nb\n".utf8), "line 6 is empty")
        try check(Array("<pad>\n<s>\n</s>\n<unk>\n".utf8) + [0x61, 0xFF, 0x0A], "line 5: invalid UTF-8")
        XCTAssertThrowsError(try Vocabulary.load(dir.appendingPathComponent("none.vocab").path)) { e in
            XCTAssertTrue("\(e)".contains("no such file"))
        }
        // A merges file naming a piece the vocabulary lacks.
        let p = dir.appendingPathComponent("bad.vocab").path
        try Data("<pad>\n<s>\n</s>\n<unk>\na\nb\n".utf8).write(to: URL(fileURLWithPath: p))
        try Data("#recur-bpe-merges v1\na b\n".utf8).write(to: URL(fileURLWithPath: Vocabulary.mergesPath(for: p)))
        XCTAssertThrowsError(try Vocabulary.load(p)) { e in XCTAssertTrue("\(e)".contains("line 2: merge 'a b'"), "\(e)") }
    }

    // MARK: reading lines

    func testLineReader() throws {
        let dir = try tempDir()
        let p = dir.appendingPathComponent("in.txt").path
        try Data([0x61, 0x0D, 0x0A, 0x62, 0xC3, 0x28, 0x0A, 0x63]).write(to: URL(fileURLWithPath: p))
        let r = try TextLineReader(path: p)
        XCTAssertEqual(try r.next(), "a")
        XCTAssertThrowsError(try r.next()) { e in XCTAssertTrue("\(e)".hasPrefix(p + ": line 2: invalid UTF-8"), "\(e)") }
        let r2 = try TextLineReader(path: p, replaceInvalid: true)
        var got: [String] = []
        while let l = try r2.next() { got.append(l) }
        XCTAssertEqual(got, ["a", "b\u{FFFD}(", "c"])
        XCTAssertEqual(r2.replacedLines, 1)
        XCTAssertThrowsError(try TextLineReader(path: dir.path)) { e in XCTAssertTrue("\(e)".contains("directory")) }
    }
}
