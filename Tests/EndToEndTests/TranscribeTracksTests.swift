// `sightline transcribe --tracks` on a real clip (Tests/Fixtures/captions/people-text-speech.mp4:
// an empty scene for 4 s, then a man in a car; "DELIVERY AT TEN" on screen from 6 s; one
// spoken sentence from 6.5 s) with the real models: captions say who is seen and what is
// written and said, the text track holds the on-screen line while it shows, the speech track
// is today's, and the three formats tell the tracks apart.
import Foundation
import TestSupport
import XCTest

final class TranscribeTracksTests: XCTestCase {
    let clip = Fixtures.path("captions/people-text-speech.mp4")

    func requireModels() throws {
        for file in ["ssdlite-person/frozen_inference_graph.pb", "mtcnn/onet.pt", "mobilenet-v2/mobilenet_v2-b0353104.pth",
                     "ppocr-v5-mobile", "whisper-tiny.en", "silero-vad"] {
            try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.modelsDirectory + "/" + file), "\(file) not installed")
        }
    }

    func transcribe(_ args: [String]) throws -> String {
        let r = try Fixtures.run("sightline", ["transcribe", clip, "-o", "-", "--model", "whisper-tiny.en", "--beam", "1"] + args)
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout
    }

    func testCaptionsTextAndSpeechTracksInOneJSON() throws {
        try requireModels()
        let json = try transcribe(["--tracks", "speech,captions,text", "--format", "json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        XCTAssertEqual(object["tracks"] as? [String], ["speech", "captions", "text"])
        let cues = try XCTUnwrap(object["cues"] as? [[String: Any]])
        func of(_ track: String) -> [(start: Int, end: Int, text: String)] {
            cues.filter { $0["track"] as? String == track }.map { ($0["start_ms"] as? Int ?? -1, $0["end_ms"] as? Int ?? -1, $0["text"] as? String ?? "") }
        }
        // Cues are in time order.
        let starts = cues.map { $0["start_ms"] as? Int ?? -1 }
        XCTAssertEqual(starts, starts.sorted())

        let text = of("text")
        XCTAssertEqual(text.map(\.text), ["DELIVERY AT TEN"], json)
        XCTAssertEqual(text.first?.start, 6000, "the line appears at 6 s (frames at 1 a second)")
        XCTAssertEqual(text.first?.end, 12_000)

        let speech = of("speech").map(\.text).joined(separator: " ").lowercased()
        // whisper-tiny.en hears "she had your dog suit and greasy wash water all year".
        XCTAssertTrue(speech.contains("suit") && speech.contains("wash water all year"), speech)

        let captions = of("captions")
        XCTAssertGreaterThanOrEqual(captions.count, 2, json)
        XCTAssertFalse(captions.contains { $0.start < 4000 && $0.text.contains("person") }, "nobody in the first 4 s: \(captions)")
        // The man arrives at 4 s (a new segment); the one with the sentence says it, and the
        // sign; the last segment ends with the clip.
        let said = try XCTUnwrap(captions.first { $0.text.contains("says") }, "\(captions)")
        XCTAssertEqual(said.start, 4000)
        XCTAssertTrue(said.text.hasPrefix("a person, a face"), said.text)
        XCTAssertTrue(said.text.contains(#"text "DELIVERY AT TEN""#), said.text)
        XCTAssertTrue(said.text.contains("says \"She had"), said.text)
        XCTAssertEqual(captions.last?.end, 12_000)
    }

    func testFormatsMarkTheTracksAndSpeechAloneIsUnchanged() throws {
        try requireModels()
        let vtt = try transcribe(["--tracks", "text,captions", "--format", "vtt"])
        XCTAssertTrue(vtt.hasPrefix("WEBVTT\n\n"), vtt)
        XCTAssertTrue(vtt.contains("00:00:06.000 --> 00:00:12.000\n<c.text>DELIVERY AT TEN</c>\n"), vtt)
        XCTAssertTrue(vtt.contains("<c.captions>"), vtt)
        let srt = try transcribe(["--tracks", "text", "--format", "srt"])
        XCTAssertEqual(srt, "1\n00:00:06,000 --> 00:00:12,000\n[text: DELIVERY AT TEN]\n\n")
        XCTAssertEqual(try transcribe(["--tracks", "speech", "--format", "srt"]), try transcribe(["--format", "srt"]))
        let r = try Fixtures.run("sightline", ["transcribe", clip, "--tracks", "speech,sound"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("'sound' is not a track"), r.stderr)
    }
}
