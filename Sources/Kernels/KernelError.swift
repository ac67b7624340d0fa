// Typed errors of the Kernels target: what failed, on which shapes, and what to do.
public enum KernelError: Error, Equatable, CustomStringConvertible {
    /// An array's element count does not match the shape it was given with.
    case shapeMismatch(what: String, shape: [Int], expectedCount: Int, actualCount: Int)
    /// A dimension argument is out of range (negative, zero where positive is required, ...).
    case invalidArgument(what: String, reason: String)
    /// A KV cache append would exceed the capacity it was created with.
    case cacheFull(capacity: Int, count: Int, appending: Int)
    /// `ThreadPool.configureShared` was called after the shared pool had started.
    case poolAlreadyStarted(threads: Int)

    public var description: String {
        switch self {
        case let .shapeMismatch(what, shape, expected, actual):
            return "\(what): shape \(shape) needs \(expected) elements but \(actual) were given; "
                + "check the tensor's source (checkpoint entry or caller) for a layout mismatch"
        case let .invalidArgument(what, reason):
            return "\(what): \(reason)"
        case let .cacheFull(capacity, count, appending):
            return "KV cache full: holds \(count) of \(capacity) positions, cannot append \(appending); "
                + "create the cache with a larger capacity or reset it"
        case let .poolAlreadyStarted(threads):
            return "ThreadPool.configureShared called after the shared pool started with \(threads) "
                + "threads; call it once at startup before any kernel runs"
        }
    }
}
