import CSndFile
import Foundation
import RecurCore

/// What a sound file holds, as libsndfile reports it.
public struct AudioInfo: Sendable, Equatable {
    /// Frames (one sample per channel) in the file.
    public var frames: Int
    public var sampleRate: Int
    public var channels: Int
    /// libsndfile's major format and encoding, e.g. "WAV", "FLAC", "PCM_16".
    public var container: String
    public var encoding: String
    public var seconds: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }
}

/// Reads any file libsndfile reads (WAV of 8/16/24/32-bit integer and 32/64-bit
/// float, any channel count, FLAC, OGG/Vorbis, Opus, AIFF, …) block by block as
/// mono float (the average of the channels, integers scaled to [-1, 1)).
///
/// Errors are `RecurError`s naming the file: not audio (format not
/// recognised), unsupported encoding, malformed or truncated, zero samples,
/// too large (over `maxSeconds`).
public final class AudioDecoder {
    public let path: String
    public let info: AudioInfo
    private var file: OpaquePointer?
    private var interleaved: UnsafeMutablePointer<Float>
    private let blockFrames = 16384
    /// Mono frames returned so far.
    public private(set) var position = 0
    /// Whether libsndfile's header log says the data chunk is shorter than declared.
    public let headerSaysTruncated: Bool

    /// Opens `path`; refuses files longer than `maxSeconds` before decoding them.
    public init(path: String, maxSeconds: Double = 24 * 3600) throws {
        self.path = path
        var sfinfo = SF_INFO()
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            throw RecurError(.io, "no such file", file: path)
        }
        if isDir.boolValue { throw RecurError(.io, "is a directory, not an audio file", file: path) }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == 0 {
            throw RecurError(.format, "not audio: empty file (0 bytes)", file: path)
        }
        guard let f = sf_open(path, Int32(SFM_READ), &sfinfo) else {
            let code = sf_error(nil)
            let message = String(cString: sf_strerror(nil))
            throw AudioDecoder.openError(code: code, message: message, path: path)
        }
        file = f
        var log = [CChar](repeating: 0, count: 8192)
        _ = sf_command(f, Int32(SFC_GET_LOG_INFO), &log, Int32(log.count))
        let logText = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        headerSaysTruncated = AudioDecoder.logSaysTruncated(logText)
        let major = Int(sfinfo.format) & Int(SF_FORMAT_TYPEMASK)
        let sub = Int(sfinfo.format) & Int(SF_FORMAT_SUBMASK)
        info = AudioInfo(frames: Int(sfinfo.frames), sampleRate: Int(sfinfo.samplerate), channels: Int(sfinfo.channels),
                         container: AudioDecoder.formatName(major), encoding: AudioDecoder.formatName(sub))
        interleaved = .allocate(capacity: blockFrames * max(1, info.channels))
        if info.channels < 1 || info.sampleRate < 1 {
            sf_close(f); file = nil
            throw RecurError(.format, "malformed header: \(info.channels) channels at \(info.sampleRate) Hz", file: path)
        }
        if headerSaysTruncated {
            sf_close(f); file = nil
            throw RecurError(.format, "truncated: the \(info.container) data chunk is longer than the file (\(info.frames) whole frames are left)", file: path)
        }
        if info.frames <= 0 {
            sf_close(f); file = nil
            throw RecurError(.value, "zero samples (empty \(info.container) file)", file: path)
        }
        if info.seconds > maxSeconds {
            sf_close(f); file = nil
            throw RecurError(.value, String(format: "too large: %.1f s of audio, the limit is %.0f s", info.seconds, maxSeconds), file: path)
        }
    }

    deinit {
        if let file { sf_close(file) }
        interleaved.deallocate()
    }

    /// Reads up to `maxFrames` mono frames into `out`; returns how many (0 at
    /// the end). Throws when the file turns out truncated or corrupt.
    public func read(into out: UnsafeMutablePointer<Float>, maxFrames: Int) throws -> Int {
        guard let file else { return 0 }
        var done = 0
        let ch = info.channels
        while done < maxFrames {
            let want = min(blockFrames, maxFrames - done)
            let got = Int(sf_readf_float(file, interleaved, sf_count_t(want)))
            let err = sf_error(file)
            if err != 0 {
                throw RecurError(.format, "truncated or corrupt audio data after \(position + done) of \(info.frames) frames (\(String(cString: sf_strerror(file))))", file: path)
            }
            if got <= 0 { break }
            let dst = out + done
            if ch == 1 {
                dst.update(from: interleaved, count: got)
            } else {
                let scale = 1 / Float(ch)
                for i in 0..<got {
                    var s: Float = 0
                    let row = interleaved + i * ch
                    for c in 0..<ch { s += row[c] }
                    dst[i] = s * scale
                }
            }
            done += got
            if got < want { break }
        }
        position += done
        if done < maxFrames {
            // End of the data: the file must have held every frame its header declares.
            if position < info.frames {
                throw RecurError(.format, "truncated: the header declares \(info.frames) frames, the file holds \(position)", file: path)
            }
        }
        return done
    }

    /// The whole file as mono samples: shape (frames).
    public func readAll() throws -> Tensor {
        let t = Tensor(zeros: [info.frames])
        var n = 0
        while n < info.frames {
            let got = try read(into: t.data + n, maxFrames: info.frames - n)
            if got == 0 { break }
            n += got
        }
        return n == info.frames ? t : t.slice(0..<n).copy()
    }

    static func openError(code: Int32, message: String, path: String) -> RecurError {
        switch Int(code) {
        case Int(SF_ERR_UNRECOGNISED_FORMAT):
            return RecurError(.format, "not audio: format not recognised (\(message))", file: path)
        case Int(SF_ERR_UNSUPPORTED_ENCODING):
            return RecurError(.unsupported, "unsupported encoding (\(message))", file: path)
        case Int(SF_ERR_MALFORMED_FILE):
            return RecurError(.format, "malformed or truncated audio file (\(message))", file: path)
        case Int(SF_ERR_SYSTEM):
            return RecurError(.io, "cannot open (\(message))", file: path)
        default:
            let lower = message.lowercased()
            if lower.contains("unsupported") || lower.contains("not supported") {
                return RecurError(.unsupported, "unsupported encoding (\(message))", file: path)
            }
            if lower.contains("no 'data' chunk") || lower.contains("short") || lower.contains("truncat") {
                return RecurError(.format, "truncated audio file (\(message))", file: path)
            }
            if lower.contains("malformed") {
                return RecurError(.format, "malformed audio file or unsupported encoding (\(message))", file: path)
            }
            return RecurError(.format, "not readable audio (\(message))", file: path)
        }
    }

    /// libsndfile logs `data : 32000 (should be 15978)` when a chunk runs past the file's end.
    static func logSaysTruncated(_ log: String) -> Bool {
        for line in log.split(separator: "\n") {
            let l = line.trimmingCharacters(in: .whitespaces)
            guard l.hasPrefix("data") || l.hasPrefix("SSND"), let r = l.range(of: "(should be ") else { continue }
            let declared = l[l.index(after: l.firstIndex(of: ":") ?? l.startIndex)...].split(separator: " ").first.flatMap { Int($0) }
            let actual = Int(l[r.upperBound...].prefix { $0.isNumber })
            if let declared, let actual, actual < declared { return true }
        }
        return false
    }

    /// libsndfile's name of a major format or an encoding code.
    static func formatName(_ code: Int) -> String {
        var fi = SF_FORMAT_INFO()
        fi.format = Int32(code)
        if sf_command(nil, Int32(SFC_GET_FORMAT_INFO), &fi, Int32(MemoryLayout<SF_FORMAT_INFO>.size)) == 0, let name = fi.name {
            return String(cString: name)
        }
        return String(format: "0x%x", code)
    }
}

