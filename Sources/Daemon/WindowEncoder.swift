// The seam every modality plugs into: an encoder turns one window into evidence. Speech
// (VAD + Whisper), vision labels, OCR and text embeddings are added as further encoders;
// the pipeline, the store and the API do not change. An encoder instance belongs to one
// stream's pipeline and is called for that stream's windows in order, one at a time, so
// it may keep state from window to window (the motion encoder keeps the previous frame).
import MediaIO
import Store

public protocol WindowEncoder: Sendable {
    /// Short name for logs and metrics ("audio_level", "motion", "speech").
    var name: String { get }
    func encode(_ window: MediaWindow) async throws -> [Evidence]
}

/// Builds one stream's encoders from its configuration (models are shared; per-stream state is not).
public protocol EncoderFactory: Sendable {
    /// Models loaded at start-up, reported by /v1/health.
    var modelsLoaded: [String] { get }
    func makeEncoders(for stream: StreamConfig) throws -> [any WindowEncoder]
}

/// The encoders available without downloaded models: audio level and motion. Speech plugs in
/// here (by wrapping this factory) when the speech encoders land.
public struct BuiltinEncoders: EncoderFactory {
    public init() {}
    public var modelsLoaded: [String] { [] }
    public func makeEncoders(for stream: StreamConfig) throws -> [any WindowEncoder] {
        var out: [any WindowEncoder] = []
        if stream.modalities.audioLevel { out.append(AudioLevelEncoder()) }
        if stream.modalities.motion { out.append(MotionEncoder()) }
        return out
    }
}
