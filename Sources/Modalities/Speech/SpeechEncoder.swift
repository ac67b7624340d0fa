// Speech as a window encoder: each window's audio goes to a LiveSpeechTranscriber (Silero
// VAD online, then the recogniser on each closed utterance), and every utterance that closes
// becomes `.speech` evidence with its text and word times (absolute ms). Utterances can
// span windows: the evidence is stored with the window in which the utterance ended, with
// its own true times. A gap in the audio (reconnect, dropped window) starts a new
// transcriber after flushing the open utterance, so times never drift across gaps.
// Only final segments are stored (`feed`): a sentence cut at a pause is joined and decoded
// again inside the transcriber before it is returned, never replaced afterwards.
// `unrecognizedCount` counts utterances that gave no text even when decoded on their own,
// over every transcriber this encoder made; the daemon puts it on /metrics.
import SpokenWords
import Foundation
import MediaIO
import SightlineCore
import Subtitles
import Synchronization
import Transcription

public final class SpeechEncoder: WindowEncoder {
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

    public init(makeTranscriber: @escaping @Sendable () -> LiveSpeechTranscriber) {
        self.makeTranscriber = makeTranscriber
    }

    public func encode(_ window: MediaWindow) async throws -> [Evidence] {
        guard !window.audio.isEmpty else { return [] }
        let segments: [TranscriptSegment] = try state.withLock { s in
            var out: [TranscriptSegment] = []
            if let end = s.endMs, let t = s.transcriber, window.startMs != end {
                out += try t.value.flush()
                s.retired += t.value.unrecognizedCount
                s.transcriber = nil
            }
            let t = s.transcriber ?? TranscriberBox(makeTranscriber())
            s.transcriber = t
            out += try t.value.feed(window.audio, startMs: window.startMs)
            s.endMs = window.startMs + Int64(window.audio.count / AudioFormat.samplesPerMs)
            unrecognized.store(s.retired + t.value.unrecognizedCount, ordering: .relaxed)
            return out
        }
        return segments.map { seg in
            // Words keep the recogniser's spacing (" country"): the cue builder joins them as they are.
            let probabilities = seg.words.compactMap(\.probability)
            let confidence = probabilities.isEmpty ? nil : probabilities.reduce(0, +) / Double(probabilities.count)
            return Evidence(modality: .speech, startMs: seg.startMs, endMs: seg.endMs,
                            text: seg.text.trimmingCharacters(in: .whitespaces), confidence: confidence, words: seg.words)
        }
    }
}

/// LiveSpeechTranscriber is a non-Sendable class; it is only used under SpeechEncoder's lock.
final class TranscriberBox: @unchecked Sendable {
    let value: LiveSpeechTranscriber
    init(_ value: LiveSpeechTranscriber) { self.value = value }
}
