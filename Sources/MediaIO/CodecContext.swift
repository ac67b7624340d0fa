// Owns one opened libavcodec decoder and the AVFrame it decodes into, and runs the
// send-packet / receive-frame loop. Rejected packets are counted, never fatal.
import CFFmpeg

final class CodecContext {
    let context: UnsafeMutablePointer<AVCodecContext>
    let frame: UnsafeMutablePointer<AVFrame>
    let streamIndex: Int
    let timeBase: AVRational

    init(demuxer: Demuxer, streamIndex: Int, threads: Int, keyframesOnly: Bool = false) throws(MediaError) {
        let stream = demuxer.stream(streamIndex)
        let par = stream.pointee.codecpar!
        let codecName = String(cString: avcodec_get_name(par.pointee.codec_id))
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw .unsupportedCodec(input: demuxer.input, codec: codecName)
        }
        guard let ctx = avcodec_alloc_context3(codec) else {
            throw .cannotOpen(input: demuxer.input, FFmpeg.failure("avcodec_alloc_context3", sl_averror(ENOMEM)))
        }
        var owned: UnsafeMutablePointer<AVCodecContext>? = ctx
        let parRC = avcodec_parameters_to_context(ctx, par)
        if parRC < 0 {
            avcodec_free_context(&owned)
            throw .cannotOpen(input: demuxer.input, FFmpeg.failure("avcodec_parameters_to_context", parRC))
        }
        ctx.pointee.thread_count = Int32(max(threads, 0))
        ctx.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        if keyframesOnly { ctx.pointee.skip_frame = AVDISCARD_NONKEY }
        let openRC = avcodec_open2(ctx, codec, nil)
        if openRC < 0 {
            avcodec_free_context(&owned)
            throw .unsupportedCodec(input: demuxer.input, codec: "\(codecName) (\(FFmpeg.errorText(openRC)))")
        }
        guard let frame = av_frame_alloc() else {
            avcodec_free_context(&owned)
            throw .cannotOpen(input: demuxer.input, FFmpeg.failure("av_frame_alloc", sl_averror(ENOMEM)))
        }
        self.context = ctx
        self.frame = frame
        self.streamIndex = streamIndex
        self.timeBase = stream.pointee.time_base
    }

    deinit {
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
        var c: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&c)
    }

    /// Sends one packet (nil flushes) and hands every frame that comes out to `body`.
    /// Returns false when the decoder rejected the packet (corrupt data), which is skipped.
    @discardableResult
    func decode(_ packet: UnsafeMutablePointer<AVPacket>?, _ body: (UnsafeMutablePointer<AVFrame>) -> Void) -> Bool {
        var accepted = true
        let sendRC = avcodec_send_packet(context, packet)
        if sendRC < 0 && sendRC != FFmpeg.eagain && sendRC != FFmpeg.eof {
            accepted = false
        }
        while true {
            let rc = avcodec_receive_frame(context, frame)
            if rc == FFmpeg.eagain || rc == FFmpeg.eof { break }
            if rc < 0 {
                accepted = false // a frame the decoder could not reconstruct; keep going
                break
            }
            body(frame)
            av_frame_unref(frame)
        }
        return accepted
    }

    /// Raw timestamp of a decoded frame in ms of the stream's clock, or nil when unknown.
    func rawMs(_ frame: UnsafeMutablePointer<AVFrame>) -> Int64? {
        var ts = frame.pointee.best_effort_timestamp
        if ts == FFmpeg.noPTS { ts = frame.pointee.pts }
        if ts == FFmpeg.noPTS { return nil }
        return av_rescale_q(ts, timeBase, AVRational(num: 1, den: 1000))
    }
}
