// Prometheus text exposition (format 0.0.4) of per-stream counters from the daemon plus
// store size. Written by hand: a handful of gauges and counters does not need a library.
import SightlineCore

public enum Metrics {
    /// The exposition text: the server's stream families, the store's size and the daemon's own lines.
    public static func render(status: any StatusSource, storeBytes: Int64) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(String, String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += "\(name)\(labels) \(value)\n" }
        }
        let streams = status.streamStatuses()
        func label(_ s: StreamStatus) -> String { "{stream=\"\(escape(s.id))\"}" }
        family("sightline_up", "gauge", "1 when the daemon is ready.", [("", status.isReady ? "1" : "0")])
        family("sightline_stream_up", "gauge", "1 when the stream is running.",
               streams.map { (label($0), $0.state == .running ? "1" : "0") })
        family("sightline_stream_lag_seconds", "gauge", "Wall clock minus the end of the last committed window.",
               streams.compactMap { s in s.lagMs.map { (label(s), String(Double($0) / 1000)) } })
        family("sightline_windows_processed_total", "counter", "Windows committed to the store.",
               streams.map { (label($0), String($0.windowsProcessed)) })
        family("sightline_windows_dropped_total", "counter", "Windows thinned because encoders fell behind.",
               streams.map { (label($0), String($0.windowsDropped)) })
        family("sightline_stream_reconnects_total", "counter", "Times the source was reopened after a failure.",
               streams.map { (label($0), String($0.reconnects)) })
        family("sightline_queue_depth", "gauge", "Windows waiting for the encoders.",
               streams.map { (label($0), String($0.queueDepth)) })
        family("sightline_store_bytes", "gauge", "Database size on disk (main file and WAL).",
               [("", String(storeBytes))])
        out += status.metricsText()
        return out
    }

    /// The API's connection pools (ConnectionSlots).
    public static func render(connections c: ConnectionSlots.Counts) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(String, Int)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += "\(name)\(labels) \(value)\n" }
        }
        family("sightline_api_connections", "gauge", "Open API connections by pool (ordinary requests, event followers).",
               [("{pool=\"ordinary\"}", c.ordinary), ("{pool=\"followers\"}", c.followers)])
        family("sightline_api_refused_total", "counter", "Connections refused (pool full or peer not allowed).", [("", c.refused)])
        family("sightline_event_followers_refused_total", "counter", "Event requests answered 503 (follower pool full).",
               [("", c.followersRefused)])
        family("sightline_event_followers_closed_total", "counter", "Followers closed for not reading.", [("", c.followersClosed)])
        family("sightline_event_followers_blocked", "gauge", "Followers whose client is not reading right now.",
               [("", c.followersBlocked)])
        family("sightline_event_queued_bytes", "gauge", "Event bytes waiting in the daemon for their followers.",
               [("", c.queuedEventBytes)])
        return out
    }

    /// `s` escaped for a label value (backslash, double quote and newline), the one escaper
    /// every metrics line of the process uses.
    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
