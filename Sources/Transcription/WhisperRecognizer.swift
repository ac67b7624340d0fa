// The real SegmentRecognizer: Whisper (CTranslate2 or Hugging Face checkpoints) with the
// chosen decoding options; its segments are already the shared `TranscriptSegment`s.
import SpokenWords
import Subtitles
import Whisper

public final class WhisperRecognizer: BatchRecognizer {
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
        Self.converted(try transcriber.transcribe(samples: samples, options: options(prompt: prompt), progress: progress))
    }

    /// Silence between utterances sharing a window, in 10 ms frames.
    public var packGapFrames = WhisperTranscriber.defaultPackGapFrames
    /// Whether a packed utterance's gap gets the attention weight of a lone window's padding.
    public var packWeightGap = true

    public func fitOneWindow(sampleCounts: [Int]) -> Bool {
        WhisperTranscriber.packLayout(sampleCounts: sampleCounts, gapFrames: packGapFrames) != nil
    }

    /// Consecutive requests that fit one window share it (WhisperPacking); each is decoded
    /// on its own with its own prompt.
    public func recognize(batch: [RecognitionRequest]) throws -> [RecognizedSpeech] {
        var out: [RecognizedSpeech] = []
        var group: [RecognitionRequest] = []
        func run() throws {
            guard !group.isEmpty else { return }
            let results = try transcriber.transcribePacked(group.map { ($0.samples, options(prompt: $0.prompt)) },
                                                           gapFrames: packGapFrames, weightGap: packWeightGap)
            out += results.map(Self.converted)
            group = []
        }
        for r in batch {
            if !group.isEmpty && !fitOneWindow(sampleCounts: (group + [r]).map(\.samples.count)) { try run() }
            group.append(r)
        }
        try run()
        return out
    }

    private func options(prompt: String?) -> TranscriptionOptions {
        var o = options
        if let prompt, !prompt.isEmpty { o.initialPrompt = prompt }
        return o
    }

    private static func converted(_ result: SpeechTranscript) -> RecognizedSpeech {
        RecognizedSpeech(language: result.language, segments: result.segments.map(\.transcript))
    }
}
