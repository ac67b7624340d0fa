// ConditionLock: a pthread mutex with one condition variable, for the pool's two places that
// block (sleeping workers in PoolState, queued callers in FairTurns).
import Foundation

/// Heap-allocated so the pthread objects never move (class properties passed inout do not
/// promise a stable address). `wait()` must be called with the lock held.
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

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

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Releases the lock while asleep; wakes on broadcast (or spuriously: callers loop).
    func wait() { pthread_cond_wait(cond, mutex) }

    func broadcast() { pthread_cond_broadcast(cond) }
}
