// A recogniser shared by every stream's speech encoder: Whisper's scratch buffers allow one
// transcription at a time, so calls are serialised here and streams take turns on the
// kernel pool instead of each loading its own copy of the model.
import Foundation
import Transcription

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

    public func recognize(_ samples: [Float], prompt: String?, progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        lock.lock()
        defer { lock.unlock() }
        return try inner.recognize(samples, prompt: prompt, progress: progress)
    }
}
