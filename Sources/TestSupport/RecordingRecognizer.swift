// A fake speech recogniser for pipeline tests: it records what it was asked to recognise and
// answers with one segment spanning the given audio, text naming the call. The real one is
// Whisper; this lets segmentation and time mapping be tested exactly.
import Subtitles
import Transcription

public final class RecordingRecognizer: SegmentRecognizer {
    public let modelName = "recording-fake"
    /// Sample counts of each recognise call.
    public private(set) var calls: [Int] = []

    public init() {}

    public func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        calls.append(samples.count)
        let ms = Int64(samples.count / 16)
        return RecognizedSpeech(language: "en", segments: [TranscriptSegment(startMs: 0, endMs: ms, text: " utterance \(calls.count)")])
    }
}
