// The process-wide pool of persistent worker threads every kernel runs on. `run` hands one
// body to all workers, the caller participates as thread 0, and returns when all finished.
// Workers spin briefly on a generation counter (a cheap barrier for back-to-back kernels),
// then sleep on a condition variable so an idle daemon burns no CPU. Concurrent callers
// (several streams/models on different Swift tasks) are serialised one run at a time,
// which shares the pool at kernel granularity; a run from inside a body executes serially.
import CKernels
import Foundation
import Synchronization

public final class ThreadPool: @unchecked Sendable {
    /// Workers including the calling thread.
    public let threadCount: Int
    private let state: PoolState
    private let runLock = Mutex<Void>(())

    /// Creates a pool with `threads` workers (the caller counts as one; clamped to 1...256).
    public init(threads: Int) {
        threadCount = max(1, min(threads, 256))
        state = PoolState(workers: threadCount - 1)
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

    /// Runs `body(thread, threads)` for thread in 0..<threads and returns when all are done.
    /// The calling thread runs thread 0. Called from inside a body (any pool), runs
    /// `body(0, 1)` serially instead of deadlocking.
    public func run(_ body: (_ thread: Int, _ threads: Int) -> Void) {
        let depth = sl_pool_depth()
        if threadCount == 1 || depth > 0 {
            sl_pool_set_depth(depth + 1)
            body(0, 1)
            sl_pool_set_depth(depth)
            return
        }
        runLock.withLock { _ in
            withoutActuallyEscaping(body) { escapable in
                sl_pool_set_depth(depth + 1)
                state.dispatch(escapable, threads: threadCount)
                sl_pool_set_depth(depth)
            }
        }
    }

    /// Runs `body(range)` over `0..<count` split into contiguous chunks, one per thread
    /// (fewer when `count` is small). `minChunk` avoids waking threads for tiny work.
    public func parallelFor(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(threadCount, max(1, count / max(minChunk, 1)))
        if chunks == 1 { body(0..<count); return }
        run { t, n in
            let parts = min(n, chunks)
            guard t < parts else { return }
            let lo = count * t / parts, hi = count * (t + 1) / parts
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Worker-side state, owned by the workers and the pool (so the pool can deinit).
final class PoolState: @unchecked Sendable {
    private let workers: Int
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    // Written by the dispatcher before the generation bump (release), read by workers after
    // observing it (acquire): the body is only valid during one dispatch.
    private var job: ((Int, Int) -> Void)?
    private var jobThreads = 1
    // Heap-allocated: pthread objects must not move, which inout class properties don't promise.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var sleepers = 0

    /// Spin iterations before a worker sleeps (~30-60 µs): long enough to catch the next
    /// kernel of a layer, short enough not to steal cores from other processes when idle.
    private static let spinLimit = 2_000

    init(workers: Int) {
        self.workers = workers
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    func dispatch(_ body: @escaping (Int, Int) -> Void, threads: Int) {
        job = body
        jobThreads = threads
        pending.store(workers, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        pthread_mutex_lock(mutex)
        if sleepers > 0 { pthread_cond_broadcast(cond) }
        pthread_mutex_unlock(mutex)
        body(0, threads)
        var spins = 0
        while pending.load(ordering: .acquiring) != 0 {
            spins += 1
            if spins < PoolState.spinLimit * 8 { sl_cpu_relax() } else { sched_yield() }
        }
        job = nil
    }

    func workerLoop(index: Int) {
        var seen = generation.load(ordering: .acquiring)
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen && spins < PoolState.spinLimit {
                sl_cpu_relax()
                spins += 1
                current = generation.load(ordering: .acquiring)
            }
            if current == seen {
                pthread_mutex_lock(mutex)
                sleepers += 1
                while generation.load(ordering: .acquiring) == seen {
                    pthread_cond_wait(cond, mutex)
                }
                sleepers -= 1
                pthread_mutex_unlock(mutex)
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            if let body = job {
                sl_pool_set_depth(1)
                body(index, jobThreads)
                sl_pool_set_depth(0)
            }
            pending.subtract(1, ordering: .releasing)
        }
    }

    func shutdown() {
        stopping.store(true, ordering: .releasing)
        generation.add(1, ordering: .releasing)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }
}
