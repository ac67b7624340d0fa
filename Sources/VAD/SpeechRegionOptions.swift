// Parameters of speech-region extraction, with silero-vad's documented defaults
// (`get_speech_timestamps`): threshold 0.5, exit threshold threshold − 0.15, minimum speech
// 250 ms, minimum silence 100 ms, padding 30 ms, no maximum length.
public struct SpeechRegionOptions: Sendable, Hashable {
    /// A chunk with probability ≥ this is speech.
    public var threshold: Double = 0.5
    /// Once in speech, a chunk below this counts as silence; nil = max(threshold − 0.15, 0.01).
    public var negativeThreshold: Double? = nil
    /// Shorter regions are dropped.
    public var minSpeechMs: Int = 250
    /// Longer regions are split (preferably at a silence); `.infinity` = never.
    public var maxSpeechSeconds: Double = .infinity
    /// Silence must last this long to end a region.
    public var minSilenceMs: Int = 100
    /// Regions are widened by this much on each side (half the gap when two are closer).
    public var speechPadMs: Int = 30
    /// Minimum silence considered as a cut point when a region hits `maxSpeechSeconds`.
    public var minSilenceAtMaxSpeechMs: Int = 98
    /// At the maximum length, cut at the longest silence seen (true) or the last one (false).
    public var useLongestSilenceAtMaxSpeech: Bool = true

    public init() {}

    public static let `default` = SpeechRegionOptions()

    public var effectiveNegativeThreshold: Double { negativeThreshold ?? max(threshold - 0.15, 0.01) }

    func validate() throws(VADError) {
        guard threshold >= 0, threshold <= 1 else { throw .invalidOptions("threshold must be in 0...1 (got \(threshold))") }
        if let n = negativeThreshold, !(0...1).contains(n) {
            throw .invalidOptions("negativeThreshold must be in 0...1 (got \(n))")
        }
        guard minSpeechMs >= 0, minSilenceMs >= 0, speechPadMs >= 0, minSilenceAtMaxSpeechMs >= 0 else {
            throw .invalidOptions("durations must not be negative")
        }
        guard maxSpeechSeconds > 0 else {
            throw .invalidOptions("maxSpeechSeconds must be positive (got \(maxSpeechSeconds))")
        }
    }
}
