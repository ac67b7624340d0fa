// A fresh folder under the system's temporary directory for one test, removed with it.
import Foundation

/// A new, empty folder named `prefix-UUID`; deleted (with its contents) when released.
public final class TemporaryDirectory {
    public let url: URL

    public init(prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The path of `name` inside the folder.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `bytes` to `name` inside the folder and returns its path.
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = self.url.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }
}
