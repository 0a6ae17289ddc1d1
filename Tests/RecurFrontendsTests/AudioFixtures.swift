import Foundation
import RecurCore
import RecurFrontends
import XCTest

/// Paths of the committed audio fixtures and a scratch folder per test.
enum AudioFixtures {
    static var folder: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// The fixture list written by scripts/make_frontend_fixtures.py.
    static func manifest() throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent("audio_fixtures.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// A fresh temporary folder, removed when the test ends.
    static func tempDir(_ test: XCTestCase) throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("recur-audio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: u) }
        return u
    }

    /// A sine of `freq` Hz, amplitude `amp`, `n` samples at `rate`.
    static func sine(_ freq: Double, rate: Double, n: Int, amp: Float = 0.5) -> [Float] {
        (0..<n).map { amp * Float(sin(2 * Double.pi * freq * Double($0) / rate)) }
    }
}
