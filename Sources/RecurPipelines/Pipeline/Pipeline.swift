// A pipeline file: stages that run one after the other in one process.
//
//     name: speech-to-french
//     description: English speech to French text.
//     stages:
//       - task: transcribe            # transcribe | caption | translate | generate | features | tokenize
//         model: speech-en            # a shipped model's name, or a path (default: the task's shipped model)
//         options: {beam: 1}
//       - task: translate
//         model: translate-en-fr
//         options: {beam: 5}
//
// `Pipeline.load` checks everything before anything runs, each problem one
// line `FILE:LINE:COLUMN: reason`: YAML syntax, unknown keys, tasks and
// options (the known ones listed), option values, a stage reading what the
// stage before it does not write, and models (or vocabularies) that cannot
// be found (saying where they were looked for). `build()` then loads every
// model once; `run` (PipelineRun.swift) passes records through the stages.
import Foundation
import RecurCore
import RecurTraining
import Yams

/// One stage of a pipeline file, checked.
public struct PipelineStep: Sendable {
    /// 1-based position in the file.
    public let number: Int
    public let task: PipelineTask
    /// The model as written (nil: the default, or none).
    public let modelName: String?
    /// The model file found for it (nil when the stage uses none).
    public internal(set) var modelPath: String?
    /// The options as written (a tokenize stage's `vocab`: the file found).
    public internal(set) var options: [String: PipelineOptionValue]
    public let reads: PipelineDataKind
    public let writes: PipelineDataKind
    /// `file:line:column` of the stage's `task`, `model` and each option's value.
    public let taskLocation: String
    public let modelLocation: String
    public let optionLocations: [String: String]

    /// "stage 2 (translate)".
    public var label: String { "stage \(number) (\(task.rawValue))" }

    public func int(_ name: String) -> Int? {
        if case .int(let v)? = options[name] { return v }
        return nil
    }

    public func double(_ name: String) -> Double? {
        switch options[name] {
        case .double(let v)?: return v
        case .int(let v)?: return Double(v)
        default: return nil
        }
    }

    public func bool(_ name: String) -> Bool? {
        if case .bool(let v)? = options[name] { return v }
        return nil
    }

    public func string(_ name: String) -> String? {
        if case .string(let v)? = options[name] { return v }
        return nil
    }
}

/// A pipeline read from a file (see the file comment).
public final class Pipeline: @unchecked Sendable {
    /// The file it was read from.
    public let file: String
    /// Its name (default: the file name without extension).
    public let name: String
    public let description: String
    public let steps: [PipelineStep]

    /// What the first stage reads: the kind of the inputs.
    public var inputKind: PipelineDataKind { steps[0].reads }

    /// The stages, once built (`build()`).
    private var built: PipelineEngine?
    private let buildLock = NSLock()

    init(file: String, name: String, description: String, steps: [PipelineStep]) {
        self.file = file
        self.name = name
        self.description = description
        self.steps = steps
    }

    static let topKeys = ["name", "description", "stages"]
    static let stageKeys = ["task", "model", "options"]

    // MARK: Loading

    /// Reads and checks the pipeline file at `path` (see the file comment).
    /// Models are looked up with `ModelLocator` (in `environment`, beside
    /// `executable`), and relative model and vocabulary paths against the
    /// pipeline file's folder, then the current folder.
    public static func load(_ path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            executable: String = CommandLine.arguments.first ?? "recur") throws -> Pipeline {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw RecurError(.io, "no such pipeline file", file: path)
        }
        if isDir.boolValue { throw RecurError(.io, "is a folder, not a pipeline file", file: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecurError(.io, "cannot read the pipeline file", file: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RecurError(.format, "not UTF-8 text", file: path)
        }
        return try parse(text, file: path, environment: environment, executable: executable)
    }

    /// Reads a pipeline from YAML text; `file` names it in errors and
    /// anchors relative paths.
    public static func parse(_ text: String, file: String,
                             environment: [String: String] = ProcessInfo.processInfo.environment,
                             executable: String = CommandLine.arguments.first ?? "recur") throws -> Pipeline {
        let reader = PipelineReader(file: file, environment: environment, executable: executable)
        return try reader.read(text)
    }

    // MARK: Building

    /// Loads every model once and makes the stages (done by `run` when not
    /// done before). An error names the stage and where its model is written.
    public func build() throws {
        buildLock.lock(); defer { buildLock.unlock() }
        if built != nil { return }
        built = try PipelineEngine(self)
    }

    /// The built stages (building them first).
    func engine() throws -> PipelineEngine {
        try build()
        return built!
    }

    /// The stages as built, in order (building them first).
    public func stages() throws -> [any Stage] { try engine().stages }
}

/// Reads one pipeline text (the checks of `Pipeline.load`).
struct PipelineReader {
    let file: String
    let environment: [String: String]
    let executable: String

