// The real SegmentRecognizer: Whisper (CTranslate2 or Hugging Face checkpoints) with the
// chosen decoding options; its segments are already the shared `TranscriptSegment`s.
import SpokenWords
import Subtitles
import Whisper

public final class WhisperRecognizer: SegmentRecognizer {
    public let transcriber: WhisperTranscriber
    public var options: TranscriptionOptions
    public var modelName: String { transcriber.name }

    public init(transcriber: WhisperTranscriber, options: TranscriptionOptions) {
        self.transcriber = transcriber
        self.options = options
    }

    public func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        try recognize(samples, prompt: nil, progress: progress)
    }

    /// A prompt replaces `options.initialPrompt` for this call: Whisper sees it as the text
    /// before the first window, as faster-whisper's `initial_prompt`.
    public func recognize(_ samples: [Float], prompt: String?, progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        var o = options
        if let prompt, !prompt.isEmpty { o.initialPrompt = prompt }
        let result = try transcriber.transcribe(samples: samples, options: o, progress: progress)
        return RecognizedSpeech(language: result.language, segments: result.segments.map(\.transcript))
    }
}
