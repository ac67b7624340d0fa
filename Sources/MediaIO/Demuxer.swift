// Opens an input with libavformat (file, http(s), HLS, rtsp, udp/srt, v4l2 device), reads
// its stream table and picks the best video and audio streams. Owns the AVFormatContext.
import CFFmpeg
import Foundation

/// One-time global FFmpeg set-up (network) and quiet logging; capture devices on first use.
enum FFmpegLibrary {
    static let initialized: Bool = {
        avformat_network_init()
        // Corrupt packets are counted and reported by us; FFmpeg's own stderr chatter is noise.
        av_log_set_level(AV_LOG_FATAL)
        return true
    }()

    /// Loads libavdevice and registers its inputs (v4l2); nil when that worked, else why not.
    static let devicesLoaded: String? = {
        switch sl_load_avdevice() {
        case 0: return nil
        case -1: return "\(String(cString: sl_avdevice_library_name())) cannot be loaded (\(dlerror().map { String(cString: $0) } ?? "unknown reason")); install libavdevice59"
        default: return "\(String(cString: sl_avdevice_library_name())) has no avdevice_register_all"
        }
    }()
}

final class Demuxer {
    let input: String
    let context: UnsafeMutablePointer<AVFormatContext>
    let interrupt = InterruptState()
    let isLive: Bool
    let readTimeoutMs: Int64