    func at(_ mark: Mark?) -> String { YAMLDiagnostics.location(file, mark) }

    func fail(_ mark: Mark?, _ reason: String) -> RecurError {
        RecurError(.format, reason, file: at(mark))
    }

    func read(_ text: String) throws -> Pipeline {
        guard let root = try YAMLDiagnostics.compose(text, file: file) else {
            throw RecurError(.format, "the pipeline file is empty; it needs stages: (a list of {task, model, options})", file: file)
        }
        guard let top = root.mapping else {
            throw fail(root.mark, "a pipeline is a mapping (name, description, stages), not \(YAMLDiagnostics.kindName(root))")
        }
        try checkKeys(top, known: Pipeline.topKeys, what: "key", place: "at the top level")
        var name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        var description = ""
        if let n = top["name"] { name = try scalarText(n, "name") }
        if let d = top["description"] { description = try scalarText(d, "description") }
        guard let stagesNode = top["stages"] else {
            throw fail(root.mark, "the pipeline has no stages: give stages: with a list of {task, model, options}")
        }
        guard let list = stagesNode.sequence else {
            throw fail(stagesNode.mark, "stages must be a list of {task, model, options}, not \(YAMLDiagnostics.kindName(stagesNode))")
        }
        guard !list.isEmpty else { throw fail(stagesNode.mark, "stages is empty: a pipeline needs at least one stage") }
        var steps: [PipelineStep] = []
        for (i, node) in list.enumerated() {
            let step = try readStep(node, number: i + 1)
            if let previous = steps.last, previous.writes != step.reads {
                throw RecurError(.format, "\(step.label) reads \(step.reads.noun) but \(previous.label) writes \(previous.writes.noun)",
                                 file: step.taskLocation)
            }
            steps.append(step)
        }
        // Models last: a file that cannot work is refused before anything is looked up.
        steps = try steps.map(resolve)
        return Pipeline(file: file, name: name, description: description, steps: steps)
    }

    /// Refuses keys of `mapping` not in `known`, and keys given twice.
    func checkKeys(_ mapping: Node.Mapping, known: [String], what: String, place: String) throws {
        var seen = Set<String>()
        for (k, _) in mapping {
            guard let key = k.scalar?.string else { throw fail(k.mark, "keys must be plain names") }
            guard seen.insert(key).inserted else { throw fail(k.mark, "\(key) is given twice") }
            if !known.contains(key) {
                throw fail(k.mark, "unknown \(what) \(key) \(place)\(Self.known(key, known, plural: what + "s"))")
            }
        }
    }

    /// "; did you mean beam? (the options are: beam, nbest, ...)".
    static func known(_ name: String, _ known: [String], plural: String) -> String {
        let close = YAMLDiagnostics.closeNames(name, among: known)
        let guess = close.isEmpty ? "" : "did you mean \(close[0])? "
        return "; \(guess)(the \(plural) are: \(known.joined(separator: ", ")))"
    }

    func scalarText(_ node: Node, _ what: String) throws -> String {
        guard let s = node.scalar else {
            throw fail(node.mark, "\(what) must be a single value, not \(YAMLDiagnostics.kindName(node))")
        }
        return s.string
    }

