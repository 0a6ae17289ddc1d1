import Foundation
import RecurCore
#if canImport(Glibc)
import Glibc
#endif

/// One input of a batch, after expansion.
public enum InputItem: Sendable, Equatable {
    /// A file to read (a path as given or found; not necessarily regular:
    /// `/dev/fd/63` from `<(...)` is fine).
    case file(String)
    /// Standard input (`-`).
    case stdin
    /// An argument that gave no input, with the error to report at its place.
    case failed(name: String, error: RecurError)

    /// The name to show: the path, `<stdin>`, or the argument.
    public var name: String {
        switch self {
        case .file(let p): p
        case .stdin: "<stdin>"
        case .failed(let n, _): n
        }
    }

    /// The path to open (`-` for stdin), or the stored error thrown: call it
    /// first thing in a batch's work so the failure is reported in order.
    public func path() throws -> String {
        switch self {
        case .file(let p): return p
        case .stdin: return "-"
        case .failed(_, let e): throw e
        }
    }
}

/// Turns command-line input arguments into the list of inputs, in order.
///
/// Each argument is, in this order of checks:
/// - `-`: standard input (once; a second `-` is an error item);
/// - `@LIST`: the file LIST holds one input per line; blank lines and lines
///   starting with `#` (after spaces) are skipped; relative entries are
///   relative to LIST's folder; entries may be files, directories or globs
///   (not `-` or further `@` lists); a missing entry is an error naming LIST
///   and its line. (To name a file that starts with `@`, write `./@name`.)
/// - an existing directory: every file below it, recursively, whose extension
///   is in `extensions` (case-insensitive; all files when empty), in byte
///   order of path, skipping names that start with `.`, following symbolic
///   links but never into a directory already visited; a directory with no
///   such file is an error item;
/// - an existing path: that file, whatever its extension (you named it);
/// - a pattern with `*`, `?` or `[` that the shell did not expand (quoted, or
///   no match in the shell): expanded with glob(3), matches in byte order,
///   each match then treated as above (directories recursed); no match is an
///   error item;
/// - anything else: an error item "no such file or directory".
///
/// Error items stay at their argument's place, so a batch reports them in
/// input order with the other results.
public struct InputExpander: Sendable {
    /// Extensions to take from directories, lowercase, without the dot.
    public var extensions: Set<String>

