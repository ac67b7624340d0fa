// Parsing and printing of the human units used in configuration files: durations
// ("500ms", "10s", "5m", "2h", "7d") and sizes ("64KiB", "10MB", "2GiB").
import Foundation

public enum Units {
    static let durationUnits: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
    static let sizeUnits: [(String, Int64)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
        ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1),
    ]

    public static func parseDurationMs(_ text: String) -> Int64? {
        parse(text, units: durationUnits.sorted { $0.0.count > $1.0.count })
    }

    public static func parseBytes(_ text: String) -> Int64? {
        parse(text, units: sizeUnits)
    }

    private static func parse(_ text: String, units: [(String, Int64)]) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            let number = t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard let x = Double(number), x >= 0, x.isFinite else { return nil }
            let v = x * Double(scale)
            guard v < Double(Int64.max) else { return nil }
            return Int64(v.rounded())
        }
        return nil
    }

    /// A moment in a media file: seconds ("12.5") or [hh:]mm:ss[.fff] ("1:05", "1:02:03.5"), in ms.
    public static func parseMediaTime(_ text: String) -> Int64? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var seconds = 0.0
        for (i, p) in parts.enumerated() {
            guard let x = Double(p), x >= 0, x.isFinite, i == parts.count - 1 || x == x.rounded() else { return nil }
            if i > 0, x >= 60 { return nil }
            seconds = seconds * 60 + x
        }
        guard seconds * 1000 < Double(Int64.max) else { return nil }
        return Int64((seconds * 1000).rounded())
    }

    public static func formatDuration(_ ms: Int64?) -> String {
        guard let ms else { return "off" }
        if ms == 0 { return "0s" }
        for (suffix, scale) in durationUnits.reversed() where ms % scale == 0 { return "\(ms / scale)\(suffix)" }
        return "\(ms)ms"
    }

    public static func formatBytes(_ n: Int64?) -> String {
        guard let n else { return "off" }
        for (suffix, scale) in [("TiB", Int64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where n % scale == 0 {
            return "\(n / scale)\(suffix)"
        }
        return "\(n)B"
    }
}
