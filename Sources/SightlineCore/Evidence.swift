// The evidence vocabulary: what an encoder says about one window, as a typed, timestamped
// piece of evidence. Every modality (speech, measurements; vision labels, on-screen text,
// captions and embeddings as their encoders land) is expressed with this one type, so adding
// a modality adds rows, never columns or tables. Times are Int64 milliseconds on the
// stream's timeline: media time for files, Unix epoch milliseconds for live streams
// (docs/ARCHITECTURE.md, "Time").

/// The kind of evidence. Open set: a new encoder picks a new raw value.
public struct Modality: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The name stored and shown in the API ("speech", "motion").
    public var rawValue: String
    /// The modality called `rawValue`.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The modality called `value`, written as a literal.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The raw name.
    public var description: String { rawValue }

    /// Recognised speech: one segment of text with optional word times.
    public static let speech: Modality = "speech"
    /// Text read off the picture (OCR lines).
    public static let ocr: Modality = "ocr"
    /// Image labels (classifier output), one row per label.
    public static let label: Modality = "label"
    /// A generated description of the picture.
    public static let caption: Modality = "caption"
    /// Loudness of the window's audio; `value` is RMS level in dBFS.
    public static let audioLevel: Modality = "audio_level"
    /// Fraction of pixels that changed between sampled frames; `value` in 0...1.
    public static let motion: Modality = "motion"
}

/// One recognised word with its time span.
public struct Word: Sendable, Codable, Equatable {
    /// The word as the recogniser wrote it, with its leading space (" country").
    public var text: String
    /// When the word starts and ends (ms on the stream's timeline).
    public var startMs: Int64
    public var endMs: Int64
    /// The recogniser's probability for the word, where it gives one.
    public var probability: Double?
    /// A word spoken over [startMs, endMs).
    public init(text: String, startMs: Int64, endMs: Int64, probability: Double? = nil) {
        self.text = text
        self.startMs = startMs
        self.endMs = endMs
        self.probability = probability
    }
}

/// A vector from some embedding model, stored as fp16 (half the bytes of f32; the
/// cosine error this adds is below 1e-3, far under retrieval noise).
public struct Embedding: Sendable, Equatable {
    /// Model name, e.g. "all-MiniLM-L6-v2"; vectors are only compared within one model.
    public var model: String
    /// (dim,) Float32 values.
    public var vector: [Float]
    /// A vector of `model`'s space.
    public init(model: String, vector: [Float]) {
        self.model = model
        self.vector = vector
    }
}

/// One piece of evidence about a time span of a stream, from one encoder.
public struct Evidence: Sendable, Equatable {
    /// Which encoder family produced it; decides how `text`, `value` and `words` are read.
    public var modality: Modality
    public var startMs: Int64
    /// Exclusive end of the span the evidence holds for, same timeline as `startMs`.
    public var endMs: Int64
    /// Searchable text (speech segment, OCR line, label name, caption); nil for pure measurements.
    public var text: String?
    /// Encoder confidence in 0...1, where it has one.
    public var confidence: Double?
    /// A measurement (dBFS for audio level, changed-pixel fraction for motion).
    public var value: Double?
    /// Word times of speech evidence, in spoken order; empty for other modalities.
    public var words: [Word]
    /// A vector describing the evidence (image or text embedding), when an encoder or enricher made one.
    public var embedding: Embedding?

    /// Evidence of `modality` over [startMs, endMs); every other field is optional.
    public init(modality: Modality, startMs: Int64, endMs: Int64, text: String? = nil,
                confidence: Double? = nil, value: Double? = nil, words: [Word] = [],
                embedding: Embedding? = nil)
    {
        self.modality = modality
        self.startMs = startMs
        self.endMs = endMs
        self.text = text
        self.confidence = confidence
        self.value = value
        self.words = words
        self.embedding = embedding
    }
}

/// One stream's window, as it is committed: its time range and everything every encoder said.
public struct WindowRecord: Sendable, Equatable {
    /// The stream's configured id.
    public var streamId: String
    /// The window's span [startMs, endMs) on the stream's timeline.
    public var startMs: Int64
    public var endMs: Int64
    /// Number of sampled video frames and audio samples that went into the window.
    public var frameCount: Int
    public var audioSamples: Int
    /// Everything every encoder (and enricher) said about the window.
    public var evidence: [Evidence]

    /// A window of `streamId` over [startMs, endMs).
    public init(streamId: String, startMs: Int64, endMs: Int64, frameCount: Int = 0,
                audioSamples: Int = 0, evidence: [Evidence] = [])
    {
        self.streamId = streamId
        self.startMs = startMs
        self.endMs = endMs
        self.frameCount = frameCount
        self.audioSamples = audioSamples
        self.evidence = evidence
    }
}
