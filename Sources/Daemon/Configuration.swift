// The whole configuration: the daemon file plus every stream file of its streams folder,
// loaded and cross-checked together (unique stream ids). Used by `serve`, SIGHUP reloads
// and `sightline config check`.
import Foundation
import Modalities
import SightlineCore

public struct Configuration: Sendable, Equatable {
    public var daemon: DaemonConfig
    public var streams: [StreamConfig]

    public init(daemon: DaemonConfig, streams: [StreamConfig]) {
        self.daemon = daemon
        self.streams = streams
    }

    /// Loads `file` (or the defaults when nil) and every `*.toml` in its streams folder, sorted by name.
    public static func load(file: String?, streamsDir override: String? = nil,
                            registry: EncoderRegistry = .standard) throws -> Configuration
    {
        var daemon = try file.map { try DaemonConfig.load(file: $0, registry: registry) } ?? DaemonConfig(registry: registry)
        // A folder given on the command line is relative to the working directory.
        if let override {
            daemon.paths.streamsDir = override.hasPrefix("/") ? override
                : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(override)
        }
        return Configuration(daemon: daemon, streams: try loadStreams(directory: daemon.streamsDirectory, registry: registry))
    }

    public static func loadStreams(directory: String, registry: EncoderRegistry = .standard) throws -> [StreamConfig] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw ConfigError.unreadable(file: directory, reason: "the streams folder does not exist; create it or set paths.streams_dir")
        }
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: directory) } catch {
            throw ConfigError.unreadable(file: directory, reason: error.localizedDescription)
        }
        let files = names.filter { $0.hasSuffix(".toml") }.sorted().map { (directory as NSString).appendingPathComponent($0) }
        let streams = try files.map { try StreamConfig.load(file: $0, registry: registry) }
        var seen: [String: String] = [:]
        for s in streams {
            if let other = seen[s.id] { throw ConfigError.duplicateStream(id: s.id, files: [other, s.file ?? "?"]) }
            seen[s.id] = s.file ?? "?"
        }
        return streams
    }
}

extension Configuration {
    /// What `sightline config check` prints: a summary, and with `printValues` every
    /// file's effective values as TOML.
    public func report(printValues: Bool, registry: EncoderRegistry = .standard) -> String {
        var out = "ok: \(daemon.file ?? "(built-in defaults)") and \(streams.count) stream file(s) in \(daemon.streamsDirectory)\n"
        for s in streams {
            out += "  \(s.id): \(s.enabled ? "enabled" : "disabled"), \(Credentials.redact(s.source)); modalities: "
                + (s.encoders.isEmpty ? "none" : s.encoders.joined(separator: ", ")) + "\n"
        }
        if streams.contains(where: { $0.enabled && $0.encoders.contains("speech") }) {
            let normal = streams.filter { $0.enabled && $0.encoders.contains("speech") && !$0.speechLowLatency }.map(\.id)
            switch daemon.speech.packLatencyMs {
            case let ms? where !normal.isEmpty:
                let wait = ms > 0 ? "an ended utterance waits up to \(Units.formatDuration(ms)) ([speech] pack_latency) for other "
                    + "streams' utterances to share Whisper's 30 s window; " : ""
                out += "speech latency: \(wait)utterances that end while Whisper is busy share its next window "
                    + "(packed; adds no wait), on \(normal.joined(separator: ", "))"
                    + "; a stream file's [speech] latency = \"low\" is never packed, [speech] pack_latency = \"off\" packs none\n"
            default:
                out += "speech latency: utterances are recognised as soon as Whisper is free, each alone (no packing)\n"
            }
        }
        out += "known modalities ([modalities] keys of a stream file):\n"
        for d in registry.descriptors {
            out += "  \(d.name)\(d.enabledByDefault ? " (on by default)" : ""): \(d.summary)\n"
        }
        guard printValues else { return out }
        out += "\n# ---- \(daemon.file ?? "defaults") (effective)\n" + daemon.rendered()
        for s in streams {
            out += "\n# ---- \(s.file ?? s.id) (effective)\n" + s.rendered(defaults: daemon.store.retention, registry: registry)
        }
        return out
    }
}
