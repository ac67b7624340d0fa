// The values MediaIO hands out: stream descriptions, sampled video frames, 16 kHz mono
// audio and the fixed-stride windows that group them. All times are Int64 milliseconds
// (see "Time" in DESIGN.md): media time from the start of a file, or wall-clock Unix epoch
// milliseconds for live inputs.

/// How video frames are picked from the decoded stream.
public enum VideoSampling: Sendable, Equatable {
    /// One frame per `1/fps` seconds of media time: the first decoded frame at or after each tick.
    case fps(Double)
    /// Every decoded frame.
    case everyFrame
    /// Only key frames; the decoder is told to skip the rest, which makes this the cheapest mode.
    case keyframesOnly
}

/// Memory layout of a sampled frame's pixels.
public enum PixelLayout: String, Sendable, Hashable, CaseIterable {
    /// Interleaved 8-bit RGB: `pixels[(y * width + x) * 3 + c]`.
    case rgb8
    /// Planar Float32 RGB scaled to 0...1: `planes[(c * height + y) * width + x]`.
    case planarF32
}

/// Requested output size of sampled frames; nil keeps the source size.
public struct FrameSize: Sendable, Hashable {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
}

/// Everything that controls how an input is opened, decoded, sampled and windowed.
public struct MediaOptions: Sendable {
    public var sampling: VideoSampling = .fps(1)
    /// Output size for sampled frames; nil keeps the decoded size.
    public var frameSize: FrameSize? = nil
    public var pixelLayout: PixelLayout = .rgb8
    /// Window stride and length, in milliseconds.
    public var windowMs: Int64 = 2000
    public var decodeVideo = true
    public var decodeAudio = true
    /// Decoder threads for FFmpeg's frame threading; 0 lets FFmpeg pick one per core.
    public var decodeThreads = 0
    /// Live inputs: how long opening may take, and how long one read may block.
    public var connectTimeoutMs: Int64 = 10_000
    public var readTimeoutMs: Int64 = 10_000
    /// `rtsp://` transport; FFmpeg's default tries UDP first.
    public var rtspTransport: RTSPTransport = .tcp
    /// Windows decoded ahead of the consumer by the async sequence.
    public var bufferedWindows = 2
    /// With `.fps` sampling, leave undecoded the frames no tick can use: non-reference frames
    /// between ticks and, in files whose container indexes key frames (mp4), whole runs of
    /// packets up to the key frame the next tick needs. The sampled frames are the same
    /// either way (MediaIOTests checks it); off only to measure or compare full decoding.
    public var skipUnsampledFrames = true

    public enum RTSPTransport: String, Sendable, CaseIterable { case tcp, udp }

    public init() {}
}

/// One stream of the container, as `probe` reports it.
public struct StreamInfo: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case video, audio, subtitle, data, other }
    public var index: Int
    public var kind: Kind
    public var codec: String
    public var width: Int?
    public var height: Int?
    /// Average frame rate, frames per second.
    public var frameRate: Double?
    public var sampleRate: Int?
    public var channels: Int?
    public var durationMs: Int64?
    public var bitRate: Int64?
}

/// What the container says about itself.
public struct MediaInfo: Sendable, Equatable {
    public var input: String
    public var format: String
    public var formatLongName: String
    public var durationMs: Int64?
    public var streams: [StreamInfo]
    /// True for network streams and devices: times are wall-clock epoch ms.
    public var isLive: Bool
    /// Indices into `streams` of the streams that are decoded.
    public var videoStreamIndex: Int?
    public var audioStreamIndex: Int?
}

/// One sampled, scaled video frame.
public struct VideoFrame: Sendable {
    public var ptsMs: Int64
    public var width: Int
    public var height: Int
    public var layout: PixelLayout
    public var isKeyframe: Bool
    /// `layout == .rgb8`: (height, width, 3) UInt8.
    public var rgb: [UInt8]
    /// `layout == .planarF32`: (3, height, width) Float in 0...1.
    public var planar: [Float]

    /// A frame at `ptsMs` holding `rgb` (rgb8) or `planar` (planarF32) pixels.
    public init(ptsMs: Int64, width: Int, height: Int, layout: PixelLayout, isKeyframe: Bool = true,
                rgb: [UInt8] = [], planar: [Float] = []) {
        self.ptsMs = ptsMs
        self.width = width
        self.height = height
        self.layout = layout
        self.isKeyframe = isKeyframe
        self.rgb = rgb
        self.planar = planar
    }
}

/// One stride of media: the frames and the audio samples whose times fall in [startMs, endMs).
public struct MediaWindow: Sendable {
    public var index: Int
    public var startMs: Int64
    public var endMs: Int64
    public var frames: [VideoFrame]
    /// (samples,) 16 kHz mono Float32 in -1...1; sample i is at startMs + i / 16.
    public var audio: [Float]
}

/// Counters a caller can read after (or during) decoding.
public struct DecodeStats: Sendable, Equatable {
    public var packetsRead = 0
    /// Packets the decoder rejected; they are skipped, never fatal.
    public var corruptPackets = 0
    public var videoFramesDecoded = 0
    public var videoFramesSampled = 0
    /// Video packets never given to the decoder because no sampling tick could need them.
    public var videoPacketsSkipped = 0
    public var audioSamples = 0
    /// Times the timeline was re-anchored after a PTS jump or wrap.
    public var discontinuities = 0
    /// Frames or audio that arrived for a window already emitted (dropped).
    public var lateUnits = 0
    /// Why a file ended before its container said it would (truncated or damaged), if it did.
    public var endedEarly: String? = nil
    public init() {}
}

public enum AudioFormat {
    /// The one audio format every encoder consumes.
    public static let sampleRate = 16_000
    public static let samplesPerMs = 16
}
