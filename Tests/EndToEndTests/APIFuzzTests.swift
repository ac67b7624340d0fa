// API fuzzing against one real `sightline serve` with live streams ingesting: at least
// 10,000 malformed and hostile requests, seeded and reproducible case by case (case i is
// made from seed ^ i whatever thread sends it): mutated JSON bodies for every route,
// extreme and negative numbers, wrong types, huge and deeply nested bodies, invalid
// UTF-8, bad paths, query strings, methods and headers, broken framing (chunked, content
// lengths), half-sent requests (closed early or left hanging past the request timeout)
// and bursts of connections beyond the connection limit, with event followers that
// never read held open throughout. Every request must end in an HTTP answer or a close
// within a deadline (no hangs), no answer may be a 500, and afterwards the daemon still
// runs, answers /v1/health and every stream is still ingesting.
import Foundation
import Server
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A value shared by threads, behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&value) }
}

/// A raw client: writes any bytes to the daemon's socket and reads what comes back.
enum RawSocket {
    enum Outcome: Equatable {
        case status(Int)
        /// The server closed without an answer (it may, for bytes that are not HTTP).
        case closed
        /// Nothing within the deadline: a hang.
        case timedOut
        case cannotConnect(String)
    }

    static func connect(_ path: String, timeoutMs: Int) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if ok != 0 { close(fd); return nil }
        return fd
    }

    /// Writes every piece (pausing `gapMs` between them), optionally half-closes, then reads
    /// until the status line and headers are in (for an event stream), EOF or the deadline.
    static func exchange(_ path: String, pieces: [[UInt8]], gapMs: Int = 0, halfClose: Bool, deadlineMs: Int) -> Outcome {
        guard let fd = connect(path, timeoutMs: deadlineMs) else { return .cannotConnect(String(cString: strerror(errno))) }
        defer { close(fd) }
        for (i, piece) in pieces.enumerated() {
            if i > 0, gapMs > 0 { usleep(UInt32(gapMs * 1000)) }
            var sent = 0
            while sent < piece.count {
                let n = piece.withUnsafeBytes { send(fd, $0.baseAddress! + sent, piece.count - sent, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break } // the server may answer (413) and close while we still write
                sent += n
            }
        }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16_384)
        let started = Date()
        while true {
            let n = read(fd, &buf, buf.count)
            if n > 0 {
                data += buf[0..<n]
                if let s = status(data), let text = String(bytes: data.prefix(4096), encoding: .isoLatin1),
                   text.contains("\r\n\r\n"), text.lowercased().contains("text/event-stream") { return .status(s) }
                continue
            }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                if Date().timeIntervalSince(started) * 1000 >= Double(deadlineMs) { return status(data).map(Outcome.status) ?? .timedOut }
                continue
            }
            break // EOF or reset
        }
        return status(data).map(Outcome.status) ?? .closed
    }

    static func status(_ data: [UInt8]) -> Int? {
        guard data.count >= 12, data.starts(with: Array("HTTP/1.".utf8)) else { return nil }
        return Int(String(decoding: data[9..<12], as: UTF8.self))
    }
}

/// One generated hostile request: bytes (maybe in pieces) and how to end it.
struct HostileRequest {
    var kind: String
    var pieces: [[UInt8]]
    var gapMs = 0
    /// Shut down the sending side after the bytes: for input that is not a whole request,
    /// so the server sees its end at once instead of waiting for the request timeout. (A
    /// whole request is not half-closed: the server closes on EOF before it can answer.)
    var halfClose = false
}

