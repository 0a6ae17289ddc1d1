import ArgumentParser

// PLACEHOLDER: replaced by the helper that owns this command.
struct BenchFrontend: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "frontend", abstract: "Log-mel of an hour of audio and pooled PNG features.")
    func run() throws { throw ValidationError("frontend is not built yet") }
}
