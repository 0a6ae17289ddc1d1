import RecurCore
import RecurTestSupport
import XCTest

/// Finite-difference check of every parameter tensor of a model (an evenly
/// spread subset of each tensor's elements). `gradients` zeroes the store's
/// gradients and runs one forward + backward; `loss` recomputes the same loss
/// without backward. Passes an element on the relative error, or when it
/// differs by less than two quanta of the central difference of a Float loss
/// (2 · ulp(L) / 2·eps): the noise floor of the check itself. Returns the
/// names checked.
@discardableResult
func checkEveryParameterGradient(_ store: ParameterStore, eps: Float = 1e-2, tolerance: Double = 3e-3,
                                 maxElements: Int = 12, gradients: () throws -> Void, loss: () -> Double,
                                 file: StaticString = #filePath, line: UInt = #line) rethrows -> [String] {
    try gradients()
    var worst = 0.0
    let noise = Double(Float(loss()).ulp) / Double(eps)
    for (name, ref) in zip(store.layout.names, store.layout.refs) {
        let r = gradCheck(name, values: store.value(ref), analytic: store.grad(ref), eps: eps, maxElements: maxElements,
                          loss: loss)
        let absolute = abs(r.worstAnalytic - r.worstNumeric)
        XCTAssertTrue(r.maxError < tolerance || absolute <= noise, "\(r)", file: file, line: line)
        worst = max(worst, r.maxError)
        if r.maxError >= tolerance { print("beyond the relative tolerance, within the noise floor \(noise): \(r)") }
    }
    print("worst relative gradient error: \(worst)")
    return store.layout.names
}
