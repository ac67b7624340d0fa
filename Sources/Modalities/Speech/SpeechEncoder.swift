// Speech as a window encoder: each window's audio goes to a LiveSpeechTranscriber (Silero
// VAD online, then the recogniser on each closed utterance), and every utterance that closes
// becomes `.speech` evidence with its text and word times (absolute ms). Utterances can
// span windows: the evidence is stored with the window in which the utterance ended, with
// its own true times. A gap in the audio (reconnect, dropped window) starts a new
// transcriber after flushing the open utterance, so times never drift across gaps; so does
// the end of the input (`finish`), so a file's last sentence is stored without the 3 s of
// silence that would otherwise make it final.
// Only final segments are stored (`feed`): a sentence cut at a pause is joined and decoded
// again inside the transcriber before it is returned, never replaced afterwards.
// `unrecognizedCount` counts utterances that gave no text even when decoded on their own,
// over every transcriber this encoder made; the daemon puts it on /metrics.
//
// With a packer (utterances of all streams share Whisper windows, PackingRecognizer), an
// utterance may wait for others, up to the packer's latency budget. The stream must not
// stall meanwhile, so the transcriber runs on this encoder's own serial queue: `encode`
// hands the window over and returns the evidence of the utterances finished since the last
// call (with their true times: the evidence of one utterance comes with a later window).
// At most `maxQueuedWindows` windows wait on the queue; past that `encode` waits too, so a
// recogniser that cannot keep up shows as the stream's lag, never as unbounded memory.
import SpokenWords
import Foundation
import MediaIO
import SightlineCore
import Subtitles
import Synchronization
import Transcription

public final class SpeechEncoder: Backlogged {
    public let name = "speech"
    public let input = EncoderInput.audio
    /// Builds a transcriber (VAD state + recogniser) for a new contiguous stretch of audio.
    let makeTranscriber: @Sendable () -> LiveSpeechTranscriber
    /// The transcriber and the end (ms) of the audio it has been fed. Encoders of one stream
    /// are called serially; the lock makes that safe to rely on.
    /// `retired`: unrecognised utterances of the transcribers already replaced after a gap.
    private let state = Mutex<(transcriber: TranscriberBox?, endMs: Int64?, retired: Int)>((nil, nil, 0))
    /// Read without taking `state`'s lock, which is held while an utterance is decoded.
    private let unrecognized = Atomic<Int>(0)

    /// Utterances the voice detector found that gave no text, also when decoded on their own.
    public var unrecognizedCount: Int { unrecognized.load(ordering: .relaxed) }

    /// Packed mode: the queue the transcriber runs on, the packer it registered with.
    private let worker: (queue: DispatchQueue, slots: DispatchSemaphore, packer: PackingRecognizer)?
    /// Packed mode: segments finished on the queue and not yet returned, and the first
    /// error the queue met (thrown by the next `encode`).
    private let finished = Mutex<(segments: [TranscriptSegment], error: (any Error)?)>(([], nil))
    /// Windows waiting on the queue, and their audio (ms): how far speech is behind.
    private let queued = Atomic<Int>(0)
    private let queuedMs = Atomic<Int>(0)
    /// Windows that may wait on the queue before `encode` waits as well.
    public static let maxQueuedWindows = 8

    /// Audio (ms) handed to the transcriber and not yet processed (packed mode; 0 otherwise).
    public var backlogMs: Int { queuedMs.load(ordering: .relaxed) }

    /// Packed mode: end of the last window the queue has processed (Int64.min before the first).
    private let processedEnd = Atomic<Int64>(Int64.min)

    /// Packed mode: how far the queue has got; nil unpacked (every window is analysed in `encode`).
    public var analysedEndMs: Int64? {
        guard worker != nil else { return nil }
        let end = processedEnd.load(ordering: .relaxed)
        return end == Int64.min ? nil : end
    }

    /// An utterance may wait this long for others to share its Whisper window (0 unpacked).
    public var plannedDelayMs: Int { worker?.packer.latencyMs ?? 0 }

    /// Each utterance is recognised before `encode` returns (the recogniser does not wait for others).
    public init(makeTranscriber: @escaping @Sendable () -> LiveSpeechTranscriber) {
        self.makeTranscriber = makeTranscriber
        worker = nil
    }

    /// Utterances go through `packer`, which may hold them for its latency budget; the
    /// transcribers `makeTranscriber` builds must use `packer` as their recogniser.
    public init(packer: PackingRecognizer, makeTranscriber: @escaping @Sendable () -> LiveSpeechTranscriber) {
        self.makeTranscriber = makeTranscriber
        worker = (DispatchQueue(label: "sightline-speech"), DispatchSemaphore(value: Self.maxQueuedWindows), packer)
        packer.addStream()
    }

