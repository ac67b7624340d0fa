// The evidence vocabulary: what an encoder says about one window, as a typed, timestamped
// piece of evidence. Every modality (speech, measurements; vision labels, on-screen text,
// captions and embeddings as their encoders land) is expressed with this one type, so adding
// a modality adds rows, never columns or tables. Times are Int64 milliseconds on the
// stream's timeline: media time for files, Unix epoch milliseconds for live streams
// (docs/ARCHITECTURE.md, "Time"). Speech words are `TranscriptWord`s, the one word type from
// Whisper to the subtitles and the store.
import SpokenWords

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
    /// A person seen in a sampled frame: text "person", its box in `region`, the detector's score.
    public static let person: Modality = "person"
    /// A face seen in a sampled frame: text "face", its box in `region`, the detector's score.
    public static let face: Modality = "face"
    /// A sampled frame as a whole: its image embedding, no text.
    public static let image: Modality = "image"
}

/// Where in the picture a piece of evidence was seen: a box in fractions of the frame's
/// width and height (0...1, x to the right, y down), so it holds for any sampled size.
/// In JSON it is the array [x0, y0, x1, y1].
public struct Region: Sendable, Codable, Equatable {
    public var x0: Double
    public var y0: Double
    public var x1: Double
    public var y1: Double

    /// The box [x0, x1) × [y0, y1) in fractions of the frame.
    public init(x0: Double, y0: Double, x1: Double, y1: Double) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }

    /// The pixel box (x0, y0, x1, y1) of a `width` × `height` frame as fractions, clipped to the frame.
    public init(pixels x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, width: Int, height: Int) {
        let w = Double(max(width, 1)), h = Double(max(height, 1))
        func clip(_ v: Double) -> Double { v.isFinite ? min(max(v, 0), 1) : 0 }
        self.init(x0: clip(x0 / w), y0: clip(y0 / h), x1: clip(x1 / w), y1: clip(y1 / h))
    }

    /// Reads [x0, y0, x1, y1].
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        self.init(x0: try c.decode(Double.self), y0: try c.decode(Double.self),
                  x1: try c.decode(Double.self), y1: try c.decode(Double.self))
    }

    /// Writes [x0, y0, x1, y1].
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        for v in [x0, y0, x1, y1] { try c.encode(v) }
    }

    /// Width × height as a fraction of the frame's area.
    public var area: Double { max(0, x1 - x0) * max(0, y1 - y0) }

    /// Intersection over union with `other` (0 when either is empty).
    public func iou(_ other: Region) -> Double {
        let ix = max(0, min(x1, other.x1) - max(x0, other.x0)), iy = max(0, min(y1, other.y1) - max(y0, other.y0))
        let inter = ix * iy, union = area + other.area - inter
        return union > 0 ? inter / union : 0
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
    public var words: [TranscriptWord]
    /// A vector describing the evidence (image or text embedding), when an encoder or enricher made one.
    public var embedding: Embedding?
    /// Where in the picture it was seen (people, faces, text lines, labels of a region); nil
    /// for audio and for the whole frame.
    public var region: Region?
    /// More of an observation already stored (the same text line still on screen): the store
    /// extends the latest row of the same stream, modality and text that ends at or after
    /// `startMs` minus `Evidence.continuationGapMs` to this one's end, instead of adding a
    /// row; it adds a row when there is none. So a line seen for a minute is one row with
    /// its whole time span.
    public var continues: Bool
    /// How far apart two sightings of one observation may be and still be one row.
    public static let continuationGapMs: Int64 = 10_000

    /// Evidence of `modality` over [startMs, endMs); every other field is optional.
    public init(modality: Modality, startMs: Int64, endMs: Int64, text: String? = nil,
                confidence: Double? = nil, value: Double? = nil, words: [TranscriptWord] = [],
                embedding: Embedding? = nil, region: Region? = nil, continues: Bool = false)
    {
        self.modality = modality
        self.startMs = startMs
        self.endMs = endMs
        self.text = text
        self.confidence = confidence
        self.value = value
        self.words = words
        self.embedding = embedding
        self.region = region
        self.continues = continues
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
