// The process-wide pool of persistent worker threads every kernel runs on. `run` hands out
// task indices 0..<tasks from one atomic ticket; the caller claims indices too, and workers
// that wake late find none left, so a worker descheduled by another process (2 shared cores)
// delays a kernel by at most the task it actually took, never by a whole timeslice. Workers
// spin briefly on the ticket (a cheap barrier for back-to-back kernels), then sleep on a
// condition variable so an idle daemon burns no CPU. Concurrent callers (several streams or
// models on different Swift tasks) are serialised one run at a time, sharing the pool at
// kernel granularity; a run from inside a body executes serially on the calling thread.
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

/// A FIFO turnstile for callers of one pool: a caller takes a numbered turn and sleeps until
/// it is served, so concurrent streams and models get the pool in arrival order (a plain
/// mutex lets one busy caller re-acquire it again and again). Waiting blocks; it never spins,
/// because the pool's own threads need the cores meanwhile.
final class FairTurns: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var next: UInt64 = 0
    private var serving: UInt64 = 0

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    /// Callers currently waiting for their turn (for tests).
    var waiting: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return Int(next &- serving) - 1
    }

    func take() {
        pthread_mutex_lock(mutex)
        let mine = next
        next &+= 1
        while serving != mine { pthread_cond_wait(cond, mutex) }
        pthread_mutex_unlock(mutex)
    }

    func pass() {
        pthread_mutex_lock(mutex)
        serving &+= 1
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }
}

/// Worker-side state, owned by the workers and the pool (so the pool can deinit).
///
/// `ticket` packs (job sequence << 32 | next task index). Publishing a job stores a new
/// sequence with index 0; a participant claims a task by compare-and-swap on the exact
/// ticket it read, so a worker holding a stale sequence can never take a task of a newer
/// job. The job closure and task count are written before the ticket (release) and read
/// after a successful claim (acquire); the dispatcher does not return (and so the closure
/// stays valid) until `finished` counts every task.
final class PoolState: @unchecked Sendable {
    private let ticket = Atomic<UInt64>(0)
    private let finished = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private var job: ((Int) -> Void)?
    private var jobTasks = 0
    // Heap-allocated: pthread objects must not move, which inout class properties don't promise.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var sleepers = 0

    /// Spin iterations before a worker sleeps (~30-60 µs): long enough to catch the next
    /// kernel of a layer, short enough not to steal cores from other processes when idle.
    private static let spinLimit = 2_000

    init(workers: Int) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    /// Runs on the calling thread; returns when all `tasks` have finished.
    func dispatch(_ body: @escaping (Int) -> Void, tasks: Int) {
        job = body
        jobTasks = tasks
        finished.store(0, ordering: .relaxed)
        let sequence = (ticket.load(ordering: .relaxed) >> 32) &+ 1
        ticket.store(sequence << 32, ordering: .releasing)
        pthread_mutex_lock(mutex)
        if sleepers > 0 { pthread_cond_broadcast(cond) }
        pthread_mutex_unlock(mutex)
        work(sequence: sequence)
        var spins = 0
        while finished.load(ordering: .acquiring) < tasks {
            spins += 1
            if spins < PoolState.spinLimit * 8 { sl_cpu_relax() } else { sched_yield() }
        }
        job = nil
    }

    /// Claims and runs tasks of job `sequence` until none are left.
    private func work(sequence: UInt64) {
        while true {
            let t = ticket.load(ordering: .acquiring)
            guard t >> 32 == sequence else { return }
            let index = Int(t & 0xffff_ffff)
            guard index < jobTasks else { return }
            let (exchanged, _) = ticket.compareExchange(expected: t, desired: t &+ 1, ordering: .acquiringAndReleasing)
            guard exchanged else { continue }
            job?(index)
            finished.add(1, ordering: .releasing)
        }
    }

    func workerLoop(index: Int) {
        var seen = ticket.load(ordering: .acquiring) >> 32
        while true {
            var spins = 0
            var current = ticket.load(ordering: .acquiring) >> 32
            while current == seen && spins < PoolState.spinLimit {
                sl_cpu_relax()
                spins += 1
                current = ticket.load(ordering: .acquiring) >> 32
            }
            if current == seen {
                pthread_mutex_lock(mutex)
                sleepers += 1
                while ticket.load(ordering: .acquiring) >> 32 == seen && !stopping.load(ordering: .acquiring) {
                    pthread_cond_wait(cond, mutex)
                }
                sleepers -= 1
                pthread_mutex_unlock(mutex)
                current = ticket.load(ordering: .acquiring) >> 32
            }
            if stopping.load(ordering: .acquiring) { return }
            seen = current
            sl_pool_set_depth(1)
            work(sequence: current)
            sl_pool_set_depth(0)
        }
    }

    func shutdown() {
        stopping.store(true, ordering: .releasing)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }
}
