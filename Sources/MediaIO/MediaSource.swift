// The public entry point: opens an input, decodes its best video and audio streams, samples
// and scales frames, resamples audio to 16 kHz mono, and returns fixed-stride windows one
// at a time. Decoding happens only inside nextWindow(), so a consumer that takes windows
// slowly holds decoding back and memory stays flat on long files (see MediaWindows for
// the async form). Not thread-safe except cancel(): one thread drives a source.
import CFFmpeg
import Foundation

public final class MediaSource: @unchecked Sendable {
    public let info: MediaInfo
    public let options: MediaOptions
    public private(set) var stats = DecodeStats()

    private let demuxer: Demuxer
    private let video: CodecContext?
    private let scaler: FrameScaler
    private let audio: CodecContext?
    private let resampler: AudioResampler?
    private let packet: UnsafeMutablePointer<AVPacket>

    /// Maps raw stream time to output time; fixed by the first timestamp seen.
    private var anchor: (rawMs: Int64, originMs: Int64)? = nil
    private var videoClock: StreamClock? = nil
    private var audioClock: StreamClock? = nil
    private let nominalFrameMs: Int64
    /// Next sampling tick (ms relative to origin) for `.fps` sampling.
    private var nextTickMs: Double = 0
    /// Next 16 kHz sample position (relative to origin) of continuous audio.
    private var audioNextPosition: Int64? = nil
    private var assembler: WindowAssembler? = nil
    /// Key frames of the video stream from an mp4 index (nil: no jumping; see jumpsOver).
    private let keyframes: KeyframeIndex?
    /// Largest presentation-minus-decode delay seen on a video key packet (stream time base).
    private var maxKeyDelay: Int64? = nil
    /// Set while jumping: packets are dropped until the next key packet.
    private var jumpingToKeyframe = false
    private var ready: [MediaWindow] = []
    private var readyHead = 0
    private var inputEnded = false
    private var deferredError: MediaError? = nil

    /// Opens `input` (path, URL or /dev/videoN) and its decoders.
    /// Throws `MediaError` when it cannot be opened or has nothing to decode.
    public init(input: String, options: MediaOptions = MediaOptions()) throws(MediaError) {
        try Self.validate(options)
        let demuxer = try Demuxer(input: input, options: options)
        let info = demuxer.info
        self.demuxer = demuxer
        self.info = info
        self.options = options

        let wantVideo = options.decodeVideo ? info.videoStreamIndex : nil
        let wantAudio = options.decodeAudio ? info.audioStreamIndex : nil
        if wantVideo == nil && wantAudio == nil {
            let wanted = [options.decodeVideo ? "video" : nil, options.decodeAudio ? "audio" : nil]
                .compactMap { $0 }.joined(separator: " or ")
            throw .noUsableStream(input: input, wanted: wanted)
        }
        let keyframesOnly = options.sampling == .keyframesOnly
        video = try wantVideo.map { i throws(MediaError) in
            try CodecContext(demuxer: demuxer, streamIndex: i, threads: options.decodeThreads, keyframesOnly: keyframesOnly)
        }
        audio = try wantAudio.map { i throws(MediaError) in
            try CodecContext(demuxer: demuxer, streamIndex: i, threads: 1)
        }
        resampler = try audio.map { a throws(MediaError) in try AudioResampler(codec: a, input: input) }
        scaler = FrameScaler(target: options.frameSize, layout: options.pixelLayout)
        keyframes = Self.keyframeIndex(demuxer: demuxer, video: wantVideo, options: options)
        let fps = wantVideo.flatMap { info.streams[$0].frameRate } ?? 25
        nominalFrameMs = fps > 0 && fps < 1000 ? Int64((1000 / fps).rounded()) : 40
        guard let packet = av_packet_alloc() else {
            throw .cannotOpen(input: input, FFmpeg.failure("av_packet_alloc", sl_averror(ENOMEM)))
        }
        self.packet = packet
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }

    /// Only metadata: opens the container and reads its stream table, without decoders.
    public static func probe(input: String, options: MediaOptions = MediaOptions()) throws(MediaError) -> MediaInfo {
        try Demuxer(input: input, options: options).info
    }

    /// Interrupts a blocking read from any thread; the source then ends as if at end of input.
    public func cancel() { demuxer.interrupt.cancel() }

    /// The next window, or nil at the end of the input. For live inputs a timeout or read
    /// failure is thrown after the windows decoded so far have been returned, so callers can
    /// tell a clean end (nil) from a broken stream (error) and reconnect.
    public func nextWindow() throws(MediaError) -> MediaWindow? {
        while readyHead >= ready.count {
            ready.removeAll(keepingCapacity: true)
            readyHead = 0
            if inputEnded {
                if let error = deferredError {
                    deferredError = nil
                    throw error
                }
                return nil
            }
            step()
        }
        defer { readyHead += 1 }
        return ready[readyHead]
    }

    // MARK: - Decoding

