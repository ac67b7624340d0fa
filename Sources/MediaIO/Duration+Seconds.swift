// Elapsed times as plain numbers, for metrics and logs: one conversion for every module that
// times its work with `ContinuousClock`.

extension Duration {
    /// The duration in seconds.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
