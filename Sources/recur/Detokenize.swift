import ArgumentParser

// PLACEHOLDER: replaced by the helper that owns this command.
struct Detokenize: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detokenize", abstract: "Token ids or pieces back to text.")
    func run() throws { throw ValidationError("detokenize is not built yet") }
}
