// The HTTP API of docs/ARCHITECTURE.md ("Socket API"), as a function from request to
// response over the daemon's memory (Retrieval's `Memory`) and status. No NIO here:
// HTTPConnectionHandler feeds it. Every route is one row of `routes`, which also answers
// 405 and 404 with the list of known paths.
//
//   GET    /v1/health                         ready, version, models, per-stream state
//   GET    /v1/streams                        configured streams with state, lag, errors, counters
//   POST   /v1/query                          {text, streams?, from?, to?, modalities?, limit?} → {moments}
//   GET    /v1/streams/{id}/timeline          ?from=&to=&limit= windows with evidence
//   GET    /v1/streams/{id}/transcript        ?from=&to=&format=json|srt|vtt&limit= (segments, at most
//                                             maxTranscriptSegments; a cut answer says so, see transcript())
//   GET    /v1/events                         Server-Sent Events (?after=ID; ?format=json lists instead)
//   GET    /v1/subscriptions                  standing queries
//   POST   /v1/subscriptions                  {text, streams?, min_score?, enter_hits?, enter_windows?,
//                                              leave_misses?, spread?, history_windows?, key_frame?} → {id}
//   DELETE /v1/subscriptions/{id}
//   GET    /metrics                           Prometheus text format
// Times in query strings and bodies are Int64 milliseconds (epoch ms for live streams).
import Foundation
import Retrieval
import SightlineCore

public struct Router: Sendable {
    public let memory: any Memory
    public let status: any StatusSource
    /// How often an open event stream looks for new events in the store.
    public let eventPollInterval: Duration
    /// Most speech segments one transcript answer carries (the `limit` parameter's upper
    /// bound and default); longer ranges are cut and the answer says where to go on.
    public let maxTranscriptSegments: Int
    public static let defaultMaxTranscriptSegments = 10_000
    /// The server's connection pools, for /metrics (set by APIServer).
    var connections: ConnectionSlots?

    public init(memory: any Memory, status: any StatusSource, eventPollInterval: Duration = .milliseconds(250),
                maxTranscriptSegments: Int = Router.defaultMaxTranscriptSegments)
    {
        self.memory = memory
        self.status = status
        self.eventPollInterval = eventPollInterval
        self.maxTranscriptSegments = max(1, maxTranscriptSegments)
    }

    /// One endpoint: a method and a path pattern whose `{id}` segments are captured.
    struct Route: Sendable {
        var method: String
        var pattern: String
        var handle: @Sendable (Router, APIRequest, [String]) async throws -> APIResponse

        /// The captured `{…}` segments when `segments` fits the pattern, else nil.
        func captures(_ segments: [String]) -> [String]? {
            let parts = pattern.split(separator: "/").map(String.init)
            guard parts.count == segments.count else { return nil }
            var out: [String] = []
            for (p, s) in zip(parts, segments) {
                if p.hasPrefix("{") { out.append(s) } else if p != s { return nil }
            }
            return out
        }
    }

    static let routes: [Route] = [
        Route(method: "GET", pattern: "/v1/health") { r, _, _ in r.health() },
        Route(method: "GET", pattern: "/v1/streams") { r, _, _ in .json(["streams": r.status.streamStatuses()]) },
        Route(method: "POST", pattern: "/v1/query") { r, q, _ in try await r.query(q) },
        Route(method: "GET", pattern: "/v1/streams/{id}/timeline") { r, q, c in try await r.timeline(c[0], q) },
        Route(method: "GET", pattern: "/v1/streams/{id}/transcript") { r, q, c in try await r.transcript(c[0], q) },
        Route(method: "GET", pattern: "/v1/events") { r, q, _ in try await r.events(q) },
        Route(method: "GET", pattern: "/v1/subscriptions") { r, _, _ in .json(["subscriptions": try await r.memory.subscriptions()]) },
        Route(method: "POST", pattern: "/v1/subscriptions") { r, q, _ in try await r.addSubscription(q) },
        Route(method: "DELETE", pattern: "/v1/subscriptions/{id}") { r, _, c in try await r.removeSubscription(c[0]) },
        Route(method: "GET", pattern: "/metrics") { r, _, _ in
            .text(Metrics.render(status: r.status, storeBytes: await r.memory.diskBytes())
                      + (r.connections.map { Metrics.render(connections: $0.snapshot) } ?? ""),
                  contentType: "text/plain; version=0.0.4; charset=utf-8")
        },
    ]

