// Events: what the daemon announces on /v1/events (Server-Sent Events) and keeps in the
// store: a stream changing state, a standing query matching a window. The payload is a
// typed value per kind, encoded as a nested JSON object, so clients decode the server's own
// types instead of parsing JSON inside a JSON string.
import Foundation

/// The kinds of event, as they appear in the SSE `event:` field and the store.
public enum EventKind: String, Sendable, Equatable, Codable, CaseIterable {
    /// A stream's pipeline changed state (`StreamStateChange`).
    case streamState = "stream_state"
    /// A standing query matched a committed window (`QueryMatch`). Written by earlier versions
    /// (one per matching window); still read from stores that hold them.
    case match
    /// A standing query's occurrence began: enough recent windows scored above its threshold
    /// (`Occurrence`). Exactly one per occurrence.
    case occurrenceStart = "occurrence_start"
    /// That occurrence ended: enough windows in a row scored below (`Occurrence`). Exactly one
    /// per occurrence, after its start.
    case occurrenceEnd = "occurrence_end"
}

/// A stream entered `state`; `error` says why when the state is a failure or a reconnect.
public struct StreamStateChange: Sendable, Equatable, Codable {
    /// The state entered.
    public var state: StreamState
    /// The source's error, for `reconnecting` and `failed`.
    public var error: String?
    /// A change to `state`, with the error that caused it if any.
    public init(state: StreamState, error: String? = nil) {
        self.state = state
        self.error = error
    }
}

/// A standing query that matched a window: which query, where, how well, and the text behind it.
public struct QueryMatch: Sendable, Equatable, Codable {
    /// The standing query's text.
    public var query: String
    /// The stream whose window matched.
    public var stream: String
    /// The matching window's span.
    public var startMs: Int64
    public var endMs: Int64
    /// The match's relevance score (higher is better).
    public var score: Double
    /// The evidence text that matched.
    public var evidence: [String]

    /// A match of `query` over [startMs, endMs) of `stream`.
    public init(query: String, stream: String, startMs: Int64, endMs: Int64, score: Double, evidence: [String]) {
        self.query = query
        self.stream = stream
        self.startMs = startMs
        self.endMs = endMs
        self.score = score
        self.evidence = evidence
    }

    enum CodingKeys: String, CodingKey {
        case query, stream, score, evidence
        case startMs = "start_ms", endMs = "end_ms"
    }
}

/// A JPEG picture of an occurrence's key frame, carried in the event.
public struct KeyFrame: Sendable, Equatable, Codable {
    /// Always "image/jpeg".
    public var mime: String
    public var width: Int
    public var height: Int
    /// When the frame was shown (ms on the stream's timeline).
    public var atMs: Int64
    /// The JPEG file, base64 (RFC 4648, no line breaks).
    public var base64: String

    /// A key frame of `width` × `height` pixels shown at `atMs`, as base64 JPEG bytes.
    public init(width: Int, height: Int, atMs: Int64, base64: String, mime: String = "image/jpeg") {
        self.mime = mime
        self.width = width
        self.height = height
        self.atMs = atMs
        self.base64 = base64
    }

    enum CodingKeys: String, CodingKey {
        case mime, width, height, base64
        case atMs = "at_ms"
    }
}

/// One occurrence of a standing query on a stream: the run of windows where it held. The
/// `occurrence_start` event carries it as known when it began (`endMs` the end of the window
/// that confirmed it), the `occurrence_end` event as it ended (`endMs` the end of its last
/// window above the threshold).
public struct Occurrence: Sendable, Equatable, Codable {
    /// The standing query's text.
    public var query: String
    /// The stream it occurred on.
    public var stream: String
    /// The span: from the start of its first window above the threshold.
    public var startMs: Int64
    public var endMs: Int64
    /// The best window score so far, and the threshold windows had to pass when it began.
    public var score: Double
    public var threshold: Double
    /// How many windows scored above the threshold so far.
    public var windows: Int
    /// The evidence text of its best window.
    public var evidence: [String]
    /// The key frame, on `occurrence_start` when the query asks for one (`key_frame`).
    public var keyFrame: KeyFrame?

    /// An occurrence of `query` on `stream` over [startMs, endMs).
    public init(query: String, stream: String, startMs: Int64, endMs: Int64, score: Double, threshold: Double,
                windows: Int, evidence: [String], keyFrame: KeyFrame? = nil)
    {
        self.query = query
        self.stream = stream
        self.startMs = startMs
        self.endMs = endMs
        self.score = score
        self.threshold = threshold
        self.windows = windows
        self.evidence = evidence
        self.keyFrame = keyFrame
    }

