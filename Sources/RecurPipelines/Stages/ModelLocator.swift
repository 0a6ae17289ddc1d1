import Foundation
import RecurCore

/// Where shipped models are found: `<name>.safetensors` in `$RECUR_MODELS`,
/// then `<dir of the executable>/../../models` (a build folder inside the
/// checkout), `<dir of the executable>/../share/recur/models` (an install),
/// then `./models`.
public enum ModelLocator {
    /// The shipped model of each task (translate picks by direction).
    public static func defaultName(task: String, to language: String? = nil) -> String {
        switch task {
        case "translate": return language == "en" ? "translate-fr-en" : "translate-en-fr"
        case "transcribe": return "speech-en"
        case "caption": return "caption-shapes"
        case "generate": return "lm-en"
        default: return task
        }
    }

    /// The folders searched, in order, each with what it came from.
    public static func searchFolders(environment: [String: String] = ProcessInfo.processInfo.environment,
                                     executable: String = CommandLine.arguments.first ?? "recur") -> [(folder: String, why: String)] {
        var out: [(String, String)] = []
        if let env = environment["RECUR_MODELS"], !env.isEmpty { out.append((env, "$RECUR_MODELS")) }
        for dir in executableFolders(executable, environment: environment) {
            out.append((dir.appendingPathComponent("../../models").standardizedFileURL.path, "beside the build"))
            out.append((dir.appendingPathComponent("../share/recur/models").standardizedFileURL.path, "installed"))
        }
        out.append((URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("models").path,
                    "the current folder"))
        var seen = Set<String>()
        return out.filter { seen.insert($0.0).inserted }
    }

    /// The executable's folder as invoked (`.build/release`, a symbolic link
    /// in a build folder) and with every link resolved (an installed link).
    static func executableFolders(_ executable: String, environment: [String: String]) -> [URL] {
        var path = executable
        if !path.contains("/") {
            for dir in (environment["PATH"] ?? "").split(separator: ":") {
                let p = String(dir) + "/" + path
                if FileManager.default.isExecutableFile(atPath: p) { path = p; break }
            }
        }
        guard path.contains("/") else { return [] }
        let invoked = URL(fileURLWithPath: path).standardizedFileURL
        return [invoked.deletingLastPathComponent(), invoked.resolvingSymlinksInPath().deletingLastPathComponent()]
    }

    /// The model file to load: `explicit` when it is an existing path (or has
    /// a `/` or `.safetensors`: then loading names it when it is missing), a
    /// shipped name (`translate-fr-en`) looked up like the default, or the
    /// default `name`. A model found nowhere is one `.usage` error: which
    /// file was looked for where, and how to make it.
    public static func resolve(explicit: String?, defaultName name: String,
                               environment: [String: String] = ProcessInfo.processInfo.environment,
                               executable: String = CommandLine.arguments.first ?? "recur") throws -> String {
        var wanted = name
        if let explicit {
            if FileManager.default.fileExists(atPath: explicit) || explicit.contains("/") || explicit.hasSuffix(".safetensors") {
                return explicit
            }
            wanted = explicit
        }
        let file = wanted + ".safetensors"
        let folders = searchFolders(environment: environment, executable: executable)
        for (f, _) in folders {
            let p = (f as NSString).appendingPathComponent(file)
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        let places = folders.map(\.folder).joined(separator: ", ")
        let env = environment["RECUR_MODELS"].map { _ in "" } ?? " ($RECUR_MODELS is not set)"
        throw RecurError(.usage, "no model: \(file) was not found in \(places)\(env); make it with `recur train recipes/\(wanted).yaml` (then put it in one of those folders or set RECUR_MODELS), or give one with --model FILE")
    }
}
