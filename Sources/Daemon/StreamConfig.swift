// One stream's settings (Streams/<id>.toml): source, sampling, windowing, modalities,
// live-input timeouts, retention and standing queries. Parsed strictly like DaemonConfig.
import Foundation
import MediaIO
import Modalities
import Retrieval
import SightlineCore
import Store

public struct StreamConfig: Sendable, Equatable {
    public enum SamplingMode: String, Sendable, Equatable, CaseIterable { case fps, keyframes, everyFrame = "every_frame" }

    public var id: String
    /// File path, rtsp://, http(s)://, HLS .m3u8, or /dev/videoN.
    public var source: String
    public var enabled = true
    /// Files only: pace reading at media speed (like a camera) and start over at the end.
    public var realtime = false
    public var loop = false
    /// `pace`: how a file is read. `realtime` is `realtime = true`; `fast` reads it once at
    /// full CPU speed, the decoder ahead of the encoders (what `sightline ask` and FileIndex
    /// do), and cannot be combined with `realtime = true` or `loop = true`.
    public enum Pace: String, Sendable, Equatable, CaseIterable { case realtime, fast }
    public var pace: Pace {
        get { realtime ? .realtime : .fast }
        set { realtime = newValue == .realtime }
    }
    /// Whether the source is a network source or a capture device (live, never read ahead).
    public var isNetworkOrDevice: Bool { source.contains("://") || source.hasPrefix("/dev/") }
    /// Whether the source is a local file read once at full speed (not paced, not looped, not
    /// a network source or a device, which `pace` also calls fast): its audio can be read ahead.
    public var readsFileOnce: Bool { !realtime && !loop && !isNetworkOrDevice }
    public var samplingMode = SamplingMode.fps
    public var fps = 1.0
    /// 0 keeps the source size.
    public var width = 0
    public var height = 0
    public var windowMs: Int64 = 2000
    /// The encoders turned on in `[modalities]`, by registry name, in registry order.
    public var encoders: [String]
    /// `[vision] gate`: when the picture modalities analyse a sampled frame.
    public enum VisionGate: String, Sendable, Equatable, CaseIterable {
        /// Only when the picture moved against its background, and every `keep_alive` anyway.
        case motion
        /// Every frame their rate allows.
        case always
        /// `motion` for live sources and realtime replays (where two cores are shared by
        /// cameras), `always` for files read as fast as possible (where every frame is wanted).
        case auto
    }
    public var visionGate = VisionGate.auto
    /// `[vision] keep_alive`: with the motion gate, a frame is analysed at least this often.
    public var visionKeepAliveMs: Int64 = 10_000
    /// Whether the picture modalities run behind a motion gate on this stream.
    public var gatesVision: Bool {
        switch visionGate {
        case .motion: true
        case .always: false
        case .auto: realtime || isNetworkOrDevice
        }
    }
    /// `[rates]`: at most this many frames a second for a picture modality, by registry name,
    /// overriding the modality's own rate (people 1, faces 1, labels 0.5, ocr 0.5).
    public var frameRates: [String: Double] = [:]
    /// `[speech] latency = "low"`: this stream's utterances are recognised alone, as soon as
    /// Whisper is free, never packed into a Whisper window with other streams' (`[speech]
    /// pack_latency` of the daemon); "normal" (the default) lets them be packed.
    public var speechLowLatency = false
    public var connectTimeoutMs: Int64 = 10_000
    public var readTimeoutMs: Int64 = 10_000
    public var rtspTransport = MediaOptions.RTSPTransport.tcp
    /// nil fields fall back to the daemon's `[store]` retention.
    public var retention = RetentionPolicy(maxAgeMs: nil, maxBytes: nil)
    public var queries: [StandingQuery] = []
    public var file: String?

    /// A stream reading `source`, with the registry's default modalities.
    public init(id: String, source: String, registry: EncoderRegistry = .standard) {
        self.id = id
        self.source = source
        encoders = registry.descriptors.filter(\.enabledByDefault).map(\.name)
    }

    /// Connect and read timeouts of live inputs: FFmpeg takes them in microseconds.
    static let liveTimeoutRange: ClosedRange<Int64> = 100...3_600_000

    /// Stream ids appear in URLs and file names: letters, digits, '-', '_' and '.'.
    static func validId(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64 && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    public static func load(file: String, registry: EncoderRegistry = .standard) throws -> StreamConfig {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw ConfigError.unreadable(file: file, reason: "\(error.localizedDescription)")
        }
        return try parse(text, file: file, registry: registry)
    }