    /// Reads and decodes one packet (or finishes the input), moving complete windows to `ready`.
    private func step() {
        let result: Demuxer.ReadResult
        do {
            result = try demuxer.read(into: packet)
        } catch {
            // Files: a read error ends the data (truncated or damaged tail); live: it is reported.
            stats.endedEarly = error.description
            if info.isLive { deferredError = error }
            finishInput()
            return
        }
        guard result == .packet else {
            finishInput()
            return
        }
        defer { av_packet_unref(packet) }
        stats.packetsRead += 1
        let index = Int(packet.pointee.stream_index)
        if sl_packet_is_corrupt(packet) != 0 { stats.corruptPackets += 1 }
        if let video, index == video.streamIndex {
            if options.sampling == .keyframesOnly && sl_packet_is_key(packet) == 0 { return }
            if jumpsOver(videoPacket: packet, of: video) {
                stats.videoPacketsSkipped += 1
                return
            }
            setSkipNonReference(video, ahead: canSkip(videoPacket: packet, of: video))
            if !video.decode(packet, handleVideoFrame) { stats.corruptPackets += 1 }
        } else if let audio, index == audio.streamIndex {
            if !audio.decode(packet, handleAudioFrame) { stats.corruptPackets += 1 }
        }
        if let assembler = assembler?.takeReady(), !assembler.isEmpty { ready.append(contentsOf: assembler) }
    }

    private func finishInput() {
        inputEnded = true
        video?.decode(nil, handleVideoFrame)
        audio?.decode(nil, handleAudioFrame)
        if let resampler, let _ = audioNextPosition {
            let tail = resampler.resample(nil)
            if !tail.isEmpty { placeAudio(tail, atRelativeMs: nil) }
        }
        if var a = assembler {
            ready.append(contentsOf: a.takeReady())
            ready.append(contentsOf: a.finish())
            stats.lateUnits = a.lateUnits
            assembler = a
        }
        stats.discontinuities = (videoClock?.discontinuities ?? 0) + (audioClock?.discontinuities ?? 0)
    }

    /// Fixes the timeline's origin on the first timestamp seen by any stream.
    private func ensureAnchor(rawMs: Int64?) -> (rawMs: Int64, originMs: Int64) {
        if let anchor { return anchor }
        let a: (rawMs: Int64, originMs: Int64)
        if info.isLive {
            a = (rawMs ?? 0, Int64((Date().timeIntervalSince1970 * 1000).rounded()))
        } else {
            a = (demuxer.startTimeMs, 0)
        }
        anchor = a
        assembler = WindowAssembler(windowMs: options.windowMs, originMs: a.originMs,
                                    hasVideo: video != nil, hasAudio: audio != nil)
        return a
    }

    private func handleVideoFrame(_ frame: UnsafeMutablePointer<AVFrame>) {
        stats.videoFramesDecoded += 1
        let raw = video!.rawMs(frame)
        let a = ensureAnchor(rawMs: raw)
        if videoClock == nil { videoClock = StreamClock(rawOriginMs: a.rawMs, originMs: a.originMs) }
        let t = videoClock!.map(rawMs: raw, durationMs: nominalFrameMs)
        let relative = t - a.originMs
        assembler!.advanceVideo(toRelativeMs: relative, frameDurationMs: nominalFrameMs)
        guard shouldSample(relativeMs: relative) else { return }
        if let converted = scaler.convert(frame, ptsMs: t, isKeyframe: sl_frame_is_key(frame) != 0) {
            stats.videoFramesSampled += 1
            assembler!.add(frame: converted)
        }
    }

    /// With `.fps` sampling, a frame shown before the next tick can never be sampled (ticks
    /// only move forward), so if nothing references it the decoder may skip it entirely:
    /// B-frames away from the ticks are not decoded, which roughly halves decoding work at
    /// 1 fps while sampling exactly the frames full decoding would. The tick used here can
    /// lag the true one (frames come out of the decoder after their packets go in), which
    /// only means fewer skips, never a wrong one.
    private func canSkip(videoPacket packet: UnsafeMutablePointer<AVPacket>, of video: CodecContext) -> Bool {
        guard options.skipUnsampledFrames, case .fps = options.sampling, packet.pointee.pts != FFmpeg.noPTS,
              let relative = timelineMs(packet.pointee.pts, of: video) else { return false }
        return Double(relative + nominalFrameMs) < nextTickMs
    }

    /// A video timestamp (stream time base) on the timeline the ticks use (ms from the
    /// origin), by the video clock's current offset; nil until the first frame sets it.
    private func timelineMs(_ timestamp: Int64, of video: CodecContext) -> Int64? {
        guard let clock = videoClock, let anchor else { return nil }
        return av_rescale_q(timestamp, video.timeBase, AVRational(num: 1, den: 1000)) + clock.offsetMs - anchor.originMs
    }

    private var skippingNonReference = false

