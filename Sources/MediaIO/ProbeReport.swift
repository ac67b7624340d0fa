// What `sightline probe` prints: the container, its streams and (optionally) the window
// timeline, as text for people or as one JSON object for programs.
import Foundation

public struct ProbeReport: Sendable, Encodable {
    public struct Window: Sendable, Encodable, Equatable {
        public var start_ms: Int64
        public var end_ms: Int64
        public var frames: Int
        public var audio_samples: Int
    }
    public struct Stream: Sendable, Encodable {
        public var index: Int
        public var type: String
        public var codec: String
        public var width: Int?
        public var height: Int?
        public var frame_rate: Double?
        public var sample_rate: Int?
        public var channels: Int?
        public var duration_ms: Int64?
    }

    public var input: String
    public var format: String
    public var duration_ms: Int64?
    public var live: Bool
    public var streams: [Stream]
    public var windows: [Window]?
    public var stats: Stats?

    public struct Stats: Sendable, Encodable {
        public var packets: Int
        public var corrupt_packets: Int
        public var video_frames_decoded: Int
        public var discontinuities: Int
        public var ended_early: String?
    }

    public init(info: MediaInfo) {
        input = info.input
        format = info.format
        duration_ms = info.durationMs
        live = info.isLive
        streams = info.streams.map {
            Stream(index: $0.index, type: $0.kind.rawValue, codec: $0.codec, width: $0.width, height: $0.height,
                   frame_rate: $0.frameRate.map { ($0 * 1000).rounded() / 1000 }, sample_rate: $0.sampleRate,
                   channels: $0.channels, duration_ms: $0.durationMs)
        }
    }

    /// Decodes the whole input with `options` and records its window timeline. `progress`
    /// is called after each window (for a live input this runs until the stream ends).
    public static func withWindows(
        input: String, options: MediaOptions, progress: (MediaWindow) -> Void = { _ in }
    ) throws(MediaError) -> ProbeReport {
        let source = try MediaSource(input: input, options: options)
        var report = ProbeReport(info: source.info)
        var windows: [Window] = []
        while let w = try source.nextWindow() {
            windows.append(Window(start_ms: w.startMs, end_ms: w.endMs, frames: w.frames.count, audio_samples: w.audio.count))
            progress(w)
        }
        report.windows = windows
        let s = source.stats
        report.stats = Stats(packets: s.packetsRead, corrupt_packets: s.corruptPackets,
                             video_frames_decoded: s.videoFramesDecoded, discontinuities: s.discontinuities,
                             ended_early: s.endedEarly)
        return report
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    public func text() -> String {
        var lines: [String] = []
        lines.append("input:    \(input)")
        lines.append("format:   \(format)\(live ? " (live)" : "")")
        lines.append("duration: \(duration_ms.map(Self.clock) ?? "unknown")")
        for s in streams {
            var parts = ["#\(s.index) \(s.type) \(s.codec)"]
            if let w = s.width, let h = s.height { parts.append("\(w)x\(h)") }
            if let f = s.frame_rate { parts.append(String(format: "%.3g fps", f)) }
            if let r = s.sample_rate { parts.append("\(r) Hz") }
            if let c = s.channels { parts.append("\(c) ch") }
            lines.append("stream:   " + parts.joined(separator: ", "))
        }
        if let windows {
            lines.append("windows:  \(windows.count)")
            lines.append("  start         end           frames  audio_samples")
            for w in windows {
                lines.append("  " + Self.clock(w.start_ms).padding(toLength: 14, withPad: " ", startingAt: 0)
                    + Self.clock(w.end_ms).padding(toLength: 14, withPad: " ", startingAt: 0)
                    + String(w.frames).padding(toLength: 8, withPad: " ", startingAt: 0) + String(w.audio_samples))
            }
        }
        if let st = stats {
            lines.append("decoded:  \(st.packets) packets, \(st.video_frames_decoded) video frames, "
                + "\(st.corrupt_packets) corrupt, \(st.discontinuities) timestamp discontinuities")
            if let e = st.ended_early { lines.append("warning:  input ended early: \(e)") }
        }
        return lines.joined(separator: "\n")
    }

    /// 01:02:03.456 (or epoch ms as-is for live times, which are far beyond a day).
    static func clock(_ ms: Int64) -> String {
        if ms > 86_400_000 * 365 { return String(ms) }
        let h = ms / 3_600_000, m = ms / 60_000 % 60, s = ms / 1000 % 60, r = ms % 1000
        return String(format: "%02lld:%02lld:%02lld.%03lld", h, m, s, r)
    }
}
