import Foundation
import RecurCore
import RecurFrontends
import RecurModels
import RecurTraining

/// Text → tokens (a pipeline's `tokenize` stage): each record's text becomes
/// its pieces or ids, space-separated, as `recur tokenize` prints them.
public final class TokenizeStage: Stage, @unchecked Sendable {
    public let tokenizer: Tokenizer
    public let ids: Bool
    public let addBosEos: Bool
    public let modelName: String
    public var task: String { "tokenize" }
    public var inputKind: StageInputKind { .text }

    /// - Parameters:
    ///   - modelName: written as the records' `model` (the vocabulary's or model's name).
    public init(tokenizer: Tokenizer, modelName: String, ids: Bool = false, addBosEos: Bool = false) {
        self.tokenizer = tokenizer
        self.modelName = modelName
        self.ids = ids
        self.addBosEos = addBosEos
    }

    public func process(_ inputs: [StageRecord]) -> [Result<StageResult, Error>] {
        inputs.map { r in
            var t = tokenizer.encode(r.text)
            if addBosEos { t = [Vocabulary.bos] + t + [Vocabulary.eos] }
            let v = tokenizer.vocabulary
            let text = ids ? t.map(String.init).joined(separator: " ")
                           : t.map { $0 >= 0 && $0 < v.count ? v.tokens[$0] : "<unk>" }.joined(separator: " ")
            return .success(StageResult(records: [r.advanced(stage: task, model: modelName, text: text)]))
        }
    }
}

/// Audio or image files → feature matrices (a pipeline's `features` stage),
/// computed as a model sees them (with a model) or with a frontend's
/// settings. Each record's `text` is the .npy written (with an output
/// folder) or the shape `T×D`; `shape` holds `[T, D]`.
public final class FeaturesStage: Stage, @unchecked Sendable {
    public enum Frontend: @unchecked Sendable {
        /// A model's own way in (transcribe or caption model).
        case model(ModelRunner)
        case audio(AudioFrontend)
        case image(GridFeatures, PNGReader)
    }

    public let frontend: Frontend
    public let outputFolder: String?
    public let modelName: String
    public var task: String { "features" }
    public var inputKind: StageInputKind {
        switch frontend {
        case .model(let r): return r.loaded.description.task.source == .image ? .image : .audio
        case .audio: return .audio
        case .image: return .image
        }
    }

    public init(frontend: Frontend, modelName: String, outputFolder: String? = nil) throws {
        self.frontend = frontend
        self.modelName = modelName
        self.outputFolder = outputFolder
        if let outputFolder {
            do {
                try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: true)
            } catch {
                throw RecurError(.io, "cannot make the folder for features", file: outputFolder)
            }
        }
    }

    func compute(_ path: String) throws -> Tensor {
        switch frontend {
        case .model(let runner):
            guard case .features(let f) = try runner.prepare(path) else {
                throw RecurError(.value, "the model makes no features of this input", file: path)
            }
            return f
        case .audio(let a):
            return try a.compute(file: path)
        case .image(let g, let reader):
            return g.extract(fromResized: g.resized(try reader.readRGB8(path: path).tensor()))
        }
    }

    public func process(_ inputs: [StageRecord]) -> [Result<StageResult, Error>] {
        inputs.map { input in
            Result {
                guard let path = input.mediaPath else { throw RecurError(.value, "the record names no file") }
                let f = try compute(path)
                let shape = f.shape
                var text = shape.map(String.init).joined(separator: "×")
                if let outputFolder {
                    var stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
                    if let s = input.start { stem += String(format: "-%.2fs", s) }
                    let out = (outputFolder as NSString).appendingPathComponent(stem + ".npy")
                    try NPY.write(f, to: out)
                    text = out
                }
                var r = input.advanced(stage: task, model: modelName, text: text)
                r.extra["shape"] = .array(shape.map { JSONValue($0) })
                return StageResult(records: [r])
            }
        }
    }
}