    public init(extensions: [String] = []) {
        self.extensions = Set(extensions.map { $0.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ".")) })
    }

    public func expand(_ arguments: [String]) -> [InputItem] {
        var out: [InputItem] = []
        var sawStdin = false
        for arg in arguments {
            if arg == "-" {
                if sawStdin {
                    out.append(.failed(name: "<stdin>", error: RecurError(.usage, "- (stdin) is given more than once", file: "<stdin>")))
                } else {
                    sawStdin = true
                    out.append(.stdin)
                }
            } else if arg.hasPrefix("@"), arg.count > 1 {
                out += expandList(String(arg.dropFirst()))
            } else {
                out += expandPath(arg, listedIn: nil)
            }
        }
        return out
    }

    // MARK: - One path

    private func expandPath(_ path: String, listedIn: (list: String, line: Int)?) -> [InputItem] {
        let suffix = listedIn.map { " (listed in \($0.list) line \($0.line))" } ?? ""
        switch kind(path) {
        case .directory:
            return expandDirectory(path, suffix: suffix)
        case .other:
            if access(path, R_OK) != 0 {
                return [.failed(name: path, error: RecurError(.io, "cannot read: \(errnoText())\(suffix)", file: path))]
            }
            return [.file(path)]
        case .missing(let reason):
            if InputExpander.hasGlobCharacters(path) { return expandGlob(path, suffix: suffix) }
            return [.failed(name: path, error: RecurError(.io, "\(reason)\(suffix)", file: path))]
        }
    }

    private enum Kind { case directory, other, missing(String) }

    private func kind(_ path: String) -> Kind {
        var st = stat()
        if stat(path, &st) != 0 {
            return .missing(errno == ENOENT ? "no such file or directory" : errnoText())
        }
        return (st.st_mode & S_IFMT) == S_IFDIR ? .directory : .other
    }

    static func hasGlobCharacters(_ s: String) -> Bool {
        s.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    private func expandGlob(_ pattern: String, suffix: String) -> [InputItem] {
        var g = glob_t()
        defer { globfree(&g) }
        let rc = glob(pattern, 0, nil, &g)
        if rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0) {
            return [.failed(name: pattern, error: RecurError(.io, "no file matches this pattern\(suffix)", file: pattern))]
        }
        guard rc == 0 else {
            return [.failed(name: pattern, error: RecurError(.io, "cannot expand this pattern (glob error \(rc))\(suffix)", file: pattern))]
        }
        var matches: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { matches.append(String(cString: p)) }
        }
        matches.sort(by: InputExpander.byteOrder)
        return matches.flatMap { m -> [InputItem] in
            if case .directory = kind(m) { return expandDirectory(m, suffix: suffix) }
            return [.file(m)]
        }
    }

    // MARK: - Directories

    private func expandDirectory(_ dir: String, suffix: String) -> [InputItem] {
        var files: [String] = []
        var visited = Set<FileID>()
        var errors: [InputItem] = []
        walk(dir, into: &files, visited: &visited, errors: &errors)
        files.sort(by: InputExpander.byteOrder)
        if files.isEmpty && errors.isEmpty {
            let what = extensions.isEmpty ? "no files" : "no files with extension " + extensions.sorted().map { "." + $0 }.joined(separator: ", ")
            return [.failed(name: dir, error: RecurError(.io, "\(what) in this directory\(suffix)", file: dir))]
        }
        return files.map { .file($0) } + errors
    }

    private struct FileID: Hashable { let dev: UInt64; let ino: UInt64 }

    private func walk(_ dir: String, into files: inout [String], visited: inout Set<FileID>, errors: inout [InputItem]) {
        var st = stat()
        guard stat(dir, &st) == 0 else { return }
        guard visited.insert(FileID(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))).inserted else { return }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            errors.append(.failed(name: dir, error: RecurError(.io, "cannot list this directory", file: dir)))
            return
        }
        let base = dir.hasSuffix("/") ? dir : dir + "/"
        for name in names where !name.hasPrefix(".") {
            let path = base + name
            var es = stat()
            guard stat(path, &es) == 0 else { continue }  // dangling link
            switch es.st_mode & S_IFMT {
            case S_IFDIR:
                walk(path, into: &files, visited: &visited, errors: &errors)
            case S_IFREG:
                if extensions.isEmpty || extensions.contains((name as NSString).pathExtension.lowercased()) {
                    files.append(path)
                }
            default:
                continue
            }
        }
    }

    // MARK: - @lists

    private func expandList(_ list: String) -> [InputItem] {
        let name = "@" + list
        let reader: LineReader
        do { reader = try LineReader(path: list) } catch let e as RecurError {
            return [.failed(name: name, error: RecurError(e.kind, e.reason, file: list))]
        } catch {
            return [.failed(name: name, error: RecurError(.io, "\(error)", file: list))]
        }
        let folder = (list as NSString).deletingLastPathComponent
        var out: [InputItem] = []
        do {
            while let raw = try reader.next() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                let entry = line.hasPrefix("/") || folder.isEmpty ? line : folder + "/" + line
                out += expandPath(entry, listedIn: (list, reader.lineNumber))
            }
        } catch let e as RecurError {
            out.append(.failed(name: name, error: e))
        } catch {
            out.append(.failed(name: name, error: RecurError(.io, "\(error)", file: list)))
        }
        return out
    }

    static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

private func errnoText() -> String { String(cString: strerror(errno)) }
