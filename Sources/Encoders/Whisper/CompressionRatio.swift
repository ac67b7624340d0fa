// Whisper's repetition detector: len(utf8) / len(zlib.compress(utf8)) with zlib's default
// level, exactly what faster-whisper's get_compression_ratio computes. Above 2.4 the
// decode is taken as a repetition loop and retried at a higher temperature.
import CZlib

enum CompressionRatio {
    static func of(_ text: String) -> Float {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return 0 }
        var destLen = compressBound(uLong(bytes.count))
        var dest = [UInt8](repeating: 0, count: Int(destLen))
        let rc = bytes.withUnsafeBufferPointer { src in
            dest.withUnsafeMutableBufferPointer { dst in
                compress2(dst.baseAddress, &destLen, src.baseAddress, uLong(bytes.count), Z_DEFAULT_COMPRESSION)
            }
        }
        guard rc == Z_OK, destLen > 0 else { return 0 }
        return Float(bytes.count) / Float(destLen)
    }
}
