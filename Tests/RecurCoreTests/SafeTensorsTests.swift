import Foundation
import RecurCore
import XCTest

/// Fixtures come from scripts/make_fixtures.py (the Python `safetensors` package).
private func fixture(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
        throw XCTSkip("fixture \(name) missing from the test bundle")
    }
    return url.path
}

/// A fresh empty directory for one test.
private func scratchDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recur-st-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A safetensors file from a header text (not padded) and data bytes.
private func rawFile(_ header: String, _ data: [UInt8] = []) -> [UInt8] {
    let h = Array(header.utf8)
    return withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) } + h + data
}

private func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

final class SafeTensorsTests: XCTestCase {
    // MARK: reading files the Python package wrote

    private struct Expected: Decodable {
        struct Entry: Decodable {
            let dtype: String
            let shape: [Int]
            let bits: [Int64]
        }
        let metadata: [String: String]
        let tensors: [String: Entry]
    }

    func testReadsPythonFileExactly() throws {
        let path = try fixture("basic.safetensors")
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: try fixture("basic.json"))))
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.metadata, expected.metadata)
        XCTAssertEqual(Set(file.names), Set(expected.tensors.keys))
        XCTAssertEqual(file.names.count, expected.tensors.count)
        for (name, want) in expected.tensors {
            XCTAssertEqual(try file.dtype(name).rawValue, want.dtype, name)
            XCTAssertEqual(try file.shape(name), want.shape, name)
            switch try file.dtype(name) {
            case .f32:
                let got = try file.floats(name)
                XCTAssertEqual(got.shape, want.shape, name)
                XCTAssertEqual(got.array.map { Int64($0.bitPattern) }, want.bits, name)
            case .f16:
                // Half to float is exact and one-to-one (NaN payloads kept), so
                // converting back gives the stored bits.
                let got = try file.floats(name).array.map { Int64(Float16Conversion.half(from: $0)) }
                XCTAssertEqual(got, want.bits, name)
            case .i32:
                XCTAssertEqual(try file.int32s(name).map(Int64.init), want.bits, name)
                XCTAssertEqual(try file.ints(name).map(Int64.init), want.bits, name)
            case .i64:
                XCTAssertEqual(try file.int64s(name), want.bits, name)
                XCTAssertEqual(try file.ints(name).map(Int64.init), want.bits, name)
            }
        }
        // Spot checks that do not depend on the sidecar.
        XCTAssertEqual(try file.floats("f32.scalar").shape, [])
        XCTAssertEqual(try file.floats("f32.scalar").array, [-2.75])
        XCTAssertEqual(try file.floats("f32.cube")[[2, 4, 6]], 104 * 0.5 - 20)
        XCTAssertEqual(try file.floats("f32.empty").count, 0)
        XCTAssertEqual(try file.floats("f16.one").array, [1.5])
        XCTAssertEqual(try file.int64s("i64.values")[3], Int64.max)
        XCTAssertEqual(file.metadata["quote\"back\\slash\nnew\ttab\u{1}"], "é ü 𝄞")
    }

    func testWrongTypeAndMissingNameAreErrors() throws {
        let path = try fixture("basic.safetensors")
        let file = try SafeTensorsFile(path: path)
        XCTAssertThrowsError(try file.floats("i32.values")) { self.assertError($0, path, "is I32") }
        XCTAssertThrowsError(try file.int32s("f32.cube")) { self.assertError($0, path, "not I32") }
        XCTAssertThrowsError(try file.int64s("i32.values")) { self.assertError($0, path, "not I64") }
        XCTAssertThrowsError(try file.floats("nope")) { self.assertError($0, path, "no tensor named 'nope'") }
        XCTAssertThrowsError(try file.load("f32.cube", into: Tensor(zeros: [5, 3, 7]))) { self.assertError($0, path, "expected [5, 3, 7]") }
        let t = Tensor(zeros: [3, 4])
        try file.load("f16.matrix", into: t)
        XCTAssertEqual(t.array, try file.floats("f16.matrix").array)
    }

    /// Every half bit pattern numpy produced from float32 sources (ties to even,
    /// overflow, subnormals) is what Recur's conversion produces.
    func testFloatToHalfMatchesNumpy() throws {
        let file = try SafeTensorsFile(path: try fixture("f16.safetensors"))
        let source = try file.floats("source").array
        let half = try file.floats("half").array
        XCTAssertEqual(source.count, half.count)
        XCTAssertGreaterThan(source.count, 1000)
        for (s, h) in zip(source, half) {
            let mine = Float16Conversion.float(fromHalf: Float16Conversion.half(from: s))
            if s.isNaN {
                XCTAssertTrue(h.isNaN && mine.isNaN)
            } else {
                XCTAssertEqual(mine.bitPattern, h.bitPattern, "source \(s) (bits \(String(s.bitPattern, radix: 16)))")
            }
        }
    }

    /// Header order differs from data order, and the header length is not a
    /// multiple of 8: a reader that took offsets from the wrong place (file
    /// start, header start, padded length) or assumed sorted tensors reads
    /// different numbers.
    func testOffsetsAreRelativeToTheDataSection() throws {
        let header = #"{"second":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"first":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}"#
        XCTAssertNotEqual(header.utf8.count % 8, 0)
        let bytes = rawFile(header, floatBytes([1, 2, 3, 4]))
        let file = try SafeTensorsFile(data: Data(bytes), path: "order.safetensors")
        XCTAssertEqual(file.names, ["second", "first"])
        XCTAssertEqual(try file.floats("first").array, [1, 2])
        XCTAssertEqual(try file.floats("second").array, [3, 4])
        XCTAssertEqual(try file.entry("second").byteRange, 8 ..< 16)
        // A Data slice that does not start at index 0 reads the same.
        let sliced = (Data([9, 9, 9]) + Data(bytes)).dropFirst(3)
        XCTAssertEqual(try SafeTensorsFile(data: sliced, path: "slice").floats("second").array, [3, 4])
    }

    // MARK: writing

    /// Recur writes byte for byte what the Python package wrote for the same content.
    func testWriterMatchesPythonBytes() throws {
        let path = try fixture("layout.safetensors")
        let python = try Data(contentsOf: URL(fileURLWithPath: path))

        // The content built from the same formulas as scripts/make_fixtures.py.
        var w = SafeTensorsWriter(metadata: ["step": "42"])
        try w.add("z.scalar", Tensor(shape: [], [0.25]), as: .f16)
        try w.add("b", int32s: [3, 1, 4, 1, 5])
        try w.add("decoder.weight", Tensor(shape: [2, 3], (0 ..< 6).map { Float($0) * Float(0.1) }))
        try w.add("empty", Tensor(zeros: [0, 3]))
        try w.add("embed", Tensor(shape: [5, 2], (0 ..< 10).map { Float($0) / Float(7) }), as: .f16)
        try w.add("a", int64s: [-1, 1 << 33])
        XCTAssertEqual(w.names, ["a", "decoder.weight", "empty", "b", "embed", "z.scalar"])
        let mine = w.serialized()
        XCTAssertEqual(mine.count, python.count)
        XCTAssertEqual(mine, python)

        // And through the file system.
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try w.write(to: dir + "/layout.safetensors")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/layout.safetensors")), python)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["layout.safetensors"])
    }

    func testHeaderLayoutByteForByte() throws {
        var w = SafeTensorsWriter(metadata: ["a\"\n\u{1}": "é"])
        try w.add("x", Tensor(shape: [1], [2]))
        let bytes = [UInt8](w.serialized())
        let json = #"{"__metadata__":{"a\"\n\u0001":"é"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        var header = Array(json.utf8)
        header += Array(repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        XCTAssertEqual(header.count % 8, 0)
        XCTAssertEqual(bytes, rawFile(String(decoding: header, as: UTF8.self), floatBytes([2])))
    }

    func testRoundTripAllDTypesAndShapes() throws {
        var rng = RNG(seed: 7)
        let cube = Tensor(zeros: [3, 5, 7])
        rng.fillNormal(cube)
        let specials: [Float] = [.infinity, -.infinity, .nan, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 65504, 1e-7]
        var w = SafeTensorsWriter(metadata: ["format": "recur", "empty": "", "ünï": "\u{1F600}"])
        try w.add("cube", cube)
        try w.add("cube.half", cube, as: .f16)
        try w.add("specials", Tensor(shape: [8], specials))
        try w.add("specials.half", Tensor(shape: [8], specials), as: .f16)
        try w.add("scalar", Tensor(shape: [], [3.5]))
        try w.add("zero", Tensor(zeros: [2, 0]), as: .f16)
        try w.add("one", int32s: [Int32.min], shape: [1, 1])
        try w.add("ids", int64s: [Int64.min, 0, Int64.max, 5, 6, 7], shape: [2, 3])
        try w.add("no.ids", int64s: [])

        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/round.safetensors"
        try w.write(to: path)
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.metadata, w.metadata)
        XCTAssertEqual(file.names, w.names)
        XCTAssertEqual(try file.floats("cube").array, cube.array)
        XCTAssertEqual(try file.floats("cube.half").array, cube.array.map { Float16Conversion.float(fromHalf: Float16Conversion.half(from: $0)) })
        let got = try file.floats("specials").array
        XCTAssertEqual(got.map(\.bitPattern), specials.map(\.bitPattern))
        let halves = try file.floats("specials.half").array
        XCTAssertEqual(halves[0], .infinity)
        XCTAssertEqual(halves[1], -.infinity)
        XCTAssertTrue(halves[2].isNaN)
        XCTAssertEqual(halves[3].bitPattern, (-0.0 as Float).bitPattern)
        XCTAssertEqual(halves[4], 0)  // far below the smallest half
        XCTAssertEqual(halves[5], .infinity)
        XCTAssertEqual(halves[6], 65504)
        XCTAssertEqual(halves[7], 0x1p-24 * 2)  // 1e-7 is nearest to 2 * 2^-24
        XCTAssertEqual(try file.floats("scalar").shape, [])
        XCTAssertEqual(try file.floats("scalar").array, [3.5])
        XCTAssertEqual(try file.floats("zero").shape, [2, 0])
        XCTAssertEqual(try file.int32s("one"), [Int32.min])
        XCTAssertEqual(try file.shape("one"), [1, 1])
        XCTAssertEqual(try file.int64s("ids"), [Int64.min, 0, Int64.max, 5, 6, 7])
        XCTAssertEqual(try file.shape("ids"), [2, 3])
        XCTAssertEqual(try file.int64s("no.ids"), [])

        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let n = bytes[0 ..< 8].reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(bytes[8], UInt8(ascii: "{"))
        XCTAssertEqual(bytes[8 + n - 1] == UInt8(ascii: "}") || bytes[8 + n - 1] == UInt8(ascii: " "), true)
    }

    func testWriterRejectsMisuse() throws {
        var w = SafeTensorsWriter()
        try w.add("a", Tensor(zeros: [2]))
        XCTAssertThrowsError(try w.add("a", int32s: [1])) { XCTAssertTrue("\($0)".contains("added twice")) }
        XCTAssertThrowsError(try w.add("__metadata__", Tensor(zeros: [2])))
        XCTAssertThrowsError(try w.add("b", int32s: [1, 2, 3], shape: [2, 2])) { XCTAssertTrue("\($0)".contains("not shape [2, 2]")) }
        XCTAssertThrowsError(try w.add("c", int64s: [], shape: [-1, 0]))
    }

    func testWriteErrorsNameTheFileAndLeaveNothing() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = SafeTensorsWriter()
        try w.add("a", Tensor(zeros: [2]))

        let missing = dir + "/no/such/dir/model.safetensors"
        XCTAssertThrowsError(try w.write(to: missing)) { self.assertError($0, missing, "does not exist", kind: .io) }

        // A regular file where a directory should be (unwritable even for root).
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/plain", contents: Data("x".utf8)))
        let underFile = dir + "/plain/model.safetensors"
        XCTAssertThrowsError(try w.write(to: underFile)) { self.assertError($0, underFile, "not a directory", kind: .io) }

        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: false)
        XCTAssertThrowsError(try w.write(to: dir + "/sub")) { self.assertError($0, dir + "/sub", "directory is in the way", kind: .io) }

        if geteuid() != 0 {
            let locked = dir + "/locked"
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
            chmod(locked, 0o555)
            defer { chmod(locked, 0o755) }
            XCTAssertThrowsError(try w.write(to: locked + "/m.safetensors")) { self.assertError($0, locked + "/m.safetensors", "cannot create", kind: .io) }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: locked), [])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["plain", "sub"])
    }

    func testAtomicFileReplacesOrLeavesAlone() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/out.txt"
        try AtomicFile.write("first", to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "first")

        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicFile.write(to: path) { out in
            try out.write(Data(repeating: 7, count: 3 << 20))  // past the buffer: really on disk
            throw Boom()
        }) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "first")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["out.txt"])

        // Many small writes and one large one, in order.
        let big = (0 ..< (1 << 21)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try AtomicFile.write(to: path) { out in
            for k in 0 ..< 1000 { try out.write([UInt8(k & 255)]) }
            try out.write(big)
            try out.write(Data("end".utf8))
        }
        let back = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(back.count, 1000 + big.count + 3)
        XCTAssertEqual(Array(back[0 ..< 1000]), (0 ..< 1000).map { UInt8($0 & 255) })
        XCTAssertEqual(Array(back[1000 ..< 1000 + big.count]), big)
        XCTAssertEqual(Array(back.suffix(3)), Array("end".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["out.txt"])
    }

    // MARK: float16

    func testHalfSpecialValues() {
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3C00), (-2, 0xC000), (65504, 0x7BFF), (-65504, 0xFBFF),
            (.infinity, 0x7C00), (-.infinity, 0xFC00), (0x1p-24, 0x0001), (0x1p-14, 0x0400),
            (0x1p-14 - 0x1p-24, 0x03FF), (65519, 0x7BFF), (65520, 0x7C00), (1e6, 0x7C00),
            (0x1p-25, 0x0000),  // a tie between 0 and the smallest subnormal: to even (0)
            (0x1.8p-24, 0x0002),  // a tie between subnormals 1 and 2: to even (2)
            (0x1.002p0, 0x3C00),  // a tie between 1 and its successor: to even (1)
            (0x1.006p0, 0x3C02),  // a tie between 0x3C01 and 0x3C02: to even
            (0x1.0021p0, 0x3C01),  // just past a tie: up
            (0x1p-26, 0x0000), (-0x1p-26, 0x8000), (.leastNonzeroMagnitude, 0x0000),
        ]
        for (x, bits) in cases {
            XCTAssertEqual(Float16Conversion.half(from: x), bits, "\(x)")
        }
        XCTAssertEqual(Float16Conversion.half(from: .nan) & 0x7C00, 0x7C00)
        XCTAssertNotEqual(Float16Conversion.half(from: .nan) & 0x03FF, 0)
        XCTAssertEqual(Float16Conversion.half(from: -Float.nan) & 0x8000, 0x8000)
        XCTAssertTrue(Float16Conversion.float(fromHalf: 0x7C01).isNaN)  // a signalling half NaN
        XCTAssertTrue(Float16Conversion.float(fromHalf: 0xFE00).isNaN)
        XCTAssertEqual(Float16Conversion.float(fromHalf: 0x0001), 0x1p-24)
        XCTAssertEqual(Float16Conversion.float(fromHalf: 0x8001), -0x1p-24)
        XCTAssertEqual(Float16Conversion.float(fromHalf: 0x3555), 0x1.554p-2)
    }

    /// Every half bit pattern survives half -> float -> half (NaN stays NaN,
    /// and quiet NaNs keep their payload).
    func testEveryHalfRoundTrips() {
        var nans = 0
        for bits in 0 ... UInt16.max {
            let f = Float16Conversion.float(fromHalf: bits)
            let back = Float16Conversion.half(from: f)
            if bits & 0x7C00 == 0x7C00 && bits & 0x03FF != 0 {
                nans += 1
                XCTAssertTrue(f.isNaN, "\(bits)")
                XCTAssertEqual(back | 0x0200, bits | 0x0200, "\(bits)")  // payload kept, made quiet
            } else if back != bits {
                XCTFail("half \(String(bits, radix: 16)) -> \(f) -> \(String(back, radix: 16))")
            }
        }
        XCTAssertEqual(nans, 2 * 1023)
    }

    #if !(os(macOS) && arch(x86_64))
    /// The bit-level conversion agrees with Swift's `Float16` everywhere.
    func testAgreesWithSwiftFloat16() {
        for bits in 0 ... UInt16.max {
            let mine = Float16Conversion.float(fromHalf: bits)
            let swift = Float(Float16(bitPattern: bits))
            if swift.isNaN { XCTAssertTrue(mine.isNaN) } else { XCTAssertEqual(mine.bitPattern, swift.bitPattern, "\(bits)") }
            // The midpoint to the next half up, and the floats either side of it.
            if bits & 0x7FFF < 0x7C00 {
                let next = Float(Float16(bitPattern: bits &+ 1))
                let mid = (swift + next) / 2
                for x in [mid, mid.nextDown, mid.nextUp] where x.isFinite {
                    XCTAssertEqual(Float16Conversion.half(from: x), Float16(x).bitPattern, "\(x)")
                }
            }
        }
        var rng = RNG(seed: 11)
        for _ in 0 ..< 200_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            let swift = Float16(x)
            if x.isNaN { XCTAssertTrue(Float16Conversion.float(fromHalf: Float16Conversion.half(from: x)).isNaN) } else {
                XCTAssertEqual(Float16Conversion.half(from: x), swift.bitPattern, "\(x)")
            }
        }
    }
    #endif

    // MARK: hostile files

    private func assertError(_ error: Error, _ path: String, _ fragment: String, kind: RecurError.Kind? = nil,
                             file: StaticString = #filePath, line: UInt = #line) {
        guard let e = error as? RecurError else {
            return XCTFail("not a RecurError: \(error)", file: file, line: line)
        }
        XCTAssertEqual(e.file, path, file: file, line: line)
        XCTAssertTrue(e.reason.contains(fragment), "'\(e.reason)' lacks '\(fragment)'", file: file, line: line)
        if let kind { XCTAssertEqual(e.kind, kind, file: file, line: line) }
        XCTAssertTrue(e.description.hasPrefix(path + ": "), file: file, line: line)
    }

    private func assertRejected(_ bytes: [UInt8], _ fragment: String, kind: RecurError.Kind = .format,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(data: Data(bytes), path: "bad.safetensors"), file: file, line: line) {
            self.assertError($0, "bad.safetensors", fragment, kind: kind, file: file, line: line)
        }
    }

    private func tensor(_ dtype: String = "\"F32\"", shape: String = "[2]", offsets: String = "[0,8]") -> String {
        #"{"dtype":\#(dtype),"shape":\#(shape),"data_offsets":\#(offsets)}"#
    }

    func testRejectsShortAndTruncatedFiles() throws {
        assertRejected([], "0 bytes, too short")
        assertRejected([1, 0, 0, 0, 0, 0, 0], "7 bytes, too short")
        assertRejected(rawFile("{}").dropLast(1).map { $0 }, "header length 2 runs past the end")
        assertRejected([0xE8, 3, 0, 0, 0, 0, 0, 0] + Array("{}".utf8), "header length 1000 runs past the end of the file (10 bytes")
        assertRejected([UInt8](repeating: 0xFF, count: 8) + Array("{}".utf8), "header length 18446744073709551615 runs past")
        // Every proper prefix of a real file is rejected.
        let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try fixture("layout.safetensors"))))
        for n in 0 ..< whole.count {
            XCTAssertThrowsError(try SafeTensorsFile(data: Data(whole[0 ..< n]), path: "cut"), "prefix \(n)")
        }
        // On disk, the error names the path.
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/cut.safetensors"
        try Data(whole.dropLast(2)).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafeTensorsFile(path: path)) { self.assertError($0, path, "run past the end of the data") }
        XCTAssertThrowsError(try SafeTensorsFile(path: dir + "/absent.safetensors")) {
            self.assertError($0, dir + "/absent.safetensors", "cannot read", kind: .io)
        }
        XCTAssertThrowsError(try SafeTensorsFile(path: dir)) { self.assertError($0, dir, "it is a directory", kind: .io) }
    }

    func testRejectsHeadersThatAreNotJSONObjects() {
        assertRejected(rawFile(""), "not valid JSON: unexpected end")
        assertRejected(rawFile("hello"), "not valid JSON")
        assertRejected(rawFile("[1,2]"), "not a JSON object")
        assertRejected(rawFile("\"x\""), "not a JSON object")
        assertRejected(rawFile("{} x"), "unexpected bytes after")
        assertRejected(rawFile("{\"a\":1,}"), "expected a key")
        assertRejected(rawFile("{\"a\" 1}"), "expected ':'")
        assertRejected(rawFile("{\"a\":[1 2]}"), "expected ',' or ']'")
        assertRejected(rawFile("{\"a\":01}"), "leading zero")
        assertRejected(rawFile("{\"a\":\"\\q\"}"), "bad escape")
        assertRejected(rawFile("{\"a\":\"\\ud800\"}"), "lone surrogate")
        assertRejected(rawFile("{\"a\":\"\\u12g4\"}"), "bad \\u escape")
        assertRejected(rawFile("{\"a\":\"tab\there\"}"), "control character")
        assertRejected(rawFile("{\"a\":\"unterminated}"), "unterminated string")
        assertRejected(rawFile("{\"a\":tru}"), "unexpected character")
        assertRejected(rawFile(String(repeating: "[", count: 100_000)), "nesting too deep")
        assertRejected(rawFile("{" + String(repeating: "\"k\":{", count: 70_000)), "nesting too deep")
        let badUTF8: [UInt8] = [UInt8(ascii: "{"), UInt8(ascii: "\""), 0xC3, 0x28, UInt8(ascii: "\""), UInt8(ascii: ":"), UInt8(ascii: "1"), UInt8(ascii: "}")]
        assertRejected(withUnsafeBytes(of: UInt64(badUTF8.count).littleEndian) { Array($0) } + badUTF8, "invalid UTF-8")
        assertRejected(rawFile(#"{"a":\#(tensor()),"a":\#(tensor())}"#, floatBytes([1, 2])), "duplicate key 'a'")
    }

    func testRejectsMissingAndWrongTypedFields() {
        let data = floatBytes([1, 2])
        assertRejected(rawFile(#"{"a":5}"#, data), "tensor 'a': entry is not a JSON object")
        assertRejected(rawFile(#"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, data), "tensor 'a': no dtype")
        assertRejected(rawFile(#"{"a":{"dtype":"F32","data_offsets":[0,8]}}"#, data), "tensor 'a': no shape")
        assertRejected(rawFile(#"{"a":{"dtype":"F32","shape":[2]}}"#, data), "tensor 'a': no data_offsets")
        assertRejected(rawFile(#"{"a":\#(tensor("5"))}"#, data), "dtype is not a string")
        assertRejected(rawFile(#"{"a":\#(tensor(shape: "\"2\""))}"#, data), "shape is not an array")
        assertRejected(rawFile(#"{"a":\#(tensor(shape: "[2.0]"))}"#, data), "shape holds 2.0, not an integer")
        assertRejected(rawFile(#"{"a":\#(tensor(shape: "[true]"))}"#, data), "shape holds true, not an integer")
        assertRejected(rawFile(#"{"a":\#(tensor(offsets: "[0]"))}"#, data), "data_offsets has 1 numbers, not 2")
        assertRejected(rawFile(#"{"a":\#(tensor(offsets: "[0,8,8]"))}"#, data), "data_offsets has 3 numbers")
        assertRejected(rawFile(#"{"a":\#(tensor(offsets: "[-8,8]"))}"#, data), "data_offsets holds a negative number")
        assertRejected(rawFile(#"{"a":\#(tensor(offsets: "[0,99999999999999999999]"))}"#, data), "not an integer in range")
        assertRejected(rawFile(#"{"__metadata__":[1],"a":\#(tensor())}"#, data), "__metadata__ is not a JSON object")
        assertRejected(rawFile(#"{"__metadata__":{"k":1},"a":\#(tensor())}"#, data), "__metadata__ value for 'k' is not a string")
        // What is allowed: extra fields, null metadata, an empty file of tensors.
        XCTAssertNoThrow(try SafeTensorsFile(data: Data(rawFile(#"{"__metadata__":null,"a":{"x":1,"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data)), path: "ok"))
        XCTAssertEqual(try SafeTensorsFile(data: Data(rawFile("{}")), path: "ok").names, [])
    }

    func testRejectsUnknownDTypes() {
        let data = floatBytes([1, 2])
        assertRejected(rawFile(#"{"a":\#(tensor("\"Q8\""))}"#, data), "tensor 'a': unknown dtype 'Q8'")
        assertRejected(rawFile(#"{"a":\#(tensor("\"f32\""))}"#, data), "unknown dtype 'f32'")
        assertRejected(rawFile(#"{"a":\#(tensor("\"BF16\"", offsets: "[0,4]"))}"#, floatBytes([1])), "dtype BF16 is not supported", kind: .unsupported)
    }

    func testRejectsBadOffsets() {
        let data = floatBytes([1, 2, 3, 4])
        // Overlapping.
        assertRejected(rawFile(#"{"a":\#(tensor(offsets: "[0,8]")),"b":\#(tensor(offsets: "[4,12]"))}"#, data), "tensors 'a' and 'b' overlap")
        assertRejected(rawFile(#"{"a":\#(tensor(offsets: "[0,8]")),"b":\#(tensor(offsets: "[0,8]")),"c":\#(tensor(offsets: "[8,16]"))}"#, data), "overlap")
        // Out of range.
        assertRejected(rawFile(#"{"a":\#(tensor(offsets: "[16,24]"))}"#, data), "data_offsets [16, 24] run past the end of the data (16 bytes")
        // Reversed.
        assertRejected(rawFile(#"{"a":\#(tensor(offsets: "[8,0]"))}"#, data), "data_offsets [8, 0] are reversed")
        // A gap, and bytes after the last tensor.
        assertRejected(rawFile(#"{"a":\#(tensor(offsets: "[8,16]"))}"#, data), "8 bytes of the data before tensor 'a' belong to no tensor")
        assertRejected(rawFile(#"{"a":\#(tensor(offsets: "[0,8]"))}"#, data), "8 bytes after the last tensor")
        // Empty tensors may sit anywhere, even at the same offset.
        XCTAssertNoThrow(try SafeTensorsFile(data: Data(rawFile(#"{"e":\#(tensor(shape: "[0,5]", offsets: "[8,8]")),"f":\#(tensor(shape: "[0]", offsets: "[8,8]")),"a":\#(tensor(shape: "[4]", offsets: "[0,16]"))}"#, data)), path: "ok"))
    }

    func testRejectsShapeSizeMismatchAndAbsurdSizes() {
        let data = floatBytes([1, 2])
        assertRejected(rawFile(#"{"a":\#(tensor(shape: "[3]"))}"#, data), "shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8")
        assertRejected(rawFile(#"{"a":\#(tensor("\"I64\"", shape: "[2]"))}"#, data), "needs 16 bytes")
        assertRejected(rawFile(#"{"a":\#(tensor("\"F16\"", shape: "[2]"))}"#, data), "needs 4 bytes")
        assertRejected(rawFile(#"{"a":\#(tensor(shape: "[]"))}"#, data), "needs 4 bytes")
        assertRejected(rawFile(#"{"a":\#(tensor(shape: "[-2]"))}"#, data), "shape holds a negative number -2")
        assertRejected(rawFile(#"{"a":\#(tensor(shape: "[4294967296,4294967296,4294967296]"))}"#, data), "absurdly large")
        assertRejected(rawFile(#"{"a":\#(tensor(shape: "[4294967296,4294967296,4294967296,0]"))}"#, data), "absurdly large")
        assertRejected(rawFile(#"{"a":\#(tensor(shape: "[2305843009213693952]"))}"#, data), "needs too many bytes")
        assertRejected(rawFile(#"{"a":\#(tensor(shape: "[1099511627776]", offsets: "[0,4398046511104]"))}"#, data), "run past the end")
        assertRejected(rawFile(#"{"a":\#(tensor(shape: "[1e3]"))}"#, data), "shape holds 1e3, not an integer")
    }

    /// Random corruption never crashes: every variant either throws a
    /// RecurError or reads consistently.
    func testCorruptedBytesNeverCrash() throws {
        let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try fixture("layout.safetensors"))))
        let headerEnd = 8 + Int(whole[0]) + Int(whole[1]) << 8
        var rng = RNG(seed: 3)
        var accepted = 0
        for _ in 0 ..< 1500 {
            var b = whole
            for _ in 0 ..< 1 + rng.int(below: 3) {
                let at = rng.int(below: rng.int(below: 4) == 0 ? 8 : headerEnd)
                b[at] = rng.int(below: 2) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : Array("0123456789[]{}\",:-".utf8)[rng.int(below: 18)]
            }
            do {
                let f = try SafeTensorsFile(data: Data(b), path: "fuzz")
                accepted += 1
                for name in f.names {
                    switch try f.dtype(name) {
                    case .f32, .f16: XCTAssertEqual(try f.floats(name).count, try f.entry(name).count)
                    case .i32: XCTAssertEqual(try f.int32s(name).count, try f.entry(name).count)
                    case .i64: XCTAssertEqual(try f.int64s(name).count, try f.entry(name).count)
                    }
                }
            } catch let e as RecurError {
                XCTAssertEqual(e.file, "fuzz")
            }
        }
        XCTAssertLessThan(accepted, 1500)
    }
}
