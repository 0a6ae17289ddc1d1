// The error-reporting half of reading Recur's YAML files (training recipes,
// pipeline files), shared so that every file reports problems the same way:
// one line `FILE:LINE:COLUMN: reason`, with the close names offered for a
// misspelt key. The implementation is `Recipe`'s reader's (RecipeReader);
// this is its public face for the other libraries.
import Foundation
import RecurCore
import Yams

public enum YAMLDiagnostics {
    /// `file:line:column` of `mark` (1-based, as Yams counts), or `file` without one.
    public static func location(_ file: String, _ mark: Mark?) -> String {
        guard let mark else { return file }
        return "\(file):\(mark.line):\(mark.column)"
    }

    /// Parses `text` into a node tree (nil for an empty document). A syntax
    /// error is one `RecurError(.format)` naming `file` and the line and
    /// column libyaml stopped at: `f.yaml:3:7: not valid YAML: ...`.
    public static func compose(_ text: String, file: String) throws -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let e as YamlError {
            var mark: Mark?
            var problem = RecipeReader.describe(e)
            switch e {
            case let .scanner(context, p, m, _), let .parser(context, p, m, _), let .composer(context, p, m, _):
                mark = m
                problem = p
                if let context, !context.text.isEmpty { problem += " (\(context.text) at \(context.mark))" }
            default:
                break
            }
            throw RecurError(.format, "not valid YAML: \(problem)", file: location(file, mark))
        } catch {
            throw RecurError(.format, "not valid YAML: \(error)", file: file)
        }
    }

    /// "did you mean X?" with the closest of `known`, or the list of `known`
    /// (as `Recipe` reports an unknown key).
    public static func suggest(_ name: String, among known: [String]) -> String {
        RecipeReader.suggest(name, among: known)
    }

    /// The names of `known` within a few edits of `name`, closest first.
    public static func closeNames(_ name: String, among known: [String]) -> [String] {
        known.map { ($0, RecipeReader.editDistance(name.lowercased(), $0.lowercased())) }
            .filter { $0.1 <= max(2, name.count / 4) }
            .sorted { $0.1 < $1.1 }
            .map(\.0)
    }

    /// What a node is, for messages: "the value x", "a list", "a section".
    public static func kindName(_ node: Node) -> String { RecipeReader.kindName(node) }

    /// A node as one line of text (scalars as written, lists in flow style).
    public static func inlineText(_ node: Node) -> String { RecipeReader.inlineText(node) }
}
