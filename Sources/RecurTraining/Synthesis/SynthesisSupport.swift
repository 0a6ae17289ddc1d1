// Helpers shared by the corpus generators: seeds per item, output folders,
// value ranges given on the command line, TSV-safe text, and running items
// on a few threads with the first error kept.
import Foundation
import RecurCore

/// Seeds for the generators.
public enum SynthesisSeed {
    /// A seed for item `index` of stream `stream` under the corpus seed, so
    /// that each item depends only on (seed, stream, index): items can be
    /// made in any order, on any number of threads, with the same bytes.
    public static func item(_ seed: UInt64, stream: UInt64, index: Int) -> UInt64 {
        var z = seed ^ (stream &* 0xD1B5_4A32_D192_ED03) ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A closed range of numbers given as `a-b` (or one number `a`), e.g.
/// `--rate-range 140-190`, `--gain-db -12--3`, `--silence-ms 100-300`.
public struct ValueRange: Sendable, Equatable, CustomStringConvertible {
    public var lower: Double
    public var upper: Double

    public init(_ lower: Double, _ upper: Double) {
        self.lower = lower
        self.upper = upper
    }

    /// Parses `a-b`, `a..b`, `a:b` or `a` (numbers may be negative: `-12--3`).
    public init(parsing text: String, name: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        func number(_ s: Substring) -> Double? { Double(s) }
        var parsed: (Double, Double)?
        if let v = Double(t) {
            parsed = (v, v)
        } else {
            for sep in ["..", ":"] where t.contains(sep) {
                let parts = t.components(separatedBy: sep)
                if parts.count == 2, let a = Double(parts[0]), let b = Double(parts[1]) { parsed = (a, b) }
            }
            if parsed == nil {
                // a-b: the separating hyphen is one not at the start and not after another hyphen or an 'e'.
                let chars = Array(t)
                for i in 1..<max(1, chars.count) where chars[i] == "-" && chars[i - 1] != "-" && chars[i - 1] != "e" && chars[i - 1] != "E" {
                    if let a = Double(String(chars[..<i])), let b = Double(String(chars[(i + 1)...])) { parsed = (a, b); break }
                }
            }
        }
        guard let (a, b) = parsed, a.isFinite, b.isFinite else {
            throw RecurError(.usage, "\(name): cannot read the range \"\(text)\" (write a-b, e.g. 100-300, or one number)")
        }
        guard a <= b else { throw RecurError(.usage, "\(name): the range \(text) runs backwards (\(a) > \(b))") }
        self.init(a, b)
    }

    /// Uniform draw in [lower, upper] (the lower bound when they are equal).
    public func draw(_ rng: inout RNG) -> Double {
        lower == upper ? lower : lower + (upper - lower) * rng.uniformDouble()
    }

    /// Uniform integer draw in [⌈lower⌉, ⌊upper⌋].
    public func drawInt(_ rng: inout RNG) -> Int {
        let lo = Int(lower.rounded(.up)), hi = max(lo, Int(upper.rounded(.down)))
        return lo + rng.int(below: hi - lo + 1)
    }

    public var description: String {
        func f(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v) }
        return lower == upper ? f(lower) : "\(f(lower))-\(f(upper))"
    }
}

/// Output folders.
public enum SynthesisOutput {
    /// Creates `path` (and its parents) if needed and checks that it is a writable folder.
    public static func prepareDirectory(_ path: String) throws {
        guard !path.isEmpty else { throw RecurError(.usage, "the output folder name is empty") }
        // mkdir -p, one component at a time, so the error names the part that failed.
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: prefix, isDirectory: &isDir) {
                guard isDir.boolValue else {
                    throw RecurError(.io, prefix == path ? "not a folder" : "cannot create the folder: \(prefix) is not a folder", file: path)
                }
                continue
            }
            if mkdir(prefix, 0o777) != 0 && errno != EEXIST {
                throw RecurError(.io, "cannot create the folder\(prefix == path ? "" : " " + prefix): \(String(cString: strerror(errno)))", file: path)
            }
        }
        guard access(path, W_OK | X_OK) == 0 else {
            throw RecurError(.io, "cannot write in the folder: \(String(cString: strerror(errno)))", file: path)
        }
    }

    /// The short reason of a Foundation error (its underlying POSIX error when there is one).
    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(u.code)))
        }
        return ns.localizedDescription
    }

    /// `text` fit for one TSV field: tabs and line breaks become spaces, runs of spaces one.
    public static func tsvField(_ text: String) -> String {
        let mapped = text.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 }
        return String(mapped).split(separator: " ").joined(separator: " ")
    }

    /// The command line that made a corpus, each argument quoted when the shell needs it.
    public static func commandLine(_ arguments: [String]) -> String {
        arguments.map { a in
            let safe = !a.isEmpty && a.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./,:+=@%".contains($0)) }
            return safe ? a : "'" + a.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}

/// Runs `body(i)` for i in 0..<n on `jobs` threads (items interleaved); the
/// first error thrown (lowest index) is rethrown after all threads stop.
func synthesisParallel(_ n: Int, jobs: Int, _ body: @Sendable (Int) throws -> Void) throws {
    if jobs <= 1 || n <= 1 {
        for i in 0..<n { try body(i) }
        return
    }
    let lock = NSLock()
    nonisolated(unsafe) var firstError: (Int, Error)?
    let threads = min(jobs, n)
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        var i = t
        while i < n {
            lock.lock()
            let stop = firstError.map { $0.0 < i } ?? false
            lock.unlock()
            if stop { return }
            do {
                try body(i)
            } catch {
                lock.lock()
                if firstError == nil || firstError!.0 > i { firstError = (i, error) }
                lock.unlock()
                return
            }
            i += threads
        }
    }
    if let (_, e) = firstError { throw e }
}