enum HostileRequests {
    static let routes = ["/v1/health", "/v1/streams", "/v1/query", "/v1/streams/cam/timeline", "/v1/streams/cam/transcript",
                         "/v1/events", "/v1/subscriptions", "/v1/subscriptions/1", "/metrics"]
    static let ids = ["cam", "live", "broken", "nope", "", ".", "..", "%2e%2e", "%00", "a%2Fb", "\u{1F4F7}", "' OR 1=1 --",
                      String(repeating: "x", count: 3000), "%ZZ", "cam/..", "cam%20", "-1", "9999999999999999999999"]
    static let numbers = ["0", "-1", "1", "-9223372036854775808", "9223372036854775807", "9223372036854775808",
                          "-9223372036854775800", "1e308", "-1e308", "1.5", "1e-320", "NaN", "Infinity", "0x10", "00012",
                          "99999999999999999999999999999", "-0", "1000000000000000", "-1000000000000001"]
    static let words = ["motion", "car", "person", "face", "hello", "\"", "*", "OR", "AND", "NOT", "NEAR(a b)", "(", ")", "^", "-",
                        "é", "日本語", "\u{0}", "\u{202E}", "a*b", "\\", "'", "{}", "col:val", "\u{FEFF}"]

    static func jsonString(_ m: inout Mutator) -> String {
        switch m.int(0..<5) {
        case 0: return "\"" + (0..<m.int(0...12)).map { _ in m.pick(words) }.joined(separator: " ").replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case 1: return "\"" + String(repeating: "word ", count: m.int(1...3000)) + "\""
        case 2: return "\"" + (0..<m.int(1...200)).map { "w\($0)" }.joined(separator: " ") + "\""
        case 3: return "\"\\ud800\\udfff\\u0000\\uffff\""
        default: return "\"\""
        }
    }

    /// A JSON value of any type, sometimes the wrong one.
    static func jsonValue(_ m: inout Mutator, depth: Int = 0) -> String {
        switch m.int(0..<(depth > 2 ? 4 : 7)) {
        case 0: return m.pick(numbers)
        case 1: return jsonString(&m)
        case 2: return m.pick(["true", "false", "null"])
        case 3: return m.pick(["[]", "{}", "[null]", "[\"cam\"]", "[\"speech\",\"motion\",\"nope\"]"])
        case 4: return "[" + (0..<m.int(0...4)).map { _ in jsonValue(&m, depth: depth + 1) }.joined(separator: ",") + "]"
        case 5: return "{\"a\":" + jsonValue(&m, depth: depth + 1) + "}"
        default: return m.pick(numbers)
        }
    }

    static func queryBody(_ m: inout Mutator) -> String {
        var fields: [String] = []
        if m.chance(0.9) { fields.append("\"text\":" + (m.chance(0.8) ? jsonString(&m) : jsonValue(&m))) }
        for key in ["streams", "from", "to", "modalities", "limit", "min_score", "extra"] where m.chance(0.4) {
            let value: String
            switch key {
            case "from", "to", "limit", "min_score": value = m.chance(0.7) ? m.pick(numbers) : jsonValue(&m)
            case "streams": value = m.chance(0.6) ? "[\"" + m.pick(ids).replacingOccurrences(of: "\"", with: "") + "\"]" : jsonValue(&m)
            case "modalities": value = m.chance(0.6) ? m.pick(["[\"speech\"]", "[\"motion\",\"person\"]", "[\"x\"]", "[1]"]) : jsonValue(&m)
            default: value = jsonValue(&m)
            }
            fields.append("\"\(key)\":\(value)")
        }
        if m.chance(0.1) { fields.append(fields.first ?? "\"text\":\"a\"") } // a duplicate key
        return "{" + fields.shuffled(using: &m.rng).joined(separator: ",") + "}"
    }

    static func queryString(_ m: inout Mutator) -> String {
        var parts: [String] = []
        for key in ["from", "to", "limit", "format", "after", "since"] where m.chance(0.4) {
            let value = key == "format" ? m.pick(["json", "srt", "vtt", "xml", "", "JSON", "%00", "vtt%0d%0a"]) : m.pick(numbers)
            parts.append("\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value)")
        }
        if m.chance(0.1) { parts.append(m.pick(["=", "&&&", "from", "from=1&from=2", "%", "a=%FF%FE", String(repeating: "x=1&", count: 500)])) }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }

