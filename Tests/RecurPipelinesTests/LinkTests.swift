import RecurPipelines
import XCTest
import Yams

/// RecurPipelines is filled by the pipelines issue; until then this checks that
/// YAML, the pipeline file format, decodes through Yams.
final class LinkTests: XCTestCase {
    struct Stage: Decodable, Equatable { let task: String; let model: String? }
    struct Pipeline: Decodable { let name: String; let stages: [Stage] }

    func testPipelineYAMLDecodes() throws {
        let yaml = """
        name: speech-to-french
        stages:
          - task: transcribe
            model: speech-en
          - task: translate
            model: translate-en-fr
        """
        let p = try YAMLDecoder().decode(Pipeline.self, from: yaml)
        XCTAssertEqual(p.name, "speech-to-french")
        XCTAssertEqual(p.stages, [Stage(task: "transcribe", model: "speech-en"), Stage(task: "translate", model: "translate-en-fr")])
        XCTAssertThrowsError(try YAMLDecoder().decode(Pipeline.self, from: "name: x\nstages: 3\n"))
    }
}