    public static func parse(_ text: String, file: String, registry: EncoderRegistry = .standard) throws -> StreamConfig {
        let r = try TOMLReader(file: file, text: text)
        guard let id = try r.optionalString("id") else { throw ConfigError.missingKey(file: file, key: "id") }
        guard validId(id) else { throw r.bad("id", "'\(id)' must be 1-64 ASCII letters, digits, '-', '_' or '.'") }
        guard let source = try r.optionalString("source"), !source.isEmpty else {
            throw ConfigError.missingKey(file: file, key: "source")
        }
        var c = StreamConfig(id: id, source: resolve(source, relativeTo: file), registry: registry)
        c.file = file
        c.enabled = try r.bool("enabled", default: c.enabled)
        c.realtime = try r.bool("realtime", default: c.realtime)
        c.loop = try r.bool("loop", default: c.loop)
        if let text = try r.optionalString("pace") {
            guard let pace = Pace(rawValue: text) else {
                throw r.bad("pace", "'\(text)' is not one of \(Pace.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if pace == .fast, c.realtime || c.loop {
                throw r.bad("pace", "\"fast\" reads the file once at full speed; remove realtime = true and loop = true, or the pace")
            }
            c.pace = pace
        }
        if let t = try r.table("sampling") {
            let mode = try t.string("mode", default: c.samplingMode.rawValue)
            guard let m = SamplingMode(rawValue: mode) else {
                throw t.bad("mode", "'\(mode)' is not one of \(SamplingMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.samplingMode = m
            c.fps = try t.double("fps", default: c.fps, range: 0.01...120)
            c.width = try t.int("width", default: c.width, range: 0...7680)
            c.height = try t.int("height", default: c.height, range: 0...4320)
            guard (c.width == 0) == (c.height == 0) else { throw t.bad("width", "set both width and height, or neither") }
            c.windowMs = try t.duration("window", default: c.windowMs, range: 250...60_000)!
            try t.finish()
        }
        if let t = try r.table("modalities") {
            var on: [String] = []
            for d in registry.descriptors {
                if try t.bool(d.name, default: d.enabledByDefault) { on.append(d.name) }
            }
            c.encoders = on
            try t.finish()
        }
        if let t = try r.table("vision") {
            let gate = try t.string("gate", default: c.visionGate.rawValue)
            guard let g = VisionGate(rawValue: gate) else {
                throw t.bad("gate", "'\(gate)' is not one of \(VisionGate.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.visionGate = g
            c.visionKeepAliveMs = try t.duration("keep_alive", default: c.visionKeepAliveMs, range: 100...3_600_000)!
            try t.finish()
        }
        if let t = try r.table("rates") {
            for d in registry.descriptors where d.input.video != nil {
                // Off is said in [modalities]; a rate is above 0.
                c.frameRates[d.name] = try t.optionalDouble(d.name, range: 0.01...120)
            }
            try t.finish()
        }
        if let t = try r.table("speech") {
            let latency = try t.string("latency", default: c.speechLowLatency ? "low" : "normal")
            guard latency == "low" || latency == "normal" else { throw t.bad("latency", "'\(latency)' is not low or normal") }
            c.speechLowLatency = latency == "low"
            try t.finish()
        }
        if let t = try r.table("live") {
            c.connectTimeoutMs = try t.duration("connect_timeout", default: c.connectTimeoutMs, range: liveTimeoutRange)!
            c.readTimeoutMs = try t.duration("read_timeout", default: c.readTimeoutMs, range: liveTimeoutRange)!
            let transport = try t.string("rtsp_transport", default: c.rtspTransport.rawValue)
            guard let tr = MediaOptions.RTSPTransport(rawValue: transport) else {
                throw t.bad("rtsp_transport", "'\(transport)' is not tcp or udp")
            }
            c.rtspTransport = tr
            try t.finish()
        }
        if let t = try r.table("retention") {
            c.retention.maxAgeMs = try t.duration("max_age", default: nil, range: DaemonConfig.retentionAgeRange, allowOff: true)
            c.retention.maxBytes = try t.bytes("max_size", default: nil, range: DaemonConfig.retentionSizeRange, allowOff: true)
            try t.finish()
        }
        for q in try r.tableArray("queries") {
            guard let text = try q.optionalString("text"), !FTSQuery.tokens(text).isEmpty else {
                throw ConfigError.missingKey(file: file, key: q.path + ".text")
            }
            let d = OccurrenceOptions()
            let hits = OccurrenceOptions.hitsRange
            let enterHits = try q.int("enter_hits", default: d.enterHits, range: hits)
            let occurrence = OccurrenceOptions(
                enterHits: enterHits,
                enterWindows: try q.int("enter_windows", default: max(d.enterWindows, enterHits), range: enterHits...hits.upperBound),
                leaveMisses: try q.int("leave_misses", default: d.leaveMisses, range: hits),
                spread: try q.double("spread", default: d.spread, range: OccurrenceOptions.spreadRange),
                historyWindows: try q.int("history_windows", default: d.historyWindows, range: OccurrenceOptions.historyRange),
                keyFrame: try q.bool("key_frame", default: d.keyFrame))
            c.queries.append(StandingQuery(text: text, minScore: try q.double("min_score", default: 0, range: 0...1000),
                                           occurrence: occurrence))
            try q.finish()
        }
        try r.finish()
        return c
    }

    /// A relative file path is taken relative to the stream file's folder, so a stream
    /// folder can ship with its clips; URLs and absolute paths are kept.
    static func resolve(_ source: String, relativeTo file: String) -> String {
        if source.contains("://") || source.hasPrefix("/") { return source }
        let dir = (file as NSString).deletingLastPathComponent
        return ((dir.isEmpty ? "." : dir) as NSString).appendingPathComponent(source)
    }

    /// Media options for MediaIO, from this stream's settings: video and audio are decoded
    /// only when an enabled encoder reads them.
    public func mediaOptions(decodeThreads: Int, registry: EncoderRegistry = .standard) -> MediaOptions {
        let inputs = encoders.compactMap { registry.descriptor(named: $0)?.input }
        return mediaOptions(decodeThreads: decodeThreads, inputs: inputs)
    }

    /// Media options for encoders reading `inputs`.
    public func mediaOptions(decodeThreads: Int, inputs: [EncoderInput]) -> MediaOptions {
        var o = MediaOptions()
        switch samplingMode {
        case .fps: o.sampling = .fps(fps)
        case .keyframes: o.sampling = .keyframesOnly
        case .everyFrame: o.sampling = .everyFrame
        }
        if width > 0 { o.frameSize = FrameSize(width: width, height: height) }
        o.windowMs = windowMs
        o.decodeVideo = inputs.contains { $0.video != nil }
        o.decodeAudio = inputs.contains { $0.audio }
        o.decodeThreads = decodeThreads
        o.connectTimeoutMs = connectTimeoutMs
        o.readTimeoutMs = readTimeoutMs
        o.rtspTransport = rtspTransport
        return o
    }

    public func rendered(defaults: RetentionPolicy, registry: EncoderRegistry = .standard) -> String {
        func q(_ s: String) -> String { "\"\(s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"" }
        var out = """
        id = \(q(id))
        source = \(q(Credentials.redact(source)))
        enabled = \(enabled)
        realtime = \(realtime)
        loop = \(loop)

        [sampling]
        mode = \(q(samplingMode.rawValue))
        fps = \(fps)
        width = \(width)
        height = \(height)
        window = \(q(Units.formatDuration(windowMs)))

        [modalities]
        \(registry.names.map { "\($0) = \(encoders.contains($0))" }.joined(separator: "\n"))

        [vision]
        gate = \(q(visionGate.rawValue))
        keep_alive = \(q(Units.formatDuration(visionKeepAliveMs)))

        [rates]
        \(registry.descriptors.compactMap { d in d.input.video.map { "\(d.name) = \(frameRates[d.name] ?? $0.maxFps ?? fps)" } }.joined(separator: "\n"))

        [speech]
        latency = \(q(speechLowLatency ? "low" : "normal"))

        [live]
        connect_timeout = \(q(Units.formatDuration(connectTimeoutMs)))
        read_timeout = \(q(Units.formatDuration(readTimeoutMs)))
        rtsp_transport = \(q(rtspTransport.rawValue))

        [retention]
        max_age = \(q(Units.formatDuration(retention.maxAgeMs ?? defaults.maxAgeMs)))
        max_size = \(q(Units.formatBytes(retention.maxBytes ?? defaults.maxBytes)))

        """
        for query in queries {
            let o = query.occurrence
            out += "\n[[queries]]\ntext = \(q(query.text))\nmin_score = \(query.minScore)\n"
            out += "enter_hits = \(o.enterHits)\nenter_windows = \(o.enterWindows)\nleave_misses = \(o.leaveMisses)\n"
            out += "spread = \(o.spread)\nhistory_windows = \(o.historyWindows)\nkey_frame = \(o.keyFrame)\n"
        }
        return out
    }
}
