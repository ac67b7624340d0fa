// Small pieces the query benchmarks share: reading `--name value` options and percentiles
// of sorted timings.
import Foundation

public enum BenchArguments {
    /// The value after `name` on the command line, or `fallback`.
    public static func option(_ name: String, _ fallback: String, arguments: [String] = CommandLine.arguments) -> String {
        if let i = arguments.firstIndex(of: name), i + 1 < arguments.count { return arguments[i + 1] }
        return fallback
    }

    /// The `p` quantile (0…1) of ascending `sorted` values, by the nearest rank.
    public static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }
}
