import RecurCore
import RecurLayers
import RecurTestSupport
import XCTest

final class OptimizerTests: XCTestCase {
    /// A store holding the fixture's two parameters a (3, 4) and b (5).
    private func start(_ f: SafeTensorsFile) throws -> ParameterStore {
        var layout = ParameterLayout()
        layout.add("a", [3, 4])
        layout.add("b", [5])
        let store = ParameterStore(layout)
        try f.load("a0", into: store.value("a")!)
        try f.load("b0", into: store.value("b")!)
        return store
    }

    private func run<O: Optimizer>(_ name: String, _ opt: O) throws {
        let f = try LayerFixture.load("optimizers")
        let store = try start(f)
        var opt = opt
        for step in 1...3 {
            try f.load("grad\(step).a", into: store.grad("a")!)
            try f.load("grad\(step).b", into: store.grad("b")!)
            opt.step(store)
            assertMatches(store.value("a")!, try f.floats("\(name).step\(step).a"), rtol: 1e-5, atol: 1e-6, "\(name) step \(step) a")
            assertMatches(store.value("b")!, try f.floats("\(name).step\(step).b"), rtol: 1e-5, atol: 1e-6, "\(name) step \(step) b")
        }
        XCTAssertEqual(opt.stepCount, 3)
        // Alignment padding between parameters stays zero.
        let padStart = store.layout.refs[0].count, padEnd = store.layout.refs[1].offset
        for i in padStart..<padEnd { XCTAssertEqual(store.values.data[i], 0) }
    }

    func testSGDMomentumWeightDecay() throws { try run("sgd", try SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)) }
    func testSGDNesterov() throws { try run("sgd_nesterov", try SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true)) }
    func testSGDPlain() throws { try run("sgd_plain", try SGD(learningRate: 0.1)) }
    func testAdam() throws { try run("adam", Adam(learningRate: 0.01, weightDecay: 0.01)) }
    func testAdamW() throws {
        try run("adamw", Adam.adamW(learningRate: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.1))
    }

    func testBadSettingsThrow() {
        XCTAssertThrowsError(try SGD(learningRate: 0.1, nesterov: true))
        XCTAssertThrowsError(try SGD(learningRate: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true))
        XCTAssertThrowsError(try ReduceLROnPlateau(learningRate: 1, factor: 1))
        XCTAssertThrowsError(try SoftmaxCrossEntropy(labelSmoothing: 1.5)(Tensor(zeros: [1, 2]), targets: [0]))
    }

    func testGradientsAreNotChanged() throws {
        let f = try LayerFixture.load("optimizers")
        let store = try start(f)
        try f.load("grad1.a", into: store.grad("a")!)
        let before = store.grads.copy()
        var adam = Adam(weightDecay: 0.1)
        adam.step(store)
        var sgd = try SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.1, nesterov: true)
        sgd.step(store)
        XCTAssertEqual(store.grads.array, before.array)
    }
}

final class ClippingTests: XCTestCase {
    func testMatchesPyTorch() throws {
        let f = try LayerFixture.load("optimizers")
        var layout = ParameterLayout()
        layout.add("a", [3, 4])
        layout.add("b", [5])
        let store = ParameterStore(layout)
        try f.load("grad1.a", into: store.grad("a")!)
        try f.load("grad1.b", into: store.grad("b")!)
        Kernels.scale(store.grads.count, 3, store.grads.data)
        let norm = store.clipGradNorm(maxNorm: 1)
        let expected = try f.floats("clip.norm")
        XCTAssertEqual(norm, expected.array[0], accuracy: 1e-5 * norm)
        assertMatches(store.grad("a")!, try f.floats("clip.a"), "clip a")
        assertMatches(store.grad("b")!, try f.floats("clip.b"), "clip b")
        XCTAssertEqual(store.gradNorm(), 1, accuracy: 1e-5)
    }

    func testBelowMaxUntouchedAndNonFiniteLeftAlone() {
        var layout = ParameterLayout()
        layout.add("w", [4])
        let store = ParameterStore(layout)
        store.grad("w")!.assign(Tensor(shape: [4], [0.1, -0.2, 0.3, 0]))
        let before = store.grads.copy()
        XCTAssertEqual(GradientClipping.clipGlobalNorm(store, maxNorm: 5), Float(0.14).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(store.grads.array, before.array)
        store.grad("w")!.data[3] = .nan
        XCTAssertTrue(GradientClipping.clipGlobalNorm(store, maxNorm: 0.01).isNaN)
        XCTAssertEqual(store.grad("w")!.data[0], 0.1)
    }
}
