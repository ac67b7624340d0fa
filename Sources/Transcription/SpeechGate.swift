// VAD gating: finds the speech in a recording with Silero VAD and joins only the speech
// regions into one buffer for the recogniser, with the map that puts its times back.
// Defaults follow faster-whisper's VAD filter (silences shorter than 2 s are kept inside a
// region, regions padded by 400 ms), so results stay comparable with the reference; silence,
// music and noise never reach the recogniser, so they can never produce a cue.
import VAD

public struct SpeechGateOptions: Sendable, Equatable {
    public var regions: SpeechRegionOptions

    public init() {
        var r = SpeechRegionOptions()
        r.threshold = 0.5
        r.minSpeechMs = 0
        r.minSilenceMs = 2000
        r.speechPadMs = 400
        regions = r
    }

    public static let fasterWhisper = SpeechGateOptions()
}

public struct GatedSpeech: Sendable {
    /// (samples,) the speech regions joined end to end, 16 kHz mono.
    public var samples: [Float]
    public var map: SpeechTimeMap
    public var regions: [SpeechRegion]
    /// (chunks,) Silero speech probability of each 32 ms chunk of the input.
    public var probabilities: [Float]
}

public struct SpeechGate {
    public let weights: SileroVADWeights
    public let options: SpeechGateOptions

    public init(weights: SileroVADWeights, options: SpeechGateOptions = .fasterWhisper) {
        self.weights = weights
        self.options = options
    }

    /// Runs the VAD over all of `samples` (16 kHz mono) and keeps only the speech.
    public func gate(_ samples: [Float]) throws(VADError) -> GatedSpeech {
        try gate(samples, probabilities: SileroVAD(weights: weights).probabilities(of: samples))
    }

    /// Keeps only the speech of `samples` given their speech probabilities, (chunks,) one
    /// per 512-sample chunk from sample 0 as `SileroVAD.probabilities(of:)` gives them (a
    /// caller that already ran the VAD over audio starting with these samples).
    public func gate(_ samples: [Float], probabilities: [Float]) throws(VADError) -> GatedSpeech {
        let regions = try SpeechRegions.detect(probabilities: probabilities, sampleCount: samples.count,
                                               options: options.regions)
        let map = SpeechTimeMap(regions: regions.map { (start: $0.startSample, end: $0.endSample) })
        var joined: [Float] = []
        joined.reserveCapacity(map.joinedSampleCount)
        for r in regions { joined.append(contentsOf: samples[r.startSample..<r.endSample]) }
        return GatedSpeech(samples: joined, map: map, regions: regions, probabilities: probabilities)
    }
}
