import ArgumentParser
import Foundation
import RecurCore
import RecurFrontends

@main
struct Recur: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recur",
        abstract: "Sequence-to-sequence on the CPU: transcribe, caption, translate, and chain them from the shell.",
        version: versionReport(),
        subcommands: [Features.self, Tokenize.self, Detokenize.self, VocabCommand.self, Score.self, Bench.self, Inspect.self, DataCommand.self, Translate.self, Transcribe.self, Caption.self, Generate.self, Classify.self, Evaluate.self, Run.self, Train.self, Export.self]
    )

    static func versionReport() -> String {
        """
        recur \(RecurVersion.version)
        libsndfile: \(FrontendLibraries.sndfile)
        fftw: \(FrontendLibraries.fftw)
        libpng: \(FrontendLibraries.png)
        soxr: \(FrontendLibraries.soxr)
        openblas: \(RecurVersion.openBLAS)
        onednn: \(RecurVersion.oneDNN)
        """
    }
}

/// Options every compute command takes.
struct ComputeOptions: ParsableArguments {
    @Option(name: .long, help: "Threads for BLAS and Recur's own loops (default: all cores).")
    var threads: Int?

    func apply() throws {
        if let threads {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
            Threads.set(threads)
        } else {
            Threads.set(Threads.available)
        }
    }
}

/// Writes one line to stderr.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
