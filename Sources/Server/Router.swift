// The HTTP API of DESIGN.md ("Socket API"), as a pure function from request to response
// over the store and the daemon's status. No NIO here: HTTPConnectionHandler feeds it.
//
//   GET    /v1/health                         ready, version, models, per-stream state
//   GET    /v1/streams                        configured streams with state, lag, errors, counters
//   POST   /v1/query                          {text, streams?, from?, to?, modalities?, limit?} → {moments}
//   GET    /v1/streams/{id}/timeline          ?from=&to=&limit= windows with evidence
//   GET    /v1/streams/{id}/transcript        ?from=&to=&format=json|srt|vtt
//   GET    /v1/events                         Server-Sent Events (?after=ID; ?format=json lists instead)
//   GET    /v1/subscriptions                  standing queries
//   POST   /v1/subscriptions                  {text, streams?, min_score?} → {id}
//   DELETE /v1/subscriptions/{id}
//   GET    /metrics                           Prometheus text format
// Times in query strings and bodies are Int64 milliseconds (epoch ms for live streams).
import Foundation
import Store

public struct Router: Sendable {
    public let store: Store
    public let status: any StatusSource
    /// How often an open event stream looks for new events in the store.
    public let eventPollInterval: Duration

    public init(store: Store, status: any StatusSource, eventPollInterval: Duration = .milliseconds(250)) {
        self.store = store
        self.status = status
        self.eventPollInterval = eventPollInterval
    }

    public func handle(_ request: APIRequest) async -> APIResponse {
        let segments = request.path.split(separator: "/").map(String.init)
        do {
            let m = request.method
            let s = segments
            if s == ["v1", "health"], m == "GET" { return health() }
            if s == ["v1", "streams"], m == "GET" { return .json(["streams": status.streamStatuses()]) }
            if s == ["v1", "query"], m == "POST" { return try query(request) }
            if s.count == 4, s[0] == "v1", s[1] == "streams", m == "GET" {
                if s[3] == "timeline" { return try timeline(s[2], request) }
                if s[3] == "transcript" { return try transcript(s[2], request) }
            }
            if s == ["v1", "events"], m == "GET" { return try events(request) }
            if s == ["v1", "subscriptions"], m == "GET" { return .json(["subscriptions": try store.subscriptions()]) }
            if s == ["v1", "subscriptions"], m == "POST" { return try addSubscription(request) }
            if s.count == 3, s[0] == "v1", s[1] == "subscriptions", m == "DELETE" {
                guard let n = Int64(s[2]) else { return .error(400, "subscription id '\(s[2])' is not an integer") }
                return try store.removeSubscription(id: n) ? .json(["deleted": n]) : .error(404, "no subscription with id \(n)")
            }
            if s == ["metrics"], m == "GET" {
                return .text(Metrics.render(status: status, store: store), contentType: "text/plain; version=0.0.4; charset=utf-8")
            }
            if Self.knownPath(s) {
                return .error(405, "method \(m) is not allowed on \(request.path)")
            }
            let known = ["/v1/health", "/v1/streams", "/v1/query", "/v1/streams/{id}/timeline",
                         "/v1/streams/{id}/transcript", "/v1/events", "/v1/subscriptions", "/metrics"]
            return .error(404, "no route for \(m) \(request.path); known paths: \(known.joined(separator: ", "))")
        } catch let e as APIError {
            return .error(e.status, e.message)
        } catch let e as StoreError {
            if case .emptyQuery = e { return .error(400, e.description) }
            return .error(500, e.description)
        } catch {
            return .error(500, "internal error: \(error)")
        }
    }

    static func knownPath(_ s: [String]) -> Bool {
        s == ["v1", "health"] || s == ["v1", "streams"] || s == ["v1", "query"] || s == ["v1", "events"]
            || s == ["v1", "subscriptions"] || s == ["metrics"]
            || (s.count == 4 && s[0] == "v1" && s[1] == "streams" && ["timeline", "transcript"].contains(s[3]))
            || (s.count == 3 && s[0] == "v1" && s[1] == "subscriptions")
    }

    // MARK: - Handlers

