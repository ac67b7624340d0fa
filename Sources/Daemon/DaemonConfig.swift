// The daemon's own settings (Config/sightline.toml): paths, models, threads, store and
// retention defaults, socket and access, limits, watchdog. Every field has the default
// the shipped file documents; `load` rejects unknown keys and bad values by file and line.
import Foundation
import Modalities
import SightlineCore
import Store

public struct DaemonConfig: Sendable, Equatable {
    public struct Paths: Sendable, Equatable {
        /// Database and other state; systemd's StateDirectory.
        public var stateDir = "/var/lib/sightline"
        /// One `*.toml` file per stream; relative paths are resolved against the config file's folder.
        public var streamsDir = "/etc/sightline/streams"
        public var modelsDir = "/var/lib/sightline/models"
    }
    public struct Threads: Sendable, Equatable {
        /// Kernel pool workers; 0 = one per core.
        public var kernel = 0
        /// FFmpeg decoder threads per stream; 0 lets FFmpeg choose.
        public var decode = 1
    }
    public struct StoreSettings: Sendable, Equatable {
        /// Database file; relative to `paths.state_dir`.
        public var path = "sightline.sqlite"
        /// Default retention for streams that set none.
        public var retention = RetentionPolicy(maxAgeMs: 7 * 86_400_000, maxBytes: 10 << 30)
        /// How often the retention job runs.
        public var retentionIntervalMs: Int64 = 300_000
    }
    public struct Socket: Sendable, Equatable {
        public var path = "/run/sightline/sightline.sock"
        /// Permission bits of the socket file (octal string in the file).
        public var mode: UInt32 = 0o660
        /// Group owning the socket file; "" leaves it as created.
        public var group = "sightline"
    }
    public struct Access: Sendable, Equatable {
        /// Peers whose uid or primary gid is listed may connect; root and the daemon's own uid always may.
        public var allowedUids: [UInt32] = []
        public var allowedGids: [UInt32] = []
        /// Group names resolved to gids at start-up (e.g. "sightline").
        public var allowedGroups: [String] = ["sightline"]
    }
    public struct Limits: Sendable, Equatable {
        public var maxConnections = 64
        public var maxRequestBytes = 65_536
        public var requestTimeoutMs: Int64 = 10_000
        /// Server-Sent Events followers (`GET /v1/events`) open at once; they have their own
        /// slots, so they never take those of `max_connections`.
        public var maxEventFollowers = 16
        /// A follower whose client has not read its events for this long is closed.
        public var eventFollowerTimeoutMs: Int64 = 30_000
        /// Windows buffered between decoding and the encoders, per stream.
        public var queueWindows = 8
    }
    public struct Watchdog: Sendable, Equatable {
        /// A running stream that commits no window for this long counts as stalled, and the
        /// systemd heartbeat stops.
        public var stallTimeoutMs: Int64 = 120_000
    }

    /// `[speech]`: how live speech shares the recogniser.
    public struct Speech: Sendable, Equatable {
        /// How long an ended utterance may wait for other streams' utterances to share its
        /// 30 s Whisper window while Whisper is free; adds up to this much to speech latency.
        /// 0 (the default): none waits, and only utterances that end while Whisper is busy
        /// share a window, so packing happens only when speech falls behind. nil ("off"):
        /// every utterance is recognised alone, and a Whisper that falls behind stays behind
        /// (README, "Speech across streams": what packing changes).
        public var packLatencyMs: Int64? = 0
        /// "fp32", "bf16" or "auto" (bf16 only where the CPU has AVX-512 BF16).
        public var precision = "auto"
    }

    public struct Scheduler: Sendable, Equatable {
        /// While a live stream is this far behind the wall clock, the costly picture
        /// modalities of every stream analyse a window only at their `[vision] keep_alive`
        /// (ComputeScheduler); speech, motion and audio level always run.
        public var lagBudgetMs: Int64 = 5_000
    }

    public var paths = Paths()
    public var speech = Speech()
    /// The `[models]` table: every key the encoder registry declares, defaults filled in
    /// (`speech = "whisper-base"`, `vad = true`, ...).
    public var models: [String: ModelSettingValue]
    public var threads = Threads()
    public var store = StoreSettings()
    public var socket = Socket()
    public var access = Access()
    public var limits = Limits()
    public var watchdog = Watchdog()
    public var scheduler = Scheduler()
    /// The file this was loaded from, if any.
    public var file: String?

    /// The defaults, with the `[models]` keys of `registry`.
    public init(registry: EncoderRegistry = .standard) {
        models = EncoderSetup.defaults(modelsDirectory: "", registry: registry).models
    }

    /// What encoders need to load their models.
    public var encoderSetup: EncoderSetup {
        var setup = EncoderSetup(modelsDirectory: paths.modelsDir, models: models)
        setup.speechPackLatencyMs = speech.packLatencyMs.map { Int($0) }
        setup.speechPrecision = speech.precision
        return setup
    }

