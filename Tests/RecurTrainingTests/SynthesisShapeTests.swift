import Foundation
import RecurCore
import RecurFrontends
import RecurTestSupport
import RecurTraining
import XCTest

/// The shapes corpus: captions say what is drawn, relations are unambiguous,
/// hold-out holds out, and the same seed gives the same bytes.
final class SynthesisShapeTests: XCTestCase {
    var tmp: String!

    override func setUpWithError() throws {
        tmp = NSTemporaryDirectory() + "recur-shapes-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: tmp)
    }

    func scenes(_ n: Int, seed: UInt64 = 7, holdOut: [ShapeCombination] = [], heldOut: Bool = false) -> [ShapeScene] {
        var o = ShapeCorpusOptions(count: n)
        o.seed = seed
        o.holdOut = holdOut
        return (0..<n).map { ShapeCorpus.scene(o, index: $0, heldOut: heldOut) }
    }

    func testCanonicalCaptionParsesBackToTheScene() {
        var arrangements = Set<String>()
        for s in scenes(300) {
            let caps = s.captions
            XCTAssertGreaterThanOrEqual(caps.count, 3)
            XCTAssertEqual(Set(caps).count, caps.count, "references repeat: \(caps)")
            XCTAssertEqual(ShapeCaption.parse(caps[0]), s.summary, caps[0])
            XCTAssertTrue(caps.allSatisfy { !$0.contains("\t") && $0 == $0.lowercased() })
            arrangements.insert("\(s.arrangement)\(s.objects.count)")
        }
        XCTAssertEqual(arrangements, ["single1", "row2", "column2", "row3", "column3"])
    }

    func testParseRejectsWhatIsNotCanonical() {
        XCTAssertNil(ShapeCaption.parse("a large blue square to the right of a small red circle"))
        XCTAssertNil(ShapeCaption.parse("there is a small red circle"))
        XCTAssertNil(ShapeCaption.parse("a small red circle above"))
        XCTAssertNil(ShapeCaption.parse("a huge red circle"))
        XCTAssertNil(ShapeCaption.parse("a small red circle, a small red circle and a small red circle from right to left"))
        XCTAssertEqual(ShapeCaption.parse("A small red circle , a large blue square and a small green triangle from top to bottom"),
                       ShapeSummary(arrangement: .column, objects: [ShapeDescription(.small, .red, .circle),
                                                                    ShapeDescription(.large, .blue, .square),
                                                                    ShapeDescription(.small, .green, .triangle)]))
    }

    func testLayoutKeepsRelationsUnambiguous() {
        for s in scenes(300) {
            let W = Float(s.size)
            for o in s.objects {
                XCTAssertGreaterThanOrEqual(o.x - o.extent / 2, 0)
                XCTAssertLessThanOrEqual(o.x + o.extent / 2, W)
                XCTAssertGreaterThanOrEqual(o.y - o.extent / 2, 0)
                XCTAssertLessThanOrEqual(o.y + o.extent / 2, W)
                let small = o.description.size == .small
                XCTAssertTrue(small ? o.extent <= 0.22 * W : o.extent >= 0.26 * W, "\(o.description) extent \(o.extent)")
            }
            for (a, b) in zip(s.objects, s.objects.dropFirst()) {
                // Along the axis the boxes are apart; across it the centres nearly line up.
                let (gap, offset) = s.arrangement == .row
                    ? ((b.x - b.extent / 2) - (a.x + a.extent / 2), abs(a.y - b.y))
                    : ((b.y - b.extent / 2) - (a.y + a.extent / 2), abs(a.x - b.x))
                XCTAssertGreaterThanOrEqual(gap, 1.9, "\(s.captions[0])")
                XCTAssertLessThanOrEqual(offset, 0.1 * W + 1e-3, "\(s.captions[0])")
            }
        }
    }

    func testPictureShowsEachObjectInItsColour() {
        for s in scenes(40) {
            let rgb = s.render()
            XCTAssertEqual(rgb.count, s.size * s.size * 3)
            for o in s.objects {
                // Every shape covers its box's centre.
                let p = (Int(o.y) * s.size + Int(o.x)) * 3
                for c in 0..<3 {
                    XCTAssertLessThanOrEqual(abs(Int(rgb[p + c]) - Int(o.rgb[c])), 16, "\(o.description) channel \(c)")
                }
            }
            // The corner is background (objects keep a margin), not an object colour.
            let corner = Array(rgb[0..<3])
            XCTAssertFalse(s.objects.contains { o in zip(o.rgb, corner).allSatisfy { abs(Int($0) - Int($1)) <= 8 } })
        }
    }

