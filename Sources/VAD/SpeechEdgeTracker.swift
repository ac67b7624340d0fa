// The streaming counterpart of `SpeechRegions`: silero-vad's `VADIterator` state machine,
// which reports where speech starts and ends as chunks arrive instead of returning regions
// after the whole recording (checked against the package, Tests/Fixtures/vad `stream_events`).
// - start: the first chunk with p ≥ threshold, reported at that chunk's start minus the pad;
// - end: once p has stayed below threshold − 0.15 for `minSilenceMs`, reported at the start of
//   the first silent chunk plus the pad; p back above threshold in between cancels it.
// Pure value type: feed it probabilities; `SpeechStream` feeds it from audio.
public struct SpeechEdgeTracker: Sendable, Hashable {
    public struct Options: Sendable, Hashable {
        public var threshold: Double = 0.5
        public var minSilenceMs: Int = 100
        public var speechPadMs: Int = 30
        public init() {}
    }

    public enum Edge: Sendable, Hashable {
        /// Speech starts at this sample of the stream.
        case start(sample: Int)
        /// Speech ends at this sample of the stream.
        case end(sample: Int)
    }

    public let options: Options
    public private(set) var inSpeech = false
    /// Samples consumed so far (the end of the last chunk).
    public private(set) var currentSample = 0
    private var silenceStart = 0  // 0 = no pending end (VADIterator's temp_end)

    public init(options: Options = Options()) {
        self.options = options
    }

    public mutating func reset() {
        inSpeech = false
        currentSample = 0
        silenceStart = 0
    }

    /// Consumes one chunk of `chunkSamples` samples whose speech probability is `probability`.
    public mutating func step(probability: Float, chunkSamples: Int = SileroVAD.chunkSamples) -> Edge? {
        let rate = Double(SileroVAD.sampleRate)
        let pad = rate * Double(options.speechPadMs) / 1000
        let minSilence = rate * Double(options.minSilenceMs) / 1000
        let p = Double(probability)
        currentSample += chunkSamples
        if p >= options.threshold && silenceStart != 0 { silenceStart = 0 }
        if p >= options.threshold && !inSpeech {
            inSpeech = true
            return .start(sample: Int(max(0, Double(currentSample) - pad - Double(chunkSamples))))
        }
        if p < options.threshold - 0.15 && inSpeech {
            if silenceStart == 0 { silenceStart = currentSample }
            if Double(currentSample - silenceStart) < minSilence { return nil }
            let end = Double(silenceStart) + pad - Double(chunkSamples)
            silenceStart = 0
            inSpeech = false
            return .end(sample: Int(end))
        }
        return nil
    }
}
