// Strict typed access to one TOML table: every key read is recorded, and `finish()` rejects
// the keys nobody read (so a misspelt key is an error, not a silently ignored setting).
// TOMLKit does not report where a key was defined, so lines are found by scanning the
// source text for the key inside its `[table]` header; good enough for hand-written files.
import Foundation
import TOMLKit

final class TOMLReader {
    let file: String
    let source: [Substring]
    let table: TOMLTable
    /// Dotted path of this table ("" for the root, "sampling", "queries[0]").
    let path: String
    private var seen: Set<String> = []

    init(file: String, text: String) throws {
        self.file = file
        self.source = text.split(separator: "\n", omittingEmptySubsequences: false)
        if let bad = Self.malformedTableHeader(in: text) {
            throw ConfigError.syntax(file: file, line: bad.line, column: bad.column,
                                     message: "a table header needs a name after '[', found \(bad.found)")
        }
        do {
            self.table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ConfigError.syntax(file: file, line: e.source.begin.line, column: e.source.begin.column,
                                     message: e.description)
        }
        self.path = ""
    }

    private init(parent: TOMLReader, table: TOMLTable, path: String) {
        self.file = parent.file
        self.source = parent.source
        self.table = table
        self.path = path
    }

    func qualified(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The 1-based line where `key` of this table is assigned, if it can be found.
    func line(of key: String) -> Int? {
        let header = path.split(separator: "[").first.map(String.init) ?? path
        var current = ""
        for (i, raw) in source.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[[") { current = String(line.dropFirst(2).prefix { $0 != "]" }).trimmingCharacters(in: .whitespaces); continue }
            if line.hasPrefix("[") { current = String(line.dropFirst().prefix { $0 != "]" }).trimmingCharacters(in: .whitespaces); continue }
            guard current == header else { continue }
            for form in [key, "\"\(key)\""] where line.hasPrefix(form) {
                if line.dropFirst(form.count).trimmingCharacters(in: .whitespaces).hasPrefix("=") { return i + 1 }
            }
        }
        // A table key ([sampling]) is found by its header.
        let full = qualified(key)
        return source.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "[\(full)]" }.map { $0 + 1 }
    }

    func bad(_ key: String, _ message: String) -> ConfigError {
        .badValue(file: file, line: line(of: key), key: qualified(key), message: message)
    }

    private func value(_ key: String) -> TOMLValueConvertible? {
        seen.insert(key)
        return table[key]
    }

    func string(_ key: String, default d: String) throws -> String {
        guard let v = value(key) else { return d }
        guard let s = v.string else { throw bad(key, "expected a string, found \(v.type)") }
        return s
    }

    func optionalString(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.string else { throw bad(key, "expected a string, found \(v.type)") }
        return s
    }

