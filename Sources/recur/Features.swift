import ArgumentParser

struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn audio or images into the feature frames models read (.npy, optional picture).",
        subcommands: [FeaturesAudio.self, FeaturesImage.self]
    )
}
