// The request and response values the router works with, independent of NIO.
import Foundation

public struct APIRequest: Sendable {
    public var method: String
    /// Path without the query string, e.g. "/v1/streams/demo/transcript".
    public var path: String
    public var query: [String: String]
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var peer: PeerCredentials?

    public init(method: String, uri: String, headers: [(String, String)] = [], body: [UInt8] = [], peer: PeerCredentials? = nil) {
        self.method = method
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.path = String(parts.first ?? "")
        var q: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(kv[0]).removingPercentEncoding ?? String(kv[0])
                let value = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[1])) : ""
                q[key] = value
            }
        }
        self.query = q
        self.headers = headers
        self.body = body
        self.peer = peer
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

public struct APIResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Server-Sent Events: each element is one complete event ("id: ..\ndata: ..\n\n").
        /// The connection takes the next element only when the client has read the previous
        /// ones, so the stream should produce on demand (`AsyncStream(unfolding:)`).
        case eventStream(AsyncStream<String>)
    }
    public var status: Int
    public var contentType: String
    public var body: Body
    /// Extra response headers (name, value), besides Content-Type, Content-Length and Connection.
    public var headers: [(String, String)] = []

    public init(status: Int, contentType: String, body: Body, headers: [(String, String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    public static func json<T: Encodable>(_ value: T, status: Int = 200) -> APIResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return APIResponse(status: status, contentType: "application/json", body: .bytes(Array(data) + [0x0A]))
    }

    public static func text(_ text: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8") -> APIResponse {
        APIResponse(status: status, contentType: contentType, body: .bytes(Array(text.utf8)))
    }

    /// A 4xx/5xx with a JSON body `{"error": {"status", "message"}}`.
    public static func error(_ status: Int, _ message: String) -> APIResponse {
        struct Payload: Encodable { var error: Inner }
        struct Inner: Encodable { var status: Int; var message: String }
        return json(Payload(error: Inner(status: status, message: message)), status: status)
    }
}
