// The process-wide pool of persistent worker threads every kernel runs on. `run` hands out
// task indices 0..<tasks from one atomic ticket; the caller claims indices too, and workers
// that wake late find none left, so a worker descheduled by another process (2 shared cores)
// delays a kernel by at most the task it actually took, never by a whole timeslice. Workers
// spin briefly on the ticket (a cheap barrier for back-to-back kernels), then sleep on a
// condition variable so an idle daemon burns no CPU. Concurrent callers (several streams or
// models on different Swift tasks) are served one run at a time in arrival order
// (FairTurns), sharing the pool at kernel granularity; a run from inside a body executes
// serially on the calling thread.
import CKernels
import Foundation
import Synchronization

public final class ThreadPool: @unchecked Sendable {
    /// Workers including the calling thread.
    public let threadCount: Int
    private let state: PoolState
    private let turns = FairTurns()

    /// Creates a pool with `threads` workers (the caller counts as one; clamped to 1...256).
    public init(threads: Int) {
        _ = HeapPolicy.applied
        threadCount = max(1, min(threads, 256))
        state = PoolState()
        for index in 1..<max(threadCount, 1) {
            let state = self.state
            let thread = Thread { state.workerLoop(index: index) }
            thread.name = "sightline-kernel-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    deinit { state.shutdown() }

    // MARK: - Shared pool

    private static let configuredThreads = Atomic<Int>(0)
    private static let sharedStarted = Atomic<Bool>(false)

    /// One thread per online core unless `configureShared(threads:)` ran first.
    public static let shared: ThreadPool = {
        sharedStarted.store(true, ordering: .sequentiallyConsistent)
        let configured = configuredThreads.load(ordering: .sequentiallyConsistent)
        return ThreadPool(threads: configured > 0 ? configured : ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Sets the shared pool's thread count; only valid before its first use.
    public static func configureShared(threads: Int) throws {
        guard threads >= 1 else {
            throw KernelError.invalidArgument(what: "ThreadPool.configureShared", reason: "threads must be >= 1, got \(threads)")
        }
        if sharedStarted.load(ordering: .sequentiallyConsistent) {
            throw KernelError.poolAlreadyStarted(threads: shared.threadCount)
        }
        configuredThreads.store(threads, ordering: .sequentiallyConsistent)
    }

    // MARK: - Running work

    /// Runs `body(thread, threads)` for every thread in 0..<threadCount and returns when all
    /// have finished. The calling thread participates. Indices are claimed dynamically, so
    /// one OS thread may run several indices one after another: bodies must not wait on each
    /// other. Called from inside a body (any pool), runs `body(0, 1)` serially instead.
    public func run(_ body: (_ thread: Int, _ threads: Int) -> Void) {
        if threadCount == 1 || sl_pool_depth() > 0 {
            serially { body(0, 1) }
            return
        }
        let n = threadCount
        run(tasks: n) { body($0, n) }
    }

    /// Runs `body(task)` for every task in 0..<tasks over the pool (each exactly once, any
    /// order, possibly several on one thread) and returns when all have finished.
    public func run(tasks: Int, _ body: (_ task: Int) -> Void) {
        guard tasks > 0 else { return }
        if threadCount == 1 || tasks == 1 || sl_pool_depth() > 0 {
            serially { for t in 0..<tasks { body(t) } }
            return
        }
        turns.take()
        defer { turns.pass() }
        withoutActuallyEscaping(body) { escapable in
            let depth = sl_pool_depth()
            sl_pool_set_depth(depth + 1)
            state.dispatch(escapable, tasks: tasks)
            sl_pool_set_depth(depth)
        }
    }

    /// `body(task)` for every task in 0..<tasks over the pool, as `run(tasks:)`, with the
    /// results in task order. Every task runs; then the first error, in task order, is thrown.
    public func map<T, E: Error>(tasks: Int, _ body: (_ task: Int) throws(E) -> T) throws(E) -> [T] {
        guard tasks > 0 else { return [] }
        let results = UnsafeMutableBufferPointer<Result<T, E>>.allocate(capacity: tasks)
        defer { results.deinitialize().deallocate() }
        run(tasks: tasks) { t in
            (results.baseAddress! + t).initialize(to: Result { () throws(E) -> T in try body(t) })
        }
        return try results.map { r throws(E) in try r.get() }
    }

    private func serially(_ body: () -> Void) {
        let depth = sl_pool_depth()
        sl_pool_set_depth(depth + 1)
        body()
        sl_pool_set_depth(depth)
    }

    /// Runs `body(range)` over `0..<count` split into contiguous chunks, one per thread
    /// (fewer when `count` is small). `minChunk` avoids waking threads for tiny work.
    public func parallelFor(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(threadCount, max(1, count / max(minChunk, 1)))
        if chunks == 1 { body(0..<count); return }
        run(tasks: chunks) { t in
            let lo = count * t / chunks, hi = count * (t + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }
}

extension Optional where Wrapped == ThreadPool {
    /// `parallelFor` on the pool when there is one, else `body(0..<count)` on the calling thread.
    public func parallelFor(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        if let pool = self { pool.parallelFor(count, minChunk: minChunk, body) } else if count > 0 { body(0..<count) }
    }
}
