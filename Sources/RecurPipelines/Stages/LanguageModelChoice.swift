import RecurCore
import RecurDecoding
import RecurTraining

/// Which language model a decoding fuses, with its weight, found on disk: the
/// one given (`--lm`, a stage's `lm`), else the one the model's notes name
/// (`recur export --lm`), unless turned off (`--no-lm`, `lm: none`). One rule
/// for the commands and the pipelines.
public struct LanguageModelChoice: Sendable {
    /// The language model's file.
    public let path: String
    public let weight: Float
    /// Why this one: "--lm NAME" or "the model's note lm=NAME".
    public let reason: String

    /// Nil when nothing is to be fused. `given`: a file or a shipped model's
    /// name; `weight`: the weight given, else the note's, else the default.
    /// `names` are how the caller spells its options in messages.
    public static func choose(given: String?, weight: Float?, off: Bool, for runner: ModelRunner,
                              names: (lm: String, weight: String, off: String)) throws -> LanguageModelChoice? {
        if off { return nil }
        let name: String, w: Float, reason: String
        if let given {
            (name, w, reason) = (given, weight ?? LanguageModelFusion.defaultWeight, "\(names.lm) \(given)")
        } else if let note = runner.languageModel {
            (name, w, reason) = (note.name, weight ?? note.weight ?? LanguageModelFusion.defaultWeight, "the model's note lm=\(note.name)")
        } else {
            if weight != nil { throw RecurError(.usage, "\(names.weight) goes with \(names.lm) (the model's notes name no language model)") }
            return nil
        }
        do {
            return LanguageModelChoice(path: try ModelLocator.resolve(explicit: name, defaultName: name), weight: w, reason: reason)
        } catch let e as RecurError where given == nil {
            let why = e.reason.replacingOccurrences(of: ", or give one with --model FILE", with: "")
            throw RecurError(.usage, "the model decodes with the language model \(name) (its note lm), but \(why); or give \(names.off)",
                             file: runner.path)
        }
    }
}