    static let packLatencyRange: ClosedRange<Int64> = 0...60_000
    static let speechPrecisions = ["fp32", "bf16", "auto"]

    /// The database path with `state_dir` applied.
    public var storePath: String {
        store.path.hasPrefix("/") ? store.path : (paths.stateDir as NSString).appendingPathComponent(store.path)
    }

    /// The streams folder with the config file's folder applied.
    public var streamsDirectory: String {
        if paths.streamsDir.hasPrefix("/") { return paths.streamsDir }
        let base = file.map { ($0 as NSString).deletingLastPathComponent } ?? FileManager.default.currentDirectoryPath
        return (base as NSString).appendingPathComponent(paths.streamsDir)
    }

    // MARK: - Allowed ranges (every value is range-checked here, so nothing downstream traps)

    /// Ids of [access]: a uid_t or gid_t, but not (uid_t)-1, which means "no id".
    public static let idRange = 0...Int(UInt32.max - 1)
    /// Ages for retention: one minute to a hundred years.
    public static let retentionAgeRange: ClosedRange<Int64> = 60_000...36_500 * 86_400_000
    /// Per-stream size budgets: 1 MiB to 1 PiB.
    public static let retentionSizeRange: ClosedRange<Int64> = (1 << 20)...(1 << 50)
    static let retentionIntervalRange: ClosedRange<Int64> = 1000...30 * 86_400_000
    static let requestSizeRange: ClosedRange<Int64> = 1024...(64 << 20)
    static let requestTimeoutRange: ClosedRange<Int64> = 100...3_600_000
    static let followerTimeoutRange: ClosedRange<Int64> = 100...86_400_000
    static let stallTimeoutRange: ClosedRange<Int64> = 1000...30 * 86_400_000
    static let lagBudgetRange: ClosedRange<Int64> = 500...3_600_000

