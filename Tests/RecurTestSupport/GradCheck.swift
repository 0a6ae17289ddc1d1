import Foundation
import RecurCore

/// The outcome of comparing an analytic gradient with central differences.
public struct GradCheckResult: CustomStringConvertible {
    public let name: String
    public let checked: Int
    /// max over checked elements of |analytic - numeric| / max(1, |analytic|, |numeric|)·scale
    public let maxError: Double
    public let worstIndex: Int
    public let worstAnalytic: Double
    public let worstNumeric: Double

    public var description: String {
        "\(name): \(checked) elements, max error \(String(format: "%.2e", maxError)) at [\(worstIndex)] analytic \(worstAnalytic) numeric \(worstNumeric)"
    }
}

/// Finite-difference check of one gradient: perturbs `values[i]` by ±eps,
/// recomputes `loss()` (a scalar, best accumulated in Double), and compares
/// (L+ - L-) / 2eps with `analytic[i]`. The error is measured relative to
/// the largest gradient in the tensor (so near-zero entries do not dominate).
/// `maxElements` checks an evenly spread subset of large tensors.
public func gradCheck(_ name: String, values: Tensor, analytic: Tensor, eps: Float = 1e-2,
                      maxElements: Int = 64, loss: () -> Double) -> GradCheckResult {
    precondition(values.count == analytic.count, "\(name): values and gradient differ in size")
    let n = values.count
    let step = max(1, n / maxElements)
    var numeric: [(Int, Double)] = []
    var i = 0
    while i < n {
        let saved = values.data[i]
        values.data[i] = saved + eps
        let lp = loss()
        values.data[i] = saved - eps
        let lm = loss()
        values.data[i] = saved
        numeric.append((i, (lp - lm) / (2 * Double(eps))))
        i += step
    }
    var scale = 1e-3
    for (j, num) in numeric { scale = max(scale, abs(num), abs(Double(analytic.data[j]))) }
    var worst = (err: 0.0, idx: 0, a: 0.0, num: 0.0)
    for (j, num) in numeric {
        let a = Double(analytic.data[j])
        let err = abs(a - num) / scale
        if err >= worst.err { worst = (err, j, a, num) }
    }
    return GradCheckResult(name: name, checked: numeric.count, maxError: worst.err, worstIndex: worst.idx,
                           worstAnalytic: worst.a, worstNumeric: worst.num)
}

/// Σ out·w in Double: a scalar loss whose gradient with respect to `out` is `w`.
public func projectionLoss(_ out: Tensor, _ w: Tensor) -> Double {
    precondition(out.count == w.count)
    var s = 0.0
    for i in 0..<out.count { s += Double(out.data[i]) * Double(w.data[i]) }
    return s
}
