import ArgumentParser

// PLACEHOLDER: replaced by the helper that owns this command.
struct FeaturesAudio: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audio", abstract: "Audio files to spectrogram / log-mel / MFCC frames.")
    func run() throws { throw ValidationError("audio is not built yet") }
}
