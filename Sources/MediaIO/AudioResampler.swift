// Turns decoded audio of any layout, rate and sample format into 16 kHz mono Float32 with
// swresample. swresample keeps its own delay line, so consecutive frames come out as one
// continuous signal (no gaps, no duplicated samples); flush() drains the tail at the end.
import CFFmpeg

final class AudioResampler {
    private var swr: OpaquePointer? = nil
    private var scratch: [Float] = [] // (capacity,) reused output buffer
    private let input: String

    init(codec: CodecContext, input: String) throws(MediaError) {
        self.input = input
        let rc = sl_swr_setup_mono16k(&swr, codec.context, Int32(AudioFormat.sampleRate))
        if rc < 0 {
            swr_free(&swr)
            throw .unsupportedCodec(input: input, codec: "audio resampling (\(FFmpeg.errorText(rc)))")
        }
    }

    deinit { swr_free(&swr) }

    /// Resamples one frame (nil drains the delay line). Returns the new samples.
    func resample(_ frame: UnsafeMutablePointer<AVFrame>?) -> ArraySlice<Float> {
        let inSamples = Int(frame?.pointee.nb_samples ?? 0)
        let inRate = Int(frame?.pointee.sample_rate ?? Int32(AudioFormat.sampleRate))
        let capacity = Int(swr_get_out_samples(swr, Int32(inSamples))) + inSamples * AudioFormat.sampleRate / max(inRate, 1) + 256
        if scratch.count < capacity { scratch = [Float](repeating: 0, count: capacity) }
        let written = scratch.withUnsafeMutableBufferPointer {
            sl_swr_convert_frame(swr, frame, $0.baseAddress, Int32(capacity))
        }
        return written > 0 ? scratch[0..<Int(written)] : []
    }
}