    init(input: String, options: MediaOptions) throws(MediaError) {
        _ = FFmpegLibrary.initialized
        self.input = input
        self.readTimeoutMs = options.readTimeoutMs
        let kind = InputKind(input)

        guard var ctx = avformat_alloc_context() else {
            throw .cannotOpen(input: input, FFmpeg.failure("avformat_alloc_context", sl_averror(ENOMEM)))
        }
        sl_set_interrupt(ctx, interruptCallback, Unmanaged.passUnretained(interrupt).toOpaque())

        var dict: OpaquePointer? = nil
        defer { av_dict_free(&dict) }
        let ioTimeoutUs = String(options.readTimeoutMs * 1000)
        if kind.isNetwork {
            av_dict_set(&dict, "rw_timeout", ioTimeoutUs, 0)
            av_dict_set(&dict, "reconnect", "0", 0)
        }
        if kind.scheme == "rtsp" || kind.scheme == "rtsps" {
            av_dict_set(&dict, "rtsp_transport", options.rtspTransport.rawValue, 0)
            av_dict_set(&dict, "timeout", ioTimeoutUs, 0)
        }
        var format: UnsafePointer<AVInputFormat>? = nil
        if kind.isDevice {
            if let problem = FFmpegLibrary.devicesLoaded {
                throw .cannotOpen(input: input, FFmpegFailure(function: "dlopen", code: sl_averror(ENOSYS), message: problem))
            }
            format = av_find_input_format("v4l2")
        }

        interrupt.arm(timeoutMs: options.connectTimeoutMs)
        var opened: UnsafeMutablePointer<AVFormatContext>? = ctx
        let rc = avformat_open_input(&opened, input, format, &dict)
        interrupt.disarm()
        if rc < 0 {
            // avformat_open_input frees the context on failure.
            if interrupt.didTimeOut { throw .readTimedOut(input: input, timeoutMs: options.connectTimeoutMs) }
            throw .cannotOpen(input: input, FFmpeg.failure("avformat_open_input", rc))
        }
        ctx = opened!
        context = ctx

        interrupt.arm(timeoutMs: options.connectTimeoutMs)
        let infoRC = avformat_find_stream_info(ctx, nil)
        interrupt.disarm()
        if infoRC < 0 {
            var toClose: UnsafeMutablePointer<AVFormatContext>? = ctx
            avformat_close_input(&toClose)
            throw .cannotOpen(input: input, FFmpeg.failure("avformat_find_stream_info", infoRC))
        }
        let hasDuration = ctx.pointee.duration != FFmpeg.noPTS && ctx.pointee.duration > 0
        isLive = kind.isDevice || kind.isStreamingScheme || (kind.isNetwork && !hasDuration)
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&ctx)
    }

    var streamCount: Int { Int(context.pointee.nb_streams) }

    func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> {
        context.pointee.streams[index]!
    }

    /// FFmpeg's choice of the best stream of a type (most pixels / channels, default flag).
    func bestStream(_ type: AVMediaType) -> Int? {
        let rc = av_find_best_stream(context, type, -1, -1, nil, 0)
        return rc >= 0 ? Int(rc) : nil
    }

    /// The container's start time in ms (0 when unknown): media time counts from here.
    var startTimeMs: Int64 {
        let start = context.pointee.start_time
        return start == FFmpeg.noPTS ? 0 : av_rescale(start, 1000, Int64(AV_TIME_BASE))
    }

    /// The demuxer's short names, e.g. "mov,mp4,m4a,3gp,3g2,mj2".
    var formatName: String { String(cString: context.pointee.iformat.pointee.name) }

    var info: MediaInfo {
        let ctx = context.pointee
        let iformat = ctx.iformat.pointee
        var streams: [StreamInfo] = []
        for i in 0..<streamCount {
            streams.append(describeStream(stream(i), index: i))
        }
        let duration = ctx.duration == FFmpeg.noPTS || ctx.duration <= 0
            ? nil : av_rescale(ctx.duration, 1000, Int64(AV_TIME_BASE))
        return MediaInfo(
            input: input,
            format: String(cString: iformat.name),
            formatLongName: iformat.long_name.map { String(cString: $0) } ?? "",
            durationMs: duration,
            streams: streams,
            isLive: isLive,
            videoStreamIndex: bestStream(AVMEDIA_TYPE_VIDEO),
            audioStreamIndex: bestStream(AVMEDIA_TYPE_AUDIO)
        )
    }

    private func describeStream(_ st: UnsafeMutablePointer<AVStream>, index: Int) -> StreamInfo {
        let par = st.pointee.codecpar.pointee
        let kind: StreamInfo.Kind
        switch par.codec_type {
        case AVMEDIA_TYPE_VIDEO: kind = .video
        case AVMEDIA_TYPE_AUDIO: kind = .audio
        case AVMEDIA_TYPE_SUBTITLE: kind = .subtitle
        case AVMEDIA_TYPE_DATA: kind = .data
        default: kind = .other
        }
        var info = StreamInfo(index: index, kind: kind, codec: String(cString: avcodec_get_name(par.codec_id)))
        let tb = st.pointee.time_base
        if st.pointee.duration != FFmpeg.noPTS && st.pointee.duration > 0 {
            info.durationMs = av_rescale_q(st.pointee.duration, tb, AVRational(num: 1, den: 1000))
        }
        if par.bit_rate > 0 { info.bitRate = par.bit_rate }
        if kind == .video {
            info.width = Int(par.width)
            info.height = Int(par.height)
            let rate = st.pointee.avg_frame_rate.num > 0 ? st.pointee.avg_frame_rate : st.pointee.r_frame_rate
            if rate.num > 0 && rate.den > 0 { info.frameRate = av_q2d(rate) }
        } else if kind == .audio {
            info.sampleRate = Int(par.sample_rate)
            info.channels = Int(withUnsafePointer(to: par) { sl_channels($0) })
        }
        return info
    }

    enum ReadResult { case packet, endOfStream }

    /// Reads the next packet into `packet`. End of data is `.endOfStream`; a timeout or a
    /// read failure throws; cancel() surfaces as end of stream.
    func read(into packet: UnsafeMutablePointer<AVPacket>) throws(MediaError) -> ReadResult {
        if isLive { interrupt.arm(timeoutMs: readTimeoutMs) }
        let rc = av_read_frame(context, packet)
        if isLive { interrupt.disarm() }
        if rc >= 0 { return .packet }
        if rc == FFmpeg.eof { return .endOfStream }
        if interrupt.isCancelled { return .endOfStream }
        if interrupt.didTimeOut { throw .readTimedOut(input: input, timeoutMs: readTimeoutMs) }
        throw .readFailed(input: input, FFmpeg.failure("av_read_frame", rc))
    }
}

/// What kind of input a string names; decides timeouts, transport and live-ness.
struct InputKind {
    let scheme: String?
    init(_ input: String) {
        if let range = input.range(of: "://") {
            scheme = input[..<range.lowerBound].lowercased()
        } else {
            scheme = nil
        }
        isDevice = scheme == nil && input.hasPrefix("/dev/video")
    }
    let isDevice: Bool
    var isNetwork: Bool { scheme != nil && scheme != "file" }
    /// Protocols that are live by nature, whatever the container says about duration.
    var isStreamingScheme: Bool {
        ["rtsp", "rtsps", "rtmp", "rtmps", "udp", "rtp", "srt", "tcp"].contains(scheme ?? "")
    }
}