    struct Health: Encodable {
        var ready: Bool
        var version: String
        var models: [String]
        var streams: [String: String]
    }

    func health() -> APIResponse {
        let streams = Dictionary(status.streamStatuses().map { ($0.id, $0.state) }, uniquingKeysWith: { a, _ in a })
        let h = Health(ready: status.isReady, version: status.version, models: status.modelsLoaded, streams: streams)
        return .json(h, status: status.isReady ? 200 : 503)
    }

    struct QueryBody: Decodable {
        var text: String
        var streams: [String]?
        var from: Int64?
        var to: Int64?
        var modalities: [String]?
        var limit: Int?
    }

    func query(_ request: APIRequest) throws -> APIResponse {
        let body: QueryBody = try decodeBody(request, example: #"{"text": "delivery van", "limit": 10}"#)
        if let limit = body.limit, !(1...MomentQuery.maxLimit).contains(limit) {
            throw APIError(400, "limit \(limit) is outside 1...\(MomentQuery.maxLimit)")
        }
        if let f = body.from, let t = body.to, t <= f { throw APIError(400, "'to' (\(t)) must be after 'from' (\(f))") }
        let q = MomentQuery(text: body.text, streams: body.streams ?? [], fromMs: body.from, toMs: body.to,
                            modalities: body.modalities ?? [], limit: body.limit ?? 10)
        return .json(["moments": try store.moments(q)])
    }

    struct TimelineItem: Encodable {
        struct Item: Encodable {
            var modality: String
            var start_ms: Int64
            var end_ms: Int64
            var text: String?
            var confidence: Double?
            var value: Double?
        }
        var start_ms: Int64
        var end_ms: Int64
        var evidence: [Item]
    }

    func timeline(_ id: String, _ request: APIRequest) throws -> APIResponse {
        let (from, to) = try range(request)
        let limit = try intParam(request, "limit", default: 500, range: 1...10_000)
        let windows = try store.timeline(stream: id, fromMs: from, toMs: to, limit: limit)
        try requireKnownStream(id, hasData: !windows.isEmpty)
        let items = windows.map { w in
            TimelineItem(start_ms: w.startMs, end_ms: w.endMs, evidence: w.evidence.map {
                .init(modality: $0.modality.rawValue, start_ms: $0.startMs, end_ms: $0.endMs, text: $0.text,
                      confidence: $0.confidence, value: $0.value)
            })
        }
        return .json(["stream": AnyEncodable(id), "windows": AnyEncodable(items)])
    }

    struct Cue: Encodable {
        struct W: Encodable { var text: String; var start_ms: Int64; var end_ms: Int64 }
        var start_ms: Int64
        var end_ms: Int64
        var text: String
        var words: [W]
    }

    func transcript(_ id: String, _ request: APIRequest) throws -> APIResponse {
        let (from, to) = try range(request)
        let format = request.query["format"] ?? "json"
        let cues = try store.transcript(stream: id, fromMs: from, toMs: to)
        try requireKnownStream(id, hasData: !cues.isEmpty)
        // Subtitle times count from the start of the requested range (or of the first cue).
        let origin = from ?? cues.first?.startMs ?? 0
        switch format {
        case "json":
            return .json(["stream": AnyEncodable(id), "cues": AnyEncodable(cues.map {
                Cue(start_ms: $0.startMs, end_ms: $0.endMs, text: $0.text ?? "",
                    words: $0.words.map { .init(text: $0.text, start_ms: $0.startMs, end_ms: $0.endMs) })
            })])
        case "srt":
            return .text(TranscriptRenderer.srt(cues, originMs: origin), contentType: "application/x-subrip; charset=utf-8")
        case "vtt":
            return .text(TranscriptRenderer.vtt(cues, originMs: origin), contentType: "text/vtt; charset=utf-8")
        default:
            throw APIError(400, "format '\(format)' is not one of json, srt, vtt")
        }
    }

    func events(_ request: APIRequest) throws -> APIResponse {
        let afterParam = try intParam(request, "after", default: 0, range: 0...Int.max)
        let after = Int64(request.header("Last-Event-ID") ?? "") ?? Int64(afterParam)
        if request.query["format"] == "json" {
            let limit = try intParam(request, "limit", default: 100, range: 1...10_000)
            return .json(["events": try store.events(afterId: after, limit: limit)])
        }
        let store = self.store
        let interval = eventPollInterval
        let stream = AsyncStream<String> { continuation in
            let task = Task {
                var last = after
                // A comment line first, so clients see the stream is open before any event.
                continuation.yield(": sightline events\n\n")
                while !Task.isCancelled {
                    if let batch = try? store.events(afterId: last, limit: 500) {
                        for e in batch {
                            last = e.id ?? last
                            continuation.yield(SSE.format(e))
                        }
                    }
                    try? await Task.sleep(for: interval)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return APIResponse(status: 200, contentType: "text/event-stream", body: .eventStream(stream))
    }

    struct SubscriptionBody: Decodable {
        var text: String
        var streams: [String]?
        var min_score: Double?
    }

    func addSubscription(_ request: APIRequest) throws -> APIResponse {
        let body: SubscriptionBody = try decodeBody(request, example: #"{"text": "car in the driveway", "streams": ["drive"]}"#)
        guard !FTSQuery.tokens(body.text).isEmpty else { throw APIError(400, "subscription text '\(body.text)' has no word to match") }
        let id = try store.addSubscription(text: body.text, streams: body.streams ?? [], minScore: body.min_score ?? 0,
                                           nowMs: Int64(Date().timeIntervalSince1970 * 1000))
        return .json(["id": id], status: 201)
    }

    // MARK: - Parameters

    func decodeBody<T: Decodable>(_ request: APIRequest, example: String) throws -> T {
        guard !request.body.isEmpty else { throw APIError(400, "the request needs a JSON body, for example \(example)") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(request.body))
        } catch let DecodingError.keyNotFound(key, _) {
            throw APIError(400, "JSON body lacks the key '\(key.stringValue)'; for example \(example)")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw APIError(400, "JSON body has a wrong type at '\(ctx.codingPath.map(\.stringValue).joined(separator: "."))': \(ctx.debugDescription)")
        } catch {
            throw APIError(400, "malformed JSON body: \(Self.reason(error)); for example \(example)")
        }
    }

    static func reason(_ error: Error) -> String {
        if case let DecodingError.dataCorrupted(ctx) = error {
            return (ctx.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? ctx.debugDescription
        }
        return "\(error)"
    }

    func intParam(_ request: APIRequest, _ name: String, default d: Int, range: ClosedRange<Int>) throws -> Int {
        guard let s = request.query[name] else { return d }
        guard let v = Int(s), range.contains(v) else { throw APIError(400, "query parameter '\(name)=\(s)' must be an integer in \(range.lowerBound)...\(range.upperBound)") }
        return v
    }

    func range(_ request: APIRequest) throws -> (Int64?, Int64?) {
        func p(_ name: String) throws -> Int64? {
            guard let s = request.query[name] else { return nil }
            guard let v = Int64(s) else { throw APIError(400, "query parameter '\(name)=\(s)' must be milliseconds (an integer)") }
            return v
        }
        return (try p("from"), try p("to"))
    }

    func requireKnownStream(_ id: String, hasData: Bool) throws {
        if hasData || status.streamStatuses().contains(where: { $0.id == id }) { return }
        if (try? store.windowCount(stream: id)) ?? 0 > 0 { return }
        throw APIError(404, "no stream '\(id)': it is not configured and has nothing stored")
    }
}

/// An error that maps to an HTTP status with a message for the client.
struct APIError: Error {
    var status: Int
    var message: String
    init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// Type-erased Encodable for heterogeneous JSON objects.
struct AnyEncodable: Encodable {
    let encodeTo: (Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { encodeTo = value.encode(to:) }
    func encode(to encoder: Encoder) throws { try encodeTo(encoder) }
}

/// Server-Sent Events framing.
public enum SSE {
    public static func format(_ e: StoredEvent) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(e)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return "id: \(e.id ?? 0)\nevent: \(e.kind)\ndata: \(json)\n\n"
    }
}
