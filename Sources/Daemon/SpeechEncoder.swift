// The speech modality of a live stream: each window's audio goes to a LiveSpeechTranscriber
// (Silero VAD → Whisper on each utterance as it ends), and every recognised segment becomes
// one `speech` evidence row with its words. An utterance's segments are returned with the
// window in which it ended, carrying their own (earlier) times, so the store and the query
// side place them where the words were said.
import Foundation
import MediaIO
import Store
import Subtitles
import Synchronization
import Transcription

public final class SpeechEncoder: WindowEncoder, @unchecked Sendable {
    public let name = "speech"
    /// One stream's transcriber; encode() calls for a stream arrive one at a time, the lock
    /// only makes that explicit.
    private let transcriber: Mutex<LiveSpeechTranscriber>

    public init(transcriber: sending LiveSpeechTranscriber) {
        self.transcriber = Mutex(transcriber)
    }

    public func encode(_ window: MediaWindow) async throws -> [Evidence] {
        guard !window.audio.isEmpty else { return [] }
        let segments = try transcriber.withLock { try $0.feed(window.audio, startMs: window.startMs) }
        return segments.map(Self.evidence)
    }

    static func evidence(_ s: TranscriptSegment) -> Evidence {
        var e = Evidence(modality: .speech, startMs: s.startMs, endMs: s.endMs,
                         text: s.text.trimmingCharacters(in: .whitespaces))
        // Words keep the recogniser's spacing (" country"): the cue builder joins them as they are.
        e.words = s.words.map { Word(text: $0.word, startMs: $0.startMs, endMs: $0.endMs, probability: $0.probability) }
        if !s.words.isEmpty {
            e.confidence = s.words.map(\.probability).reduce(0, +) / Double(s.words.count)
        }
        return e
    }
}

/// A recogniser shared by every stream's SpeechEncoder: Whisper's scratch buffers allow one
/// transcription at a time, so calls are serialised here and take turns on the kernel pool.
public final class SharedRecognizer: SegmentRecognizer, @unchecked Sendable {
    private let inner: any SegmentRecognizer
    private let lock = NSLock()
    public var modelName: String { inner.modelName }

    public init(_ inner: any SegmentRecognizer) { self.inner = inner }

    public func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        lock.lock()
        defer { lock.unlock() }
        return try inner.recognize(samples, progress: progress)
    }
}
