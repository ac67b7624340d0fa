// Voice activity on a live stream: takes 16 kHz mono samples in blocks of any size (as
// MediaIO's audio windows arrive), runs Silero VAD on each complete 512-sample chunk and
// reports speech start and end edges in stream samples. A partial chunk waits for the next
// block, so results do not depend on how the stream was cut into blocks.
public final class SpeechStream {
    private let vad: SileroVAD
    public private(set) var tracker: SpeechEdgeTracker
    private var pending: [Float]  // (< 512) samples of the next, incomplete chunk

    public init(weights: SileroVADWeights, options: SpeechEdgeTracker.Options = .init()) {
        vad = SileroVAD(weights: weights)
        tracker = SpeechEdgeTracker(options: options)
        pending = []
        pending.reserveCapacity(SileroVAD.chunkSamples)
    }

    public var isSpeaking: Bool { tracker.inSpeech }

    /// Forgets everything: a new stream, or a restart after a discontinuity.
    public func reset() {
        vad.reset()
        tracker.reset()
        pending.removeAll(keepingCapacity: true)
    }

    /// Appends samples; returns the edges found in the chunks they completed, in order.
    public func append(_ samples: some Sequence<Float>) -> [SpeechEdgeTracker.Edge] {
        var edges: [SpeechEdgeTracker.Edge] = []
        for x in samples {
            pending.append(x)
            if pending.count == SileroVAD.chunkSamples {
                // Cannot throw: the chunk has the right size by construction.
                let p = (try? vad.probability(ofChunk: pending)) ?? 0
                if let edge = tracker.step(probability: p) { edges.append(edge) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        return edges
    }
}
