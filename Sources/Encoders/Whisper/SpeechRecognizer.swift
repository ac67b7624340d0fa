// What Whisper returns and takes: timestamped segments and words of 16 kHz mono Float32
// audio, and the decoding options. All times are Int64 milliseconds from the start of the
// given samples. (Transcription's `SegmentRecognizer` is the one recogniser seam.)
import SpokenWords

/// One decoded segment: what was said (the `TranscriptSegment` that Transcription, Subtitles
/// and the store share, read through directly: `segment.text`, `segment.words`) and how the
/// decoder got there (its tokens and the statistics of faster-whisper's `Segment`).
@dynamicMemberLookup
public struct SpeechSegment: Sendable, Codable, Equatable {
    /// Text, span (ms from the start of the samples) and words, when word timestamps were asked for.
    public var transcript: TranscriptSegment
    /// The text's token ids, timestamps removed.
    public var tokens: [Int]
    public var avgLogprob: Float
    public var noSpeechProb: Float
    public var compressionRatio: Float
    /// The sampling temperature of the decode that passed the thresholds.
    public var temperature: Float

    public subscript<T>(dynamicMember path: KeyPath<TranscriptSegment, T>) -> T { transcript[keyPath: path] }
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
    /// How many tokens a window's decode may take for the audio it holds; one that reaches
    /// the limit is a runaway (Whisper repeating a phrase, as it does at high confidence on a
    /// fraction of a second of noise or of a word's tail) and counts as failing the
    /// thresholds, so the next temperature is tried. nil: faster-whisper's limit, 224 tokens
    /// whatever the window holds.
    public var tokenLimit: TokenLimit?
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

    /// Decoding of a file's joined speech for its index: beam 5 and the temperature fallback
    /// as `sightline transcribe`, with word times, but each 30 s window decoded without the
    /// text before it as prompt. Conditioned, beam search sometimes repeats earlier sentences
    /// in later windows (on the speech-pauses lecture one run in two gave 23 word errors of
    /// 162, "ask not what your country" looping, against 4 without), and an index that
    /// stores a sentence twice answers with the wrong moment.
    public static var file: TranscriptionOptions {
        var o = TranscriptionOptions()
        o.wordTimestamps = true
        o.conditionOnPreviousText = false
        return o
    }

    /// Decoding for live speech: beam search as on the file path (the live transcriber
    /// decodes a sentence once, when it is final, so the daemon stores what `transcribe`
    /// would write), word timestamps on so every word is searchable with its own time, no
    /// conditioning across 30 s windows (an utterance is one window; the live transcriber
    /// gives the stream's previous text as the initial prompt instead).
    ///
    /// A live utterance's decode is limited by its duration (`TokenLimit.speech`): a runaway
    /// on a fragment of a second stops after a few dozen tokens instead of 224, whose beam
    /// search (Whisper base) takes about three times as long as the rest of the call, while
    /// every stream's speech waits.
    public static var live: TranscriptionOptions {
        var o = TranscriptionOptions()
        o.wordTimestamps = true
        o.conditionOnPreviousText = false
        o.tokenLimit = .speech
        return o
    }
}

/// Tokens a decode may take for a window of audio: `base` plus `perSecond` for each second
/// of it (never more than the model's own limit).
public struct TokenLimit: Sendable, Equatable {
    public var base: Int
    public var perSecond: Int

    public init(base: Int, perSecond: Int) {
        self.base = base
        self.perSecond = perSecond
    }

    /// About twice what speech needs. Fast English is 4–5 tokens a second, Japanese or
    /// Chinese read quickly 10–12 (a kana or hanzi is one or two tokens), plus a pair of
    /// timestamps for each segment; `base` leaves room for those and a few words in a very short one.
    public static let speech = TokenLimit(base: 32, perSecond: 24)

    /// The limit for `seconds` of audio.
    public func tokens(seconds: Double) -> Int { base + Int((Double(perSecond) * max(seconds, 0)).rounded(.up)) }
}

/// Progress of a transcription: media time decoded so far and the total, in ms.
public typealias TranscriptionProgress = @Sendable (_ doneMs: Int64, _ totalMs: Int64) -> Void
