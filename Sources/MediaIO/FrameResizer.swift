// Rescales frames that are already decoded (rgb8) to another size and layout, with swscale.
// A stream's frames are sampled once at the stream's size; encoders that want a different
// size (a detector's input, a thumbnail) get it from here, once per distinct size per
// window, instead of each decoding or scaling on its own.
import CFFmpeg

/// Rescales rgb8 frames; keeps one swscale context per (source size, target size) pair.
/// Not thread-safe: one instance per pipeline.
public final class FrameResizer {
    private struct Key: Hashable {
        var srcW: Int32, srcH: Int32, dstW: Int32, dstH: Int32
    }
    private var contexts: [Key: OpaquePointer] = [:]
    /// swscale's SIMD paths read and write whole vectors past unaligned row ends, so both
    /// sides go through row-padded buffers (rows of `stride(for:)` bytes).
    private var source: [UInt8] = []
    private var target: [UInt8] = []

    public init() {}

    deinit { for c in contexts.values { sws_freeContext(c) } }

    /// `frame` scaled to `size` (nil keeps its size) in `layout`; nil when the frame is not
    /// rgb8 or its buffer does not match its size. A frame already in that form is returned as is.
    public func resize(_ frame: VideoFrame, to size: FrameSize?, layout: PixelLayout) -> VideoFrame? {
        guard frame.layout == .rgb8, frame.width > 0, frame.height > 0,
              frame.rgb.count == frame.width * frame.height * 3 else { return nil }
        let dstW = size?.width ?? frame.width, dstH = size?.height ?? frame.height
        guard dstW > 0, dstH > 0 else { return nil }
        var rgb = frame.rgb
        if dstW != frame.width || dstH != frame.height {
            guard let scaled = scale(frame, width: dstW, height: dstH) else { return nil }
            rgb = scaled
        }
        var out = VideoFrame(ptsMs: frame.ptsMs, width: dstW, height: dstH, layout: layout,
                             isKeyframe: frame.isKeyframe, rgb: rgb, planar: [])
        if layout == .planarF32 {
            out.planar = FrameScaler.planarFloat(rgb: rgb, width: dstW, height: dstH)
            out.rgb = []
        }
        return out
    }

    /// (height, width, 3) bytes of `frame` scaled to width × height (bicubic, as MediaIO's decoder-side scaler).
    private func scale(_ frame: VideoFrame, width: Int, height: Int) -> [UInt8]? {
        let key = Key(srcW: Int32(frame.width), srcH: Int32(frame.height), dstW: Int32(width), dstH: Int32(height))
        let sws: OpaquePointer
        if let c = contexts[key] {
            sws = c
        } else {
            guard let c = sws_getContext(key.srcW, key.srcH, AV_PIX_FMT_RGB24, key.dstW, key.dstH, AV_PIX_FMT_RGB24,
                                         SWS_BICUBIC, nil, nil, nil) else { return nil }
            contexts[key] = c
            sws = c
        }
        let srcRow = frame.width * 3, srcStride = FrameScaler.paddedStride(srcRow)
        let dstRow = width * 3, dstStride = FrameScaler.paddedStride(dstRow)
        let srcNeeded = srcStride * (frame.height + 1) + FrameScaler.rowAlignment
        let dstNeeded = dstStride * (height + 1) + FrameScaler.rowAlignment
        if source.count < srcNeeded { source = [UInt8](repeating: 0, count: srcNeeded) }
        if target.count < dstNeeded { target = [UInt8](repeating: 0, count: dstNeeded) }
        source.withUnsafeMutableBufferPointer { dst in
            frame.rgb.withUnsafeBufferPointer { src in
                for y in 0..<frame.height {
                    (dst.baseAddress! + y * srcStride).update(from: src.baseAddress! + y * srcRow, count: srcRow)
                }
            }
        }
        let rc = source.withUnsafeBufferPointer { src in
            target.withUnsafeMutableBufferPointer { dst in
                sl_sws_scale_rgb(sws, src.baseAddress, Int32(srcStride), Int32(frame.height), dst.baseAddress, Int32(dstStride))
            }
        }
        guard rc > 0 else { return nil }
        return FrameScaler.tightRows(target, stride: dstStride, rowBytes: dstRow, height: height) // (height, width, 3)
    }
}
