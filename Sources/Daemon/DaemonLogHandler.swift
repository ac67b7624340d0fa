// The daemon's log lines on stderr, in the form journald understands when stderr is the
// journal: each line starts with its syslog priority (`<3>` for errors, sd-daemon(3)), so
// `journalctl -p err -u sightline` shows errors only and the priority is not lost in the
// text. Elsewhere (a terminal, a file) lines carry an ISO 8601 time and the level instead;
// journald adds its own timestamps.
//
//   journal:   <3>sightline: stream down; reconnecting stream.id=cam error="read timed out"
//   terminal:  2026-12-02T10:00:00.000Z error sightline: stream down; reconnecting stream.id=cam ...
//
// Every message and metadata value goes through `Credentials.redact`, and newlines are
// escaped so one event is one journal entry.
import Foundation
import Logging
import SightlineCore
#if canImport(Glibc)
import Glibc
#endif

public struct DaemonLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public let label: String
    /// Whether lines get `<N>` priority prefixes (stderr is connected to the journal).
    public let journal: Bool
    let write: @Sendable (String) -> Void

    public init(label: String, journal: Bool = DaemonLogHandler.stderrIsJournal(),
                write: @escaping @Sendable (String) -> Void = DaemonLogHandler.writeToStandardError)
    {
        self.label = label
        self.journal = journal
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt)
    {
        let merged = metadata.merging(explicit ?? [:]) { _, new in new }
        write(Self.format(level: level, label: label, message: message.description, metadata: merged, journal: journal, at: Date()))
    }

    /// syslog priorities (RFC 5424) of swift-log's levels: what journald files each line under.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// One log line, newline-terminated.
    public static func format(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, journal: Bool,
                              at date: Date) -> String
    {
        var text = "\(label): \(clean(message))"
        for key in metadata.keys.sorted() {
            let value = clean("\(metadata[key]!)")
            let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" }
            text += " \(key)=" + (needsQuotes ? "\"\(value.replacingOccurrences(of: "\"", with: "\\\""))\"" : value)
        }
        if journal { return "<\(priority(level))>\(text)\n" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return "\(formatter.string(from: date)) \(level) \(text)\n"
    }

    /// Credentials hidden; line breaks escaped (journald would split one event into several).
    static func clean(_ text: String) -> String {
        Credentials.redact(text).replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// True when stderr is the stream systemd connected to the journal: $JOURNAL_STREAM
    /// ("device:inode") names the very file stderr is (a child with stderr redirected
    /// elsewhere inherits the variable but not the stream).
    public static func stderrIsJournal(environment: [String: String] = ProcessInfo.processInfo.environment,
                                       descriptor: Int32 = STDERR_FILENO) -> Bool
    {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(descriptor, &st) == 0 else { return false }
        return UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
    }

    public static let writeToStandardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data(line.utf8))
    }
}
