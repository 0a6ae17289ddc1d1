import Foundation
import RecurCore
#if canImport(Glibc)
import Glibc
#endif

/// The exit statuses every `recur` command uses.
public enum ExitStatus: Int32, Sendable {
    /// Every input succeeded.
    case success = 0
    /// Some inputs failed (each named on stderr); the others were processed.
    case someFailed = 1
    /// The command line was wrong (bad option, no input); nothing ran.
    case usage = 2
    /// Our reader closed the pipe (`recur ... | head -3`): we stopped quietly,
    /// with the status a process killed by SIGPIPE would have (128 + 13), so
    /// `set -o pipefail` sees what it sees for `cat` or `grep`.
    case outputClosed = 141

    /// The status for a batch with `failed` failures.
    public static func forBatch(failed: Int) -> ExitStatus { failed == 0 ? .success : .someFailed }

    /// The status for an error that ended a command: `outputClosed` for
    /// `OutputClosed`, `usage` for a `RecurError` of kind `.usage`, else
    /// `someFailed`.
    public static func forError(_ error: Error) -> ExitStatus {
        if error is OutputClosed { return .outputClosed }
        if let e = error as? RecurError, e.kind == .usage { return .usage }
        return .someFailed
    }
}

/// Terminal checks.
public enum Terminal {
    /// Whether `fd` is a terminal (isatty).
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }
}

/// Writes to stderr with write(2), unbuffered, whole lines at once.
public enum StandardError {
    /// Writes `text` as is.
    public static func write(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buf in
            guard var p = buf.baseAddress else { return }
            var left = buf.count
            while left > 0 {
                let n = Glibc.write(2, p, left)
                if n < 0 { if errno == EINTR { continue } else { return } }
                p += n
                left -= n
            }
        }
    }

    /// Writes `line` and a newline.
    public static func writeLine(_ line: String) { write(line + "\n") }
}

/// How `recur` commands behave in a shell.
///
/// - **SIGPIPE**: `ignoreSIGPIPE()` once at start; a write to a closed stdout
///   then fails with EPIPE, which `RecordWriter` turns into `OutputClosed`,
///   and the command stops without a message and exits with
///   `ExitStatus.outputClosed` (141). Ignoring the signal rather than dying
///   of it lets the command stop its worker threads, clear the progress line
///   and never lose a message to a signal raised on a write to another pipe.
/// - **Input**: `inputArguments` turns "no input arguments" into stdin, or,
///   when stdin is a terminal (nobody piped anything), into a usage error
///   telling how to give input.
public enum UnixManners {
    /// Makes a write to a closed pipe fail with EPIPE instead of killing the
    /// process. Safe to call more than once.
    public static func ignoreSIGPIPE() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// The input arguments to expand: `arguments` as given, or `["-"]`
    /// (stdin) when there are none and stdin is not a terminal. With none and
    /// a terminal on stdin, throws `RecurError(.usage)` saying how to give
    /// input, for example `usage: "recur translate"`, `example:
    /// "echo 'Hello.' | recur translate -m en-fr"`.
    public static func inputArguments(_ arguments: [String], command: String, what: String = "files",
                                      example: String? = nil,
                                      stdinIsTerminal: Bool = Terminal.isTerminal(0)) throws -> [String] {
        if !arguments.isEmpty { return arguments }
        guard stdinIsTerminal else { return ["-"] }
        var message = "\(command): no input. Give \(what) as arguments (globs, directories, @list.txt), or pipe input into stdin"
        if let example { message += ", e.g. \(example)" }
        message += "; use - to type it here and end with Ctrl-D."
        throw RecurError(.usage, message)
    }

    /// When standard input is about to be read and is a terminal (the user
    /// gave `-` and nothing is piped in), says so on stderr, so a waiting
    /// prompt is not mistaken for a hang. Returns whether it did.
    @discardableResult
    public static func noteReadingFromTerminal(stdinIsTerminal: Bool = Terminal.isTerminal(0),
                                               write: (String) -> Void = StandardError.writeLine) -> Bool {
        guard stdinIsTerminal else { return false }
        write("reading from the terminal: type one input a line, end with Ctrl-D")
        return true
    }

    /// The line for a failed input: the error as it prints when it already
    /// names a file, else `name: error`.
    public static func failureLine(name: String, error: Error) -> String {
        if let e = error as? RecurError { return e.naming(name).description }
        return "\(name): \(error)"
    }
}
