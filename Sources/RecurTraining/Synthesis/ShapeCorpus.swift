// Writes a captioning corpus of shape scenes (`recur data shapes`).
//
// Layout of the output folder:
//
//   images/00000.png …          the training scenes
//   captions.tsv                image<TAB>caption, several lines per image in a
//                               row, the canonical caption first (`CaptionList`
//                               reads it; `CaptionList.groups` gathers references)
//   heldout/00000.png …         with --hold-out: scenes that each show at least
//   heldout.tsv                 one held-out colour+shape combination (never
//                               seen in images/), same format
//   README.txt                  the command, the seed, the grammar
//
// Scene i depends only on (seed, i), so the corpus is the same bytes for the
// same seed at any --jobs, and the first n scenes of a larger corpus are the
// scenes of a smaller one.
import Foundation
import RecurCore
import RecurFrontends

/// Settings of a shapes corpus.
public struct ShapeCorpusOptions: Sendable {
    public var count: Int
    public var seed: UInt64 = 1
    public var scene = ShapeSceneOptions()
    /// Colour+shape combinations kept out of the training scenes.
    public var holdOut: [ShapeCombination] = []
    /// How many held-out scenes to write (nil: a tenth of `count`, at least 1, when `holdOut` is not empty).
    public var heldOutCount: Int?
    /// Threads drawing and writing pictures.
    public var jobs = 1

    public init(count: Int) {
        self.count = count
    }

    /// Checks the settings; throws a usage error saying what is wrong.
    public func validate() throws {
        guard count >= 1 else { throw RecurError(.usage, "--count must be at least 1, got \(count)") }
        guard scene.size >= 32, scene.size <= 4096 else { throw RecurError(.usage, "--size must be 32…4096 pixels, got \(scene.size)") }
        guard !scene.shapes.isEmpty, !scene.colours.isEmpty else { throw RecurError(.usage, "give at least one shape and one colour") }
        guard scene.objectCountWeights.count == 3, scene.objectCountWeights.allSatisfy({ $0 >= 0 }),
              scene.objectCountWeights.contains(where: { $0 > 0 }) else {
            throw RecurError(.usage, "object count weights must be three non-negative numbers, not all zero")
        }
        for c in holdOut {
            guard scene.shapes.contains(c.shape), scene.colours.contains(c.colour) else {
                throw RecurError(.usage, "--hold-out \"\(c)\": \(c.shape.rawValue) or \(c.colour.rawValue) is not among the shapes and colours in use")
            }
        }
        let all = scene.colours.count * scene.shapes.count
        guard Set(holdOut).count < all else { throw RecurError(.usage, "--hold-out names every combination: nothing is left to train on") }
        if let h = heldOutCount, h < 0 { throw RecurError(.usage, "--heldout-count must not be negative") }
        guard jobs >= 1 else { throw RecurError(.usage, "--jobs must be at least 1, got \(jobs)") }
    }

    var resolvedHeldOutCount: Int { holdOut.isEmpty ? 0 : (heldOutCount ?? max(1, count / 10)) }
}

/// What a corpus run wrote.
public struct ShapeCorpusSummary: Sendable {
    public var scenes: Int
    public var captions: Int
    public var heldOutScenes: Int
    public var heldOutCaptions: Int
}

/// Draws and writes shape corpora.
public enum ShapeCorpus {
    static let trainStream: UInt64 = 1
    static let heldOutStream: UInt64 = 2

    /// Scene `index` of the training set (`heldOut: false`) or of the held-out set.
    public static func scene(_ options: ShapeCorpusOptions, index: Int, heldOut: Bool = false) -> ShapeScene {
        var rng = RNG(seed: SynthesisSeed.item(options.seed, stream: heldOut ? heldOutStream : trainStream, index: index))
        let held = Set(options.holdOut)
        let sampler = ShapeSampler(options.scene)
        if heldOut {
            return sampler.scene(rng: &rng, allowed: { !held.contains($0) }, mustInclude: options.holdOut)
        }
        return sampler.scene(rng: &rng, allowed: { !held.contains($0) })
    }

