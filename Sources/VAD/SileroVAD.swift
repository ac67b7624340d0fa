// Silero VAD (v5/v6 architecture, 16 kHz) on the CPU: speech probability for each 32 ms chunk.
//
// Per chunk of 512 samples, with the previous chunk's last 64 samples prepended as context
// (576 samples), as the silero-vad package's OnnxWrapper and tinygrad_model.py feed it:
//   reflect-pad 64 on the right                          (640)
//   STFT as a convolution: 258 filters × 256, stride 128 (258, 4) → magnitude √(re²+im²) (129, 4)
//   encoder: conv k3 p1 + ReLU ×4, strides 1, 2, 2, 1    (128, 4) (64, 2) (64, 1) (128, 1)
//   LSTM cell, state (h, c) carried across chunks        (128)
//   decoder: ReLU → 1×1 conv → sigmoid                   probability
// The architecture was read from the package's `tinygrad_model.py` and its ONNX graph, and a
// NumPy port of this description matches onnxruntime on the ONNX file's own weights to 3e-6.
//
// One instance per audio stream (it carries state); the weights can be shared. All scratch is
// allocated once in init.
import Foundation

public final class SileroVAD {
    public static let sampleRate = 16_000
    public static let chunkSamples = 512  // 32 ms at 16 kHz
    public static let contextSamples = 64  // carried over from the previous chunk
    static let windowSamples = chunkSamples + contextSamples  // 576
    static let reflectPad = 64
    static let paddedSamples = windowSamples + reflectPad  // 640
    static let frames = (paddedSamples - SileroVADWeights.fftSize) / SileroVADWeights.hop + 1  // 4

    public let weights: SileroVADWeights

    // MARK: - State carried across chunks
    private var h: [Float]  // (128) LSTM hidden
    private var c: [Float]  // (128) LSTM cell
    private var context: [Float]  // (64) last samples of the previous window

    // MARK: - Scratch (allocated once)
    private var padded: [Float]  // (640) context + chunk + reflection
    private var spectrum: [Float]  // (258, 4) STFT real and imaginary parts
    private var magnitude: [Float]  // (129, 4)
    private var act1: [Float]  // (128, 4)
    private var act2: [Float]  // (64, 2)
    private var act3: [Float]  // (64, 1)
    private var act4: [Float]  // (128, 1) encoder output = LSTM input
    private var columns: [Float]  // (4, 129·3) im2col scratch, the largest conv's
    private var gates: [Float]  // (512) LSTM gates i, f, g, o

    public init(weights: SileroVADWeights) {
        self.weights = weights
        let hidden = SileroVADWeights.hidden
        let f = Self.frames
        h = Array(repeating: 0, count: hidden)
        c = Array(repeating: 0, count: hidden)
        context = Array(repeating: 0, count: Self.contextSamples)
        padded = Array(repeating: 0, count: Self.paddedSamples)
        spectrum = Array(repeating: 0, count: 2 * SileroVADWeights.bins * f)
        magnitude = Array(repeating: 0, count: SileroVADWeights.bins * f)
        act1 = Array(repeating: 0, count: 128 * f)
        act2 = Array(repeating: 0, count: 64 * 2)
        act3 = Array(repeating: 0, count: 64)
        act4 = Array(repeating: 0, count: 128)
        columns = Array(repeating: 0, count: f * SileroVADWeights.bins * SileroVADWeights.kernel)
        gates = Array(repeating: 0, count: 4 * hidden)
    }

    /// Forgets the stream: zero LSTM state and context (a new file or a stream restart).
    public func reset() {
        for i in h.indices { h[i] = 0; c[i] = 0 }
        for i in context.indices { context[i] = 0 }
    }

    /// Speech probability of the next 512-sample chunk of the stream (16 kHz mono, ±1 floats).
    public func probability(ofChunk chunk: some Collection<Float>) throws(VADError) -> Float {
        guard chunk.count == Self.chunkSamples else {
            throw .wrongChunkSize(expected: Self.chunkSamples, got: chunk.count)
        }
        // (576): context then chunk; then the 64-sample reflection (edge sample not repeated).
        for i in 0..<Self.contextSamples { padded[i] = context[i] }
        var i = Self.contextSamples
        for x in chunk { padded[i] = x; i += 1 }
        let n = Self.windowSamples
        for k in 0..<Self.reflectPad { padded[n + k] = padded[n - 2 - k] }
        for k in 0..<Self.contextSamples { context[k] = padded[n - Self.contextSamples + k] }
        return forward()
    }

