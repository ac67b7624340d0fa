// The pool runs every index exactly once, survives nesting and concurrent callers, reuses
// its threads, and honours the shared-pool configuration rule. Counters shared with pool
// threads live in a locked class (clean under ThreadSanitizer), and assertions run on the
// test's thread after the pool returns.
@testable import Kernels
import Synchronization
import XCTest

/// Integer counters several threads update under a lock.
final class LockedCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int]
    init(_ count: Int) { values = [Int](repeating: 0, count: count) }
    func add(_ index: Int, _ amount: Int = 1) { lock.lock(); values[index] += amount; lock.unlock() }
    var snapshot: [Int] { lock.lock(); defer { lock.unlock() }; return values }
}

final class ThreadPoolTests: XCTestCase {
    func testEveryIndexRunsExactlyOnce() {
        let pool = ThreadPool(threads: 2)
        for tasks in [1, 2, 3, 7, 64] {
            let counts = LockedCounts(tasks)
            for _ in 0..<200 {
                pool.run(tasks: tasks) { t in counts.add(t) }
            }
            XCTAssertEqual(counts.snapshot, [Int](repeating: 200, count: tasks), "tasks \(tasks)")
        }
        let seen = LockedCounts(3) // [thread 0, thread 1, calls with threads != 2]
        pool.run { t, n in
            seen.add(t)
            if n != 2 { seen.add(2) }
        }
        XCTAssertEqual(seen.snapshot, [1, 1, 0])
    }

    func testNestedRunExecutesSeriallyWithoutDeadlock() {
        let pool = ThreadPool(threads: 2)
        let total = LockedCounts(2) // [inner runs, unexpected (thread, threads)]
        pool.run { _, _ in
            pool.run { t, n in
                total.add(0)
                if t != 0 || n != 1 { total.add(1) }
            }
            ThreadPool.shared.run(tasks: 3) { _ in total.add(0, 10) }
        }
        XCTAssertEqual(total.snapshot, [2 * 31, 0])
    }

    func testConcurrentCallersAreSerialisedAndCorrect() {
        let pool = ThreadPool(threads: 2)
        let sums = LockedCounts(4)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for _ in 0..<100 {
                pool.run(tasks: 5) { t in sums.add(caller, t + 1) }
            }
        }
        XCTAssertEqual(sums.snapshot, [1500, 1500, 1500, 1500])
    }

    /// A job with more tasks than the one before it: a worker that read the earlier job's
    /// ticket must not claim a task of it past its end (taking the new job's task count)
    /// once the new job is being set up. Such a claim ran a task twice, or let `run` return
    /// while a task was still running. Each job checks, before `run` returns, that every
    /// task ran exactly once; the small jobs between keep a worker on a stale ticket often.
    func testAJobAfterASmallerOneRunsEachTaskOnce() {
        let pool = ThreadPool(threads: 2)
        let failures = Atomic<Int>(0)
        let deadline = Date().addingTimeInterval(1.5)
        var jobs = 0
        let counts = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 64)
        defer { counts.deallocate() }
        for i in 0..<64 { (counts + i).initialize(to: Atomic<Int>(0)) }
        while Date() < deadline {
            for tasks in [2, 9, 1 + jobs % 40, 3] {
                for i in 0..<tasks { counts[i].store(0, ordering: .relaxed) }
                pool.run(tasks: tasks) { t in counts[t].add(1, ordering: .relaxed) }
                for i in 0..<tasks where counts[i].load(ordering: .relaxed) != 1 { failures.add(1, ordering: .relaxed) }
                jobs += 1
            }
        }
        XCTAssertEqual(failures.load(ordering: .relaxed), 0, "tasks run other than once, over \(jobs) jobs")
    }

    func testGemmFromConcurrentTasksMatchesSerial() {
        var rng = SeededRandom(seed: 40)
        let m = 64, n = 96, k = 200
        let a = rng.floats(m * k), b = rng.floats(k * n)
        var reference = [Float](repeating: 0, count: m * n)
        sgemmReference(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &reference, ldc: n)
        let expected = reference
        let pool = ThreadPool(threads: 2)
        let failures = LockedCounts(1)
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            for _ in 0..<20 {
                var c = [Float](repeating: 0, count: m * n)
                sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n, pool: pool)
                for i in 0..<(m * n) where abs(c[i] - expected[i]) > 1e-3 { failures.add(0); break }
            }
        }
        XCTAssertEqual(failures.snapshot, [0])
    }

    func testParallelForCoversRangeOnce() {
        let pool = ThreadPool(threads: 2)
        let hits = LockedCounts(1000)
        pool.parallelFor(1000, minChunk: 10) { r in for i in r { hits.add(i) } }
        XCTAssertEqual(hits.snapshot, [Int](repeating: 1, count: 1000))
    }

    func testConfigureSharedAfterStartThrows() {
        _ = ThreadPool.shared.threadCount
        XCTAssertThrowsError(try ThreadPool.configureShared(threads: 3)) { error in
            XCTAssertEqual(error as? KernelError, .poolAlreadyStarted(threads: ThreadPool.shared.threadCount))
        }
        XCTAssertThrowsError(try ThreadPool.configureShared(threads: 0))
        XCTAssertGreaterThanOrEqual(ThreadPool.shared.threadCount, 1)
    }
}

final class FairnessTests: XCTestCase {
    /// Callers waiting for a pool are served in arrival order: while one run holds the pool,
    /// B queues, then C; B must run before C.
    func testWaitingCallersAreServedInArrivalOrder() {
        let turns = FairTurns()
        let order = LockedStrings()
        turns.take() // a run in progress
        func waiter(_ name: String) -> Thread {
            Thread {
                turns.take()
                order.append(name)
                turns.pass()
            }
        }
        let b = waiter("B"), c = waiter("C")
        b.start()
        while turns.waiting < 1 { usleep(100) }
        c.start()
        while turns.waiting < 2 { usleep(100) }
        turns.pass()
        while order.snapshot.count < 2 { usleep(100) }
        XCTAssertEqual(order.snapshot, ["B", "C"])
    }
}

final class LockedStrings: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String] = []
    func append(_ s: String) { lock.lock(); values.append(s); lock.unlock() }
    var snapshot: [String] { lock.lock(); defer { lock.unlock() }; return values }
}

final class ScratchLifetimeTests: XCTestCase {
    /// Threads that run kernels and exit give their scratch back: 200 short-lived threads
    /// each using ~4 MB of GEMM/im2col scratch must not grow the heap by anything like 800 MB.
    func testExitedThreadsFreeTheirScratch() throws {
        func residentKB() -> Int {
            let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        var rng = SeededRandom(seed: 50)
        let shape = Conv1dShape(inChannels: 64, outChannels: 8, length: 2000, kernel: 7, padding: 3) // im2col (448, 2000)
        let x = rng.floats(64 * 2000), w = rng.floats(8 * 64 * 7)
        let one = ThreadPool(threads: 1)
        func burst(_ count: Int) {
            for _ in 0..<count {
                let done = DispatchSemaphore(value: 0)
                let t = Thread {
                    var y = [Float](repeating: 0, count: 8 * 2000)
                    try? conv1d(x, shape: shape, weight: w, bias: nil, output: &y, pool: one)
                    done.signal()
                }
                t.start()
                done.wait()
            }
        }
        burst(20) // warm-up: allocator arenas, thread stacks
        usleep(50_000)
        let before = residentKB()
        burst(200)
        usleep(50_000)
        let grownMB = (residentKB() - before) / 1024
        XCTAssertLessThan(grownMB, 100, "RSS grew by \(grownMB) MB over 200 exited threads")
    }
}
