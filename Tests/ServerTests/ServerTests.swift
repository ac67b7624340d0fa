// The API over a real Unix socket: routes, JSON shapes, 4xx for bad requests, size and
// connection limits, SO_PEERCRED refusal, SSE and metrics.
import Foundation
import Logging
import XCTest
import Retrieval
@testable import Server
import SightlineCore
@testable import Store

struct FixedStatus: StatusSource {
    var version = "test"
    var isReady = true
    var modelsLoaded = ["none"]
    var streams: [StreamStatus] = [StreamStatus(id: "cam", source: "rtsp://x", state: .running, lagMs: 1500,
                                                windowsProcessed: 7, windowsDropped: 2, reconnects: 1, queueDepth: 3)]
    func streamStatuses() -> [StreamStatus] { streams }
    func metricsText() -> String { "# TYPE sightline_test gauge\nsightline_test 1\n" }
}

final class ServerTests: XCTestCase {
    var dir: URL!
    var store: Store!
    var server: APIServer!
    var client: UnixHTTPClient!

    override func setUp() async throws {
        dir = URL(fileURLWithPath: "/tmp/sl-srv-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try Store(path: dir.appendingPathComponent("s.sqlite").path)
        try store.append(WindowRecord(streamId: "cam", startMs: 10_000, endMs: 12_000, evidence: [
            Evidence(modality: .speech, startMs: 10_500, endMs: 11_800, text: "the parcel is at the front door"),
        ]), committedMs: 1)
        try store.append(WindowRecord(streamId: "cam", startMs: 12_000, endMs: 14_000, evidence: [
            Evidence(modality: .speech, startMs: 12_100, endMs: 13_000, text: "thank you"),
        ]), committedMs: 2)
        try await startServer(access: AccessPolicy(allowedUids: [], allowedGids: [], ownUid: getuid()))
    }

    func startServer(access: AccessPolicy, maxConnections: Int = 8, timeoutMs: Int64 = 2000, maxFollowers: Int = 4,
                     followerStallMs: Int64 = 60_000, maxTranscriptSegments: Int = Router.defaultMaxTranscriptSegments) async throws
    {
        if let server { await server.shutdown() }
        let path = dir.appendingPathComponent("api.sock").path
        server = APIServer(settings: .init(listen: .path(path, mode: 0o660, groupId: nil), access: access,
                                           maxConnections: maxConnections, maxRequestBytes: 1024, requestTimeoutMs: timeoutMs,
                                           maxFollowers: maxFollowers, followerStallTimeoutMs: followerStallMs),
                           router: Router(memory: StoreMemory(store: store), status: FixedStatus(), eventPollInterval: .milliseconds(20),
                                          maxTranscriptSegments: maxTranscriptSegments),
                           logger: Logger(label: "test"))
        try await server.start()
        client = UnixHTTPClient(socketPath: path, timeoutMs: 5000)
    }

    override func tearDown() async throws {
        await server?.shutdown()
        try? FileManager.default.removeItem(at: dir)
    }

    func json(_ reply: HTTPReply) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any], reply.text)
    }

    func testSocketModeAndHealth() throws {
        let attrs = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("api.sock").path)
        XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o660)
        let r = try client.request("GET", "/v1/health")
        XCTAssertEqual(r.status, 200)
        let body = try json(r)
        XCTAssertEqual(body["ready"] as? Bool, true)
        XCTAssertEqual(body["streams"] as? [String: String], ["cam": "running"])
    }

    func testQueryReturnsMomentWithEvidence() throws {
        let r = try client.request("POST", "/v1/query", body: Array(#"{"text":"parcel front door","limit":5}"#.utf8))
        XCTAssertEqual(r.status, 200, r.text)
        let moments = try XCTUnwrap(try json(r)["moments"] as? [[String: Any]])
        XCTAssertEqual(moments.count, 1)
        XCTAssertEqual(moments[0]["stream"] as? String, "cam")
        XCTAssertEqual(moments[0]["start_ms"] as? Int, 10_000)
        XCTAssertEqual(moments[0]["end_ms"] as? Int, 12_000)
        let ev = try XCTUnwrap(moments[0]["evidence"] as? [[String: Any]])
        XCTAssertEqual(ev[0]["modality"] as? String, "speech")
        XCTAssertEqual(ev[0]["text"] as? String, "the parcel is at the front door")
    }

    func testTranscriptFormats() throws {
        let srt = try client.request("GET", "/v1/streams/cam/transcript?format=srt")
        XCTAssertEqual(srt.status, 200)
        // Broadcast cue rules (Subtitles) join the two segments: 300 ms apart, 41 characters.
        XCTAssertEqual(srt.text, "1\n00:00:00,000 --> 00:00:02,500\nthe parcel is at the front door thank you\n\n")
        let vtt = try client.request("GET", "/v1/streams/cam/transcript?format=vtt&from=12000")
        XCTAssertEqual(vtt.text, "WEBVTT\n\n00:00:00.100 --> 00:00:01.000\nthank you\n\n")
        let js = try json(try client.request("GET", "/v1/streams/cam/transcript"))
        let cues = try XCTUnwrap(js["cues"] as? [[String: Any]])
        XCTAssertEqual(cues.map { $0["text"] as? String }, ["the parcel is at the front door", "thank you"])
        XCTAssertEqual(try client.request("GET", "/v1/streams/cam/transcript?format=doc").status, 400)
        XCTAssertEqual(try client.request("GET", "/v1/streams/nope/transcript").status, 404)
    }

    func testBadRequestsGet4xxWithMessages() throws {
        let malformed = try client.request("POST", "/v1/query", body: Array("{not json".utf8))
        XCTAssertEqual(malformed.status, 400)
        XCTAssertTrue(malformed.text.contains("malformed JSON body"), malformed.text)
        let missing = try client.request("POST", "/v1/query", body: Array(#"{"limit":3}"#.utf8))
        XCTAssertEqual(missing.status, 400)
        XCTAssertTrue(missing.text.contains("lacks the key 'text'"), missing.text)
        let empty = try client.request("POST", "/v1/query", body: Array(#"{"text":"?!"}"#.utf8))
        XCTAssertEqual(empty.status, 400)
        let big = try client.request("POST", "/v1/query", body: Array(repeating: UInt8(ascii: "a"), count: 5000))
        XCTAssertEqual(big.status, 413)
        XCTAssertTrue(big.text.contains("exceeds the limit of 1024 bytes"), big.text)
        let unknown = try client.request("GET", "/v2/whatever")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertTrue(unknown.text.contains("no route for GET /v2/whatever"), unknown.text)
        XCTAssertEqual(try client.request("DELETE", "/v1/health").status, 405)
        XCTAssertEqual(try client.request("GET", "/v1/streams/cam/timeline?from=abc").status, 400)
        // The server still answers normally afterwards.
        XCTAssertEqual(try client.request("GET", "/v1/health").status, 200)
    }

    func testExtremeTimesAndHugeQueriesAre400sNotCrashes() throws {
        // This request used to kill the daemon: an integer overflow trap in the hour buckets.
        let extreme = try client.request("POST", "/v1/query",
                                          body: Array(#"{"text":"hello","from":-9223372036854775800,"to":0}"#.utf8))
        XCTAssertEqual(extreme.status, 400)
        XCTAssertTrue(extreme.text.contains("'from' (-9223372036854775800) is outside the times a query may name"), extreme.text)
        let transcript = try client.request("GET", "/v1/streams/cam/transcript?format=srt&from=-9223372036854775808")
        XCTAssertEqual(transcript.status, 400, transcript.text)
        let words = (0...MomentQuery.maxWords).map { "w\($0)" }.joined(separator: " ")
        let many = try client.request("POST", "/v1/query", body: Array(#"{"text":"\#(words)"}"#.utf8))
        XCTAssertEqual(many.status, 400)
        XCTAssertTrue(many.text.contains("65 distinct words; at most 64"), many.text)
        XCTAssertEqual(try client.request("GET", "/v1/health").status, 200, "still answering")
    }

    func testTranscriptOffsetsSaturate() {
        XCTAssertEqual(TranscriptRenderer.offset(5_000, from: Int64.min), MomentQuery.validTimes.upperBound)
        XCTAssertEqual(TranscriptRenderer.offset(Int64.min, from: 5_000), 0)
        XCTAssertEqual(TranscriptRenderer.offset(12_500, from: 10_000), 2_500)
        let srt = TranscriptRenderer.srt([Evidence(modality: .speech, startMs: Int64.max - 10, endMs: Int64.max, text: "late")],
                                         originMs: Int64.min)
        XCTAssertTrue(srt.contains("late"), srt)
    }

    func testGarbageIsA400() throws {
        let fd = try client.connect()
        defer { close(fd) }
        let junk = Array("NOT HTTP AT ALL\r\n\r\n".utf8)
        _ = junk.withUnsafeBytes { write(fd, $0.baseAddress!, junk.count) }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = read(fd, &buf, buf.count)
        XCTAssertTrue(String(decoding: buf[0..<max(0, n)], as: UTF8.self).hasPrefix("HTTP/1.1 400"))
    }

    func testRequestTimeoutIs408() async throws {
        try await startServer(access: AccessPolicy(allowedUids: [], allowedGids: [], ownUid: getuid()), timeoutMs: 200)
        let fd = try client.connect()
        defer { close(fd) }
        let partial = Array("POST /v1/query HTTP/1.1\r\nContent-Length: 10\r\n\r\n{".utf8)
        _ = partial.withUnsafeBytes { write(fd, $0.baseAddress!, partial.count) }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = read(fd, &buf, buf.count) // blocks until the server answers (client timeout 5 s)
        XCTAssertTrue(String(decoding: buf[0..<max(0, n)], as: UTF8.self).hasPrefix("HTTP/1.1 408"))
    }

    func testPeerNotAllowedIsRefusedWith403() async throws {
        var policy = AccessPolicy(allowedUids: [4242], allowedGids: [4343], ownUid: 4141)
        policy.alwaysAllowedUids = [] // this test process is root; make root not special here
        try await startServer(access: policy)
        let r = try client.request("GET", "/v1/health")
        XCTAssertEqual(r.status, 403)
        XCTAssertTrue(r.text.contains("access denied for uid \(getuid())"), r.text)
        XCTAssertEqual(server.refusedConnections, 1)
        // The same policy admits the peer once its uid is listed.
        policy.allowedUids.insert(getuid())
        try await startServer(access: policy)
        XCTAssertEqual(try client.request("GET", "/v1/health").status, 200)
    }

    func testAccessPolicy() {
        let p = AccessPolicy(allowedUids: [1000], allowedGids: [998], ownUid: 995)
        XCTAssertTrue(p.allows(PeerCredentials(pid: 1, uid: 0, gid: 0)))
        XCTAssertTrue(p.allows(PeerCredentials(pid: 1, uid: 995, gid: 995)))
        XCTAssertTrue(p.allows(PeerCredentials(pid: 1, uid: 1000, gid: 1000)))
        XCTAssertTrue(p.allows(PeerCredentials(pid: 1, uid: 1001, gid: 998)))
        XCTAssertFalse(p.allows(PeerCredentials(pid: 1, uid: 1001, gid: 1001)))
        XCTAssertTrue(p.allows(PeerCredentials(pid: 1, uid: 1001, gid: 1001, groups: [27, 998])), "a supplementary group counts")
        XCTAssertFalse(p.allows(PeerCredentials(pid: 1, uid: 1001, gid: 1001, groups: [27, 999])))
    }

    func testConnectionLimit() async throws {
        try await startServer(access: AccessPolicy(allowedUids: [], allowedGids: [], ownUid: getuid()), maxConnections: 1, timeoutMs: 3000)
        let held = try client.connect() // occupies the only slot (sends nothing)
        defer { close(held) }
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertThrowsError(try client.request("GET", "/v1/health"))
        XCTAssertEqual(server.refusedConnections, 1)
    }

    func testMetricsExposition() throws {
        let r = try client.request("GET", "/metrics")
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") ?? false)
        for line in ["sightline_up 1", "sightline_stream_lag_seconds{stream=\"cam\"} 1.5",
                     "sightline_windows_processed_total{stream=\"cam\"} 7", "sightline_windows_dropped_total{stream=\"cam\"} 2",
                     "sightline_queue_depth{stream=\"cam\"} 3", "sightline_test 1"] {
            XCTAssertTrue(r.text.contains(line + "\n"), "missing \(line) in\n\(r.text)")
        }
        XCTAssertTrue(r.text.contains("sightline_store_bytes "))
    }

    func testEventsAsSSEAndSubscriptions() throws {
        let created = try client.request("POST", "/v1/subscriptions", body: Array(#"{"text":"parcel","streams":["cam"]}"#.utf8))
        XCTAssertEqual(created.status, 201, created.text)
        let list = try json(try client.request("GET", "/v1/subscriptions"))
        XCTAssertEqual((list["subscriptions"] as? [[String: Any]])?.first?["text"] as? String, "parcel")
        try store.appendEvent(Event(streamId: "cam", atMs: 5, payload: .streamState(StreamStateChange(state: .running))))
        try store.appendEvent(Event(streamId: "cam", atMs: 6, subscriptionId: 1,
                                    payload: .match(QueryMatch(query: "parcel", stream: "cam", startMs: 0, endMs: 2000,
                                                               score: 1, evidence: ["a parcel"]))))
        var received = ""
        let status = try client.stream("/v1/events?after=1") { text in
            received += text
            return !received.contains("event: match")
        }
        XCTAssertEqual(status, 200)
        XCTAssertFalse(received.contains("event: stream_state"), "after=1 skips event 1")
        XCTAssertTrue(received.contains("id: 2\nevent: match\ndata: {"), received)
        let listed = try json(try client.request("GET", "/v1/events?format=json"))
        XCTAssertEqual((listed["events"] as? [Any])?.count, 2)
        XCTAssertEqual(try client.request("DELETE", "/v1/subscriptions/1").status, 200)
        XCTAssertEqual(try client.request("DELETE", "/v1/subscriptions/1").status, 404)
    }

    // MARK: - Event followers: flow control, their own slots, stalled clients closed

    /// `n` match events of about 1 KB each.
    func appendLargeEvents(_ n: Int) throws {
        let evidence = String(repeating: "a parcel at the door ", count: 45)
        for i in 0..<n {
            try store.appendEvent(Event(streamId: "cam", atMs: Int64(i), payload: .match(QueryMatch(
                query: "parcel", stream: "cam", startMs: Int64(i) * 2000, endMs: Int64(i) * 2000 + 2000, score: 1, evidence: [evidence]))))
        }
    }

    /// Opens a follower that sends its request and then never reads.
    func openSilentFollower() throws -> Int32 {
        let fd = try client.connect()
        let request = Array("GET /v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress!, request.count) }
        return fd
    }

    func waitFor(_ what: String, seconds: Double = 10, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else { return XCTFail("timed out after \(seconds) s waiting for \(what): \(server.slots.snapshot)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func testFollowersThatNeverReadAreBoundedAndLeaveHealthItsSlots() async throws {
        // 3 MB of events: far more than the kernel's socket buffers take for a client that never reads.
        try appendLargeEvents(3000)
        try await startServer(access: AccessPolicy(allowedUids: [], allowedGids: [], ownUid: getuid()), maxConnections: 4, maxFollowers: 6)
        // More followers than ordinary connection slots: before followers had their own pool,
        // the fifth connection was refused and /v1/health could not get through.
        // (A connection holds an ordinary slot until its request is read: they are opened
        // one after the other, as clients that stay connected for hours would be.)
        var followers: [Int32] = []
        defer { followers.forEach { close($0) } }
        for n in 1...6 {
            followers.append(try openSilentFollower())
            try await waitFor("follower \(n) established") { server.slots.snapshot.followers == n }
        }
        try await waitFor("6 followers blocked on their clients") { server.slots.snapshot.followersBlocked == 6 }
        let counts = server.slots.snapshot
        XCTAssertEqual(counts.followers, 6)
        XCTAssertEqual(counts.refused, 0)
        // What waits in the daemon for the six is bounded by the write buffer (64 KiB) plus
        // one event each, not by the 3 MB each of them is behind.
        let perFollower = HTTPConnectionHandler.followerWriteBuffer.high + 2048
        XCTAssertGreaterThan(counts.queuedEventBytes, 0)
        XCTAssertLessThanOrEqual(counts.queuedEventBytes, 6 * perFollower, "queued \(counts.queuedEventBytes) bytes")
        // Ordinary requests keep all four of their slots.
        for _ in 0..<8 {
            let started = Date()
            XCTAssertEqual(try client.request("GET", "/v1/health").status, 200)
            XCTAssertLessThan(Date().timeIntervalSince(started), 1.0, "/v1/health answers promptly beside the followers")
        }
        let metrics = try client.request("GET", "/metrics").text
        for line in ["sightline_api_connections{pool=\"followers\"} 6", "sightline_api_connections{pool=\"ordinary\"} 1",
                     "sightline_event_followers_blocked 6", "sightline_api_refused_total 0"] {
            XCTAssertTrue(metrics.contains(line + "\n"), "missing \(line) in\n\(metrics)")
        }
        // A seventh follower is refused with a 503 naming the limit.
        let refused = try client.request("GET", "/v1/events")
        XCTAssertEqual(refused.status, 503)
        XCTAssertTrue(refused.text.contains("at most 6 may be open at once (limits.max_event_followers)"), refused.text)
        XCTAssertEqual(server.slots.snapshot.followersRefused, 1)
    }

    func testFollowerThatStopsReadingIsClosedAfterTheStallTimeout() async throws {
        try appendLargeEvents(2000)
        try await startServer(access: AccessPolicy(allowedUids: [], allowedGids: [], ownUid: getuid()), followerStallMs: 1000)
        let fd = try openSilentFollower()
        defer { close(fd) }
        try await waitFor("the silent follower closed") { server.slots.snapshot.followersClosed == 1 }
        try await waitFor("its slot released") { server.slots.snapshot.followers == 0 }
        XCTAssertEqual(server.slots.snapshot.followersBlocked, 0)
        try await waitFor("its queued bytes released") { server.slots.snapshot.queuedEventBytes == 0 }
        // A reading follower gets every event, in order, and is not closed.
        var matches = 0
        var tail = "" // the end of the text so far, shorter than one marker: markers split across reads are found
        _ = try client.stream("/v1/events") { text in
            let window = tail + text
            matches += window.components(separatedBy: "event: match\n").count - 1
            let done = window.contains("id: 2000\n")
            tail = String(window.suffix(12))
            return !done
        }
        XCTAssertEqual(matches, 2000)
        XCTAssertEqual(server.slots.snapshot.followersClosed, 1)
    }

    // MARK: - Response-size limits

    func testLongTranscriptIsCutAtTheLimitWithAMarker() async throws {
        try store.append(contentsOf: (0..<60).map { i in
            WindowRecord(streamId: "long", startMs: Int64(i) * 2000, endMs: Int64(i) * 2000 + 2000, evidence: [
                Evidence(modality: .speech, startMs: Int64(i) * 2000, endMs: Int64(i) * 2000 + 1500, text: "segment \(i)"),
            ])
        }, committedMs: 1)
        try await startServer(access: AccessPolicy(allowedUids: [], allowedGids: [], ownUid: getuid()), maxTranscriptSegments: 25)
        let js = try client.request("GET", "/v1/streams/long/transcript")
        XCTAssertEqual(js.status, 200)
        XCTAssertEqual(js.headers["x-sightline-truncated"], "segments=25; next_from=50000")
        let body = try json(js)
        XCTAssertEqual((body["cues"] as? [Any])?.count, 25)
        XCTAssertEqual(body["truncated"] as? Bool, true)
        XCTAssertEqual(body["next_from"] as? Int, 50_000)
        // Continuing from next_from gives the following segments.
        let next = try json(try client.request("GET", "/v1/streams/long/transcript?from=50000&limit=10"))
        XCTAssertEqual((next["cues"] as? [[String: Any]])?.first?["text"] as? String, "segment 25")
        XCTAssertEqual(next["next_from"] as? Int, 70_000)
        let vtt = try client.request("GET", "/v1/streams/long/transcript?format=vtt&limit=3")
        XCTAssertTrue(vtt.text.hasSuffix("NOTE cut after 3 segments (the limit of one answer); continue with from=6000\n\n"), vtt.text)
        let srt = try client.request("GET", "/v1/streams/long/transcript?format=srt&limit=3")
        XCTAssertEqual(srt.headers["x-sightline-truncated"], "segments=3; next_from=6000")
        // A range that fits is not marked; a limit above the maximum is a 400 naming it.
        let whole = try client.request("GET", "/v1/streams/long/transcript?to=10000")
        XCTAssertNil(whole.headers["x-sightline-truncated"])
        XCTAssertEqual(try json(whole)["truncated"] as? Bool, false)
        let over = try client.request("GET", "/v1/streams/long/transcript?limit=26")
        XCTAssertEqual(over.status, 400)
        XCTAssertTrue(over.text.contains("'limit=26' must be an integer in 1...25"), over.text)
    }

    // MARK: - One daemon per socket

    func testASecondServerLeavesALiveSocketAloneAndReplacesAStaleOne() async throws {
        let path = dir.appendingPathComponent("api.sock").path
        let second = APIServer(settings: .init(listen: .path(path, mode: 0o660, groupId: nil),
                                               access: AccessPolicy(allowedUids: [], allowedGids: [], ownUid: getuid()),
                                               maxConnections: 8, maxRequestBytes: 1024, requestTimeoutMs: 2000),
                               router: Router(memory: StoreMemory(store: store), status: FixedStatus()), logger: Logger(label: "test"))
        do {
            try await second.start()
            XCTFail("the second server took the live socket")
        } catch let error as ServerError {
            XCTAssertEqual(error, .socketInUse(path: path))
            XCTAssertTrue("\(error)".contains("is another sightline serve running?"), "\(error)")
        }
        await second.shutdown()
        XCTAssertEqual(try client.request("GET", "/v1/health").status, 200, "the first server still has its socket")
        // A socket file nobody answers on (left by a crash) is replaced.
        await server.shutdown()
        server = nil
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        unlink(path)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(fd) // bound, never listened: a stale socket file
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        try await startServer(access: AccessPolicy(allowedUids: [], allowedGids: [], ownUid: getuid()))
        XCTAssertEqual(try client.request("GET", "/v1/health").status, 200)
    }
}