    /// Probabilities of a whole recording, one per 512-sample chunk from sample 0, the last
    /// chunk zero-padded, state reset first: what silero's `get_speech_timestamps` computes.
    public func probabilities(of samples: [Float]) -> [Float] {
        reset()
        var out: [Float] = []
        out.reserveCapacity((samples.count + Self.chunkSamples - 1) / Self.chunkSamples)
        var chunk = [Float](repeating: 0, count: Self.chunkSamples)
        var start = 0
        while start < samples.count {
            let end = min(start + Self.chunkSamples, samples.count)
            for k in 0..<Self.chunkSamples { chunk[k] = start + k < end ? samples[start + k] : 0 }
            // Cannot throw: the chunk has the right size by construction.
            out.append((try? probability(ofChunk: chunk)) ?? 0)
            start = end
        }
        return out
    }

    /// Speech regions of a whole recording (16 kHz mono): `probabilities(of:)` then
    /// `SpeechRegions.detect`.
    public func speechRegions(
        in samples: [Float], options: SpeechRegionOptions = .default
    ) throws(VADError) -> [SpeechRegion] {
        try options.validate()
        return try SpeechRegions.detect(
            probabilities: probabilities(of: samples), sampleCount: samples.count, options: options)
    }

    // MARK: - Forward pass over `padded`

    private func forward() -> Float {
        let w = weights
        let bins = SileroVADWeights.bins
        let fft = SileroVADWeights.fftSize
        let hop = SileroVADWeights.hop
        let frames = Self.frames
        let hidden = SileroVADWeights.hidden
        // STFT as convolution: spectrum[o, t] = Σ_k stft[o, k] · padded[t·hop + k].
        w.stft.withUnsafeBufferPointer { basis in
            padded.withUnsafeBufferPointer { x in
                spectrum.withUnsafeMutableBufferPointer { s in
                    for o in 0..<2 * bins {
                        for t in 0..<frames {
                            s[o * frames + t] = dot(basis.baseAddress! + o * fft, x.baseAddress! + t * hop, fft)
                        }
                    }
                }
            }
        }
        for b in 0..<bins {
            for t in 0..<frames {
                let re = spectrum[b * frames + t], im = spectrum[(bins + b) * frames + t]
                magnitude[b * frames + t] = (re * re + im * im).squareRoot()
            }
        }
        // Encoder: four conv k3 p1 + ReLU.
        encoder(0, input: magnitude, length: frames, output: &act1)
        encoder(1, input: act1, length: frames, output: &act2)
        encoder(2, input: act2, length: 2, output: &act3)
        encoder(3, input: act3, length: 1, output: &act4)
        // LSTM cell (PyTorch gate order i, f, g, o).
        w.lstmWeightIH.withUnsafeBufferPointer { wih in
            w.lstmWeightHH.withUnsafeBufferPointer { whh in
                act4.withUnsafeBufferPointer { x in
                    h.withUnsafeBufferPointer { hp in
                        for r in 0..<4 * hidden {
                            gates[r] = w.lstmBias[r]
                                + dot(wih.baseAddress! + r * hidden, x.baseAddress!, hidden)
                                + dot(whh.baseAddress! + r * hidden, hp.baseAddress!, hidden)
                        }
                    }
                }
            }
        }
        var logit = w.finalBias
        for j in 0..<hidden {
            let input = sigmoid(gates[j])
            let forget = sigmoid(gates[hidden + j])
            let cell = tanhf(gates[2 * hidden + j])
            let output = sigmoid(gates[3 * hidden + j])
            c[j] = forget * c[j] + input * cell
            h[j] = output * tanhf(c[j])
            // Decoder: ReLU then the 1×1 convolution to one logit.
            logit += w.finalWeight[j] * max(0, h[j])
        }
        return sigmoid(logit)
    }

    private func encoder(_ layer: Int, input: [Float], length: Int, output: inout [Float]) {
        let cin = SileroVADWeights.encoderChannels[layer]
        let cout = SileroVADWeights.encoderChannels[layer + 1]
        let stride = SileroVADWeights.encoderStrides[layer]
        weights.convWeight[layer].withUnsafeBufferPointer { wp in
            weights.convBias[layer].withUnsafeBufferPointer { bp in
                input.withUnsafeBufferPointer { ip in
                    output.withUnsafeMutableBufferPointer { op in
                        columns.withUnsafeMutableBufferPointer { cp in
                            conv3ReLU(
                                ip.baseAddress!, cin: cin, length: length, stride: stride,
                                weight: wp.baseAddress!, bias: bp.baseAddress!, cout: cout,
                                output: op.baseAddress!, columns: cp.baseAddress!)
                        }
                    }
                }
            }
        }
    }
}
