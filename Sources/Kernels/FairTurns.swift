// FairTurns: the FIFO turnstile ThreadPool callers queue on (see ThreadPool.swift).
import Foundation

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
