// Shares one loaded copy of the Silero VAD weights between the streams' speech encoders.
import VAD

public final class SileroVADWeightsBox: Sendable {
    public let weights: SileroVADWeights
    public init(_ weights: SileroVADWeights) { self.weights = weights }
}