    func testHoldOutKeepsTheCombinationOutOfTraining() throws {
        let held = [try ShapeCombination(parsing: "purple triangle"), try ShapeCombination(parsing: "Green-Circle")]
        XCTAssertEqual(held[1], ShapeCombination(.green, .circle))
        for s in scenes(400, holdOut: held) {
            XCTAssertFalse(s.objects.contains { held.contains($0.description.combination) }, s.captions[0])
        }
        for s in scenes(50, holdOut: held, heldOut: true) {
            XCTAssertTrue(s.objects.contains { held.contains($0.description.combination) }, s.captions[0])
        }
        // And in the files.
        var o = ShapeCorpusOptions(count: 30)
        o.holdOut = [held[0]]
        o.heldOutCount = 5
        o.scene.size = 32
        try ShapeCorpus.write(o, to: tmp, command: "test")
        let train = try String(contentsOfFile: tmp + "/captions.tsv", encoding: .utf8)
        XCTAssertFalse(train.contains("purple triangle"))
        let groups = CaptionList.groups(try CaptionList.read(tmp + "/heldout.tsv").examples)
        XCTAssertEqual(groups.count, 5)
        for g in groups {
            XCTAssertTrue(g.captions[0].contains("purple triangle"), g.captions[0])
            XCTAssertTrue(g.image.contains("/heldout/"))
        }
    }

    func testBadHoldOutIsAClearError() {
        XCTAssertThrowsError(try ShapeCombination(parsing: "pink circle")) { XCTAssertTrue("\($0)".contains("pink circle")) }
        XCTAssertThrowsError(try ShapeCombination(parsing: "purple"))
        var o = ShapeCorpusOptions(count: 3)
        o.scene.shapes = [.circle]
        o.scene.colours = [.red]
        o.holdOut = [ShapeCombination(.red, .circle)]
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("nothing is left")) }
        o.holdOut = [ShapeCombination(.red, .star)]
        XCTAssertThrowsError(try o.validate())
    }

    func testCorpusIsTheSameBytesForTheSameSeed() throws {
        func make(_ name: String, seed: UInt64, jobs: Int) throws -> [String: Data] {
            var o = ShapeCorpusOptions(count: 4)
            o.seed = seed
            o.jobs = jobs
            let dir = tmp + "/" + name
            try ShapeCorpus.write(o, to: dir, command: "recur data shapes --seed \(seed)")
            var files: [String: Data] = [:]
            for f in ["captions.tsv", "images/00000.png", "images/00001.png", "images/00002.png", "images/00003.png"] {
                files[f] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f))
            }
            return files
        }
        let a = try make("a", seed: 5, jobs: 1)
        let b = try make("b", seed: 5, jobs: 2)
        let c = try make("c", seed: 6, jobs: 1)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a["captions.tsv"], c["captions.tsv"])
        XCTAssertNotEqual(a["images/00000.png"], c["images/00000.png"])
        // The reader takes it, with several references per image, canonical first.
        let r = try CaptionList.read(tmp + "/a/captions.tsv")
        let groups = CaptionList.groups(r.examples)
        XCTAssertEqual(groups.count, 4)
        for g in groups {
            XCTAssertGreaterThanOrEqual(g.captions.count, 3)
            XCTAssertNotNil(ShapeCaption.parse(g.captions[0]))
            let png = try PNGReader().readRGB8(path: g.image)
            XCTAssertEqual(png.width, 64)
            XCTAssertEqual(png.height, 64)
        }
        var o = ShapeCorpusOptions(count: 4)
        o.seed = 5
        let first = ShapeCorpus.scene(o, index: 0)
        XCTAssertEqual(try PNGReader().readRGB8(path: groups[0].image).pixels, first.render())
        XCTAssertEqual(groups[0].captions, first.captions)
        let readme = try String(contentsOfFile: tmp + "/a/README.txt", encoding: .utf8)
        XCTAssertTrue(readme.contains("recur data shapes --seed 5"))
    }

    func testValueRangeParsing() throws {
        XCTAssertEqual(try ValueRange(parsing: "100-300", name: "x"), ValueRange(100, 300))
        XCTAssertEqual(try ValueRange(parsing: "-12--3", name: "x"), ValueRange(-12, -3))
        XCTAssertEqual(try ValueRange(parsing: "-12-0", name: "x"), ValueRange(-12, 0))
        XCTAssertEqual(try ValueRange(parsing: "20", name: "x"), ValueRange(20, 20))
        XCTAssertEqual(try ValueRange(parsing: "0.5..1.5", name: "x"), ValueRange(0.5, 1.5))
        XCTAssertThrowsError(try ValueRange(parsing: "300-100", name: "--silence-ms")) { XCTAssertTrue("\($0)".contains("--silence-ms")) }
        XCTAssertThrowsError(try ValueRange(parsing: "fast", name: "x"))
    }
}