    public func handle(_ request: APIRequest) async -> APIResponse {
        let segments = request.path.split(separator: "/").map(String.init)
        do {
            var pathKnown = false
            for route in Self.routes {
                guard let captures = route.captures(segments) else { continue }
                pathKnown = true
                if route.method == request.method { return try await route.handle(self, request, captures) }
            }
            if pathKnown { return .error(405, "method \(request.method) is not allowed on \(request.path)") }
            var known: [String] = []
            for r in Self.routes where !known.contains(r.pattern) { known.append(r.pattern) }
            return .error(404, "no route for \(request.method) \(request.path); known paths: \(known.joined(separator: ", "))")
        } catch let e as APIError {
            return .error(e.status, e.message)
        } catch let e as QueryError {
            return .error(400, e.description)
        } catch {
            return .error(500, "internal error: \(Credentials.redact("\(error)"))")
        }
    }

    // MARK: - Handlers

    func health() -> APIResponse {
        let streams = Dictionary(status.streamStatuses().map { ($0.id, $0.state) }, uniquingKeysWith: { a, _ in a })
        let h = HealthReport(ready: status.isReady, version: status.version, models: status.modelsLoaded, streams: streams)
        return .json(h, status: status.isReady ? 200 : 503)
    }

    struct QueryBody: Decodable {
        var text: String
        var streams: [String]?
        var from: Int64?
        var to: Int64?
        var modalities: [Modality]?
        var limit: Int?
    }