    func readStep(_ node: Node, number: Int) throws -> PipelineStep {
        guard let m = node.mapping else {
            throw fail(node.mark, "stage \(number) must be a mapping {task, model, options}, not \(YAMLDiagnostics.kindName(node))")
        }
        try checkKeys(m, known: Pipeline.stageKeys, what: "key", place: "in stage \(number)")
        guard let taskNode = m["task"] else {
            throw fail(node.mark, "stage \(number) has no task: give task: one of \(PipelineTask.names.joined(separator: ", "))")
        }
        let taskName = try scalarText(taskNode, "task")
        guard let task = PipelineTask(rawValue: taskName) else {
            throw fail(taskNode.mark, "stage \(number): unknown task \(taskName)\(Self.known(taskName, PipelineTask.names, plural: "tasks"))")
        }
        let label = "stage \(number) (\(task.rawValue))"

        var options: [String: PipelineOptionValue] = [:]
        var optionLocations: [String: String] = [:]
        if let o = m["options"], !isNull(o) {
            guard let om = o.mapping else {
                throw fail(o.mark, "\(label): options must be a mapping like {beam: 5}, not \(YAMLDiagnostics.kindName(o))")
            }
            try checkKeys(om, known: task.optionNames, what: "option", place: "for \(task.rawValue) in stage \(number)")
            for (k, v) in om {
                let key = k.scalar!.string
                let spec = task.options.first { $0.name == key }!
                options[key] = try value(v, spec, label: label)
                optionLocations[key] = at(v.mark ?? k.mark)
            }
        }
        try checkCombinations(options, optionLocations, task: task, label: label, at: at(m["options"]?.mark ?? taskNode.mark))

        var modelName: String?
        var modelLocation = at(taskNode.mark)
        if let mn = m["model"], !isNull(mn) {
            modelName = try scalarText(mn, "model")
            modelLocation = at(mn.mark)
            if modelName!.isEmpty { throw fail(mn.mark, "\(label): model is empty") }
        }
        return PipelineStep(number: number, task: task, modelName: modelName, modelPath: nil, options: options,
                            reads: task.reads(options), writes: task.writes, taskLocation: at(taskNode.mark),
                            modelLocation: modelLocation, optionLocations: optionLocations)
    }

    /// The step with its model (or vocabulary) file found.
    func resolve(_ step: PipelineStep) throws -> PipelineStep {
        var s = step
        let label = step.label
        switch step.task {
        case .features:
            if let name = step.modelName { s.modelPath = try findModel(name, label: label, location: step.modelLocation) }
        case .tokenize:
            if let vocab = step.string("vocab") {
                if step.modelName != nil {
                    throw RecurError(.format, "\(label): give vocab or model, not both", file: step.modelLocation)
                }
                s.options["vocab"] = .string(try findFile(vocab, label: label, what: "vocabulary",
                                                          location: step.optionLocations["vocab"] ?? step.taskLocation))
            } else {
                s.modelPath = try findModel(step.modelName ?? step.task.defaultModel!, label: label, location: step.modelLocation)
            }
        case .classify:
            guard let name = step.modelName else {
                throw RecurError(.format, "\(label): classify needs a model (no classifier ships with Recur; train one with task: classify)",
                                 file: step.taskLocation)
            }
            s.modelPath = try findModel(name, label: label, location: step.modelLocation)
        default:
            s.modelPath = try findModel(step.modelName ?? step.task.defaultModel!, label: label, location: step.modelLocation)
            if let lm = step.string("lm"), lm != "none" {
                s.options["lm"] = .string(try findModel(lm, label: label, location: step.optionLocations["lm"] ?? step.taskLocation))
            }
        }
        return s
    }

    func isNull(_ node: Node) -> Bool {
        guard let s = node.scalar else { return false }
        return node.tag.rawValue == Tag.Name.null.rawValue && (s.style == .plain || s.style == .any)
    }

