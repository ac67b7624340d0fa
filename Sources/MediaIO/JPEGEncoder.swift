// Baseline JPEG files of RGB pictures through FFmpeg's MJPEG encoder (a key frame attached to
// an event): RGB24 → full-range 4:2:0 YCbCr with swscale, one intra frame, the packet is the
// whole JFIF file. `quality` is FFmpeg's qscale (2 best … 31 worst), as `ffmpeg -q:v`.
import CFFmpeg

public enum JPEGEncoder {
    /// qscale used when none is given: small files that still read well (about 30 KB at 640×360).
    public static let defaultQuality = 5

    /// The JPEG file of the rgb8 `frame`.
    public static func encode(_ frame: VideoFrame, quality: Int = defaultQuality) throws(MediaError) -> [UInt8] {
        guard frame.layout == .rgb8, frame.width > 0, frame.height > 0, frame.rgb.count == frame.width * frame.height * 3,
              frame.width <= 16384, frame.height <= 16384
        else {
            throw .invalidOptions("a JPEG needs an rgb8 picture of 1...16384 pixels a side with width × height × 3 bytes")
        }
        guard (2...31).contains(quality) else { throw .invalidOptions("JPEG quality (qscale) must be 2...31, not \(quality)") }
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else {
            throw .unsupportedCodec(input: "JPEG key frame", codec: "mjpeg (encoder)")
        }
        var ctx = avcodec_alloc_context3(codec)
        defer { avcodec_free_context(&ctx) }
        var picture = av_frame_alloc()
        defer { av_frame_free(&picture) }
        var packet = av_packet_alloc()
        defer { av_packet_free(&packet) }
        guard let ctx, let picture, let packet else { throw .invalidOptions("out of memory for the JPEG encoder") }
        let w = Int32(frame.width), h = Int32(frame.height)
        ctx.pointee.width = w
        ctx.pointee.height = h
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        ctx.pointee.color_range = AVCOL_RANGE_JPEG
        ctx.pointee.time_base = AVRational(num: 1, den: 25)
        // A fixed quantiser: AV_CODEC_FLAG_QSCALE with the lambda of `quality` (FF_QP2LAMBDA = 118).
        ctx.pointee.flags |= Int32(AV_CODEC_FLAG_QSCALE)
        ctx.pointee.global_quality = Int32(quality) * 118
        try FFmpeg.check("avcodec_open2", avcodec_open2(ctx, codec, nil)) { .readFailed(input: "JPEG key frame", $0) }
        picture.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        picture.pointee.width = w
        picture.pointee.height = h
        picture.pointee.quality = ctx.pointee.global_quality
        picture.pointee.pts = 0
        try FFmpeg.check("av_frame_get_buffer", av_frame_get_buffer(picture, 0)) { .readFailed(input: "JPEG key frame", $0) }
        guard let sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, nil, nil, nil) else {
            throw .invalidOptions("swscale cannot convert RGB24 to YUVJ420P")
        }
        defer { sws_freeContext(sws) }
        let rows = frame.rgb.withUnsafeBufferPointer {
            sl_sws_scale_rgb_to_frame(sws, $0.baseAddress, w * 3, h, picture)
        }
        guard rows > 0 else { throw .invalidOptions("swscale converted no rows of the key frame") }
        try FFmpeg.check("avcodec_send_frame", avcodec_send_frame(ctx, picture)) { .readFailed(input: "JPEG key frame", $0) }
        try FFmpeg.check("avcodec_receive_packet", avcodec_receive_packet(ctx, packet)) { .readFailed(input: "JPEG key frame", $0) }
        defer { av_packet_unref(packet) }
        guard let data = packet.pointee.data, packet.pointee.size > 0 else { throw .invalidOptions("the MJPEG encoder wrote nothing") }
        return Array(UnsafeBufferPointer(start: data, count: Int(packet.pointee.size)))
    }
}
