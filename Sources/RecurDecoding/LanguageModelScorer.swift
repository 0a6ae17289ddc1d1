import RecurCore
import RecurLayers
import RecurModels

/// A `LanguageModel` with its parameters, as the decoders (greedy, beam,
/// sampling) see it: `generations` independent sources of length 0, each
/// starting from the zero state. The decoders feed BOS and then
/// `DecodingOptions.prime` before choosing anything, so
/// `sampleDecode(scorer, temperature:, topK:, options: DecodingOptions(prime: ids), rng:)`
/// continues a prime text. Length limits relative to the source (ratios) see
/// a source length of 0: use the absolute `maxLength`.
public final class LanguageModelScorer: StepScorer {
    public typealias State = LanguageModelState

    public let model: LanguageModel
    public let store: ParameterStore
    /// How many independent generations (the decoders' sources).
    public let generations: Int
    /// Step workspaces by row count, reused from step to step.
    private var workspaces: [Int: RecurrentStepWorkspace] = [:]

    /// `generations` ≥ 1 independent texts to generate.
    public init(model: LanguageModel, store: ParameterStore, generations: Int = 1) throws {
        guard generations >= 1 else {
            throw RecurError(.value, "language model scorer: generations must be at least 1, got \(generations)")
        }
        guard store.layout == model.layout else {
            throw RecurError(.value, "language model scorer: the parameter store was made for another model")
        }
        self.model = model
        self.store = store
        self.generations = generations
    }

    public var vocabularySize: Int { model.config.vocabularySize }
    public var specials: SpecialTokens {
        SpecialTokens(pad: model.config.pad, bos: model.config.bos, eos: model.config.eos)
    }
    public var sourceCount: Int { generations }
    public func sourceLength(_ source: Int) -> Int { 0 }

    public func initialState(sources: [Int]) throws -> State {
        for s in sources where s < 0 || s >= generations {
            throw RecurError(.value, "language model scorer: source index \(s) outside 0..<\(generations)")
        }
        return model.initialState(rows: sources.count)
    }

    public func step(_ state: State, tokens: [Int]) throws -> StepOutput<State> {
        let rows = state.rows
        let workspace: RecurrentStepWorkspace
        if let w = workspaces[rows] {
            workspace = w
        } else {
            workspace = model.makeStepWorkspace(rows: rows)
            workspaces[rows] = workspace
        }
        let out = try model.decodeStep(store, state, tokens: tokens, workspace: workspace)
        return StepOutput(logProbs: out.logProbs, state: out.state)
    }

    public func select(_ state: State, rows: [Int]) throws -> State {
        try model.select(state, rows: rows)
    }
}
