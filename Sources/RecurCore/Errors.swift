import Foundation

/// Every error Recur throws: one line that names the file (when there is one)
/// and the reason, fit to print as is on stderr.
public struct RecurError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case io, format, shape, value, unsupported, usage
    }
    public let kind: Kind
    public let file: String?
    public let reason: String

    public init(_ kind: Kind, _ reason: String, file: String? = nil) {
        self.kind = kind
        self.reason = reason
        self.file = file
    }

    public var description: String {
        if let file { return "\(file): \(reason)" }
        return reason
    }

    /// The same error, now naming `file` (kept if one is named already).
    public func naming(_ file: String) -> RecurError {
        self.file == nil ? RecurError(kind, reason, file: file) : self
    }
}
