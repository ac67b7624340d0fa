// A fake speech recogniser for pipeline tests: it records how many samples each call got and
// answers with one segment spanning the given audio, with a fixed text. The real one is
// Whisper; this lets segmentation, storage and time mapping be tested exactly.
import SpokenWords
import Subtitles
import Synchronization
import Transcription

public final class RecordingRecognizer: BatchRecognizer, @unchecked Sendable {
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

    /// Utterances share a window while they fit Whisper's 30 s.
    public func fitOneWindow(sampleCounts: [Int]) -> Bool { sampleCounts.reduce(0, +) <= 480_000 }

    /// Each request recorded and answered on its own, in order.
    public func recognize(batch: [RecognitionRequest]) throws -> [RecognizedSpeech] {
        try batch.map { try recognize($0.samples, progress: nil) }
    }
}

/// Records every request a live transcriber makes (the utterance's samples and prompt) and
/// answers it with the recogniser it wraps, so a test or benchmark can replay the same
/// utterances another way (packed, decoded alone) and compare.
public final class RequestRecorder: SegmentRecognizer {
    public let inner: any SegmentRecognizer
    /// The requests so far, in order.
    public private(set) var requests: [RecognitionRequest] = []
    public var modelName: String { inner.modelName }

    /// A recorder answering with `inner`.
    public init(_ inner: any SegmentRecognizer) { self.inner = inner }

    public func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        try recognize(samples, prompt: nil, progress: progress)
    }

    public func recognize(_ samples: [Float], prompt: String?, progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        requests.append(RecognitionRequest(samples: samples, prompt: prompt))
        return try inner.recognize(samples, prompt: prompt, progress: progress)
    }
}
