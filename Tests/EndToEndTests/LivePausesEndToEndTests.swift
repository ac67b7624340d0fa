// Speech that pauses through `sightline serve` (Tests/Fixtures/speech-pauses): one case
// (LibriVox 0870 with 3 s of silence inserted mid-sentence) replayed as a real-time file
// stream (the live path), and the whole set with the bundled speech clips read as one file
// stream at full speed (speech decoded the file way: joined speech in full Whisper windows).
// The transcript endpoint's cues (SRT) and stored segments (JSON) must start within 200 ms
// of their first word's true start and end within 200 ms of their last word's true end on
// the live path — within 400 ms on the file way, whose full windows put a word or two of
// the set 0.3 s off (a cue stretched to the 0.7 s minimum may end later) — no cue may run
// across an inserted pause, no sentence may be lost; the stored text has a word error rate
// within 0.5 points of `sightline transcribe` on the same file.
import Foundation
import Server
import TestSupport
import XCTest

final class LivePausesEndToEndTests: XCTestCase {
    /// How far a cue of a file read at full speed may be from its words (measured: 348 ms at
    /// worst, "selfish" in the between-pauses cases; 200 ms on the live path).
    static let fileWayToleranceMs: Int64 = 400

    func testTranscriptCuesFollowTheWordsAcrossAPause() throws {
        let c = try PauseCase.named("mid-pocketsphinx_librivox_0870-3000")
        // Both paths in fp32 wherever they run: with AVX-512 BF16 the default (auto) is bf16,
        // which moves each path's words on its own (base on this set: served 28/602 words wrong
        // in fp32 and in bf16, transcribe 26 in fp32 on AVX2 and AVX-512, 20 in bf16); what is compared
        // here is the live path against the file path, not the arithmetic (PrecisionTests).
        let daemon = try DaemonProcess(extra: "[speech]\nprecision = \"fp32\"")
        // Ten seconds of silence after the speech: the live transcriber makes an utterance
        // final 3 s after it ends (it could still be joined with the next one until then).
        let wav = daemon.dir.appendingPathComponent("pause.wav").path
        try WAVWriter.write(try c.samples() + [Float](repeating: 0, count: 10 * 16_000), to: wav)
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
        // Packing is on by default, but one stream's utterances never queue behind one
        // another: each was recognised alone, as the file path decodes it.
        XCTAssertTrue(metrics.contains("sightline_speech_packed_utterances_total 0\n"), metrics)
        XCTAssertFalse(metrics.contains("sightline_speech_utterances_total 0\n"), metrics)
        // Time in recogniser calls: some, and the longest call no more than all of it.
        func value(_ name: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
        }
        let busy = try XCTUnwrap(value("sightline_speech_recognizer_seconds_total"), metrics)
        let longest = try XCTUnwrap(value("sightline_speech_recognizer_longest_call_seconds"), metrics)
        XCTAssertGreaterThan(longest, 0)
        XCTAssertLessThanOrEqual(longest, busy)
        // Where a stream spends its time at worst: its longest window per encoder and its
        // longest store commit.
        let speechLongest = try XCTUnwrap(value("sightline_encoder_longest_window_seconds{stream=\"pause\",encoder=\"speech\"}"), metrics)
        let speechTotal = try XCTUnwrap(value("sightline_encoder_seconds_total{stream=\"pause\",encoder=\"speech\"}"), metrics)
        XCTAssertGreaterThan(speechLongest, 0)
        XCTAssertLessThanOrEqual(speechLongest, speechTotal)
        XCTAssertGreaterThan(try XCTUnwrap(value("sightline_store_longest_commit_seconds{stream=\"pause\"}"), metrics), 0)
        daemon.terminate()
        XCTAssertEqual(daemon.process?.terminationStatus, 0, daemon.log)
    }

