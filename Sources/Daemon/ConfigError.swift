// Errors of configuration loading: every one names the file, and the line and key where
// there is one, and says what to do.

public enum ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case syntax(file: String, line: Int, column: Int, message: String)
    case unknownKey(file: String, line: Int?, key: String, allowed: [String])
    case badValue(file: String, line: Int?, key: String, message: String)
    case missingKey(file: String, key: String)
    case duplicateStream(id: String, files: [String])

    public var description: String {
        func at(_ file: String, _ line: Int?) -> String { line.map { "\(file):\($0)" } ?? file }
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read the configuration file: \(reason)"
        case let .syntax(file, line, column, message):
            return "\(file):\(line):\(column): TOML syntax error: \(message)"
        case let .unknownKey(file, line, key, allowed):
            return "\(at(file, line)): unknown key '\(key)'. Allowed here: \(allowed.sorted().joined(separator: ", ")). Check the spelling against the shipped example."
        case let .badValue(file, line, key, message):
            return "\(at(file, line)): bad value for '\(key)': \(message)"
        case let .missingKey(file, key):
            return "\(file): required key '\(key)' is missing."
        case let .duplicateStream(id, files):
            return "stream id '\(id)' is used by more than one file: \(files.joined(separator: ", ")). Give each stream a unique id."
        }
    }
}