    func bool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = value(key) else { return d }
        guard let b = v.bool else { throw bad(key, "expected true or false, found \(v.type)") }
        return b
    }

    func int(_ key: String, default d: Int, range: ClosedRange<Int>) throws -> Int {
        guard let v = value(key) else { return d }
        guard let i = v.int else { throw bad(key, "expected an integer, found \(v.type)") }
        guard range.contains(i) else { throw bad(key, "\(i) is outside \(range.lowerBound)...\(range.upperBound)") }
        return i
    }

    func double(_ key: String, default d: Double, range: ClosedRange<Double>) throws -> Double {
        try optionalDouble(key, range: range) ?? d
    }

    /// The number at `key`, nil when the key is absent.
    func optionalDouble(_ key: String, range: ClosedRange<Double>) throws -> Double? {
        guard let v = value(key) else { return nil }
        guard let x = v.double ?? v.int.map(Double.init) else { throw bad(key, "expected a number, found \(v.type)") }
        guard range.contains(x) else { throw bad(key, "\(x) is outside \(range.lowerBound)...\(range.upperBound)") }
        return x
    }

    /// A duration written as "500ms", "10s", "5m", "2h" or "7d", within `range` (ms); "0" or
    /// "off" is nil when `allowOff`. The range keeps every later conversion (microseconds for
    /// FFmpeg, nanoseconds for NIO's TimeAmount, `now - age`) inside Int64.
    func duration(_ key: String, default d: Int64?, range: ClosedRange<Int64>, allowOff: Bool = false) throws -> Int64? {
        guard let v = value(key) else { return d }
        guard let s = v.string else { throw bad(key, "expected a duration string such as \"10s\", found \(v.type)") }
        if allowOff, s == "off" || s == "0" { return nil }
        return try durationMs(key, s, range: range, zeroAllowed: false,
                              examples: "\"500ms\", \"10s\", \"5m\", \"2h\", \"7d\"\(allowOff ? " or \"off\"" : "")")
    }

    /// A duration within `range` where 0 means something ("0s") and "off" is nil: the two
    /// cannot share a spelling, so a bare "0" is refused with both.
    func durationOrOff(_ key: String, default d: Int64?, range: ClosedRange<Int64>) throws -> Int64? {
        guard let v = value(key) else { return d }
        guard let s = v.string else { throw bad(key, "expected a duration string such as \"5s\" or \"off\", found \(v.type)") }
        if s == "off" { return nil }
        return try durationMs(key, s, range: range, zeroAllowed: true, examples: "\"0s\", \"500ms\", \"5s\" or \"off\"")
    }

    /// `s` parsed as a duration within `range` (ms), or an error naming `key` and `examples`.
    private func durationMs(_ key: String, _ s: String, range: ClosedRange<Int64>, zeroAllowed: Bool, examples: String) throws -> Int64 {
        guard let ms = Units.parseDurationMs(s), zeroAllowed || ms > 0 else {
            throw bad(key, "'\(s)' is not a duration; write e.g. \(examples)")
        }
        guard range.contains(ms) else {
            throw bad(key, "'\(s)' is outside the allowed range \(Units.formatDuration(range.lowerBound))...\(Units.formatDuration(range.upperBound))")
        }
        return ms
    }

    /// A size written as "512KiB", "10MB", "2GiB", within `range` (bytes); "off" is nil when `allowOff`.
    func bytes(_ key: String, default d: Int64?, range: ClosedRange<Int64>, allowOff: Bool = false) throws -> Int64? {
        guard let v = value(key) else { return d }
        guard let s = v.string else { throw bad(key, "expected a size string such as \"2GiB\", found \(v.type)") }
        if allowOff, s == "off" || s == "0" { return nil }
        guard let n = Units.parseBytes(s), n > 0 else {
            throw bad(key, "'\(s)' is not a size; write e.g. \"64KiB\", \"10MB\", \"2GiB\"\(allowOff ? " or \"off\"" : "")")
        }
        guard range.contains(n) else {
            throw bad(key, "'\(s)' is outside the allowed range \(Units.formatBytes(range.lowerBound))...\(Units.formatBytes(range.upperBound))")
        }
        return n
    }

    /// Non-negative integers, each within `range` (ids that must fit a uid_t or gid_t).
    func intArray(_ key: String, range: ClosedRange<Int>) throws -> [Int] {
        guard let v = value(key) else { return [] }
        guard let a = v.array else { throw bad(key, "expected an array of integers, found \(v.type)") }
        return try a.map { e in
            guard let i = e.int else { throw bad(key, "expected integers, found \(e)") }
            guard range.contains(i) else { throw bad(key, "\(i) is outside the allowed range \(range.lowerBound)...\(range.upperBound)") }
            return i
        }
    }

    func stringArray(_ key: String) throws -> [String]? {
        guard let v = value(key) else { return nil }
        guard let a = v.array else { throw bad(key, "expected an array of strings, found \(v.type)") }
        return try a.map { e in
            guard let s = e.string else { throw bad(key, "expected strings, found \(e)") }
            return s
        }
    }

    func table(_ key: String) throws -> TOMLReader? {
        guard let v = value(key) else { return nil }
        guard let t = v.table else { throw bad(key, "expected a table ([\(qualified(key))]), found \(v.type)") }
        return TOMLReader(parent: self, table: t, path: qualified(key))
    }

    func tableArray(_ key: String) throws -> [TOMLReader] {
        guard let v = value(key) else { return [] }
        guard let a = v.array else { throw bad(key, "expected an array of tables ([[\(qualified(key))]]), found \(v.type)") }
        return try a.enumerated().map { i, e in
            guard let t = e.table else { throw bad(key, "element \(i) is not a table") }
            return TOMLReader(parent: self, table: t, path: qualified(key) + "[\(i)]")
        }
    }

    /// Throws for the first key of this table that was never read.
    func finish() throws {
        for key in table.keys.sorted() where !seen.contains(key) {
            throw ConfigError.unknownKey(file: file, line: line(of: key), key: qualified(key), allowed: Array(seen))
        }
    }
}
