import ArgumentParser
import Foundation
import RecurCore
import RecurFrontends

extension TokenizerKind: ExpressibleByArgument {}
extension TextNormalizer.Form: ExpressibleByArgument {}

/// Normalization options shared by `tokenize` and `vocab build` (use the same
/// ones for a vocabulary and the text tokenized with it).
struct TextOptions: ParsableArguments {
    @Flag(help: "Lowercase the text (give the same normalization options to vocab build and tokenize).") var lowercase = false
    @Option(help: "Unicode normalization form: nfc or nfkc (the same for vocab build and tokenize).") var normalization: TextNormalizer.Form = .nfc
    @Flag(help: "Replace invalid UTF-8 with U+FFFD (counted on stderr) instead of stopping.") var replaceInvalid = false

    var normalizer: TextNormalizer { TextNormalizer(form: normalization, lowercase: lowercase) }
}

/// Opens FILE, or stdin for `-` or no FILE; refuses a terminal on stdin with a hint.
func openTextInput(_ input: String?, replaceInvalid: Bool, command: String) throws -> TextLineReader {
    if input == nil && isatty(0) != 0 {
        throw ValidationError("no input: give FILE, or pipe text in (e.g. echo 'Hello.' | recur \(command) ...); '-' reads stdin explicitly")
    }
    return try TextLineReader(path: input ?? "-", replaceInvalid: replaceInvalid)
}

/// Writes one line to stdout at once (so each record is flushed as it comes).
func writeLine(_ s: String) {
    FileHandle.standardOutput.write(Data((s + "\n").utf8))
}

enum TokenOutput: String, EnumerableFlag {
    case ids, pieces
    static func help(for value: TokenOutput) -> ArgumentHelp? {
        value == .ids ? "Print token ids (the default)." : "Print the pieces (▁ marks a space before a piece)."
    }
}

/// `recur tokenize`: text lines to ids or pieces, one output line per input line.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Text lines to tokens or ids with a vocabulary.",
        discussion: """
        Each input line is normalized (Unicode NFC or NFKC, typographic spaces and apostrophes folded, \
        white space collapsed, optionally lowercased), split by the vocabulary's kind (char, word or BPE) \
        and printed as space-separated ids or pieces: one output line per input line, flushed per line. \
        Pieces unknown to the vocabulary are <unk> (id 3). Invalid UTF-8 stops with an error naming the \
        file and line unless --replace-invalid is given.
        """
    )

    @Option(help: "Vocabulary file (one piece per line; BPE merges beside it in NAME.merges).") var vocab: String
    @Argument(help: "Text file, or - for stdin (the default when stdin is not a terminal).") var input: String?
    @Flag var output: TokenOutput = .ids
    @Option(help: "Tokenizer kind (char, word, bpe); found from the vocabulary when not given.") var kind: TokenizerKind?
    @Flag(help: "Put <s> (1) before and </s> (2) after each line's ids or pieces.") var addBosEos = false
    @OptionGroup var text: TextOptions

    func run() throws {
        let tokenizer = Tokenizer(vocabulary: try Vocabulary.load(vocab, kind: kind), normalizer: text.normalizer)
        let reader = try openTextInput(input, replaceInvalid: text.replaceInvalid, command: "tokenize --vocab \(vocab)")
        while let line = try reader.next() {
            var ids = tokenizer.encode(line)
            if addBosEos { ids = [Vocabulary.bos] + ids + [Vocabulary.eos] }
            switch output {
            case .ids: writeLine(ids.map(String.init).joined(separator: " "))
            case .pieces: writeLine(ids.map { tokenizer.vocabulary.tokens[$0] }.joined(separator: " "))
            }
        }
        if reader.replacedLines > 0 {
            printError("\(reader.name): replaced invalid UTF-8 in \(reader.replacedLines) line(s)")
        }
    }
}
