import Foundation
import RecurCore
import RecurFrontends
import RecurTestSupport
import XCTest

/// Reading through libsndfile: encodings, channels, and the clear errors.
final class AudioReadTests: XCTestCase {
    func testEveryEncodingReadsBack() throws {
        let dir = try AudioFixtures.tempDir(self)
        let x = AudioFixtures.sine(440, rate: 16000, n: 1600, amp: 0.5)
        // Quantisation step of each encoding (PCM_U8 is 8-bit: 1/128).
        let tolerance: [AudioFile.Encoding: Float] = [.pcm8: 1.0 / 128, .pcm16: 1.0 / 32768, .pcm24: 1.0 / 8_388_608,
                                                      .pcm32: 1e-7, .float32: 0, .float64: 1e-7, .flac16: 1.0 / 32768,
                                                      .aiff16: 1.0 / 32768, .oggVorbis: 0.05]  // Vorbis is lossy
        let containers: [AudioFile.Encoding: (String, String)] = [.flac16: ("flac", "FLAC (Free Lossless Audio Codec)"),
                                                                  .aiff16: ("aiff", "AIFF (Apple/SGI)"),
                                                                  .oggVorbis: ("ogg", "OGG (OGG Container format)")]
        for enc in AudioFile.Encoding.allCases {
            let (ext, container) = containers[enc] ?? ("wav", "WAV (Microsoft)")
            let p = dir.appendingPathComponent("x-\(enc.rawValue).\(ext)").path
            try AudioFile.write(x, sampleRate: 16000, encoding: enc, to: p)
            let info = try AudioFile.info(p)
            XCTAssertEqual(info.frames, 1600, "\(enc)")
            XCTAssertEqual(info.sampleRate, 16000)
            XCTAssertEqual(info.container, container)
            let (y, sr) = try AudioFile.read(p)
            XCTAssertEqual(sr, 16000)
            XCTAssertEqual(y.count, 1600)
            XCTAssertLessThanOrEqual(maxAbsDiff(y.array, x), tolerance[enc]!, "\(enc)")
        }
    }

    func testChannelsAreAveraged() throws {
        let dir = try AudioFixtures.tempDir(self)
        // Three channels: a, -a/2, 0.25 → mean a/6 + 1/12.
        let a = AudioFixtures.sine(300, rate: 8000, n: 400, amp: 0.6)
        var inter: [Float] = []
        for v in a { inter += [v, -v / 2, 0.25] }
        let p = dir.appendingPathComponent("three.wav").path
        try AudioFile.write(inter, channels: 3, sampleRate: 8000, encoding: .float32, to: p)
        let (y, _) = try AudioFile.read(p)
        XCTAssertLessThan(maxAbsDiff(y.array, a.map { $0 / 6 + 1.0 / 12 }), 1e-6)
    }

    func testFilesWrittenBySoundfile() throws {
        // Stereo (0.5·s, -0.25·s) written by Python's soundfile: mono is 0.125·s.
        for name in ["audio_stereo_pcm16.wav", "audio_stereo_pcm24.flac"] {
            let d = try AudioDecoder(path: AudioFixtures.path(name))
            XCTAssertEqual(d.info.channels, 2, name)
            let y = try d.readAll()
            let want = AudioFixtures.sine(500, rate: 16000, n: 800, amp: 0.125)
            XCTAssertEqual(y.count, 800)
            XCTAssertLessThan(maxAbsDiff(y.array, want), 1e-4, name)
        }
    }

    func testResamplingOnRead() throws {
        let dir = try AudioFixtures.tempDir(self)
        let p = dir.appendingPathComponent("8k.wav").path
        try AudioFile.write(AudioFixtures.sine(500, rate: 8000, n: 8000), sampleRate: 8000, encoding: .float32, to: p)
        let y = try AudioFile.read(p, sampleRate: 16000)
        XCTAssertEqual(y.count, 16000)
    }

    func assertError(_ path: String, contains words: [String], maxSeconds: Double = 24 * 3600,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try AudioFile.read(path, maxSeconds: maxSeconds), file: file, line: line) { e in
            let text = "\(e)"
            XCTAssertTrue(e is RecurError, text, file: file, line: line)
            XCTAssertTrue(text.hasPrefix(path + ": "), "error does not name the file: \(text)", file: file, line: line)
            for w in words { XCTAssertTrue(text.contains(w), "'\(w)' not in: \(text)", file: file, line: line) }
        }
    }

    func testClearErrors() throws {
        let dir = try AudioFixtures.tempDir(self)
        func path(_ n: String) -> String { dir.appendingPathComponent(n).path }
        // Not audio at all.
        try Data("this is a text file, not a sound\n".utf8).write(to: URL(fileURLWithPath: path("text.wav")))
        assertError(path("text.wav"), contains: ["not audio", "format not recognised"])
        // A PNG signature.
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 64)).write(to: URL(fileURLWithPath: path("pic.wav")))
        assertError(path("pic.wav"), contains: ["not audio"])
        // Truncated WAV: the data chunk is cut in half.
        try AudioFile.write(AudioFixtures.sine(440, rate: 16000, n: 4000), sampleRate: 16000, to: path("full.wav"))
        let full = try Data(contentsOf: URL(fileURLWithPath: path("full.wav")))
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: path("cut.wav")))
        assertError(path("cut.wav"), contains: ["truncated"])
        // Only the header's first bytes.
        try full.prefix(30).write(to: URL(fileURLWithPath: path("stub.wav")))
        assertError(path("stub.wav"), contains: ["truncated"])
        // Truncated FLAC.
        try AudioFile.write(AudioFixtures.sine(440, rate: 16000, n: 16000), sampleRate: 16000, encoding: .flac16, to: path("full.flac"))
        let flac = try Data(contentsOf: URL(fileURLWithPath: path("full.flac")))
        try flac.prefix(flac.count / 2).write(to: URL(fileURLWithPath: path("cut.flac")))
        assertError(path("cut.flac"), contains: ["truncated"])
        // Zero samples.
        try AudioFile.write([], sampleRate: 16000, to: path("empty.wav"))
        assertError(path("empty.wav"), contains: ["zero samples"])
        // Too large for the limit (checked from the header, before decoding).
        assertError(path("full.wav"), contains: ["too large"], maxSeconds: 0.1)
        // Missing file and folder.
        assertError(path("missing.wav"), contains: ["no such file"])
        assertError(dir.path, contains: ["directory"])
        // Unsupported encoding: a WAV whose format tag is 0x0055 (MPEG layer 3) with no codec data.
        var w = Data("RIFF".utf8); w += le32(36 + 8); w += Data("WAVEfmt ".utf8); w += le32(16)
        w += le16(0x55); w += le16(1); w += le32(8000); w += le32(1000); w += le16(1); w += le16(0)
        w += Data("data".utf8); w += le32(8); w += Data(repeating: 1, count: 8)
        try w.write(to: URL(fileURLWithPath: path("mp3.wav")))
        assertError(path("mp3.wav"), contains: ["malformed audio file or unsupported encoding"])
        // An empty file.
        try Data().write(to: URL(fileURLWithPath: path("zero.wav")))
        assertError(path("zero.wav"), contains: ["empty file"])
    }

    private func le32(_ v: UInt32) -> Data { withUnsafeBytes(of: v.littleEndian) { Data($0) } }
    private func le16(_ v: UInt16) -> Data { withUnsafeBytes(of: v.littleEndian) { Data($0) } }
}
