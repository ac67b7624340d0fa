// One stretch of detected speech, in samples at 16 kHz (exact, as the reference reports them)
// and in Int64 milliseconds of media time (floor of samples / 16).
public struct SpeechRegion: Sendable, Hashable {
    public var startSample: Int
    public var endSample: Int

    public init(startSample: Int, endSample: Int) {
        self.startSample = startSample
        self.endSample = endSample
    }

    public var startMs: Int64 { Int64(startSample) * 1_000 / Int64(SileroVAD.sampleRate) }
    public var endMs: Int64 { Int64(endSample) * 1_000 / Int64(SileroVAD.sampleRate) }
}