    /// One option's value, checked against its kind.
    func value(_ node: Node, _ spec: PipelineOption, label: String) throws -> PipelineOptionValue {
        func bad() -> RecurError {
            let got = node.scalar != nil ? YAMLDiagnostics.inlineText(node) : YAMLDiagnostics.kindName(node)
            return fail(node.mark, "\(label): option \(spec.name) must be \(spec.expected), got \(got)")
        }
        guard node.scalar != nil, !isNull(node) else { throw bad() }
        switch spec.kind {
        case .int(let min):
            guard let v = node.int, v >= min else { throw bad() }
            return .int(v)
        case .double(let min):
            guard let v = node.float ?? node.int.map({ Double($0) }), v.isFinite, v >= min else { throw bad() }
            return .double(v)
        case .bool:
            guard let v = node.bool else { throw bad() }
            return .bool(v)
        case .string:
            guard let v = node.string, !v.isEmpty else { throw bad() }
            return .string(v)
        case .choice(let words):
            guard let v = node.string, words.contains(v) else { throw bad() }
            return .string(v)
        }
    }

    /// Checks between options.
    func checkCombinations(_ o: [String: PipelineOptionValue], _ at: [String: String], task: PipelineTask, label: String,
                           at fallback: String) throws {
        if case .int(let lo)? = o["min_length"] {
            let hi: Int
            if case .int(let h)? = o["max_length"] { hi = h } else { hi = 200 }
            if lo > hi {
                throw RecurError(.format, "\(label): min_length \(lo) is more than max_length \(hi)", file: at["min_length"] ?? fallback)
            }
        }
        if case .double(let s)? = o["max_segment"], s > 0, s < 0.5 {
            throw RecurError(.format, "\(label): max_segment must be at least 0.5 s (or 0: never split), got \(s)",
                             file: at["max_segment"] ?? fallback)
        }
        if o["lm_weight"] != nil, case .string("none")? = o["lm"] {
            throw RecurError(.format, "\(label): lm_weight does not go with lm: none", file: at["lm_weight"] ?? fallback)
        }
        if task == .tokenize, o["vocab"] != nil, o["side"] != nil {
            throw RecurError(.format, "\(label): side chooses a model's vocabulary; it does not go with vocab", file: at["side"] ?? fallback)
        }
        if task == .tokenize, o["vocab"] == nil, let key = ["kind", "lowercase"].first(where: { o[$0] != nil }) {
            throw RecurError(.format, "\(label): \(key) goes with vocab (a model's tokenizer has its own)", file: at[key] ?? fallback)
        }
    }

    /// A model file: a shipped name found by `ModelLocator`, or a path (relative:
    /// to the pipeline file's folder, then the current folder).
    func findModel(_ name: String, label: String, location: String) throws -> String {
        let pathLike = name.contains("/") || name.hasSuffix(".safetensors")
        if pathLike {
            return try findFile(name, label: label, what: "model", location: location)
        }
        do {
            return try ModelLocator.resolve(explicit: name, defaultName: name, environment: environment, executable: executable)
        } catch let e as RecurError {
            // "no model: ..." lists where it was looked for; a pipeline gives no --model.
            let reason = e.reason.replacingOccurrences(of: ", or give one with --model FILE", with: "")
            throw RecurError(.usage, "\(label): \(reason)", file: location)
        }
    }

    /// An existing file named in the pipeline: absolute, or relative to the
    /// pipeline file's folder, then to the current folder.
    func findFile(_ path: String, label: String, what: String, location: String) throws -> String {
        var candidates: [String] = []
        if path.hasPrefix("/") {
            candidates = [path]
        } else {
            let folder = (file as NSString).deletingLastPathComponent
            candidates.append(folder.isEmpty ? path : (folder as NSString).appendingPathComponent(path))
            let here = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
            if URL(fileURLWithPath: here).standardizedFileURL.path != URL(fileURLWithPath: candidates[0]).standardizedFileURL.path {
                candidates.append(path)
            }
        }
        var isDir: ObjCBool = false
        for c in candidates where FileManager.default.fileExists(atPath: c, isDirectory: &isDir) && !isDir.boolValue {
            return c
        }
        let looked = candidates.count == 1 ? candidates[0] : candidates[0] + " and " + URL(fileURLWithPath: candidates[1]).standardizedFileURL.path
        throw RecurError(.usage, "\(label): no \(what) file \(path) (looked for \(looked))", file: location)
    }
}
