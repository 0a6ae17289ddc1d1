import Foundation
import RecurCore

/// A one-line progress report on stderr, only when stderr is a terminal:
/// `12/40 files, 1 failed, 3.2/s, ETA 0:08`, redrawn in place with `\r` at
/// most ten times a second and erased by `finish()`. When disabled (stderr is
/// a file or a pipe) it writes nothing at all, so logs stay clean.
public final class ProgressLine: @unchecked Sendable {
    public let total: Int?
    public let unit: String
    public let enabled: Bool

    private let sink: (String) -> Void
    private let clock: () -> Double
    private let lock = NSLock()
    private var startTime: Double
    private var lastDraw = -Double.infinity
    private var shown = false
    private var done = 0
    private var failed = 0

    /// - Parameters:
    ///   - total: the number of items, when known (for the ETA).
    ///   - enabled: defaults to whether stderr is a terminal.
    ///   - sink: where the text goes (stderr by default).
    ///   - clock: seconds from any fixed origin (monotonic by default).
    public init(total: Int?, unit: String = "files", enabled: Bool = Terminal.isTerminal(2),
                sink: @escaping (String) -> Void = StandardError.write,
                clock: @escaping () -> Double = ProgressLine.monotonicSeconds) {
        self.total = total
        self.unit = unit
        self.enabled = enabled
        self.sink = sink
        self.clock = clock
        startTime = clock()
    }

    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Records progress and redraws when the last draw is 0.1 s old (or the
    /// last item is done).
    public func update(done: Int, failed: Int = 0) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        self.done = done
        self.failed = failed
        let now = clock()
        if now - lastDraw >= 0.1 || done == total { draw(now) }
    }

    /// Erases the line (before writing a log line); the next `update` or
    /// `redraw` brings it back.
    public func clear() {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        if shown { sink("\r\u{1B}[K"); shown = false }
    }

    /// Draws the line again now.
    public func redraw() {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        draw(clock())
    }

    /// Erases the line for good.
    public func finish() { clear() }

    private func draw(_ now: Double) {
        lastDraw = now
        shown = true
        sink("\r" + ProgressLine.render(done: done, total: total, failed: failed, elapsed: now - startTime, unit: unit)
             + "\u{1B}[K")
    }

    /// The text of the line, for example `12/40 files, 1 failed, 3.2/s, ETA 0:08`.
    public static func render(done: Int, total: Int?, failed: Int, elapsed: Double, unit: String) -> String {
        var s = total.map { "\(done)/\($0) \(unit)" } ?? "\(done) \(unit)"
        if failed > 0 { s += ", \(failed) failed" }
        guard elapsed > 0, done > 0 else { return s }
        let rate = Double(done) / elapsed
        s += rate >= 10 ? ", \(Int(rate.rounded()))/s" : ", " + String(format: "%.1f", rate) + "/s"
        if let total, total > done {
            s += ", ETA " + duration(Double(total - done) / rate)
        }
        return s
    }

    /// `m:ss`, or `h:mm:ss` from an hour on.
    public static func duration(_ seconds: Double) -> String {
        let t = Int(seconds.rounded(.up))
        let h = t / 3600, m = t / 60 % 60, sec = t % 60
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return h > 0 ? "\(h):\(two(m)):\(two(sec))" : "\(m):\(two(sec))"
    }
}
