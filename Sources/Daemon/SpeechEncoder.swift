// Speech as a window encoder: each window's audio goes to a LiveSpeechTranscriber (Silero
// VAD online, then the recogniser on each closed utterance), and every utterance that closes
// becomes `.speech` evidence with its text and word times (absolute ms). Utterances can
// span windows: the evidence is stored with the window in which the utterance ended, with
// its own true times. A gap in the audio (reconnect, dropped window) starts a new
// transcriber after flushing the open utterance, so times never drift across gaps.
import MediaIO
import Store
import Subtitles
import Synchronization
import Transcription

public final class SpeechEncoder: WindowEncoder {
    public let name = "speech"
    /// Builds a transcriber (VAD state + recogniser) for a new contiguous stretch of audio.
    let makeTranscriber: @Sendable () -> LiveSpeechTranscriber
    /// The transcriber and the end (ms) of the audio it has been fed. Encoders of one stream
    /// are called serially; the lock makes that safe to rely on.
    private let state = Mutex<(transcriber: TranscriberBox?, endMs: Int64?)>((nil, nil))

    public init(makeTranscriber: @escaping @Sendable () -> LiveSpeechTranscriber) {
        self.makeTranscriber = makeTranscriber
    }

    public func encode(_ window: MediaWindow) async throws -> [Evidence] {
        guard !window.audio.isEmpty else { return [] }
        let segments: [TranscriptSegment] = try state.withLock { s in
            var out: [TranscriptSegment] = []
            if let end = s.endMs, let t = s.transcriber, window.startMs != end {
                out += try t.value.flush()
                s.transcriber = nil
            }
            let t = s.transcriber ?? TranscriberBox(makeTranscriber())
            s.transcriber = t
            out += try t.value.feed(window.audio, startMs: window.startMs)
            s.endMs = window.startMs + Int64(window.audio.count / AudioFormat.samplesPerMs)
            return out
        }
        return segments.map { seg in
            Evidence(modality: .speech, startMs: seg.startMs, endMs: seg.endMs, text: seg.text,
                     words: seg.words.map { Word(text: $0.word, startMs: $0.startMs, endMs: $0.endMs, probability: $0.probability) })
        }
    }
}

/// LiveSpeechTranscriber is a non-Sendable class; it is only used under SpeechEncoder's lock.
final class TranscriberBox: @unchecked Sendable {
    let value: LiveSpeechTranscriber
    init(_ value: LiveSpeechTranscriber) { self.value = value }
}

/// The built-in encoders plus speech for streams with `modalities.speech`, given the VAD
/// weights and a recogniser factory (Whisper when the speech models are installed).
public struct SpeechEncoders: EncoderFactory {
    let base: BuiltinEncoders
    let vad: SileroVADWeightsBox
    let recognizerName: String
    let makeRecognizer: @Sendable () -> any SegmentRecognizer

    public init(vad: SileroVADWeightsBox, recognizerName: String, makeRecognizer: @escaping @Sendable () -> any SegmentRecognizer) {
        self.base = BuiltinEncoders()
        self.vad = vad
        self.recognizerName = recognizerName
        self.makeRecognizer = makeRecognizer
    }

    public var modelsLoaded: [String] { ["silero-vad", recognizerName] }

    public func makeEncoders(for stream: StreamConfig) throws -> [any WindowEncoder] {
        var out = try base.makeEncoders(for: stream)
        if stream.modalities.speech {
            let vad = self.vad
            let make = makeRecognizer
            out.append(SpeechEncoder { LiveSpeechTranscriber(vad: vad.weights, recognizer: make()) })
        }
        return out
    }
}
