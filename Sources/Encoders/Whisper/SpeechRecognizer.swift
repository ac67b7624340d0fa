// What Whisper returns and takes: timestamped segments and words of 16 kHz mono Float32
// audio, and the decoding options. All times are Int64 milliseconds from the start of the
// given samples. (Transcription's `SegmentRecognizer` is the one recogniser seam.)
public struct SpeechWord: Sendable, Codable, Equatable {
    public var startMs: Int64
    public var endMs: Int64
    public var word: String
    public var probability: Float

    public init(startMs: Int64, endMs: Int64, word: String, probability: Float) {
        self.startMs = startMs; self.endMs = endMs; self.word = word; self.probability = probability
    }
}

public struct SpeechSegment: Sendable, Codable, Equatable {
    public var startMs: Int64
    public var endMs: Int64
    public var text: String
    public var tokens: [Int]
    public var words: [SpeechWord]
    public var avgLogprob: Float
    public var noSpeechProb: Float
    public var compressionRatio: Float
    public var temperature: Float
}

public struct SpeechTranscript: Sendable, Codable, Equatable {
    public var language: String
    public var languageProbability: Float
    public var durationMs: Int64
    public var segments: [SpeechSegment]

    /// All segment texts joined, as faster-whisper's `"".join(s.text for s in segments)`.
    public var text: String { segments.map(\.text).joined() }
}

public enum WhisperTask: String, Sendable, CaseIterable, Codable {
    case transcribe, translate
}

/// Options of one transcription; defaults are faster-whisper's `transcribe()` defaults.
public struct TranscriptionOptions: Sendable {
    /// nil: detect from the first 30 s (multilingual models), "en" for English-only models.
    public var language: String?
    public var task: WhisperTask = .transcribe
    public var beamSize = 5
    public var bestOf = 5
    public var patience: Float = 1
    public var lengthPenalty: Float = 1
    /// Tried in order until a result passes the thresholds; [0] disables the fallback.
    public var temperatures: [Float] = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    public var compressionRatioThreshold: Float? = 2.4
    public var logProbThreshold: Float? = -1
    public var noSpeechThreshold: Float? = 0.6
    public var conditionOnPreviousText = true
    public var promptResetOnTemperature: Float = 0.5
    public var initialPrompt: String?
    public var withoutTimestamps = false
    public var maxInitialTimestamp: Float = 1
    public var suppressBlank = true
    /// Token ids to suppress; -1 stands for the model's non-speech symbols.
    public var suppressTokens: [Int] = [-1]
    public var wordTimestamps = false
    public var prependPunctuations = "\"'“¿([{-"
    public var appendPunctuations = "\"'.。,，!！?？:：”)]}、"

    public init() {}

    /// Greedy decoding with the temperature fallback off (the golden-test configuration).
    public static var greedy: TranscriptionOptions {
        var o = TranscriptionOptions()
        o.beamSize = 1
        o.temperatures = [0]
        return o
    }
}

/// Progress of a transcription: media time decoded so far and the total, in ms.
public typealias TranscriptionProgress = @Sendable (_ doneMs: Int64, _ totalMs: Int64) -> Void