    func query(_ request: APIRequest) async throws -> APIResponse {
        let body: QueryBody = try decodeBody(request, example: #"{"text": "delivery van", "limit": 10}"#)
        if let limit = body.limit, !(1...MomentQuery.maxLimit).contains(limit) {
            throw APIError(400, "limit \(limit) is outside 1...\(MomentQuery.maxLimit)")
        }
        try Self.checkTime("from", body.from)
        try Self.checkTime("to", body.to)
        if let f = body.from, let t = body.to, t <= f { throw APIError(400, "'to' (\(t)) must be after 'from' (\(f))") }
        let words = Set(MomentQuery.words(in: body.text)).count
        if words > MomentQuery.maxWords {
            throw APIError(400, "the query has \(words) distinct words; at most \(MomentQuery.maxWords) are searched at once")
        }
        let q = MomentQuery(text: body.text, streams: body.streams ?? [], fromMs: body.from, toMs: body.to,
                            modalities: body.modalities ?? [], limit: body.limit ?? 10)
        return .json(["moments": try await memory.moments(q)])
    }

    struct TimelineItem: Encodable {
        struct Item: Encodable {
            var modality: Modality
            var start_ms: Int64
            var end_ms: Int64
            var text: String?
            var confidence: Double?
            var value: Double?
            /// [x0, y0, x1, y1] in fractions of the frame, for what was seen somewhere in the picture.
            var box: Region?
        }
        var start_ms: Int64
        var end_ms: Int64
        var evidence: [Item]
    }

    func timeline(_ id: String, _ request: APIRequest) async throws -> APIResponse {
        let (from, to) = try range(request)
        let limit = try intParam(request, "limit", default: 500, range: 1...10_000)
        let windows = try await memory.timeline(stream: id, fromMs: from, toMs: to, limit: limit)
        try await requireKnownStream(id, hasData: !windows.isEmpty)
        let items = windows.map { w in
            TimelineItem(start_ms: w.startMs, end_ms: w.endMs, evidence: w.evidence.map {
                .init(modality: $0.modality, start_ms: $0.startMs, end_ms: $0.endMs, text: $0.text,
                      confidence: $0.confidence, value: $0.value, box: $0.region)
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

    /// Speech of one stream as JSON cues, SRT or WebVTT. At most `limit` segments (default and
    /// maximum `maxTranscriptSegments`); when the range holds more, the answer is cut after
    /// `limit` and says so: header `X-Sightline-Truncated: segments=N; next_from=MS` in every
    /// format, plus `"truncated": true, "next_from": MS` in JSON and a closing NOTE in WebVTT.
    /// `from=MS` continues (segments overlapping that instant may repeat).
    func transcript(_ id: String, _ request: APIRequest) async throws -> APIResponse {
        let (from, to) = try range(request)
        let format = request.query["format"] ?? "json"
        guard ["json", "srt", "vtt"].contains(format) else { throw APIError(400, "format '\(format)' is not one of json, srt, vtt") }
        let limit = try intParam(request, "limit", default: maxTranscriptSegments, range: 1...maxTranscriptSegments)
        var cues = try await memory.transcript(stream: id, fromMs: from, toMs: to, limit: limit + 1)
        try await requireKnownStream(id, hasData: !cues.isEmpty)
        var nextFrom: Int64?
        if cues.count > limit {
            nextFrom = cues[limit].startMs
            cues.removeLast(cues.count - limit)
        }
        let headers = nextFrom.map { [("X-Sightline-Truncated", "segments=\(limit); next_from=\($0)")] } ?? []
        // Subtitle times count from the start of the requested range (or of the first cue).
        let origin = from ?? cues.first?.startMs ?? 0
        var response: APIResponse
        switch format {
        case "json":
            var body: [String: AnyEncodable] = ["stream": AnyEncodable(id), "truncated": AnyEncodable(nextFrom != nil), "cues": AnyEncodable(cues.map {
                Cue(start_ms: $0.startMs, end_ms: $0.endMs, text: $0.text ?? "",
                    words: $0.words.map { .init(text: $0.word, start_ms: $0.startMs, end_ms: $0.endMs) })
            })]
            if let nextFrom { body["next_from"] = AnyEncodable(nextFrom) }
            response = .json(body)
        case "srt":
            response = .text(TranscriptRenderer.srt(cues, originMs: origin), contentType: "application/x-subrip; charset=utf-8")
        default:
            var text = TranscriptRenderer.vtt(cues, originMs: origin)
            if let nextFrom {
                text += "NOTE cut after \(limit) segments (the limit of one answer); continue with from=\(nextFrom)\n\n"
            }
            response = .text(text, contentType: "text/vtt; charset=utf-8")
        }
        response.headers = headers
        return response
    }

    func events(_ request: APIRequest) async throws -> APIResponse {
        let afterParam = try intParam(request, "after", default: 0, range: 0...Int.max)
        let after = Int64(request.header("Last-Event-ID") ?? "") ?? Int64(afterParam)
        if request.query["format"] == "json" {
            let limit = try intParam(request, "limit", default: 100, range: 1...10_000)
            return .json(["events": try await memory.events(afterId: after, limit: limit)])
        }
        // Produced on demand: the connection asks for the next event only when its client
        // has read the previous ones, so a client that stops reading costs nothing here.
        let feed = EventFeed(memory: memory, after: after, interval: eventPollInterval)
        let stream = AsyncStream<String>(unfolding: { await feed.next() })
        return APIResponse(status: 200, contentType: "text/event-stream", body: .eventStream(stream))
    }

    struct SubscriptionBody: Decodable {
        var text: String
        var streams: [String]?
        var min_score: Double?
        /// enter_hits, enter_windows, leave_misses, spread, history_windows, key_frame beside the others.
        var occurrence: OccurrenceOptions

        enum CodingKeys: String, CodingKey { case text, streams, min_score }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            text = try c.decode(String.self, forKey: .text)
            streams = try c.decodeIfPresent([String].self, forKey: .streams)
            min_score = try c.decodeIfPresent(Double.self, forKey: .min_score)
            occurrence = try OccurrenceOptions(from: decoder)
        }
    }

    func addSubscription(_ request: APIRequest) async throws -> APIResponse {
        let body: SubscriptionBody = try decodeBody(request, example: #"{"text": "car in the driveway", "streams": ["drive"]}"#)
        guard !MomentQuery.words(in: body.text).isEmpty else { throw APIError(400, "subscription text '\(body.text)' has no word to match") }
        if let problem = body.occurrence.validationError { throw APIError(400, "subscription: \(problem)") }
        let id = try await memory.addSubscription(text: body.text, streams: body.streams ?? [], minScore: body.min_score ?? 0,
                                                  occurrence: body.occurrence, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
        return .json(["id": id], status: 201)
    }

    func removeSubscription(_ idText: String) async throws -> APIResponse {
        guard let n = Int64(idText) else { return .error(400, "subscription id '\(idText)' is not an integer") }
        return try await memory.removeSubscription(id: n) ? .json(["deleted": n]) : .error(404, "no subscription with id \(n)")
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

    /// Rejects a time outside `MomentQuery.validTimes`, naming the parameter.
    static func checkTime(_ name: String, _ value: Int64?) throws {
        guard let value, !MomentQuery.validTimes.contains(value) else { return }
        throw APIError(400, "'\(name)' (\(value)) is outside the times a query may name "
            + "(\(MomentQuery.validTimes.lowerBound)...\(MomentQuery.validTimes.upperBound) ms)")
    }

    func range(_ request: APIRequest) throws -> (Int64?, Int64?) {
        func p(_ name: String) throws -> Int64? {
            guard let s = request.query[name] else { return nil }
            guard let v = Int64(s) else { throw APIError(400, "query parameter '\(name)=\(s)' must be milliseconds (an integer)") }
            try Self.checkTime(name, v)
            return v
        }
        return (try p("from"), try p("to"))
    }

    func requireKnownStream(_ id: String, hasData: Bool) async throws {
        if hasData || status.streamStatuses().contains(where: { $0.id == id }) { return }
        if (try? await memory.windowCount(stream: id)) ?? 0 > 0 { return }
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

/// One follower's events, fetched from the store a batch at a time as they are asked for.
actor EventFeed {
    let memory: any Memory
    let interval: Duration
    private var last: Int64
    /// Events read from the store and not yet taken; starts with a comment line, so clients
    /// see the stream is open before any event.
    private var pending: [String] = [": sightline events\n\n"]
    static let batch = 100

    init(memory: any Memory, after: Int64, interval: Duration) {
        self.memory = memory
        self.last = after
        self.interval = interval
    }

    /// The next SSE record; waits (polling every `interval`) until there is one; nil when cancelled.
    func next() async -> String? {
        while pending.isEmpty {
            if Task.isCancelled { return nil }
            let batch = (try? await memory.events(afterId: last, limit: Self.batch)) ?? []
            if batch.isEmpty {
                do { try await Task.sleep(for: interval) } catch { return nil }
                continue
            }
            for e in batch { last = max(last, e.id ?? last) }
            pending = batch.map(SSE.format)
        }
        return pending.removeFirst()
    }
}

/// Server-Sent Events framing.
public enum SSE {
    /// One event as an SSE record: `id:`, `event:` (the kind) and one `data:` line of JSON.
    public static func format(_ e: Event) -> String {
        let json = (try? EventCoding.encode(e)) ?? "{}"
        return "id: \(e.id ?? 0)\nevent: \(e.kind.rawValue)\ndata: \(json)\n\n"
    }
}