/// Whole-file helpers.
public enum AudioFile {
    /// The header of `path`.
    public static func info(_ path: String) throws -> AudioInfo {
        try AudioDecoder(path: path).info
    }

    /// Reads `path` as mono float at its own rate: (samples (n), sample rate).
    public static func read(_ path: String, maxSeconds: Double = 24 * 3600) throws -> (samples: Tensor, sampleRate: Int) {
        let d = try AudioDecoder(path: path, maxSeconds: maxSeconds)
        return (try d.readAll(), d.info.sampleRate)
    }

    /// Reads `path` as mono float resampled (libsoxr, high quality) to `sampleRate`.
    public static func read(_ path: String, sampleRate: Int, maxSeconds: Double = 24 * 3600) throws -> Tensor {
        let (x, sr) = try read(path, maxSeconds: maxSeconds)
        if sr == sampleRate { return x }
        do {
            return try Resampler.resample(x, from: Double(sr), to: Double(sampleRate))
        } catch let e as RecurError {
            throw e.naming(path)
        }
    }

    /// Encodings `write` offers.
    public enum Encoding: String, Sendable, CaseIterable {
        case pcm8 = "PCM_U8", pcm16 = "PCM_16", pcm24 = "PCM_24", pcm32 = "PCM_32", float32 = "FLOAT", float64 = "DOUBLE"
        case flac16 = "FLAC_16", aiff16 = "AIFF_16", oggVorbis = "OGG_VORBIS"
        var format: Int32 {
            switch self {
            case .pcm8: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_U8)
            case .pcm16: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
            case .pcm24: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_24)
            case .pcm32: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_32)
            case .float32: return Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT)
            case .float64: return Int32(SF_FORMAT_WAV | SF_FORMAT_DOUBLE)
            case .flac16: return Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)
            case .aiff16: return Int32(SF_FORMAT_AIFF | SF_FORMAT_PCM_16)
            case .oggVorbis: return Int32(SF_FORMAT_OGG | SF_FORMAT_VORBIS)
            }
        }
    }

    /// Writes interleaved `samples` (frames × channels) to `path` through libsndfile
    /// (WAV, FLAC, AIFF or OGG/Vorbis), atomically (temporary name, then rename).
    public static func write(_ samples: [Float], channels: Int = 1, sampleRate: Int, encoding: Encoding = .pcm16,
                             to path: String) throws {
        precondition(channels >= 1 && samples.count % channels == 0, "samples must be whole frames")
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = encoding.format
        guard let f = sf_open(tmp, Int32(SFM_WRITE), &info) else {
            throw RecurError(.io, "cannot write audio (\(String(cString: sf_strerror(nil))))", file: path)
        }
        let frames = samples.count / channels
        let written = samples.withUnsafeBufferPointer { sf_writef_float(f, $0.baseAddress, sf_count_t(frames)) }
        sf_close(f)
        guard written == frames else {
            unlink(tmp)
            throw RecurError(.io, "short write: \(written) of \(frames) frames", file: path)
        }
        if rename(tmp, path) != 0 {
            unlink(tmp)
            throw RecurError(.io, "cannot rename temporary file into place", file: path)
        }
    }
}
