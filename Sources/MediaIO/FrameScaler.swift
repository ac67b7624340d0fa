// Converts decoded frames (any pixel format and size) into the RGB layout an encoder asks
// for, with swscale. The SwsContext is cached and rebuilt only when the input size or
// format changes mid-stream (odd sizes, resolution switches on live cameras).
import CFFmpeg

final class FrameScaler {
    private var sws: OpaquePointer? = nil
    private let target: FrameSize?
    private let layout: PixelLayout
    /// swscale's SIMD paths write whole vectors past the end of unaligned rows, so it scales
    /// into this padded buffer (rows of `scratchStride` bytes) and tight rows are copied out.
    private var scratch: [UInt8] = []
    static let rowAlignment = 64

    init(target: FrameSize?, layout: PixelLayout) {
        self.target = target
        self.layout = layout
    }

    deinit { sws_freeContext(sws) }

    /// Returns nil for frames swscale cannot convert (unknown pixel format).
    func convert(_ frame: UnsafeMutablePointer<AVFrame>, ptsMs: Int64, isKeyframe: Bool) -> VideoFrame? {
        let srcW = frame.pointee.width, srcH = frame.pointee.height
        guard srcW > 0, srcH > 0, frame.pointee.format >= 0 else { return nil }
        let dstW = Int32(target?.width ?? Int(srcW)), dstH = Int32(target?.height ?? Int(srcH))
        // Bicubic is FFmpeg's `scale` filter default, so benchmark and CLI do the same work.
        sws = sws_getCachedContext(sws, srcW, srcH, AVPixelFormat(frame.pointee.format),
                                   dstW, dstH, AV_PIX_FMT_RGB24, SWS_BICUBIC, nil, nil, nil)
        guard let sws else { return nil }
        let width = Int(dstW), height = Int(dstH)
        let rowBytes = width * 3
        let stride = Self.paddedStride(rowBytes)
        let needed = stride * (height + 1) + Self.rowAlignment
        if scratch.count < needed { scratch = [UInt8](repeating: 0, count: needed) }
        let rc = scratch.withUnsafeMutableBufferPointer { sl_sws_scale_to_rgb(sws, frame, $0.baseAddress, Int32(stride)) }
        guard rc > 0 else { return nil }
        var rgb = Self.tightRows(scratch, stride: stride, rowBytes: rowBytes, height: height) // (height, width, 3)
        var planar: [Float] = []
        if layout == .planarF32 {
            planar = Self.planarFloat(rgb: rgb, width: width, height: height)
            rgb = []
        }
        return VideoFrame(ptsMs: ptsMs, width: width, height: height, layout: layout,
                          isKeyframe: isKeyframe, rgb: rgb, planar: planar)
    }

    /// Bytes per row in the padded buffers swscale reads and writes: `rowBytes` rounded up to `rowAlignment`.
    static func paddedStride(_ rowBytes: Int) -> Int {
        (rowBytes + rowAlignment - 1) / rowAlignment * rowAlignment
    }

    /// `height` rows of `rowBytes` taken from `padded`, whose rows start every `stride` bytes.
    static func tightRows(_ padded: [UInt8], stride: Int, rowBytes: Int, height: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rowBytes * height)
        out.withUnsafeMutableBufferPointer { dst in
            padded.withUnsafeBufferPointer { src in
                for y in 0..<height {
                    (dst.baseAddress! + y * rowBytes).update(from: src.baseAddress! + y * stride, count: rowBytes)
                }
            }
        }
        return out
    }

    /// (height, width, 3) UInt8 → (3, height, width) Float in 0...1.
    static func planarFloat(rgb: [UInt8], width: Int, height: Int) -> [Float] {
        let plane = width * height
        var out = [Float](repeating: 0, count: plane * 3)
        let scale: Float = 1.0 / 255.0
        rgb.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<plane {
                    dst[i] = Float(src[i * 3]) * scale
                    dst[plane + i] = Float(src[i * 3 + 1]) * scale
                    dst[2 * plane + i] = Float(src[i * 3 + 2]) * scale
                }
            }
        }
        return out
    }
}
