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

extension SegmentRecognizer {
    public func recognize(_ samples: [Float], prompt: String?, progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        try recognize(samples, progress: progress)
    }
}