    func testWholePauseSetThroughAFileStream() throws {
        // Every case of the pause set and every bundled speech clip, one after another, 12 s of
        // silence between them: more than the live transcriber waits to join an utterance with
        // the next, so none joins another. The file ends with the last clip's last sample: its
        // last sentence is made final by the end of the input, not by silence.
        struct Item { var name: String; var samples: [Float]; var reference: String; var timing: PauseCase? }
        var items = try PauseCase.all().map { Item(name: $0.name, samples: try $0.samples(), reference: $0.reference, timing: $0) }
        for clip in try SpeechReference.clips() {
            items.append(Item(name: clip.file, samples: try AudioFixture.samples(clip.path), reference: clip.reference, timing: nil))
        }
        let gap = 12_000
        var audio: [Float] = []
        var offsets: [Int64] = []
        for (i, item) in items.enumerated() {
            offsets.append(Int64(audio.count / 16))
            audio += item.samples + [Float](repeating: 0, count: i == items.count - 1 ? 0 : gap * 16)
        }
        // Both paths in fp32 wherever they run: with AVX-512 BF16 the default (auto) is bf16,
        // which moves each path's words on its own (base on this set: served 28/602 words wrong
        // in fp32 and in bf16, transcribe 26 in fp32 on AVX2 and AVX-512, 20 in bf16); what is compared
        // here is the live path against the file path, not the arithmetic (PrecisionTests).
        let daemon = try DaemonProcess(extra: "[speech]\nprecision = \"fp32\"")
        let wav = daemon.dir.appendingPathComponent("pauses.wav").path
        try WAVWriter.write(audio, to: wav)
        try daemon.addStream("pauses", """
            id = "pauses"
            source = "\(wav)"
            pace = "fast"
            [sampling]
            window = "2s"
            """)
        try daemon.start()
        try E2E.waitUntil("the file stream finished\n\(daemon.log)", seconds: 900) {
            try daemon.stream("pauses")["state"] as? String == "finished"
        }
        let srt = try daemon.client.call("GET", "/v1/streams/pauses/transcript?format=srt&from=0&limit=10000").text
        let json = try daemon.client.call("GET", "/v1/streams/pauses/transcript?format=json&from=0&limit=10000").text
        let cues = TimedText.cues(of: srt)
        let segments = try TimedText.segments(ofJSON: json, key: "cues")
        // The file path on the same audio, as `sightline transcribe` writes it.
        let (code, fileJSON) = try E2E.run(E2E.binary, ["transcribe", wav, "--format", "json", "--precision", "fp32"])
        XCTAssertEqual(code, 0, fileJSON)
        let fileSegments = try TimedText.segments(ofJSON: fileJSON)
        var problems: [String] = []
        var served = WordErrors(), file = WordErrors()
        for (item, offset) in zip(items, offsets) {
            // Each item's spans, on its own timeline.
            let durationMs = Int64(item.samples.count / 16)
            func own(_ spans: [TimedText]) -> [TimedText] {
                spans.filter { $0.startMs >= offset && $0.startMs < offset + durationMs + Int64(gap) / 2 }
                    .map { TimedText(startMs: $0.startMs - offset, endMs: $0.endMs - offset, text: $0.text) }
            }
            let servedText = own(segments).map(\.text).joined(separator: " ")
            let fileText = own(fileSegments).map(\.text).joined(separator: " ")
            var s = WordErrors(), f = WordErrors()
            s.add(reference: item.reference, hypothesis: servedText)
            f.add(reference: item.reference, hypothesis: fileText)
            print("\(item.name): served \(s.errors)/\(s.words) \"\(servedText)\"; transcribe \(f.errors)/\(f.words) \"\(fileText)\"")
            served.add(reference: item.reference, hypothesis: servedText)
            file.add(reference: item.reference, hypothesis: fileText)
            // The lecture holds the word error rate to the file path's; its edges (0.5–3 s
            // pauses inside most sentences) miss 200 ms on the file path too (by up to 370 ms).
            guard let c = item.timing, c.name != "lecture" else { continue }
            problems += c.problems(own(cues), toleranceMs: Self.fileWayToleranceMs, minDurationMs: 700).map { "srt: \($0)" }
            problems += c.problems(own(segments), toleranceMs: Self.fileWayToleranceMs).map { "json: \($0)" }
        }
        XCTAssertFalse(cues.isEmpty, srt)
        XCTAssertEqual(problems, [], problems.joined(separator: "\n"))
        print("word errors: served \(served.errors)/\(served.words), transcribe \(file.errors)/\(file.words)")
        XCTAssertLessThanOrEqual(served.rate, file.rate + 0.005,
                                 "served \(served.errors)/\(served.words) vs transcribe \(file.errors)/\(file.words)")
        let metrics = try daemon.client.call("GET", "/metrics").text
        XCTAssertTrue(metrics.contains("sightline_speech_unrecognized_total{stream=\"pauses\"} 0"), metrics)
        daemon.terminate()
        XCTAssertEqual(daemon.process?.terminationStatus, 0, daemon.log)
    }
}
