// The seam between the transcription pipelines and a speech recogniser: 16 kHz mono samples
// in, timestamped segments out (times in ms from the first given sample). Whisper is the real
// implementation (see WhisperRecognizer.swift); the pipelines know only this.
import SpokenWords
import Subtitles

public struct RecognizedSpeech: Sendable, Equatable {
    /// ISO 639-1 code, detected or forced.
    public var language: String
    public var segments: [TranscriptSegment]

    public init(language: String, segments: [TranscriptSegment]) {
        self.language = language
        self.segments = segments
    }
}

public protocol SegmentRecognizer: AnyObject {
    /// Name reported in transcripts, e.g. "whisper-base".
    var modelName: String { get }
    /// `progress(doneMs, totalMs)` may be called while recognising long input.
    func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech
    /// As `recognize(_:progress:)`, with `prompt` as the text said just before the samples
    /// (Whisper's previous-text conditioning). Recognisers without prompts ignore it.
    func recognize(_ samples: [Float], prompt: String?, progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech
}

/// One utterance of a batch: its samples and the text said before it (nil: no prompt).
public struct RecognitionRequest: Sendable {
    public var samples: [Float]
    public var prompt: String?

    public init(samples: [Float], prompt: String?) {
        self.samples = samples
        self.prompt = prompt
    }
}

/// A recogniser that can share one model window between several utterances (Whisper's
/// encoder costs the same for 3 s of speech as for 30 s), each still recognised on its own.
public protocol BatchRecognizer: SegmentRecognizer {
    /// Whether utterances of these sample counts share one window.
    func fitOneWindow(sampleCounts: [Int]) -> Bool
    /// Each request as `recognize(_:prompt:progress:)` would give it, in order; requests that
    /// fit one window share it.
    func recognize(batch: [RecognitionRequest]) throws -> [RecognizedSpeech]
}

extension SegmentRecognizer {
    public func recognize(_ samples: [Float], prompt: String?, progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        try recognize(samples, progress: progress)
    }
}
