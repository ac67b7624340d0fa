// Reconnect delays: exponential from 1 s, doubling per failed attempt, capped at 60 s, with
// ±20 % jitter so cameras that dropped together do not reconnect in lock-step.

public struct Backoff: Sendable, Equatable {
    public var initialMs: Int64 = 1000
    public var maxMs: Int64 = 60_000
    /// Relative spread: the delay is multiplied by a factor in [1 - jitter, 1 + jitter].
    public var jitter = 0.2

    public init() {}

    /// Delay before reconnect attempt `attempt` (0 = first retry); `unit` is uniform in 0..<1.
    public func delayMs(attempt: Int, unit: Double) -> Int64 {
        let base = Double(initialMs) * Double(1 << min(attempt, 20))
        let capped = min(base, Double(maxMs))
        let factor = 1 + jitter * (2 * unit - 1)
        return Int64(min(Double(maxMs), capped * factor).rounded())
    }
}