    enum CodingKeys: String, CodingKey {
        case query, stream, score, threshold, windows, evidence
        case startMs = "start_ms", endMs = "end_ms", keyFrame = "key_frame"
    }
}

/// An event's details, one typed value per kind.
public enum EventPayload: Sendable, Equatable {
    case streamState(StreamStateChange)
    case match(QueryMatch)
    case occurrenceStart(Occurrence)
    case occurrenceEnd(Occurrence)

    /// The kind this payload belongs to.
    public var kind: EventKind {
        switch self {
        case .streamState: return .streamState
        case .match: return .match
        case .occurrenceStart: return .occurrenceStart
        case .occurrenceEnd: return .occurrenceEnd
        }
    }
}

/// One event as stored and streamed.
public struct Event: Sendable, Equatable, Codable {
    /// Store-assigned, increasing; nil before it is stored. SSE clients resume after it.
    public var id: Int64?
    /// The stream it concerns, if any.
    public var streamId: String?
    /// When it happened (wall-clock epoch ms).
    public var atMs: Int64
    /// The API subscription whose standing query matched, for `match` events from one.
    public var subscriptionId: Int64?
    /// What happened.
    public var payload: EventPayload

    /// The event's kind, from its payload.
    public var kind: EventKind { payload.kind }

    /// An event with `payload` at `atMs`.
    public init(id: Int64? = nil, streamId: String?, atMs: Int64, subscriptionId: Int64? = nil, payload: EventPayload) {
        self.id = id
        self.streamId = streamId
        self.atMs = atMs
        self.subscriptionId = subscriptionId
        self.payload = payload
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, payload
        case streamId = "stream", atMs = "at_ms", subscriptionId = "subscription_id"
    }

    /// Decodes `{"id", "kind", "stream", "at_ms", "subscription_id", "payload": {...}}`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(Int64.self, forKey: .id)
        streamId = try c.decodeIfPresent(String.self, forKey: .streamId)
        atMs = try c.decode(Int64.self, forKey: .atMs)
        subscriptionId = try c.decodeIfPresent(Int64.self, forKey: .subscriptionId)
        switch try c.decode(EventKind.self, forKey: .kind) {
        case .streamState: payload = .streamState(try c.decode(StreamStateChange.self, forKey: .payload))
        case .match: payload = .match(try c.decode(QueryMatch.self, forKey: .payload))
        case .occurrenceStart: payload = .occurrenceStart(try c.decode(Occurrence.self, forKey: .payload))
        case .occurrenceEnd: payload = .occurrenceEnd(try c.decode(Occurrence.self, forKey: .payload))
        }
    }

    /// Encodes the kind beside the payload, so a client can pick the payload's type first.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(id, forKey: .id)
        try c.encodeIfPresent(streamId, forKey: .streamId)
        try c.encode(atMs, forKey: .atMs)
        try c.encodeIfPresent(subscriptionId, forKey: .subscriptionId)
        try c.encode(kind, forKey: .kind)
        switch payload {
        case let .streamState(p): try c.encode(p, forKey: .payload)
        case let .match(p): try c.encode(p, forKey: .payload)
        case let .occurrenceStart(p), let .occurrenceEnd(p): try c.encode(p, forKey: .payload)
        }
    }
}

/// The JSON form of payloads where they are kept apart from the event (the store's
/// `payload` column), one encoder configuration for every writer.
public enum EventCoding {
    /// `payload` as a JSON object with sorted keys.
    public static func encodePayload(_ payload: EventPayload) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        switch payload {
        case let .streamState(p): data = try encoder.encode(p)
        case let .match(p): data = try encoder.encode(p)
        case let .occurrenceStart(p), let .occurrenceEnd(p): data = try encoder.encode(p)
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The payload of an event of `kind` from its JSON object.
    public static func decodePayload(kind: EventKind, json: String) throws -> EventPayload {
        let data = Data(json.utf8)
        switch kind {
        case .streamState: return .streamState(try JSONDecoder().decode(StreamStateChange.self, from: data))
        case .match: return .match(try JSONDecoder().decode(QueryMatch.self, from: data))
        case .occurrenceStart: return .occurrenceStart(try JSONDecoder().decode(Occurrence.self, from: data))
        case .occurrenceEnd: return .occurrenceEnd(try JSONDecoder().decode(Occurrence.self, from: data))
        }
    }

    /// `event` as one line of JSON, the form SSE `data:` lines and `?format=json` carry.
    public static func encode(_ event: Event) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(event), as: UTF8.self)
    }
}
