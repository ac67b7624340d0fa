// Seeded mutations for fuzz tests: bytes (bit flips, interesting values, truncation,
// deleted, repeated and inserted runs) and text (lines replaced, repeated, dropped, values
// swapped for extreme ones). The same seed gives the same inputs on every run and machine,
// so a failure names the seed and case that reproduce it.
import Foundation

public struct Mutator: Sendable {
    public var rng: SplitMix64

    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    /// Uniform in `range` (which must not be empty).
    public mutating func int(_ range: Range<Int>) -> Int {
        precondition(!range.isEmpty, "empty range")
        return range.lowerBound + Int(rng.next() % UInt64(range.count))
    }

    public mutating func int(_ range: ClosedRange<Int>) -> Int { int(range.lowerBound..<(range.upperBound + 1)) }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { Double(rng.next() >> 11) / Double(1 << 53) < p }

    public mutating func pick<T>(_ items: [T]) -> T { items[int(0..<items.count)] }

    public mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }

    // MARK: - Bytes

    /// Values that break length and count fields: zero, one, sign bits, all ones.
    public static let interesting32: [UInt32] = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF]

    /// One generic mutation of `data`, and what it did (for failure messages).
    public mutating func mutate(_ data: [UInt8]) -> (bytes: [UInt8], what: String) {
        var d = data
        if d.isEmpty { return (bytes(int(1...64)), "random bytes") }
        switch int(0..<9) {
        case 0:
            let n = int(1...32)
            for _ in 0..<n { let i = int(0..<d.count); d[i] ^= UInt8(1) << UInt8(int(0..<8)) }
            return (d, "\(n) bit flips")
        case 1:
            let n = int(1...8)
            for _ in 0..<n { d[int(0..<d.count)] = pick([0x00, 0xFF, 0x7F, 0x80, 0x01]) }
            return (d, "\(n) bytes set to extremes")
        case 2:
            let at = int(0..<d.count)
            return (Array(d[..<at]), "truncated at \(at) of \(d.count)")
        case 3:
            let at = int(0..<d.count), n = min(int(1...4096), d.count - at)
            d.removeSubrange(at..<(at + n))
            return (d, "\(n) bytes deleted at \(at)")
        case 4:
            let at = int(0..<d.count), n = min(int(1...4096), d.count - at)
            d.insert(contentsOf: d[at..<(at + n)], at: at)
            return (d, "\(n) bytes repeated at \(at)")
        case 5:
            let at = int(0...d.count)
            d.insert(contentsOf: bytes(int(1...256)), at: at)
            return (d, "random bytes inserted at \(at)")
        case 6:
            let at = int(0..<max(1, d.count - 3))
            let value = pick(Self.interesting32)
            setBigEndian32(&d, at: at, value)
            return (d, "u32 at \(at) set to \(value)")
        case 7:
            // The first KiB holds most containers' headers: hit it hard.
            let end = min(d.count, 1024), n = int(4...64)
            for _ in 0..<n { d[int(0..<end)] = UInt8(truncatingIfNeeded: rng.next()) }
            return (d, "\(n) header bytes randomised")
        default:
            let at = int(0..<d.count), n = min(int(1...65_536), d.count - at)
            for i in at..<(at + n) { d[i] = 0 }
            return (d, "\(n) bytes zeroed at \(at)")
        }
    }

    /// Writes `value` big-endian at `at` (as far as the data reaches).
    public func setBigEndian32(_ d: inout [UInt8], at: Int, _ value: UInt32) {
        for k in 0..<4 where at + k < d.count && at + k >= 0 { d[at + k] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(k))) }
    }

    public func setBigEndian16(_ d: inout [UInt8], at: Int, _ value: UInt16) {
        for k in 0..<2 where at + k < d.count && at + k >= 0 { d[at + k] = UInt8(truncatingIfNeeded: value >> (8 - 8 * UInt16(k))) }
    }

    // MARK: - Text

    /// Values that break parsers and range checks in `key = value` lines.
    public static let extremeValues: [String] = [
        "-1", "0", "-9223372036854775808", "9223372036854775807", "18446744073709551616", "99999999999999999999999",
        "1e308", "-1e308", "nan", "inf", "-inf", "0.0", "-0.0", "4294967296", "-4294967297", "0x7fffffff",
        "\"\"", "\"-5s\"", "\"0s\"", "\"9223372036854775807ms\"", "\"99999999999h\"", "\"1e400s\"", "\"-1KiB\"",
        "\"9999999999999PiB\"", "\"18446744073709551615\"", "\"77777777777\"", "\"0o777\"", "\"off\"", "\"none\"",
        "true", "false", "[]", "[1, \"a\", 2.5]", "[-1, 4294967296]", "[[[]]]", "{}", "{ a = 1 }",
        "\"\\u0000\"", "\"\\ud800\"", "\"é\u{200B}日本\"", "1979-05-27T07:32:00Z", "'''x\ny'''", "\"a\nb\"",
        "\"" + String(repeating: "x", count: 5000) + "\"", "\"../../../../etc/passwd\"", "\"/dev/zero\"",
        "\"rtsp://u:p@[::1]:99999/x\"", "\"%s%n%x\"",
    ]

    /// One mutation of TOML-like text, and what it did.
    public mutating func mutateText(_ text: String) -> (text: String, what: String) {
        var lines = text.components(separatedBy: "\n")
        let valueLines = lines.indices.filter { lines[$0].contains("=") && !lines[$0].hasPrefix("#") }
        switch int(0..<11) {
        case 0, 1, 2:
            guard let i = valueLines.isEmpty ? nil : pick(valueLines) else { break }
            let key = lines[i].split(separator: "=", maxSplits: 1)[0]
            let value = pick(Self.extremeValues)
            lines[i] = key + "= " + value
            return (lines.joined(separator: "\n"), "line \(i + 1) value set to \(value.prefix(40))")
        case 3:
            let i = int(0..<lines.count)
            lines.insert(lines[i], at: i)
            return (lines.joined(separator: "\n"), "line \(i + 1) repeated")
        case 4:
            let i = int(0..<lines.count)
            lines.remove(at: i)
            return (lines.joined(separator: "\n"), "line \(i + 1) removed")
        case 5:
            let i = int(0..<lines.count), j = int(0..<lines.count)
            lines.swapAt(i, j)
            return (lines.joined(separator: "\n"), "lines \(i + 1) and \(j + 1) swapped")
        case 6:
            let i = int(0...lines.count)
            let junk = pick(["[", "[[", "]]", "= 1", "x =", "[paths", "[[queries]]\ntext = 5", "[[queries]]", "a.b.c = 1",
                             "[sampling]\n[sampling]", "\u{FEFF}", "\0", "key = \"unterminated", "\"quoted key\" = 1",
                             "k = " + String(repeating: "[", count: 20_000), "k = " + String(repeating: "{a=", count: 5_000),
                             String(repeating: "[t]\n", count: 200)])
            lines.insert(junk, at: i)
            return (lines.joined(separator: "\n"), "junk inserted at line \(i + 1): \(junk.prefix(20))")
        case 7:
            var u = Array(text.utf8)
            if u.isEmpty { break }
            let at = int(0..<u.count)
            u = Array(u[..<at])
            return (String(decoding: u, as: UTF8.self), "truncated at byte \(at)")
        case 8:
            var u = Array(text.utf8)
            if u.isEmpty { break }
            for _ in 0..<int(1...8) { u[int(0..<u.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            return (String(decoding: u, as: UTF8.self), "bytes randomised")
        case 9:
            let i = int(0..<lines.count)
            lines[i] = String(lines[i].shuffled(using: &rng))
            return (lines.joined(separator: "\n"), "line \(i + 1) shuffled")
        default:
            guard let i = valueLines.isEmpty ? nil : pick(valueLines) else { break }
            let parts = lines[i].split(separator: "=", maxSplits: 1)
            let value = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
            // The same value in another type: a quoted number, an unquoted duration.
            let swapped = value.hasPrefix("\"") ? String(value.dropFirst().dropLast()) : "\"\(value)\""
            lines[i] = parts[0] + "= " + swapped
            return (lines.joined(separator: "\n"), "line \(i + 1) value retyped")
        }
        return ("", "emptied")
    }
}