    /// Writes the corpus into `directory` (created if needed). `command` is
    /// recorded in README.txt.
    @discardableResult
    public static func write(_ options: ShapeCorpusOptions, to directory: String, command: String) throws -> ShapeCorpusSummary {
        try options.validate()
        try SynthesisOutput.prepareDirectory(directory)
        let train = try writeSet(options, directory: directory, folder: "images", list: "captions.tsv",
                                 count: options.count, heldOut: false)
        var held = (0, 0)
        let heldCount = options.resolvedHeldOutCount
        if heldCount > 0 {
            held = try writeSet(options, directory: directory, folder: "heldout", list: "heldout.tsv",
                                count: heldCount, heldOut: true)
        }
        try AtomicFile.write(readme(options, command: command, heldOutCount: heldCount), to: directory + "/README.txt")
        return ShapeCorpusSummary(scenes: options.count, captions: train.1, heldOutScenes: heldCount, heldOutCaptions: held.1)
    }

    /// Writes `count` pictures into `directory/folder` and their captions into `directory/list`.
    static func writeSet(_ options: ShapeCorpusOptions, directory: String, folder: String, list: String,
                         count: Int, heldOut: Bool) throws -> (Int, Int) {
        let dir = directory + "/" + folder
        try SynthesisOutput.prepareDirectory(dir)
        let width = max(5, String(count - 1).count)
        let lock = NSLock()
        nonisolated(unsafe) var lines = [[String]](repeating: [], count: count)
        try synthesisParallel(count, jobs: options.jobs) { i in
            let scene = ShapeCorpus.scene(options, index: i, heldOut: heldOut)
            let name = String(repeating: "0", count: max(0, width - String(i).count)) + String(i) + ".png"
            try PNGWriter.write(path: dir + "/" + name, width: scene.size, height: scene.size, rgb: scene.render())
            let rows = scene.captions.map { "\(folder)/\(name)\t\($0)" }
            lock.lock()
            lines[i] = rows
            lock.unlock()
        }
        let text = lines.flatMap { $0 }.joined(separator: "\n") + "\n"
        try AtomicFile.write(text, to: directory + "/" + list)
        return (count, lines.reduce(0) { $0 + $1.count })
    }

    static func readme(_ o: ShapeCorpusOptions, command: String, heldOutCount: Int) -> String {
        var s = """
        Shape scenes for captioning, generated by Recur (no third-party content).

        Made by:  \(command)
        Seed:     \(o.seed)
        Recur:    \(RecurVersion.version)
        Scenes:   \(o.count) in images/, captions in captions.tsv (image<TAB>caption, canonical caption first)
        Picture:  \(o.scene.size)×\(o.scene.size) RGB PNG, noise σ = \(o.scene.noise) levels
        Shapes:   \(o.scene.shapes.map(\.rawValue).joined(separator: ", "))
        Colours:  \(o.scene.colours.map(\.rawValue).joined(separator: ", "))
        Sizes:    small, large
        Objects:  \(o.scene.objectCountWeights.enumerated().filter { $0.1 > 0 }.map { String($0.0 + 1) }.joined(separator: ", ")) per scene

        """
        if heldOutCount > 0 {
            s += """
            Held out: \(o.holdOut.map(\.description).joined(separator: ", ")) (in no scene of images/);
                      \(heldOutCount) scenes in heldout/, listed in heldout.tsv, each show at least one

            """
        }
        s += """

        Canonical captions (objects left to right, or top to bottom):
          a small red circle
          a small red circle to the left of a large blue square
          a small red circle above a large blue square
          a small red circle, a large blue square and a small green triangle from left to right
          a small red circle, a large blue square and a small green triangle from top to bottom
        The other references say the same in other words. Scene i depends only on the seed
        and i, so the same command gives the same bytes.

        """
        return s
    }
}
