// FairTurns: the FIFO turnstile ThreadPool callers queue on (see ThreadPool.swift).
import Foundation

/// A FIFO turnstile for callers of one pool: a caller takes a numbered turn and sleeps until
/// it is served, so concurrent streams and models get the pool in arrival order (a plain
/// mutex lets one busy caller re-acquire it again and again). Waiting blocks; it never spins,
/// because the pool's own threads need the cores meanwhile.
final class FairTurns: @unchecked Sendable {
    private let lock = ConditionLock()
    private var next: UInt64 = 0
    private var serving: UInt64 = 0

    /// Callers currently waiting for their turn (for tests).
    var waiting: Int { lock.withLock { Int(next &- serving) - 1 } }

    func take() {
        lock.withLock {
            let mine = next
            next &+= 1
            while serving != mine { lock.wait() }
        }
    }

    func pass() {
        lock.withLock {
            serving &+= 1
            lock.broadcast()
        }
    }
}
