// A fake speech recogniser for pipeline tests: it records how many samples each call got and
// answers with one segment spanning the given audio, with a fixed text. The real one is
// Whisper; this lets segmentation, storage and time mapping be tested exactly.
import SpokenWords
import Subtitles
import Synchronization
import Transcription

public final class RecordingRecognizer: SegmentRecognizer, @unchecked Sendable {
    public let modelName = "recording-fake"
    public let text: String
    private let recorded = Mutex<[Int]>([])

    public init(text: String = " ask not what your country can do for you") {
        self.text = text
    }

    /// Sample counts of each recognise call, in order.
    public var calls: [Int] { recorded.withLock { $0 } }

    public func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        recorded.withLock { $0.append(samples.count) }
        return RecognizedSpeech(language: "en", segments: [TranscriptSegment(startMs: 0, endMs: Int64(samples.count / 16), text: text)])
    }
}
