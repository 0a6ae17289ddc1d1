// The files of one training run, in the recipe's `output` directory:
//
//   recipe.yaml                      the effective recipe (Recipe.encodeYAML)
//   valid.tsv                        the held-out examples, as `recur evaluate --data` reads them
//   checkpoint-<step>.safetensors    periodic checkpoints, the last `keep_last` kept
//   best.safetensors                 the best validation so far
//   model.safetensors                the final weights (with the training state)
//   log.jsonl                        one JSON object per log line and validation
//   loss.png                         the loss curve
//
// The trainer says what to write and when (`CheckpointKind`); the caller
// writes the model files at `path(for:)`, and the trainer deletes old
// periodic checkpoints (`rotate`).
import Foundation
import RecurCore

/// What the trainer asks the caller to save.
public enum CheckpointKind: Sendable, Equatable, CustomStringConvertible {
    /// Every `checkpoint_every` steps (weights, optimizer moments, state).
    case periodic(step: Int)
    /// A new best validation figure.
    case best
    /// The end of the run.
    case final

    public var description: String {
        switch self {
        case .periodic(let s): return "checkpoint at step \(s)"
        case .best: return "best checkpoint"
        case .final: return "final model"
        }
    }
}

/// Names and tidies the files of a run directory.
public struct RunDirectory: Sendable, Equatable {
    public let path: String

    public init(_ path: String) { self.path = path }

    /// Creates the directory (and its parents) when missing.
    public func create() throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw RecurError(.io, "the run directory is a file", file: path) }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RecurError(.io, "cannot create the run directory: \(error.localizedDescription)", file: path)
        }
    }

    private func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    public func checkpointPath(step: Int) -> String { file("checkpoint-\(step).safetensors") }
    public var bestPath: String { file("best.safetensors") }
    public var finalPath: String { file("model.safetensors") }
    public var logPath: String { file("log.jsonl") }
    public var lossPlotPath: String { file("loss.png") }
    public var recipePath: String { file("recipe.yaml") }
    public var validationPath: String { file("valid.tsv") }

    /// Where the caller writes a checkpoint of `kind`.
    public func path(for kind: CheckpointKind) -> String {
        switch kind {
        case .periodic(let step): return checkpointPath(step: step)
        case .best: return bestPath
        case .final: return finalPath
        }
    }

    /// The periodic checkpoints present, by increasing step.
    public func checkpoints() -> [(step: Int, path: String)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [] }
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("checkpoint-"), name.hasSuffix(".safetensors") else { return nil }
            let digits = name.dropFirst("checkpoint-".count).dropLast(".safetensors".count)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let step = Int(digits), step >= 0 else { return nil }
            return (step, file(name))
        }.sorted { $0.0 < $1.0 }.map { (step: $0.0, path: $0.1) }
    }

    /// The checkpoint to resume from: the latest periodic one.
    public func latestCheckpoint() -> String? { checkpoints().last?.path }

    /// Deletes all but the last `keepLast` periodic checkpoints (never
    /// best.safetensors or model.safetensors); returns the deleted paths.
    @discardableResult
    public func rotate(keepLast: Int) throws -> [String] {
        let all = checkpoints()
        guard all.count > max(keepLast, 1) else { return [] }
        var deleted: [String] = []
        for c in all.dropLast(max(keepLast, 1)) {
            do {
                try FileManager.default.removeItem(atPath: c.path)
                deleted.append(c.path)
            } catch {
                throw RecurError(.io, "cannot delete an old checkpoint: \(error.localizedDescription)", file: c.path)
            }
        }
        return deleted
    }
}