    public static func load(file: String, registry: EncoderRegistry = .standard) throws -> DaemonConfig {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw ConfigError.unreadable(file: file, reason: "\(error.localizedDescription)")
        }
        return try parse(text, file: file, registry: registry)
    }

    public static func parse(_ text: String, file: String, registry: EncoderRegistry = .standard) throws -> DaemonConfig {
        let r = try TOMLReader(file: file, text: text)
        var c = DaemonConfig(registry: registry)
        c.file = file
        if let t = try r.table("paths") {
            c.paths.stateDir = try t.string("state_dir", default: c.paths.stateDir)
            c.paths.streamsDir = try t.string("streams_dir", default: c.paths.streamsDir)
            c.paths.modelsDir = try t.string("models_dir", default: c.paths.modelsDir)
            try t.finish()
        }
        if let t = try r.table("models") {
            for setting in registry.modelSettings {
                switch (setting.kind, setting.defaultValue) {
                case let (.choice(names), .name(fallback)):
                    let name = try t.string(setting.key, default: fallback)
                    guard names.contains(name) else {
                        throw t.bad(setting.key, "'\(name)' is not one of \(names.joined(separator: ", "))")
                    }
                    c.models[setting.key] = .name(name)
                case let (.choiceOrDirectory(names), .name(fallback)):
                    let name = try t.string(setting.key, default: fallback)
                    guard names.contains(name) || name.contains("/") else {
                        throw t.bad(setting.key, "'\(name)' is neither one of \(names.joined(separator: ", ")) nor a model directory path (one with a '/')")
                    }
                    c.models[setting.key] = .name(name)
                case let (_, .flag(fallback)):
                    c.models[setting.key] = .flag(try t.bool(setting.key, default: fallback))
                case (.flag, .name), (.choice, .flag):
                    preconditionFailure("model setting '\(setting.key)' has a default of the wrong kind")
                }
            }
            try t.finish()
        }
        if let t = try r.table("threads") {
            c.threads.kernel = try t.int("kernel", default: c.threads.kernel, range: 0...256)
            c.threads.decode = try t.int("decode", default: c.threads.decode, range: 0...64)
            try t.finish()
        }
        if let t = try r.table("store") {
            c.store.path = try t.string("path", default: c.store.path)
            c.store.retention.maxAgeMs = try t.duration("retention_max_age", default: c.store.retention.maxAgeMs,
                                                        range: retentionAgeRange, allowOff: true)
            c.store.retention.maxBytes = try t.bytes("retention_max_size", default: c.store.retention.maxBytes,
                                                     range: retentionSizeRange, allowOff: true)
            c.store.retentionIntervalMs = try t.duration("retention_interval", default: c.store.retentionIntervalMs,
                                                         range: retentionIntervalRange)!
            try t.finish()
        }
        if let t = try r.table("socket") {
            c.socket.path = try t.string("path", default: c.socket.path)
            let mode = try t.string("mode", default: String(c.socket.mode, radix: 8))
            guard let m = UInt32(mode, radix: 8), m <= 0o777 else {
                throw t.bad("mode", "'\(mode)' is not an octal permission such as \"0660\"")
            }
            c.socket.mode = m
            c.socket.group = try t.string("group", default: c.socket.group)
            try t.finish()
        }
        if let t = try r.table("access") {
            c.access.allowedUids = try t.intArray("allowed_uids", range: idRange).map { UInt32($0) }
            c.access.allowedGids = try t.intArray("allowed_gids", range: idRange).map { UInt32($0) }
            if let groups = try t.stringArray("allowed_groups") { c.access.allowedGroups = groups }
            try t.finish()
        }
        if let t = try r.table("limits") {
            c.limits.maxConnections = try t.int("max_connections", default: c.limits.maxConnections, range: 1...10_000)
            c.limits.maxRequestBytes = Int(try t.bytes("max_request_size", default: Int64(c.limits.maxRequestBytes),
                                                       range: requestSizeRange)!)
            c.limits.requestTimeoutMs = try t.duration("request_timeout", default: c.limits.requestTimeoutMs, range: requestTimeoutRange)!
            c.limits.maxEventFollowers = try t.int("max_event_followers", default: c.limits.maxEventFollowers, range: 1...10_000)
            c.limits.eventFollowerTimeoutMs = try t.duration("event_follower_timeout", default: c.limits.eventFollowerTimeoutMs,
                                                             range: followerTimeoutRange)!
            c.limits.queueWindows = try t.int("queue_windows", default: c.limits.queueWindows, range: 1...1024)
            try t.finish()
        }
        if let t = try r.table("speech") {
            c.speech.packLatencyMs = try t.durationOrOff("pack_latency", default: c.speech.packLatencyMs, range: packLatencyRange)
            let precision = try t.string("precision", default: c.speech.precision)
            guard speechPrecisions.contains(precision) else {
                throw t.bad("precision", "'\(precision)' is not one of \(speechPrecisions.joined(separator: ", "))")
            }
            c.speech.precision = precision
            try t.finish()
        }
        if let t = try r.table("watchdog") {
            c.watchdog.stallTimeoutMs = try t.duration("stall_timeout", default: c.watchdog.stallTimeoutMs, range: stallTimeoutRange)!
            try t.finish()
        }
        if let t = try r.table("scheduler") {
            c.scheduler.lagBudgetMs = try t.duration("lag_budget", default: c.scheduler.lagBudgetMs, range: lagBudgetRange)!
            try t.finish()
        }
        try r.finish()
        return c
    }

    /// The effective settings as TOML, defaults included (`sightline config check --print`).
    public func rendered() -> String {
        func q(_ s: String) -> String { "\"\(s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"" }
        return """
        [paths]
        state_dir = \(q(paths.stateDir))
        streams_dir = \(q(paths.streamsDir))
        models_dir = \(q(paths.modelsDir))

        [models]
        \(models.keys.sorted().map { "\($0) = \(models[$0]!)" }.joined(separator: "\n"))

        [threads]
        kernel = \(threads.kernel)
        decode = \(threads.decode)

        [store]
        path = \(q(store.path))
        retention_max_age = \(q(Units.formatDuration(store.retention.maxAgeMs)))
        retention_max_size = \(q(Units.formatBytes(store.retention.maxBytes)))
        retention_interval = \(q(Units.formatDuration(store.retentionIntervalMs)))

        [socket]
        path = \(q(socket.path))
        mode = \(q("0" + String(socket.mode, radix: 8)))
        group = \(q(socket.group))

        [access]
        allowed_uids = [\(access.allowedUids.map(String.init).joined(separator: ", "))]
        allowed_gids = [\(access.allowedGids.map(String.init).joined(separator: ", "))]
        allowed_groups = [\(access.allowedGroups.map(q).joined(separator: ", "))]

        [limits]
        max_connections = \(limits.maxConnections)
        max_request_size = \(q(Units.formatBytes(Int64(limits.maxRequestBytes))))
        request_timeout = \(q(Units.formatDuration(limits.requestTimeoutMs)))
        max_event_followers = \(limits.maxEventFollowers)
        event_follower_timeout = \(q(Units.formatDuration(limits.eventFollowerTimeoutMs)))
        queue_windows = \(limits.queueWindows)

        [speech]
        pack_latency = \(q(speech.packLatencyMs.map(Units.formatDuration) ?? "off"))
        precision = \(q(speech.precision))

        [watchdog]
        stall_timeout = \(q(Units.formatDuration(watchdog.stallTimeoutMs)))

        [scheduler]
        lag_budget = \(q(Units.formatDuration(scheduler.lagBudgetMs)))

        """
    }
}
