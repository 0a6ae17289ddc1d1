import Foundation
import RecurCore
import RecurLayers
import RecurTestSupport
import XCTest

final class ScheduleTests: XCTestCase {
    private func sequence(_ s: LearningRateSchedule, base: Float = 0.5, steps: Int = 12) -> Tensor {
        Tensor(shape: [steps], (0..<steps).map { s.learningRate(base: base, step: $0) })
    }

    func testMatchesTorchSchedulers() throws {
        let f = try LayerFixture.load("schedules")
        let cases: [(String, LearningRateSchedule)] = [
            ("step", .stepDecay(stepSize: 3, gamma: 0.5)),
            ("exponential", .exponentialDecay(gamma: 0.9)),
            ("linear_warmup", .linearWarmup(steps: 4, startFactor: 0.25)),
            ("inverse_sqrt", .inverseSquareRoot(warmupSteps: 4)),
            ("warmup_exponential", .warmupThen(steps: 3, startFactor: 0.1, then: .exponentialDecay(gamma: 0.8))),
        ]
        for (name, s) in cases {
            assertMatches(sequence(s), try f.floats(name), rtol: 1e-6, atol: 0, name)
        }
    }

    func testExactValues() {
        XCTAssertEqual(LearningRateSchedule.constant.learningRate(base: 0.3, step: 1000), 0.3)
        XCTAssertEqual(LearningRateSchedule.stepDecay(stepSize: 3, gamma: 0.5).factor(at: 6), 0.25)
        XCTAssertEqual(LearningRateSchedule.linearWarmup(steps: 4, startFactor: 0).factor(at: 2), 0.5)
        XCTAssertEqual(LearningRateSchedule.inverseSquareRoot(warmupSteps: 4).factor(at: 15), 0.5)
        XCTAssertEqual(LearningRateSchedule.exponentialDecay(gamma: 0.5).factor(at: 3), 0.125)
        let w = LearningRateSchedule.warmupThen(steps: 2, startFactor: 0.5, then: .stepDecay(stepSize: 1, gamma: 0.5))
        XCTAssertEqual((0..<5).map { w.factor(at: $0) }, [0.5, 0.75, 1, 0.5, 0.25])
    }

    private func plateau(_ p: ReduceLROnPlateau) -> Tensor {
        // The same metrics as scripts/make_torch_fixtures_layers.py, as Doubles.
        let metrics = [1.0, 0.9, 0.9, 0.95, 0.9, 0.89999, 0.91, 0.92, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
        var p = p
        return Tensor(shape: [metrics.count], metrics.map { Float(p.update(metric: $0)) })
    }

    func testReduceOnPlateauMatchesTorch() throws {
        let f = try LayerFixture.load("schedules")
        assertMatches(plateau(try ReduceLROnPlateau(learningRate: 1, factor: 0.5, patience: 1, threshold: 1e-3, cooldown: 1, minLR: 0.05)),
                      try f.floats("plateau"), rtol: 1e-6, atol: 0, "plateau")
        assertMatches(plateau(try ReduceLROnPlateau(learningRate: 1, factor: 0.3, patience: 2, threshold: 0.05, thresholdMode: .absolute)),
                      try f.floats("plateau_abs"), rtol: 1e-6, atol: 0, "plateau_abs")
    }

    func testStateRoundTripsThroughJSON() throws {
        var p = try ReduceLROnPlateau(learningRate: 1, factor: 0.5, patience: 1, cooldown: 2)
        for m in [1.0, 1.0, 1.0, 0.9] { p.update(metric: m) }
        let back = try JSONDecoder().decode(ReduceLROnPlateau.self, from: JSONEncoder().encode(p))
        XCTAssertEqual(back, p)
        var a = p, b = back
        XCTAssertEqual(a.update(metric: 2), b.update(metric: 2))
        let s = LearningRateSchedule.warmupThen(steps: 3, startFactor: 0.1, then: .inverseSquareRoot(warmupSteps: 8))
        XCTAssertEqual(try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(s)), s)
        var adam = Adam.adamW()
        adam.stepCount = 17
        XCTAssertEqual(try JSONDecoder().decode(Adam.self, from: JSONEncoder().encode(adam)), adam)
    }

    func testPlateauMinLR() throws {
        var p = try ReduceLROnPlateau(learningRate: 1, factor: 0.1, patience: 0, minLR: 0.05)
        XCTAssertEqual(p.update(metric: 1), 1)
        XCTAssertEqual(p.update(metric: 1), 0.1, accuracy: 1e-12)
        XCTAssertEqual(p.update(metric: 1), 0.05)
        XCTAssertEqual(p.update(metric: 1), 0.05)
        XCTAssertEqual(p.update(metric: .nan), 0.05)
        XCTAssertEqual(p.evaluations, 5)
    }
}
