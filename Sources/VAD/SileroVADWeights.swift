// The weights of Silero VAD v5/v6 at 16 kHz, read from the `silero-vad` PyPI package's
// `silero_vad/data/silero_vad_16k.safetensors` (MIT). Property names are the checkpoint's
// tensor names (the layout of the package's own `tinygrad_model.py`); the matching ONNX names
// (`silero_vad_16k_op15.onnx`) are given for readers who compare with that graph. Shapes are
// checked on load. Immutable and Sendable: load once, share between streams.
import Kernels
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
    // The five convolutions run as matrix products over im2col columns, so their weights are
    // packed once here as Linear layers (out, in·kernel).
    let stft: PackedLinear  // stft_conv.weight (258, 1, 256): rows 0..<129 real, 129..<258 imaginary basis   [model.stft.forward_basis_buffer]
    let conv: [PackedLinear]  // conv{1..4}.weight (out, in, 3) + conv{1..4}.bias (out)   [model.encoder.{0..3}.reparam_conv.*]
    let lstmWeightIH: [Float]  // lstm_cell.weight_ih (512, 128), gates i, f, g, o   [model.decoder.rnn.weight_ih]
    let lstmWeightHH: [Float]  // lstm_cell.weight_hh (512, 128)   [model.decoder.rnn.weight_hh]
    let lstmBiasIH: [Float]  // lstm_cell.bias_ih (512)   [model.decoder.rnn.bias_ih]
    let lstmBiasHH: [Float]  // lstm_cell.bias_hh (512)   [model.decoder.rnn.bias_hh]
    let finalWeight: [Float]  // final_conv.weight (1, 128, 1)   [model.decoder.decoder.2.weight]
    let finalBias: Float  // final_conv.bias (1)   [model.decoder.decoder.2.bias]

    public init(path: String) throws(VADError) {
        do {
            let file = try SafeTensorsFile(path: path)
            stft = try Self.packed(
                file.floats("stft_conv.weight", shape: [2 * Self.bins, 1, Self.fftSize]),
                out: 2 * Self.bins, in: Self.fftSize, bias: nil)
            var conv: [PackedLinear] = []
            for layer in 0..<4 {
                let (cin, cout) = (Self.encoderChannels[layer], Self.encoderChannels[layer + 1])
                conv.append(try Self.packed(
                    file.floats("conv\(layer + 1).weight", shape: [cout, cin, Self.kernel]),
                    out: cout, in: cin * Self.kernel, bias: file.floats("conv\(layer + 1).bias", shape: [cout])))
            }
            self.conv = conv
            let h = Self.hidden
            lstmWeightIH = try file.floats("lstm_cell.weight_ih", shape: [4 * h, h])
            lstmWeightHH = try file.floats("lstm_cell.weight_hh", shape: [4 * h, h])
            lstmBiasIH = try file.floats("lstm_cell.bias_ih", shape: [4 * h])
            lstmBiasHH = try file.floats("lstm_cell.bias_hh", shape: [4 * h])
            finalWeight = try file.floats("final_conv.weight", shape: [1, h, 1])
            finalBias = try file.floats("final_conv.bias", shape: [1])[0]
        } catch let error as ModelLoadError {
            throw .model(error)
        } catch let error as VADError {
            throw error
        } catch {
            throw .kernel("\(error)")
        }
    }

    private static func packed(_ weight: [Float], out: Int, in inputs: Int, bias: [Float]?) throws(VADError) -> PackedLinear {
        do {
            return try PackedLinear(weight: weight, outFeatures: out, inFeatures: inputs, bias: bias)
        } catch {
            throw .kernel("packing \(out)×\(inputs) weights: \(error)")
        }
    }

    /// Loads from a model directory laid out by Scripts/fetch-models.
    public init(modelsDirectory: String) throws(VADError) {
        try self.init(path: modelsDirectory + "/" + Self.relativePath)
    }
}
