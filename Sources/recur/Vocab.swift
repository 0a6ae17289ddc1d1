import ArgumentParser

// PLACEHOLDER: replaced by the helper that owns this command.
struct VocabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vocab", abstract: "Build vocabularies (char, word, BPE) from corpora.")
    func run() throws { throw ValidationError("vocab is not built yet") }
}
