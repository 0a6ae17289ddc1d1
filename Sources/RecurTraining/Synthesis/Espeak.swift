// espeak-ng as a child process: find it, check voices and variants, speak a line into a WAV.
//
//   espeak-ng -v VOICE[+VARIANT] -s RATE -p PITCH -b 1 -w OUT.wav " TEXT"
//
// The text goes as one argument with a leading space, so a line starting with
// "-" is never read as an option. espeak-ng writes 16-bit mono WAV at 22 050 Hz.
// It silently falls back to its default when a variant does not exist, and
// MBROLA voices fall back too when MBROLA is not installed, so both are
// checked before use (`checkVoice`, `checkVariant`).
import Foundation
import RecurCore

/// A voice and an optional variant, e.g. `en-us+m3`.
public struct EspeakVoice: Sendable, Hashable, CustomStringConvertible {
    public var voice: String
    /// A file name under espeak-ng-data/voices/!v (nil: the voice's own sound).
    public var variant: String?

    public init(_ voice: String, variant: String? = nil) {
        self.voice = voice
        self.variant = variant
    }

    /// The `-v` argument.
    public var argument: String { variant.map { "\(voice)+\($0)" } ?? voice }
    public var description: String { argument }
}

/// Runs espeak-ng.
public struct EspeakSynthesizer: Sendable {
    /// The executable's path.
    public let executable: String
    /// espeak-ng's data folder (voices/!v holds the variants), when it says.
    public let dataDirectory: String?

    /// English voices that ship with espeak-ng and need nothing else (no MBROLA).
    public static let defaultVoices = ["en-gb", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
                                       "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
    /// Variants (voices/!v) that stay intelligible; "none" is the voice's own sound.
    public static let defaultVariants = ["none", "m1", "m2", "m3", "m4", "m5", "m6", "m7",
                                         "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3"]

    /// Finds `executable` (a path, or a name looked up on PATH) and asks it where its data is.
    public init(executable name: String = "espeak-ng") throws {
        guard let path = EspeakSynthesizer.locate(name) else {
            throw RecurError(.unsupported, "\(name) not found on PATH: install it (make deps, or apt-get install espeak-ng)")
        }
        executable = path
        let out = try? EspeakSynthesizer.run(path, ["--version"])
        if let text = out?.stdout, let r = text.range(of: "Data at:") {
            let rest = text[r.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
            dataDirectory = rest.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) }
        } else {
            dataDirectory = nil
        }
    }

    /// The path of `name` (itself when it holds a `/`), or nil when it is not an executable.
    public static func locate(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// The variants installed (file names under voices/!v), sorted.
    public func installedVariants() -> [String] {
        guard let d = dataDirectory,
              let names = try? FileManager.default.contentsOfDirectory(atPath: d + "/voices/!v") else { return [] }
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Throws unless `voice` speaks on its own (unknown voices and MBROLA voices
    /// without MBROLA are refused).
    public func checkVoice(_ voice: String) throws {
        guard !voice.isEmpty, !voice.contains("+"), !voice.hasPrefix("-") else {
            throw RecurError(.usage, "bad voice name \"\(voice)\" (give a variant with --variants)")
        }
        let r = try EspeakSynthesizer.run(executable, ["-q", "-v", voice, " a"])
        let err = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if r.status != 0 || !err.isEmpty {
            let first = err.split(separator: "\n").last.map(String.init) ?? "exit status \(r.status)"
            throw RecurError(.usage, "espeak-ng voice \"\(voice)\" cannot be used: \(first) (espeak-ng --voices=en lists them)")
        }
    }

    /// Throws unless `variant` is a file under voices/!v.
    public func checkVariant(_ variant: String) throws {
        guard let d = dataDirectory else { return }
        guard !variant.contains("/"), FileManager.default.fileExists(atPath: d + "/voices/!v/" + variant) else {
            throw RecurError(.usage, "espeak-ng has no variant \"\(variant)\" (see \(d)/voices/!v)")
        }
    }

    /// Speaks `text` into the WAV file `path`. Returns nil on success, or
    /// espeak-ng's complaint when it failed (non-zero exit, or no file).
    public func speak(_ text: String, voice: EspeakVoice, rate: Int, pitch: Int, to path: String) throws -> String? {
        let r = try EspeakSynthesizer.run(executable, ["-v", voice.argument, "-s", String(rate), "-p", String(pitch),
                                                       "-b", "1", "-w", path, " " + text])
        if r.status != 0 {
            let err = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            return err.isEmpty ? "espeak-ng exited with status \(r.status)" : err.split(separator: "\n").last.map(String.init)!
        }
        if !FileManager.default.fileExists(atPath: path) { return "espeak-ng wrote no file" }
        return nil
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `executable arguments` with stdin closed, collecting its output.
    static func run(_ executable: String, _ arguments: [String]) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do {
            try p.run()
        } catch {
            throw RecurError(.io, "cannot run: \(SynthesisOutput.reason(error))", file: executable)
        }
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}
