import Foundation
import RecurCore

/// What a batch did.
public struct BatchSummary: Sendable, Equatable {
    public var succeeded: Int
    public var failed: Int
    public init(succeeded: Int, failed: Int) {
        self.succeeded = succeeded
        self.failed = failed
    }
    /// 0 when every input succeeded, 1 when some failed.
    public var exitStatus: ExitStatus { ExitStatus.forBatch(failed: failed) }
}

/// Runs one piece of work per input on `--jobs N` threads and hands the
/// results back in input order, each as soon as it and all before it are
/// ready (streaming: the first result is delivered while later inputs are
/// still running, never all at the end).
///
/// - `work` runs on worker threads (on the calling thread when `jobs` is 1)
///   and must be thread-safe; give each job its own model state.
/// - `deliver` runs on the calling thread, in input order, for successes.
/// - A failure (an error thrown by `work`, or by `deliver` for that input) is
///   one line on stderr (`UnixManners.failureLine`: the input named, then the
///   reason), at its place in the order; the other inputs go on.
/// - `OutputClosed` thrown by `deliver` ends the batch at once: no new input
///   starts, the running ones are waited for, and it is rethrown.
/// - At most `2 * jobs` inputs are started ahead of the one being delivered,
///   so results waiting for a slow earlier input do not pile up.
public enum BatchRunner {
    /// Threads each job should give BLAS and its own loops so that `jobs`
    /// jobs together use the cores once: `max(1, cores / jobs)`.
    public static func threadsPerJob(jobs: Int, cores: Int = Threads.available) -> Int {
        max(1, cores / max(1, jobs))
    }

