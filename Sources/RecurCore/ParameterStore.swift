import Foundation

/// A handle to one named parameter: where it sits in the flat buffers.
public struct ParameterRef: Sendable, Hashable {
    public let index: Int
    public let offset: Int
    public let shape: [Int]
    public var count: Int { Tensor.elementCount(shape) }
}

/// The names, shapes and offsets of a set of parameters, laid out one after
/// another (each aligned to 16 floats, so every parameter starts on a cache
/// line). Layers add their parameters here; `ParameterStore(layout)` then
/// allocates the buffers.
public struct ParameterLayout: Sendable, Equatable {
    public private(set) var names: [String] = []
    public private(set) var refs: [ParameterRef] = []
    public private(set) var totalCount = 0
    private var byName: [String: Int] = [:]

    public init() {}

    /// Adds a parameter; names must be unique.
    @discardableResult
    public mutating func add(_ name: String, _ shape: [Int]) -> ParameterRef {
        precondition(byName[name] == nil, "parameter \(name) added twice")
        let ref = ParameterRef(index: refs.count, offset: totalCount, shape: shape)
        byName[name] = refs.count
        names.append(name)
        refs.append(ref)
        totalCount += (ref.count + 15) / 16 * 16
        return ref
    }

    public func ref(_ name: String) -> ParameterRef? { byName[name].map { refs[$0] } }

    /// The number of parameters (not counting alignment padding).
    public var parameterCount: Int { refs.reduce(0) { $0 + $1.count } }
}

/// One flat buffer of values, one of gradients and two of optimizer moments,
/// all in the same layout, so zeroing, norms, optimizer updates and copies
/// are single loops. Named parameters are views (`value(_:)`, `grad(_:)`).
/// Padding between parameters stays zero in every buffer.
public final class ParameterStore: @unchecked Sendable {
    public let layout: ParameterLayout
    public let values: Tensor
    public let grads: Tensor
    /// First and second optimizer moments (Adam's m and v; SGD's velocity is m).
    public let moment1: Tensor
    public let moment2: Tensor

    public init(_ layout: ParameterLayout) {
        self.layout = layout
        values = Tensor(zeros: [layout.totalCount])
        grads = Tensor(zeros: [layout.totalCount])
        moment1 = Tensor(zeros: [layout.totalCount])
        moment2 = Tensor(zeros: [layout.totalCount])
    }

    /// A store that shares `other`'s values and optimizer moments but has its own
    /// gradients (zero): a replica for computing one shard of a batch's gradient.
    public init(sharingValuesOf other: ParameterStore) {
        layout = other.layout
        values = other.values
        grads = Tensor(zeros: [layout.totalCount])
        moment1 = other.moment1
        moment2 = other.moment2
    }

    public func value(_ p: ParameterRef) -> Tensor { view(values, p) }
    public func grad(_ p: ParameterRef) -> Tensor { view(grads, p) }

    public func value(_ name: String) -> Tensor? { layout.ref(name).map { value($0) } }
    public func grad(_ name: String) -> Tensor? { layout.ref(name).map { grad($0) } }

    private func view(_ t: Tensor, _ p: ParameterRef) -> Tensor {
        Tensor(storage: t.owner!, offset: p.offset, shape: p.shape)
    }

    public var parameterCount: Int { layout.parameterCount }

    /// Sets every gradient to zero.
    public func zeroGrads() { grads.zero() }

    /// The L2 norm of all gradients together.
    public func gradNorm() -> Float { Float(Kernels.sumOfSquares(grads.count, grads.data).squareRoot()) }

    /// Copies values (and, if asked, gradients and moments) from a store with the same layout.
    public func copy(from other: ParameterStore, includingOptimizerState: Bool = false) throws {
        guard other.layout == layout else {
            throw RecurError(.shape, "parameter layouts differ: \(other.layout.names.count) parameters vs \(layout.names.count)")
        }
        values.assign(other.values)
        if includingOptimizerState {
            grads.assign(other.grads)
            moment1.assign(other.moment1)
            moment2.assign(other.moment2)
        }
    }

    /// Named value views in layout order (for checkpoints).
    public var namedValues: [(String, Tensor)] {
        zip(layout.names, layout.refs).map { ($0, value($1)) }
    }
}
