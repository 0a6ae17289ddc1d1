import Foundation
import RecurCore
import Yams

/// Where pipeline files are found by name (`recur run speech-to-french`):
/// `<name>.yaml` (or `.yml`) in `$RECUR_PIPELINES`, then beside the build
/// (`<dir of the executable>/../../pipelines`, and one folder further up for
/// SwiftPM's `.build/<triple>/<config>/`), installed
/// (`<dir of the executable>/../share/recur/pipelines`), then `./pipelines`,
/// like `ModelLocator` finds models.
public enum PipelineLocator {
    /// The folders searched, in order, each with what it came from (existing or not).
    public static func searchFolders(environment: [String: String] = ProcessInfo.processInfo.environment,
                                     executable: String = CommandLine.arguments.first ?? "recur") -> [(folder: String, why: String)] {
        var out: [(String, String)] = []
        if let env = environment["RECUR_PIPELINES"], !env.isEmpty { out.append((env, "$RECUR_PIPELINES")) }
        let exe = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        out.append((exe.appendingPathComponent("../../pipelines").standardizedFileURL.path, "beside the build"))
        out.append((exe.appendingPathComponent("../../../pipelines").standardizedFileURL.path, "beside the build"))
        out.append((exe.appendingPathComponent("../share/recur/pipelines").standardizedFileURL.path, "installed"))
        out.append((URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("pipelines").path,
                    "the current folder"))
        var seen = Set<String>()
        return out.filter { seen.insert($0.0).inserted }
    }

    /// The pipeline file for `argument`: an existing file, a path (with a `/`
    /// or a `.yaml`/`.yml` extension: loading then says it is missing), or a
    /// name looked up in the search folders. A name found nowhere is a
    /// `.usage` error saying where it was looked for.
    public static func resolve(_ argument: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                               executable: String = CommandLine.arguments.first ?? "recur") throws -> String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: argument, isDirectory: &isDir), !isDir.boolValue { return argument }
        if argument.contains("/") || argument.hasSuffix(".yaml") || argument.hasSuffix(".yml") { return argument }
        let folders = searchFolders(environment: environment, executable: executable)
        for (f, _) in folders {
            for ext in ["yaml", "yml"] {
                let p = (f as NSString).appendingPathComponent("\(argument).\(ext)")
                if FileManager.default.fileExists(atPath: p) { return p }
            }
        }
        let places = folders.map(\.folder).joined(separator: ", ")
        let env = environment["RECUR_PIPELINES"].map { _ in "" } ?? " ($RECUR_PIPELINES is not set)"
        throw RecurError(.usage, "no pipeline \(argument): \(argument).yaml was not found in \(places)\(env); `recur run --list` lists the pipelines")
    }

    /// One pipeline file found by `list`.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var description: String
        public var path: String
        /// Set when the file does not load (its first error line).
        public var problem: String?
    }

    /// Every pipeline in the search folders, by name (a name found in an
    /// earlier folder hides the same name later), each with its description.
    public static func list(environment: [String: String] = ProcessInfo.processInfo.environment,
                            executable: String = CommandLine.arguments.first ?? "recur") -> [Entry] {
        var byName: [String: Entry] = [:]
        for (folder, _) in searchFolders(environment: environment, executable: executable) {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for file in names.sorted() where file.hasSuffix(".yaml") || file.hasSuffix(".yml") {
                let stem = (file as NSString).deletingPathExtension
                if byName[stem] != nil { continue }
                let path = (folder as NSString).appendingPathComponent(file)
                var entry = Entry(name: stem, description: "", path: path, problem: nil)
                do {
                    let p = try Pipeline.load(path, environment: environment, executable: executable)
                    entry.description = p.description
                } catch {
                    entry.problem = "\(error)"
                    entry.description = PipelineLocator.description(path) ?? ""
                }
                byName[stem] = entry
            }
        }
        return byName.values.sorted { $0.name < $1.name }
    }

    /// The `description:` of a file that does not load (its models missing, say).
    static func description(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let node = (try? Yams.compose(yaml: text)) ?? nil else { return nil }
        return node.mapping?["description"]?.string
    }
}
