// Speech that pauses through `sightline serve`: one case of the speech-pauses set (LibriVox
// 0870 with 3 s of silence inserted mid-sentence, Tests/Fixtures/speech-pauses) replayed as a
// real-time file stream. The transcript endpoint's cues must start within 200 ms of their
// first word's true start and end within 200 ms of their last word's true end (a cue
// stretched to the 0.7 s minimum may end later), and no cue may run across the pause.
import Foundation
import Server
import TestSupport
import XCTest

final class LivePausesEndToEndTests: XCTestCase {
    func testTranscriptCuesFollowTheWordsAcrossAPause() throws {
        let c = try PauseCase.named("mid-pocketsphinx_librivox_0870-3000")
        let daemon = try DaemonProcess()
        // Five seconds of silence after the speech: the live transcriber makes an utterance
        // final 3 s after it ends (it could still be joined with the next one until then).
        let wav = daemon.dir.appendingPathComponent("pause.wav").path
        try WAVWriter.write(try c.samples() + [Float](repeating: 0, count: 5 * 16_000), to: wav)
        try daemon.addStream("pause", """
            id = "pause"
            source = "\(wav)"
            realtime = true
            [sampling]
            window = "2s"
            """)
        try daemon.start()

        // Realtime windows carry epoch times: media time 0 is the first window's start.
        var firstStart: Int64? = nil
        var spans: [TimedText] = []
        try E2E.waitUntil("the sentence's last words in the transcript\n\(daemon.log)", seconds: 50) {
            if firstStart == nil {
                let timeline = try daemon.client.call("GET", "/v1/streams/pause/timeline?limit=1").text
                firstStart = LiveSpeechTests.firstStartMs(timeline)
            }
            guard let origin = firstStart else { return false }
            let srt = try daemon.client.call("GET", "/v1/streams/pause/transcript?format=srt&from=\(origin)").text
            spans = TimedText.cues(of: srt)
            return srt.lowercased().contains("for them")
        }
        XCTAssertEqual(c.problems(spans, minDurationMs: 700), [], "\(spans)")
        // The pause (4.955-7.955 s) is between cues: one ends before it, the next starts after it.
        let pause = c.pauses[0]
        XCTAssertTrue(spans.contains { $0.endMs <= pause.startMs + 200 }, "\(spans)")
        XCTAssertTrue(spans.contains { $0.startMs >= pause.endMs - 200 }, "\(spans)")
        let metrics = try daemon.client.call("GET", "/metrics").text
        XCTAssertTrue(metrics.contains("sightline_speech_unrecognized_total{stream=\"pause\"} 0"), metrics)
        daemon.terminate()
        XCTAssertEqual(daemon.process?.terminationStatus, 0, daemon.log)
    }
}