    /// Only mp4 (mov) indexes are used: they list every sample with its decode time, so "the
    /// next key frame after this packet" in the index is the next key packet the demuxer
    /// will return. Other demuxers index presentation times or only some key frames.
    private static func keyframeIndex(demuxer: Demuxer, video: Int?, options: MediaOptions) -> KeyframeIndex? {
        guard options.skipUnsampledFrames, case .fps = options.sampling, let video, !demuxer.isLive,
              demuxer.formatName.split(separator: ",").contains("mp4") else { return nil }
        let index = KeyframeIndex(stream: demuxer.stream(video))
        return index.timestamps.isEmpty ? nil : index
    }

    /// Whether `packet` belongs to a run no tick can need, so it is not decoded at all: the
    /// next key frame K in decode order is shown no later than the next tick, so the frame
    /// that tick samples is K or comes after it, and decodes from K (a key frame starts a
    /// closed group). Every packet before K displays before K and can be dropped. K's
    /// presentation time is its index (decode) time plus its reorder delay, which is the
    /// same for every key frame of a stream (a key frame starts its group in decode order);
    /// the largest one seen is used. (Open-group leading pictures, which follow K in decode
    /// order but display before it, may decode badly without the dropped references; they
    /// are never sampled, for the same reason.) Runs are kept under half of StreamClock's gap
    /// limit, so the clock never mistakes the jump for a discontinuity. Decoding resumes at
    /// the next key packet.
    private func jumpsOver(videoPacket packet: UnsafeMutablePointer<AVPacket>, of video: CodecContext) -> Bool {
        let dts = packet.pointee.dts, pts = packet.pointee.pts
        let isKey = sl_packet_is_key(packet) != 0
        if isKey, dts != FFmpeg.noPTS, pts != FFmpeg.noPTS { maxKeyDelay = max(maxKeyDelay ?? 0, pts - dts) }
        if jumpingToKeyframe {
            if !isKey { return true }
            jumpingToKeyframe = false
            return false
        }
        guard let keyframes, let delay = maxKeyDelay, dts != FFmpeg.noPTS, let key = keyframes.first(after: dts),
              let keyShownMs = timelineMs(key + delay, of: video), let packetMs = timelineMs(dts, of: video) else { return false }
        guard Double(keyShownMs) <= nextTickMs, keyShownMs - packetMs < StreamClock.maxForwardGapMs / 2 else { return false }
        jumpingToKeyframe = true
        return true
    }

    private func setSkipNonReference(_ video: CodecContext, ahead skip: Bool) {
        guard skip != skippingNonReference else { return }
        skippingNonReference = skip
        video.context.pointee.skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
    }

    private func shouldSample(relativeMs t: Int64) -> Bool {
        switch options.sampling {
        case .everyFrame, .keyframesOnly:
            return true
        case .fps(let fps):
            let interval = 1000 / fps
            guard Double(t) >= nextTickMs - 0.5 else { return false }
            nextTickMs = ((Double(t) + 0.5) / interval).rounded(.down) * interval + interval
            return true
        }
    }

    private func handleAudioFrame(_ frame: UnsafeMutablePointer<AVFrame>) {
        let raw = audio!.rawMs(frame)
        let rate = max(Int64(frame.pointee.sample_rate), 1)
        let durationMs = Int64(frame.pointee.nb_samples) * 1000 / rate
        let a = ensureAnchor(rawMs: raw)
        if audioClock == nil { audioClock = StreamClock(rawOriginMs: a.rawMs, originMs: a.originMs) }
        let t = audioClock!.map(rawMs: raw, durationMs: durationMs)
        let samples = resampler!.resample(frame)
        placeAudio(samples, atRelativeMs: t - a.originMs)
    }

    /// Keeps audio continuous: samples follow on from the previous ones unless the stream's
    /// own clock says there is a real gap (> 100 ms), which is then left silent.
    private func placeAudio(_ samples: ArraySlice<Float>, atRelativeMs t: Int64?) {
        let gapTolerance = Int64(100 * AudioFormat.samplesPerMs)
        var position = audioNextPosition ?? (t ?? 0) * Int64(AudioFormat.samplesPerMs)
        if let t, let expected = audioNextPosition {
            let stated = t * Int64(AudioFormat.samplesPerMs)
            position = stated > expected + gapTolerance ? stated : expected
        }
        audioNextPosition = position + Int64(samples.count)
        stats.audioSamples += samples.count
        if !samples.isEmpty { assembler?.add(samples: samples, atPosition: position) }
    }

    private static func validate(_ o: MediaOptions) throws(MediaError) {
        if o.windowMs <= 0 { throw .invalidOptions("window length must be positive, got \(o.windowMs) ms") }
        if case .fps(let f) = o.sampling, !(f > 0 && f <= 1000) {
            throw .invalidOptions("sampling rate must be between 0 and 1000 frames per second, got \(f)")
        }
        if let s = o.frameSize, s.width <= 0 || s.height <= 0 || s.width > 16384 || s.height > 16384 {
            throw .invalidOptions("frame size must be between 1x1 and 16384x16384, got \(s.width)x\(s.height)")
        }
        if o.connectTimeoutMs <= 0 || o.readTimeoutMs <= 0 {
            throw .invalidOptions("timeouts must be positive")
        }
    }
}
