// The pool runs every index exactly once, survives nesting and concurrent callers, reuses
// its threads, and honours the shared-pool configuration rule.
@testable import Kernels
import Synchronization
import XCTest

final class ThreadPoolTests: XCTestCase {
    func testEveryIndexRunsExactlyOnce() {
        let pool = ThreadPool(threads: 2)
        for tasks in [1, 2, 3, 7, 64] {
            let counts = Mutex([Int](repeating: 0, count: tasks))
            for _ in 0..<200 {
                pool.run(tasks: tasks) { t in counts.withLock { $0[t] += 1 } }
            }
            let final = counts.withLock { $0 }
            XCTAssertEqual(final, [Int](repeating: 200, count: tasks), "tasks \(tasks)")
        }
        let seen = Atomic<Int>(0)
        pool.run { t, n in
            XCTAssertEqual(n, 2)
            seen.add(1 << (t * 8), ordering: .relaxed)
        }
        XCTAssertEqual(seen.load(ordering: .relaxed), 1 + (1 << 8))
    }

    func testNestedRunExecutesSeriallyWithoutDeadlock() {
        let pool = ThreadPool(threads: 2)
        let total = Atomic<Int>(0)
        pool.run { _, _ in
            pool.run { t, n in
                XCTAssertEqual(t, 0)
                XCTAssertEqual(n, 1)
                total.add(1, ordering: .relaxed)
            }
            ThreadPool.shared.run(tasks: 3) { _ in total.add(10, ordering: .relaxed) }
        }
        XCTAssertEqual(total.load(ordering: .relaxed), 2 * 31)
    }

    func testConcurrentCallersAreSerialisedAndCorrect() {
        let pool = ThreadPool(threads: 2)
        let sums = Mutex([Int](repeating: 0, count: 4))
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for _ in 0..<100 {
                pool.run(tasks: 5) { t in sums.withLock { $0[caller] += t + 1 } }
            }
        }
        XCTAssertEqual(sums.withLock { $0 }, [1500, 1500, 1500, 1500])
    }

    func testGemmFromConcurrentTasksMatchesSerial() {
        var rng = SeededRandom(seed: 40)
        let m = 64, n = 96, k = 200
        let a = rng.floats(m * k), b = rng.floats(k * n)
        var reference = [Float](repeating: 0, count: m * n)
        sgemmReference(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &reference, ldc: n)
        let expected = reference
        let pool = ThreadPool(threads: 2)
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            for _ in 0..<20 {
                var c = [Float](repeating: 0, count: m * n)
                sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n, pool: pool)
                for i in 0..<(m * n) where abs(c[i] - expected[i]) > 1e-3 { failures.add(1, ordering: .relaxed); break }
            }
        }
        XCTAssertEqual(failures.load(ordering: .relaxed), 0)
    }

    func testParallelForCoversRangeOnce() {
        let pool = ThreadPool(threads: 2)
        let hits = Mutex([Int](repeating: 0, count: 1000))
        pool.parallelFor(1000, minChunk: 10) { r in hits.withLock { for i in r { $0[i] += 1 } } }
        XCTAssertEqual(hits.withLock { $0 }, [Int](repeating: 1, count: 1000))
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
        let order = Mutex([String]())
        turns.take() // a run in progress
        func waiter(_ name: String) -> Thread {
            Thread {
                turns.take()
                order.withLock { $0.append(name) }
                turns.pass()
            }
        }
        let b = waiter("B"), c = waiter("C")
        b.start()
        while turns.waiting < 1 { usleep(100) }
        c.start()
        while turns.waiting < 2 { usleep(100) }
        turns.pass()
        while order.withLock({ $0.count }) < 2 { usleep(100) }
        XCTAssertEqual(order.withLock { $0 }, ["B", "C"])
    }
}
