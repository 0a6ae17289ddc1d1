import Foundation
import RecurCore
import RecurTestSupport
import XCTest

/// Loads the PyTorch fixtures of scripts/make_torch_fixtures_layers.py
/// (Tests/RecurLayersTests/Fixtures/torch_<name>.safetensors).
enum LayerFixture {
    static func load(_ name: String) throws -> SafeTensorsFile {
        guard let url = Bundle.module.url(forResource: "torch_\(name)", withExtension: "safetensors",
                                          subdirectory: "Fixtures") else {
            throw RecurError(.io, "fixture torch_\(name).safetensors missing: run scripts/make_torch_fixtures_layers.py")
        }
        return try SafeTensorsFile(path: url.path)
    }
}

/// Fails when `actual` differs from `expected` beyond atol + rtol·|expected|.
func assertMatches(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-5, atol: Float = 1e-6,
                   _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): sizes differ", file: file, line: line)
    XCTAssertTrue(allClose(actual.buffer, expected.buffer, rtol: rtol, atol: atol),
                  "\(what): max |diff| \(maxAbsDiff(actual.buffer, expected.buffer))", file: file, line: line)
}

/// Fails when a gradient check's error exceeds `tolerance` (relative to the
/// tensor's largest gradient).
func assertGradient(_ r: GradCheckResult, tolerance: Double = 2e-3, file: StaticString = #filePath, line: UInt = #line) {
    if ProcessInfo.processInfo.environment["RECUR_GRADCHECK_VERBOSE"] != nil { print("gradcheck", r) }
    XCTAssertLessThan(r.maxError, tolerance, r.description, file: file, line: line)
}
