// The client side of the API for the CLI commands (status, streams, query, transcript,
// events): builds requests, turns non-2xx replies into errors that carry the server's
// message, and formats replies as text for people or passes the JSON through. Replies are
// decoded into the server's own types (`StreamStatus`, `Moment`, `Event`, `HealthReport`).
import Foundation
import SightlineCore

public struct APIClient: Sendable {
    public let http: UnixHTTPClient

    public init(socketPath: String, timeoutMs: Int = 30_000) {
        http = UnixHTTPClient(socketPath: socketPath, timeoutMs: timeoutMs)
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var status: Int
        public var message: String
        public var description: String { "the daemon answered \(status): \(message)" }
    }

    /// Performs a request; non-2xx becomes `Failure` with the server's error message.
    public func call(_ method: String, _ path: String, json body: [String: Any]? = nil) throws -> HTTPReply {
        let bytes = try body.map { Array(try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys])) }
        let reply = try http.request(method, path, body: bytes)
        guard (200..<300).contains(reply.status) else {
            let obj = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
            let message = (obj?["error"] as? [String: Any])?["message"] as? String ?? reply.text
            throw Failure(status: reply.status, message: message)
        }
        return reply
    }

    /// The reply's JSON body as `T`.
    func decode<T: Decodable>(_ type: T.Type, _ reply: HTTPReply) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(reply.body))
        } catch {
            throw ClientError.badResponse(path: http.socketPath, reason: "the reply is not the expected JSON (\(error))")
        }
    }

    struct StreamList: Decodable { var streams: [StreamStatus] }
    struct MomentList: Decodable { var moments: [Moment] }
    struct EventList: Decodable { var events: [Event] }

    // MARK: - Commands

    public func status(json: Bool) throws -> String {
        let health: HTTPReply
        do { health = try call("GET", "/v1/health") } catch let f as Failure where f.status == 503 {
            return json ? f.message : "not ready: \(f.message)"
        }
        if json { return health.text }
        let h = try decode(HealthReport.self, health)
        var out = "ready: \(h.ready)   version: \(h.version)\n"
        out += "models: \(h.models.isEmpty ? "(none)" : h.models.joined(separator: ", "))\n"
        out += try streams(json: false)
        return out
    }

    public func streams(json: Bool) throws -> String {
        let reply = try call("GET", "/v1/streams")
        if json { return reply.text }
        let list = try decode(StreamList.self, reply).streams
        if list.isEmpty { return "no streams configured\n" }
        var out = pad(["STREAM", "STATE", "WINDOWS", "DROPPED", "RECONNECTS", "LAG", "MOST BEHIND", "LAST ERROR"])
        func seconds(_ ms: Int64) -> String { String(format: "%.1fs", Double(ms) / 1000) }
        for s in list {
            let lag = s.lagMs.map(seconds) ?? "-"
            // The modality furthest behind (a picture modality thinned under load lags the stream).
            let behind = s.modalityLagMs?.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }
                .map { "\($0.key) \(seconds($0.value))" } ?? "-"
            out += pad([s.id, s.state.rawValue, "\(s.windowsProcessed)", "\(s.windowsDropped)", "\(s.reconnects)", lag, behind,
                        s.lastError ?? ""])
        }
        return out
    }

    public func query(text: String, streams: [String], fromMs: Int64?, toMs: Int64?, limit: Int, json: Bool) throws -> String {
        var body: [String: Any] = ["text": text, "limit": limit]
        if !streams.isEmpty { body["streams"] = streams }
        if let fromMs { body["from"] = fromMs }
        if let toMs { body["to"] = toMs }
        let reply = try call("POST", "/v1/query", json: body)
        if json { return reply.text }
        let moments = try decode(MomentList.self, reply).moments
        if moments.isEmpty { return "no moments match '\(text)'\n" }
        var out = ""
        for m in moments {
            out += String(format: "%@  %@ – %@  score %.3g\n", m.stream, Self.time(m.startMs), Self.time(m.endMs), m.score)
            for e in m.evidence {
                let box = e.region.map { r in String(format: "  box %.2f,%.2f–%.2f,%.2f", r.x0, r.y0, r.x1, r.y1) } ?? ""
                out += "    [\(e.modality)] \(e.text)\(box)\n"
            }
        }
        return out
    }

    public func transcript(stream: String, fromMs: Int64?, toMs: Int64?, format: String) throws -> String {
        var path = "/v1/streams/\(stream.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? stream)/transcript?format=\(format)"
        if let fromMs { path += "&from=\(fromMs)" }
        if let toMs { path += "&to=\(toMs)" }
        return try call("GET", path).text
    }

    /// Past events (and, with `follow`, new ones as they happen), one line each.
    public func events(follow: Bool, json: Bool, output: (String) -> Bool) throws {
        if !follow {
            let reply = try call("GET", "/v1/events?format=json&limit=1000")
            if json { _ = output(reply.text); return }
            for e in try decode(EventList.self, reply).events { _ = output(Self.eventLine(e)) }
            return
        }
        var pending = ""
        let status = try http.stream("/v1/events") { text in
            pending += text
            while let range = pending.range(of: "\n\n") {
                let block = String(pending[..<range.lowerBound])
                pending.removeSubrange(..<range.upperBound)
                guard let data = block.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }) else { continue }
                let payload = String(data.dropFirst(6))
                if json {
                    if !output(payload) { return false }
                } else if let e = try? JSONDecoder().decode(Event.self, from: Data(payload.utf8)) {
                    if !output(Self.eventLine(e)) { return false }
                }
            }
            return true
        }
        if !(200..<300).contains(status) { throw Failure(status: status, message: "event stream refused") }
    }

    /// One event as a line for people: time, stream, kind and what happened.
    static func eventLine(_ e: Event) -> String {
        let what: String
        switch e.payload {
        case let .streamState(c): what = c.state.rawValue + (c.error.map { ": " + $0 } ?? "")
        case let .match(m):
            what = String(format: "'%@' matched %@ – %@ (score %.3g): %@", m.query, time(m.startMs), time(m.endMs), m.score,
                          m.evidence.joined(separator: " | "))
        case let .occurrenceStart(o):
            what = String(format: "'%@' began at %@ (score %.3g over %.3g): %@", o.query, time(o.startMs), o.score, o.threshold,
                          o.evidence.joined(separator: " | ")) + (o.keyFrame == nil ? "" : " [key frame]")
        case let .occurrenceEnd(o):
            what = String(format: "'%@' ended: %@ – %@, %d windows (best %.3g)", o.query, time(o.startMs), time(o.endMs),
                          o.windows, o.score)
        }
        return "\(time(e.atMs))  \(e.streamId ?? "-")  \(e.kind.rawValue)  \(what)"
    }

    /// Epoch ms as ISO 8601 UTC; small values (media time of files) as seconds.
    static func time(_ ms: Int64) -> String {
        if ms < 1_000_000_000_000 { return String(format: "%.1fs", Double(ms) / 1000) }
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    func pad(_ cols: [String]) -> String {
        let widths = [16, 13, 8, 8, 11, 8, 0]
        return zip(cols, widths).map { c, w in w == 0 ? c : c.padding(toLength: max(w, c.count + 1), withPad: " ", startingAt: 0) }
            .joined() + "\n"
    }
}

