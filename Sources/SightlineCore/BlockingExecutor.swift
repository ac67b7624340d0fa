// A task executor on its own threads, for work that blocks a thread for long: model
// inference (Whisper decoding a 28 s utterance) and large store reads. Swift's cooperative
// pool has one thread per core (two here); work that holds one of them stalls every other
// task, HTTP answers and ingest included. Code runs here with
// `executor.run { ... }` (a task-executor preference): the closure and the synchronous
// work it calls stay on these threads, while awaits elsewhere are unaffected.
import Foundation

/// A `TaskExecutor` backed by dedicated threads.
public final class BlockingExecutor: TaskExecutor, @unchecked Sendable {
    /// Thread-name prefix, seen in `top -H` and crash logs.
    public let name: String
    /// Worker threads.
    public let threadCount: Int
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [UnownedJob] = []
    private var head = 0

    /// Starts `threads` worker threads (at least one) named `name-N`. They live as long as the process.
    public init(name: String, threads: Int) {
        self.name = name
        threadCount = max(1, threads)
        for index in 0..<threadCount {
            let thread = Thread { [unowned self] in self.workerLoop() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Model inference. Kernels run on the kernel pool one at a time, so more threads do not
    /// add speed; two per core keep a stream whose encoder waits for a shared model (the
    /// speech recogniser serves one utterance at a time) from holding up the others.
    public static let compute = BlockingExecutor(name: "sightline-compute",
                                                 threads: max(4, 2 * ProcessInfo.processInfo.activeProcessorCount))
    /// Store reads and writes: SQLite calls block on disk and on the write lock.
    public static let storage = BlockingExecutor(name: "sightline-store", threads: 2)

    /// Accepts a job from the Swift runtime.
    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        queue.append(unowned)
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` with this executor preferred: it and the synchronous work it calls run on these threads.
    public func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        try await withTaskExecutorPreference(self, operation: body)
    }

    private func workerLoop() {
        while true {
            condition.lock()
            while head == queue.count { condition.wait() }
            let job = queue[head]
            head += 1
            // Compact once the consumed prefix dominates, so the array does not grow forever.
            if head > 64, head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
