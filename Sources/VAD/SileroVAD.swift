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
// Runs on the shared Kernels API: the five convolutions are im2col + PackedLinear (weights
// packed once at load; Kernels' conv1d repacks its weight on every call, which at these sizes
// took 6.1 s instead of 1.2 s for 5 minutes of audio in SileroVADTests), then lstmCell, relu and dot. The shapes are tiny (≤ 258 × 256 ×
// 4 frames), so a single-thread pool is the default and streams run in parallel with each
// other rather than within a chunk.
// One instance per audio stream (it carries state); the weights can be shared. All scratch is
// allocated once in init.
import Foundation
import Kernels

public final class SileroVAD {
    public static let sampleRate = 16_000
    public static let chunkSamples = 512  // 32 ms at 16 kHz
    public static let contextSamples = 64  // carried over from the previous chunk
    static let windowSamples = chunkSamples + contextSamples  // 576
    static let reflectPad = 64
    static let paddedSamples = windowSamples + reflectPad  // 640
    static let frameCount = (paddedSamples - SileroVADWeights.fftSize) / SileroVADWeights.hop + 1  // 4

    /// Encoder frames after conv1...conv4: 4, 2, 1, 1 (kernel 3, padding 1, strides 1, 2, 2, 1).
    static let encoderLengths: [Int] = {
        var length = frameCount
        return SileroVADWeights.encoderStrides.map { stride in
            length = (length + 2 - SileroVADWeights.kernel) / stride + 1
            return length
        }
    }()

    public let weights: SileroVADWeights
    private let pool: ThreadPool

    // MARK: - State carried across chunks
    private var h: [Float]  // (128) LSTM hidden
    private var c: [Float]  // (128) LSTM cell
    private var context: [Float]  // (64) last samples of the previous window

    // MARK: - Scratch (allocated once); activations are time-major (frames, channels)
    private var padded: [Float]  // (640) context + chunk + reflection
    private var frames: [Float]  // (4, 256) STFT windows, hop 128
    private var spectrum: [Float]  // (4, 258) real parts then imaginary parts
    private var activations: [[Float]]  // (4, 129) magnitude, then (4, 128) (2, 64) (1, 64) (1, 128)
    private var columns: [Float]  // im2col scratch (frames, in·3), the largest layer's: (4, 387)
    private var decoded: [Float]  // (128) ReLU(h), the decoder's input

    /// `pool`: where the kernels run; the default is a private single-thread pool.
    public init(weights: SileroVADWeights, pool: ThreadPool = ThreadPool(threads: 1)) {
        self.weights = weights
        self.pool = pool
        let hidden = SileroVADWeights.hidden
        let f = Self.frameCount
        h = Array(repeating: 0, count: hidden)
        c = Array(repeating: 0, count: hidden)
        context = Array(repeating: 0, count: Self.contextSamples)
        padded = Array(repeating: 0, count: Self.paddedSamples)
        self.frames = Array(repeating: 0, count: f * SileroVADWeights.fftSize)
        spectrum = Array(repeating: 0, count: f * 2 * SileroVADWeights.bins)
        activations = [Array(repeating: 0, count: f * SileroVADWeights.bins)]
            + (0..<4).map { Array(repeating: 0, count: Self.encoderLengths[$0] * SileroVADWeights.encoderChannels[$0 + 1]) }
        columns = Array(repeating: 0, count: f * SileroVADWeights.encoderChannels[0] * SileroVADWeights.kernel)
        decoded = Array(repeating: 0, count: hidden)
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
        let hidden = SileroVADWeights.hidden
        // STFT as a convolution: each frame times the 258 basis rows, then the magnitude of
        // each (real, imaginary) pair.
        for t in 0..<Self.frameCount {
            for k in 0..<fft { frames[t * fft + k] = padded[t * hop + k] }
        }
        frames.withUnsafeBufferPointer { x in
            spectrum.withUnsafeMutableBufferPointer { y in w.stft.forward(x.baseAddress!, rows: Self.frameCount, into: y.baseAddress!, pool: pool) }
        }
        for t in 0..<Self.frameCount {
            for b in 0..<bins {
                let re = spectrum[t * 2 * bins + b], im = spectrum[t * 2 * bins + bins + b]
                activations[0][t * bins + b] = (re * re + im * im).squareRoot()
            }
        }
        // Encoder: four conv k3 p1, each followed by ReLU.
        var length = Self.frameCount
        for layer in 0..<4 {
            length = encoder(layer, inputLength: length)
        }
        // LSTM cell (PyTorch gate order i, f, g, o), state updated in place.
        activations[4].withUnsafeBufferPointer { x in
            h.withUnsafeMutableBufferPointer { hp in
                c.withUnsafeMutableBufferPointer { cp in
                    w.lstmWeightIH.withUnsafeBufferPointer { wih in
                        w.lstmWeightHH.withUnsafeBufferPointer { whh in
                            w.lstmBiasIH.withUnsafeBufferPointer { bih in
                                w.lstmBiasHH.withUnsafeBufferPointer { bhh in
                                    lstmCell(
                                        x: x.baseAddress!, inputSize: hidden, h: hp.baseAddress!, c: cp.baseAddress!,
                                        hiddenSize: hidden, weightIH: wih.baseAddress!, weightHH: whh.baseAddress!,
                                        biasIH: bih.baseAddress!, biasHH: bhh.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
        }
        // Decoder: ReLU, the 1×1 convolution to one logit, sigmoid.
        h.withUnsafeBufferPointer { hp in
            decoded.withUnsafeMutableBufferPointer { d in relu(hp.baseAddress!, count: hidden, into: d.baseAddress!) }
        }
        let logit = w.finalBias + w.finalWeight.withUnsafeBufferPointer { fw in
            decoded.withUnsafeBufferPointer { d in dot(fw.baseAddress!, d.baseAddress!, count: hidden) }
        }
        return 1 / (1 + exp(-logit))
    }

    /// Encoder layer `layer`: activations[layer] (inputLength, cin) → activations[layer + 1]
    /// (outLength, cout) = ReLU(conv k3 p1). im2col gathers each output frame's receptive field
    /// in the weight's (cin, 3) order, then one packed matrix product does every frame.
    private func encoder(_ layer: Int, inputLength: Int) -> Int {
        let cin = SileroVADWeights.encoderChannels[layer]
        let cout = SileroVADWeights.encoderChannels[layer + 1]
        let stride = SileroVADWeights.encoderStrides[layer]
        let kernel = SileroVADWeights.kernel
        let outLength = Self.encoderLengths[layer]
        let row = cin * kernel
        for t in 0..<outLength {
            for k in 0..<kernel {
                let x = t * stride + k - 1  // padding 1 on both sides
                let inside = x >= 0 && x < inputLength
                for ch in 0..<cin {
                    columns[t * row + ch * kernel + k] = inside ? activations[layer][x * cin + ch] : 0
                }
            }
        }
        columns.withUnsafeBufferPointer { x in
            activations[layer + 1].withUnsafeMutableBufferPointer { y in
                weights.conv[layer].forward(x.baseAddress!, rows: outLength, into: y.baseAddress!, pool: pool)
                relu(y.baseAddress!, count: outLength * cout)
            }
        }
        return outLength
    }
}
