import ArgumentParser

// PLACEHOLDER: replaced by the helper that owns this command.
struct FeaturesImage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "image", abstract: "PNG images to pooled grid feature vectors.")
    func run() throws { throw ValidationError("image is not built yet") }
}
