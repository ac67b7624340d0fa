// The weights of Silero VAD v5/v6 at 16 kHz, read from the `silero-vad` PyPI package's
// `silero_vad/data/silero_vad_16k.safetensors` (MIT). Property names are the checkpoint's
// tensor names (the layout of the package's own `tinygrad_model.py`); the matching ONNX names
// (`silero_vad_16k_op15.onnx`) are given for readers who compare with that graph. Shapes are
// checked on load. Immutable and Sendable: load once, share between streams.
import ModelIO

public struct SileroVADWeights: Sendable {
    /// Where Scripts/fetch-models puts the model: $SIGHTLINE_MODELS/silero-vad/silero_vad_16k.safetensors.
    public static let relativePath = "silero-vad/silero_vad_16k.safetensors"

    // MARK: - Blueprint (fixed by the checkpoint)
    static let fftSize = 256  // STFT window, as a convolution kernel
    static let hop = 128  // STFT stride
    static let bins = 129  // fftSize / 2 + 1
    static let encoderChannels = [129, 128, 64, 64, 128]  // conv1...conv4 in → out
    static let encoderStrides = [1, 2, 2, 1]
    static let kernel = 3  // encoder conv width, padding 1
    static let hidden = 128  // LSTM state size

    // MARK: - Weights
    let stft: [Float]  // stft_conv.weight (258, 1, 256): rows 0..<129 real, 129..<258 imaginary basis   [model.stft.forward_basis_buffer]
    let convWeight: [[Float]]  // conv{1..4}.weight (out, in, 3)   [model.encoder.{0..3}.reparam_conv.weight]
    let convBias: [[Float]]  // conv{1..4}.bias (out)   [model.encoder.{0..3}.reparam_conv.bias]
    let lstmWeightIH: [Float]  // lstm_cell.weight_ih (512, 128), gates i, f, g, o   [model.decoder.rnn.weight_ih]
    let lstmWeightHH: [Float]  // lstm_cell.weight_hh (512, 128)   [model.decoder.rnn.weight_hh]
    let lstmBias: [Float]  // lstm_cell.bias_ih + lstm_cell.bias_hh (512), pre-summed   [model.decoder.rnn.bias_*]
    let finalWeight: [Float]  // final_conv.weight (1, 128, 1)   [model.decoder.decoder.2.weight]
    let finalBias: Float  // final_conv.bias (1)   [model.decoder.decoder.2.bias]

    public init(path: String) throws(VADError) {
        do {
            let file = try SafeTensorsFile(path: path)
            stft = try file.floats("stft_conv.weight", shape: [2 * Self.bins, 1, Self.fftSize])
            var weights: [[Float]] = []
            var biases: [[Float]] = []
            for layer in 0..<4 {
                let (cin, cout) = (Self.encoderChannels[layer], Self.encoderChannels[layer + 1])
                weights.append(try file.floats("conv\(layer + 1).weight", shape: [cout, cin, Self.kernel]))
                biases.append(try file.floats("conv\(layer + 1).bias", shape: [cout]))
            }
            convWeight = weights
            convBias = biases
            let h = Self.hidden
            lstmWeightIH = try file.floats("lstm_cell.weight_ih", shape: [4 * h, h])
            lstmWeightHH = try file.floats("lstm_cell.weight_hh", shape: [4 * h, h])
            let bih = try file.floats("lstm_cell.bias_ih", shape: [4 * h])
            let bhh = try file.floats("lstm_cell.bias_hh", shape: [4 * h])
            lstmBias = zip(bih, bhh).map { $0 + $1 }
            finalWeight = try file.floats("final_conv.weight", shape: [1, h, 1])
            finalBias = try file.floats("final_conv.bias", shape: [1])[0]
        } catch {
            throw .model(error)
        }
    }

    /// Loads from a model directory laid out by Scripts/fetch-models.
    public init(modelsDirectory: String) throws(VADError) {
        try self.init(path: modelsDirectory + "/" + Self.relativePath)
    }
}