    deinit {
        if let worker {
            // Let the queue finish what it holds (it may be waiting in the packer), then
            // stop counting this stream as one that can add utterances.
            worker.queue.async { worker.packer.removeStream() }
        }
    }

    public func encode(_ window: MediaWindow) async throws -> [Evidence] {
        guard let worker else { return Self.evidence(try process(window)) }
        if let error = finished.withLock({ f -> (any Error)? in defer { f.error = nil }; return f.error }) { throw error }
        if !window.audio.isEmpty {
            Self.waitForSlot(worker.slots)
            let ms = window.audio.count / AudioFormat.samplesPerMs
            queued.add(1, ordering: .relaxed)
            queuedMs.add(ms, ordering: .relaxed)
            let box = WindowBox(window)
            worker.queue.async { [self] in
                defer {
                    queued.subtract(1, ordering: .relaxed)
                    queuedMs.subtract(ms, ordering: .relaxed)
                    processedEnd.store(box.window.endMs, ordering: .relaxed)
                    worker.slots.signal()
                }
                do {
                    let segments = try process(box.window)
                    finished.withLock { $0.segments += segments }
                } catch {
                    finished.withLock { if $0.error == nil { $0.error = error } }
                }
            }
        }
        return Self.evidence(finished.withLock { f in defer { f.segments = [] }; return f.segments })
    }

    /// The input ended: the open utterance (or the one waiting to be joined) is recognised
    /// now, with what the queue still held; the next window starts a new transcriber.
    public func finish() async throws -> [Evidence] {
        guard let worker else { return Self.evidence(try flushTranscriber()) }
        // Runs after every window queued before it; the packer may hold the utterance for its budget.
        let flushed: Result<[TranscriptSegment], any Error> = worker.queue.sync { Result { try flushTranscriber() } }
        let earlier = finished.withLock { f -> (segments: [TranscriptSegment], error: (any Error)?) in
            defer { f = ([], nil) }
            return f
        }
        if let error = earlier.error { throw error }
        return Self.evidence(earlier.segments + (try flushed.get()))
    }

    private func flushTranscriber() throws -> [TranscriptSegment] {
        try state.withLock { s in
            defer { unrecognized.store(s.retired, ordering: .relaxed) }
            return try Self.retire(&s)
        }
    }

    /// Flushes and drops the current transcriber; its unrecognised utterances stay counted.
    private static func retire(_ s: inout (transcriber: TranscriberBox?, endMs: Int64?, retired: Int)) throws -> [TranscriptSegment] {
        guard let t = s.transcriber else { return [] }
        defer {
            s.retired += t.value.unrecognizedCount
            s.transcriber = nil
            s.endMs = nil
        }
        return try t.value.flush()
    }

    /// Blocks this compute thread until the queue has room (back-pressure on the stream).
    private static func waitForSlot(_ slots: DispatchSemaphore) { slots.wait() }

    /// Feeds one window's audio to the stream's transcriber; the segments that became final.
    private func process(_ window: MediaWindow) throws -> [TranscriptSegment] {
        guard !window.audio.isEmpty else { return [] }
        return try state.withLock { s in
            var out: [TranscriptSegment] = []
            if let end = s.endMs, window.startMs != end { out += try Self.retire(&s) }
            let t = s.transcriber ?? TranscriberBox(makeTranscriber())
            s.transcriber = t
            out += try t.value.feed(window.audio, startMs: window.startMs)
            s.endMs = window.startMs + Int64(window.audio.count / AudioFormat.samplesPerMs)
            unrecognized.store(s.retired + t.value.unrecognizedCount, ordering: .relaxed)
            return out
        }
    }

    /// Speech evidence of recognised segments: text, word times, mean word probability.
    static func evidence(_ segments: [TranscriptSegment]) -> [Evidence] {
        segments.map { seg in
            // Words keep the recogniser's spacing (" country"): the cue builder joins them as they are.
            let probabilities = seg.words.compactMap(\.probability)
            let confidence = probabilities.isEmpty ? nil : probabilities.reduce(0, +) / Double(probabilities.count)
            return Evidence(modality: .speech, startMs: seg.startMs, endMs: seg.endMs,
                            text: seg.text.trimmingCharacters(in: .whitespaces), confidence: confidence, words: seg.words)
        }
    }
}

/// A window handed to the encoder's queue (MediaWindow's frames are not Sendable; speech
/// reads only the audio).
final class WindowBox: @unchecked Sendable {
    let window: MediaWindow
    init(_ window: MediaWindow) { self.window = window }
}

/// LiveSpeechTranscriber is a non-Sendable class; it is only used under SpeechEncoder's lock.
final class TranscriberBox: @unchecked Sendable {
    let value: LiveSpeechTranscriber
    init(_ value: LiveSpeechTranscriber) { self.value = value }
}
