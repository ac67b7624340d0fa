// PoolState: the worker threads' side of ThreadPool -- the job ticket, the spin-then-sleep
// wait, and shutdown (see ThreadPool.swift for the protocol).
import CKernels
import Foundation
import Synchronization

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
    // Atomic although published by the ticket: a worker holding a stale ticket may read it
    // while the next job is being set up (its claim then fails: `dispatch` closes the old
    // ticket before it changes the count), which must not be a race.
    private let jobTasks = Atomic<Int>(0)
    private let sleep = ConditionLock()
    private var sleepers = 0 // guarded by `sleep`

    /// Spin iterations before a worker sleeps (~30-60 µs): long enough to catch the next
    /// kernel of a layer, short enough not to steal cores from other processes when idle.
    private static let spinLimit = 2_000

    /// A closed ticket's index: above any task count, so nothing can be claimed from it.
    private static let closedIndex: UInt64 = 0xffff_ffff

    /// Runs on the calling thread; returns when all `tasks` have finished.
    func dispatch(_ body: @escaping (Int) -> Void, tasks: Int) {
        // Close the previous job's ticket first, with a sequence of its own whose index no
        // task count reaches. Otherwise a worker that read the previous ticket (its index
        // at that job's end) and then this job's larger task count could still claim it:
        // it would run a task of this job twice, or the previous closure after its
        // dispatcher returned, and `finished` would count one task too many.
        let closed = (ticket.load(ordering: .relaxed) >> 32) &+ 1
        ticket.store(closed << 32 | PoolState.closedIndex, ordering: .relaxed)
        job = body
        // Releasing: a worker that reads this count also sees the ticket closed above.
        jobTasks.store(tasks, ordering: .releasing)
        finished.store(0, ordering: .relaxed)
        let sequence = closed &+ 1
        ticket.store(sequence << 32, ordering: .releasing)
        sleep.withLock { if sleepers > 0 { sleep.broadcast() } }
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
            guard index < jobTasks.load(ordering: .acquiring) else { return }
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
                sleep.withLock {
                    sleepers += 1
                    while ticket.load(ordering: .acquiring) >> 32 == seen && !stopping.load(ordering: .acquiring) {
                        sleep.wait()
                    }
                    sleepers -= 1
                }
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
        sleep.withLock { sleep.broadcast() }
    }
}
