import ArgumentParser
import Foundation
import RecurCore
import RecurFrontends

/// `recur detokenize`: ids or pieces back to natural text, one line per line.
struct Detokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Token ids or pieces back to text.",
        discussion: """
        Each input line holds space-separated ids or pieces (as `recur tokenize` prints them); \
        the output line is the text they spell: pieces joined, ▁ turned back into spaces, \
        <pad>, <s> and </s> dropped. With --from auto (the default) a line of integers is read as ids.
        """
    )

    enum From: String, ExpressibleByArgument { case auto, ids, pieces }

    @Option(help: "Vocabulary file.") var vocab: String
    @Argument(help: "File of ids or pieces, or - for stdin (the default when stdin is not a terminal).") var input: String?
    @Option(help: "What the lines hold: auto, ids or pieces.") var from: From = .auto
    @Option(help: "Tokenizer kind (char, word, bpe); found from the vocabulary when not given.") var kind: TokenizerKind?
    @Flag(help: "Replace invalid UTF-8 with U+FFFD (counted on stderr) instead of stopping.") var replaceInvalid = false

    func run() throws {
        let tokenizer = Tokenizer(vocabulary: try Vocabulary.load(vocab, kind: kind))
        let reader = try openTextInput(input, replaceInvalid: replaceInvalid, command: "detokenize --vocab \(vocab)")
        let count = tokenizer.vocabulary.count
        while let line = try reader.next() {
            // Split on the byte: a space followed by a combining mark or an emoji
            // modifier is one Character, and must still separate two pieces.
            let fields = line.utf8.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
            let ints = fields.map { Int($0) }
            let asIDs = from == .ids || (from == .auto && !fields.isEmpty && !ints.contains(nil))
            if asIDs {
                var ids: [Int] = []
                for (f, v) in zip(fields, ints) {
                    guard let v, v >= 0, v < count else {
                        throw RecurError(.value, "line \(reader.lineNumber): '\(f)' is not an id of the vocabulary (0..<\(count))", file: reader.name)
                    }
                    ids.append(v)
                }
                writeLine(tokenizer.decode(ids))
            } else {
                writeLine(tokenizer.decode(pieces: fields))
            }
        }
        if reader.replacedLines > 0 {
            printError("\(reader.name): replaced invalid UTF-8 in \(reader.replacedLines) line(s)")
        }
    }
}