/// Turns the CLI's time options into epoch-ms bounds: `--since 2h` (relative to now), or
/// `--from`/`--to` as epoch milliseconds or ISO 8601 ("2026-11-29T10:00:00Z").
public enum TimeRange {
    public static func resolve(since: String?, from: String?, to: String?, nowMs: Int64) throws -> (Int64?, Int64?) {
        if let since {
            guard let d = parseDuration(since) else { throw RangeError("--since '\(since)' is not a duration such as 90s, 15m, 2h, 1d") }
            return (nowMs - d, nil)
        }
        return (try from.map { try point($0, "--from") }, try to.map { try point($0, "--to") })
    }

    static func parseDuration(_ s: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (u, scale) in units where s.hasSuffix(u) {
            if let v = Double(s.dropLast(u.count)), v >= 0 { return Int64(v * Double(scale)) }
        }
        return nil
    }

    static func point(_ s: String, _ name: String) throws -> Int64 {
        if let ms = Int64(s) { return ms }
        if let d = ISO8601DateFormatter().date(from: s) { return Int64(d.timeIntervalSince1970 * 1000) }
        throw RangeError("\(name) '\(s)' is neither epoch milliseconds nor ISO 8601 (2026-11-29T10:00:00Z)")
    }

    public struct RangeError: Error, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }
}