    public static func run<Item: Sendable, Output>(
        _ items: [Item],
        jobs: Int,
        name: (Item) -> String,
        progress: ProgressLine? = nil,
        log: (String) -> Void = StandardError.writeLine,
        work: @escaping @Sendable (Item) throws -> Output,
        deliver: (Item, Output) throws -> Void
    ) throws -> BatchSummary {
        var summary = BatchSummary(succeeded: 0, failed: 0)
        func handle(_ index: Int, _ result: Result<Output, Error>) throws {
            try deliverInOrder(items[index], result, summary: &summary, name: name, progress: progress, log: log,
                               deliver: deliver)
            progress?.update(done: index + 1, failed: summary.failed)
        }
        defer { progress?.finish() }
        progress?.update(done: 0)

        let jobs = max(1, min(jobs, items.count))
        if jobs == 1 {
            for i in items.indices {
                try handle(i, Result { try work(items[i]) })
            }
            return summary
        }

        let state = BatchState<Output>(count: items.count, window: 2 * jobs)
        let group = DispatchGroup()
        for _ in 0..<jobs {
            group.enter()
            let thread = Thread {
                state.workLoop(items: items, work: work)
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        defer { group.wait() }
        do {
            for i in items.indices {
                try handle(i, state.take(i))
            }
        } catch {
            state.stop()
            throw error
        }
        return summary
    }
}

extension BatchRunner {
    /// One result, at its place in the order: a success goes to `deliver`; a
    /// failure (of the work or of `deliver`) is counted and logged as one line;
    /// `OutputClosed` is rethrown.
    static func deliverInOrder<Item, Output>(
        _ item: Item, _ result: Result<Output, Error>, summary: inout BatchSummary,
        name: (Item) -> String, progress: ProgressLine?, log: (String) -> Void,
        deliver: (Item, Output) throws -> Void
    ) throws {
        do {
            try deliver(item, try result.get())
            summary.succeeded += 1
        } catch let e as OutputClosed {
            throw e
        } catch {
            logFailure(name(item), error, summary: &summary, progress: progress, log: log)
        }
    }

    /// Counts a failure and writes its one stderr line (clearing the progress line first).
    static func logFailure(_ name: String, _ error: Error, summary: inout BatchSummary,
                           progress: ProgressLine?, log: (String) -> Void) {
        summary.failed += 1
        progress?.clear()
        log(UnixManners.failureLine(name: name, error: error))
    }
}

extension BatchRunner {
    /// Like `run(_:jobs:...)`, for inputs that arrive one by one (records
    /// read from stdin): `next` is called for the next input, by one thread at
    /// a time (a worker's, or the calling thread's when `jobs` is 1), until it
    /// returns nil. Results are delivered in input order as soon as each is
    /// ready, even while `next` waits for more input, so `--jobs N` keeps
    /// "one record out per record in, at once" through a pipe.
    ///
    /// An error thrown by `next` (a malformed line) ends the input: it is one
    /// failure line, after the results of the inputs before it. On
    /// `OutputClosed` the runner waits for inputs being worked on, but not for
    /// a `next` blocked reading a pipe: the caller should exit soon after.
    public static func runStream<Item: Sendable, Output>(
        jobs: Int,
        next: @escaping () throws -> Item?,
        name: (Item) -> String,
        progress: ProgressLine? = nil,
        log: (String) -> Void = StandardError.writeLine,
        work: @escaping @Sendable (Item) throws -> Output,
        deliver: (Item, Output) throws -> Void
    ) throws -> BatchSummary {
        var summary = BatchSummary(succeeded: 0, failed: 0)
        var done = 0
        func handle(_ item: Item, _ result: Result<Output, Error>) throws {
            try deliverInOrder(item, result, summary: &summary, name: name, progress: progress, log: log,
                               deliver: deliver)
            done += 1
            progress?.update(done: done, failed: summary.failed)
        }
        func sourceFailed(_ error: Error) {
            logFailure("input", error, summary: &summary, progress: progress, log: log)
        }
        defer { progress?.finish() }
        progress?.update(done: 0)

        if jobs <= 1 {
            while true {
                let item: Item?
                do { item = try next() } catch { sourceFailed(error); break }
                guard let item else { break }
                try handle(item, Result { try work(item) })
            }
            return summary
        }

        let state = StreamState<Item, Output>(window: 2 * jobs, next: next)
        let group = DispatchGroup()
        for _ in 0..<jobs {
            group.enter()
            let thread = Thread {
                state.workLoop(work: work)
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        var i = 0
        while true {
            switch state.take(i) {
            case .item(let item, let result):
                do { try handle(item, result) } catch {
                    state.stopAndWaitForWork()
                    throw error
                }
                i += 1
            case .end(let error):
                if let error { sourceFailed(error) }
                group.wait()
                return summary
            }
        }
    }
}

/// The streaming runner's shared state, guarded by `cond`; `sourceLock`
/// lets one worker at a time call `next` without holding `cond`, so results
/// are delivered while a worker waits for input.
private final class StreamState<Item, Output>: @unchecked Sendable {
    enum Taken { case item(Item, Result<Output, Error>), end(Error?) }

    let cond = NSCondition()
    let sourceLock = NSLock()
    let next: () throws -> Item?
    let window: Int
    var items: [Int: Item] = [:]
    var results: [Int: Result<Output, Error>] = [:]
    var pulled = 0
    var delivered = 0
    var busy = 0
    var ended = false
    var sourceError: Error?
    var stopped = false

    init(window: Int, next: @escaping () throws -> Item?) {
        self.window = window
        self.next = next
    }

    func workLoop(work: (Item) throws -> Output) {
        while true {
            sourceLock.lock()
            cond.lock()
            while !stopped, !ended, pulled >= delivered + window { cond.wait() }
            if stopped || ended { cond.unlock(); sourceLock.unlock(); return }
            cond.unlock()
            let got = Result { try next() }
            cond.lock()
            var job: (Int, Item)?
            if !stopped {
                switch got {
                case .success(let item?):
                    job = (pulled, item)
                    items[pulled] = item
                    pulled += 1
                    busy += 1
                case .success(nil):
                    ended = true
                case .failure(let e):
                    ended = true
                    sourceError = e
                }
            }
            cond.broadcast()
            cond.unlock()
            sourceLock.unlock()
            guard let (i, item) = job else { return }
            let r = Result { try work(item) }
            cond.lock()
            results[i] = r
            busy -= 1
            cond.broadcast()
            cond.unlock()
        }
    }

    /// Waits for input `i`'s result, or for the end of the input.
    func take(_ i: Int) -> Taken {
        cond.lock(); defer { cond.unlock() }
        while results[i] == nil, !(ended && i >= pulled) { cond.wait() }
        guard let r = results.removeValue(forKey: i) else { return .end(sourceError) }
        let item = items.removeValue(forKey: i)!
        delivered = i + 1
        cond.broadcast()
        return .item(item, r)
    }

    func stopAndWaitForWork() {
        cond.lock()
        stopped = true
        cond.broadcast()
        while busy > 0 { cond.wait() }
        cond.unlock()
    }
}

/// Shared by the workers and the delivering thread; every field is guarded
/// by `cond`.
private final class BatchState<Output>: @unchecked Sendable {
    let cond = NSCondition()
    var results: [Result<Output, Error>?]
    let window: Int
    var nextToStart = 0
    var delivered = 0
    var stopped = false

    init(count: Int, window: Int) {
        results = Array(repeating: nil, count: count)
        self.window = window
    }

    func workLoop<Item>(items: [Item], work: (Item) throws -> Output) {
        while true {
            cond.lock()
            while !stopped, nextToStart < items.count, nextToStart >= delivered + window { cond.wait() }
            if stopped || nextToStart >= items.count { cond.unlock(); return }
            let i = nextToStart
            nextToStart += 1
            cond.unlock()
            let r = Result { try work(items[i]) }
            cond.lock()
            results[i] = r
            cond.broadcast()
            cond.unlock()
        }
    }

    /// Waits for result `i`, takes it and lets the workers start further ahead.
    func take(_ i: Int) -> Result<Output, Error> {
        cond.lock(); defer { cond.unlock() }
        while results[i] == nil { cond.wait() }
        let r = results[i]!
        results[i] = nil
        delivered = i + 1
        cond.broadcast()
        return r
    }

    func stop() {
        cond.lock()
        stopped = true
        cond.broadcast()
        cond.unlock()
    }
}