    static func request(_ method: String, _ target: String, headers: [String] = [], body: [UInt8]? = nil) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: x\r\n"
        for h in headers { head += h + "\r\n" }
        if let body, !headers.contains(where: { $0.lowercased().hasPrefix("content-length") || $0.lowercased().hasPrefix("transfer-encoding") }) {
            head += "Content-Length: \(body.count)\r\n"
        }
        return Array((head + "\r\n").utf8) + (body ?? [])
    }

    /// Case `i` of the run: made from its own generator, so it is the same whichever thread sends it.
    static func make(_ i: Int, seed: UInt64) -> HostileRequest {
        var m = Mutator(seed: seed ^ UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
        let json = ["Content-Type: application/json"]
        switch m.int(0..<100) {
        case 0..<22:
            let body = Array(queryBody(&m).utf8)
            let mutated = m.chance(0.3) ? m.mutate(body).bytes : body
            return HostileRequest(kind: "query json", pieces: [request("POST", "/v1/query", headers: json, body: mutated)])
        case 22..<30:
            let body = "{\"text\":" + (m.chance(0.8) ? jsonString(&m) : jsonValue(&m))
                + (m.chance(0.5) ? ",\"streams\":" + jsonValue(&m) : "") + (m.chance(0.5) ? ",\"min_score\":" + m.pick(numbers) : "") + "}"
            return HostileRequest(kind: "subscription json", pieces: [request("POST", "/v1/subscriptions", headers: json, body: Array(body.utf8))])
        case 30..<46:
            let id = m.pick(ids)
            let route = m.pick(["/v1/streams/\(id)/timeline", "/v1/streams/\(id)/transcript", "/v1/events", "/v1/streams/\(id)",
                                "/v1/subscriptions/\(id)", "/v1/streams/\(id)/timeline/extra"])
            let method = route.hasPrefix("/v1/subscriptions/") ? m.pick(["DELETE", "GET"]) : "GET"
            var q = queryString(&m)
            if route == "/v1/events", !q.contains("format=json") { q += (q.isEmpty ? "?" : "&") + "format=json" }
            return HostileRequest(kind: "params", pieces: [request(method, route + q)])
        case 46..<52:
            // Nested far deeper than any parser should recurse, inside the size limit.
            let depth = m.pick([100, 600, 5_000, 30_000])
            let open = m.pick(["[", "{\"text\":", "{\"a\":["])
            let body = String(repeating: open, count: depth)
            return HostileRequest(kind: "nested \(depth)", pieces: [request("POST", m.pick(["/v1/query", "/v1/subscriptions"]), headers: json, body: Array(body.utf8))])
        case 52..<56:
            // Larger than max_request_size, announced or not.
            let size = m.pick([70_000, 200_000, 1_000_000])
            let body = Array(repeating: UInt8(ascii: "a"), count: size)
            let chunked = m.chance(0.5)
            let headers = chunked ? ["Transfer-Encoding: chunked"] : json
            let payload = chunked ? Array("\(String(size, radix: 16))\r\n".utf8) + body + Array("\r\n0\r\n\r\n".utf8) : body
            return HostileRequest(kind: "huge body", pieces: [request("POST", "/v1/query", headers: headers, body: payload)])
        case 56..<62:
            // Invalid UTF-8 in the body, the path or a header.
            let bad: [UInt8] = m.pick([[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x00], [0xE2, 0x82]])
            switch m.int(0..<3) {
            case 0: return HostileRequest(kind: "utf8 body", pieces: [request("POST", "/v1/query", headers: json, body: Array("{\"text\":\"".utf8) + bad + Array("\"}".utf8))])
            case 1: return HostileRequest(kind: "utf8 path", pieces: [Array("GET /v1/streams/".utf8) + bad + Array("/timeline HTTP/1.1\r\nHost: x\r\n\r\n".utf8)])
            default: return HostileRequest(kind: "utf8 header", pieces: [Array("GET /v1/health HTTP/1.1\r\nHost: ".utf8) + bad + Array("\r\nX-A: ".utf8) + bad + Array("\r\n\r\n".utf8)])
            }
        case 62..<74:
            // Broken HTTP: request lines, versions, headers, framing.
            let cases: [[UInt8]] = [
                Array("GET\r\n\r\n".utf8), Array("GET /v1/health\r\n\r\n".utf8), Array("GET /v1/health HTTP/9.9\r\n\r\n".utf8),
                Array("get /v1/health HTTP/1.1\r\nHost: x\r\n\r\n".utf8), Array("BREW /v1/health HTTP/1.1\r\n\r\n".utf8),
                Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8), Array("GET http://evil/v1/health HTTP/1.1\r\n\r\n".utf8),
                Array("GET * HTTP/1.1\r\n\r\n".utf8), Array("GET /v1/health HTTP/1.1\r\nNoColon\r\n\r\n".utf8),
                Array("GET /v1/health HTTP/1.1\r\n: empty\r\n\r\n".utf8), Array("GET /v1/health HTTP/1.1\n\n".utf8),
                Array("POST /v1/query HTTP/1.1\r\nContent-Length: -5\r\n\r\n{}".utf8),
                Array("POST /v1/query HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n{}".utf8),
                Array("POST /v1/query HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 50\r\n\r\n{}".utf8),
                Array("POST /v1/query HTTP/1.1\r\nContent-Length: abc\r\n\r\n{}".utf8),
                Array("POST /v1/query HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n".utf8),
                Array("POST /v1/query HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n{}\r\n".utf8),
                Array("POST /v1/query HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2\r\n{}\r\n0\r\n\r\n".utf8),
                Array("POST /v1/query HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n{}".utf8),
                Array("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/streams HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
                Array("GET /v1/health HTTP/1.1\r\n\(String(repeating: "X-Long: \(String(repeating: "a", count: 8000))\r\n", count: 12))\r\n".utf8),
                Array("GET /v1/health HTTP/1.1\r\n\(String(repeating: "X-A: 1\r\n", count: 3000))\r\n".utf8),
                Array("GET /\(String(repeating: "a", count: 100_000)) HTTP/1.1\r\n\r\n".utf8),
                Array("GET /v1/health HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n".utf8),
                Array("GET /v1/health HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n".utf8),
                Array("\r\n\r\n\r\n".utf8), Array("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}".utf8),
            ]
            return HostileRequest(kind: "broken http", pieces: [m.pick(cases)], halfClose: m.chance(0.7))
        case 74..<80:
            // Random bytes, or a valid request mutated.
            let valid = request("POST", "/v1/query", headers: json, body: Array("{\"text\":\"motion\",\"limit\":5}".utf8))
            return HostileRequest(kind: "mutated bytes", pieces: [m.chance(0.3) ? m.bytes(m.int(1...2000)) : m.mutate(valid).bytes],
                                  halfClose: m.chance(0.8))
        case 80..<86:
            // Odd paths and methods on every route.
            let path = m.pick(routes) + m.pick(["", "/", "//", "/../..", "?", "#frag", "%", "%2F", ";x", "/%00", "\\..\\", "/\u{FF}"])
            let method = m.pick(["GET", "POST", "DELETE", "PUT", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT", "G E T", ""])
            return HostileRequest(kind: "paths", pieces: [Array("\(method) \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".utf8)])
        case 86..<92:
            // Half-sent, then closed.
            let full = request("POST", "/v1/query", headers: json, body: Array("{\"text\":\"motion car\"}".utf8))
            let cut = m.int(1..<full.count)
            return HostileRequest(kind: "half-sent closed", pieces: [Array(full[..<cut])], halfClose: true)
        case 92..<93:
            // Half-sent and left open: the server must give up at its request timeout.
            let full = request("GET", "/v1/streams")
            let cut = m.int(1..<full.count)
            return HostileRequest(kind: "half-sent held", pieces: [Array(full[..<cut])])
        case 93..<97:
            // Sent a few bytes at a time (slow but within the timeout).
            let full = request("POST", "/v1/query", headers: json, body: Array("{\"text\":\"car\"}".utf8))
            let size = m.pick([16, 64])
            return HostileRequest(kind: "trickled", pieces: stride(from: 0, to: full.count, by: size).map { Array(full[$0..<min($0 + size, full.count)]) }, gapMs: 5)
        default:
            // Plain valid requests in between, so the fuzz also runs alongside ordinary work.
            return HostileRequest(kind: "valid", pieces: [m.pick([
                request("GET", "/v1/health"), request("GET", "/v1/streams"), request("GET", "/metrics"),
                request("POST", "/v1/query", headers: json, body: Array("{\"text\":\"motion\"}".utf8)),
                request("GET", "/v1/streams/cam/timeline?limit=5"), request("GET", "/v1/streams/cam/transcript?format=vtt"),
            ])])
        }
    }
}

final class APIFuzzTests: XCTestCase {
    static let seed: UInt64 = 0x5167_4C49_4E45_0003
    static let requestCount = 10_000
    static let workers = 8
    /// A request ends within this, or it hung (the daemon's request timeout is 2 s here).
    static let deadlineMs = 15_000

    func testTenThousandHostileRequestsLeaveTheDaemonServingAndIngesting() throws {
        let clip = Fixtures.path("media/car-detection.mp4")
        let live = LiveSource(clip: Fixtures.path("media/carphone.mp4"))
        try live.start()
        // A damaged clip served live: bit flips past the container header, so ffmpeg serves
        // it and the daemon's decoder meets the damage.
        var m = Mutator(seed: Self.seed)
        var damaged = [UInt8](FileManager.default.contents(atPath: Fixtures.path("media/grid-speech.mpg")) ?? Data())
        for _ in 0..<200 { let at = m.int((damaged.count / 10)..<damaged.count); damaged[at] ^= UInt8(1) << UInt8(m.int(0..<8)) }
        let daemon = try DaemonProcess(limits: "max_request_size = \"64KiB\"\nrequest_timeout = \"2s\"\nmax_connections = 64")
        let damagedPath = daemon.dir.appendingPathComponent("damaged.mpg").path
        try Data(damaged).write(to: URL(fileURLWithPath: damagedPath))
        let brokenSource = LiveSource(clip: damagedPath, audioCodec: "aac")
        try brokenSource.start()
        try daemon.addStream("cam", """
        id = "cam"
        source = "\(clip)"
        realtime = true
        loop = true
        [modalities]
        speech = false
        [[queries]]
        text = "motion"
        """)
        for (id, source) in [("live", live), ("broken", brokenSource)] {
            try daemon.addStream(id, """
            id = "\(id)"
            source = "\(source.url)"
            [modalities]
            speech = false
            [live]
            connect_timeout = "3s"
            read_timeout = "3s"
            """)
        }
        try daemon.start()
        try E2E.waitUntil("cam and live ingesting\n\(daemon.log)", seconds: 60) {
            try daemon.windows("cam") >= 2 && daemon.windows("live") >= 2
        }

        // Event followers that never read, open through the whole run.
        let followers = (0..<5).compactMap { _ -> Int32? in
            guard let fd = RawSocket.connect(daemon.socket, timeoutMs: 1000) else { return nil }
            let r = HostileRequests.request("GET", "/v1/events")
            _ = r.withUnsafeBytes { send(fd, $0.baseAddress!, r.count, Int32(MSG_NOSIGNAL)) }
            return fd
        }
        defer { followers.forEach { close($0) } }

        let before = (cam: try daemon.windows("cam"), live: try daemon.windows("live"))
        let results = Locked<[(Int, String, RawSocket.Outcome)]>([])
        let next = Locked(0)
        let socket = daemon.socket
        let started = Date()
        DispatchQueue.concurrentPerform(iterations: Self.workers) { _ in
            var mine: [(Int, String, RawSocket.Outcome)] = []
            while true {
                let i = next.withLock { n -> Int in defer { n += 1 }; return n }
                guard i < Self.requestCount else { break }
                let r = HostileRequests.make(i, seed: Self.seed)
                let outcome = RawSocket.exchange(socket, pieces: r.pieces, gapMs: r.gapMs, halfClose: r.halfClose,
                                                 deadlineMs: Self.deadlineMs)
                mine.append((i, r.kind, outcome))
            }
            results.withLock { $0 += mine }
        }
        // Many connections at once, beyond max_connections: each is answered or refused, none hangs.
        let burst = Locked<[RawSocket.Outcome]>([])
        DispatchQueue.concurrentPerform(iterations: 150) { _ in
            let o = RawSocket.exchange(socket, pieces: [HostileRequests.request("GET", "/v1/streams")], halfClose: false,
                                       deadlineMs: Self.deadlineMs)
            burst.withLock { $0.append(o) }
        }
        let seconds = Date().timeIntervalSince(started)

        let all = results.withLock { $0 } .sorted { $0.0 < $1.0 }
        var byStatus: [String: Int] = [:], byKind: [String: Int] = [:]
        for (_, kind, o) in all {
            byKind[kind, default: 0] += 1
            switch o {
            case .status(let s): byStatus["\(s)", default: 0] += 1
            case .closed: byStatus["closed", default: 0] += 1
            case .timedOut: byStatus["hang", default: 0] += 1
            case .cannotConnect: byStatus["no connect", default: 0] += 1
            }
        }
        let burstStatus = Dictionary(grouping: burst.withLock { $0 }, by: { "\($0)" }).mapValues(\.count)
        print("API fuzz: \(all.count) requests (seed \(Self.seed)) in \(String(format: "%.1f", seconds)) s; outcomes \(byStatus); "
              + "kinds \(byKind); burst of 150: \(burstStatus)")
        XCTAssertEqual(all.count, Self.requestCount)
        let hangs = all.filter { $0.2 == .timedOut }.map { "case \($0.0) (\($0.1))" }
        XCTAssertEqual(hangs, [], "requests with neither an answer nor a close within \(Self.deadlineMs) ms")
        let internalErrors = all.filter { $0.2 == .status(500) }.map { "case \($0.0) (\($0.1))" }
        XCTAssertEqual(internalErrors, [], "hostile input must be a 4xx, not an internal error")
        let unreachable = all.filter { if case .cannotConnect = $0.2 { return true } else { return false } }.map { "case \($0.0)" }
        XCTAssertEqual(unreachable, [], "the socket refused connections")
        XCTAssertFalse(burst.withLock { $0 }.contains(.timedOut), "\(burstStatus)")
        XCTAssertGreaterThan(byStatus["400", default: 0], 1000, "most hostile requests are answered with a reason")

        // Afterwards: alive, healthy, every good stream still ingesting.
        XCTAssertTrue(daemon.process?.isRunning ?? false, "the daemon died\n\(daemon.log.suffix(3000))")
        XCTAssertEqual(try daemon.client.http.request("GET", "/v1/health").status, 200)
        try E2E.waitUntil("cam and live still ingesting\n\(daemon.log.suffix(3000))", seconds: 40) {
            try daemon.windows("cam") > before.cam + 1 && daemon.windows("live") > before.live + 1
        }
        let broken = try daemon.stream("broken")
        XCTAssertTrue(["running", "reconnecting", "starting"].contains(broken["state"] as? String ?? ""), "\(broken)")
        XCTAssertFalse(daemon.log.contains("Fatal error"), daemon.log)
        daemon.terminate()
        XCTAssertEqual(daemon.process?.terminationStatus, 0, daemon.log.suffix(3000).description)
    }
}
