import ArgumentParser

// PLACEHOLDER: replaced by the helper that owns this command.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Text lines to tokens or ids with a vocabulary.")
    func run() throws { throw ValidationError("tokenize is not built yet") }
}
