// The one place FFmpeg return codes become Swift errors (like swift-nio's `syscall`).
import CFFmpeg

enum FFmpeg {
    /// FFmpeg's text for an error code, e.g. "Invalid data found when processing input".
    static func errorText(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        sl_error_string(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func failure(_ function: String, _ code: Int32) -> FFmpegFailure {
        FFmpegFailure(function: function, code: code, message: errorText(code))
    }

    /// Runs an FFmpeg call; a negative return becomes `makeError(failure)`.
    @discardableResult
    static func check(
        _ function: String,
        _ code: Int32,
        orThrow makeError: (FFmpegFailure) -> MediaError
    ) throws(MediaError) -> Int32 {
        if code < 0 { throw makeError(failure(function, code)) }
        return code
    }

    static let eof = sl_averror_eof()
    static let eagain = sl_averror_eagain()
    static let exitRequested = sl_averror_exit()
    static let noPTS = sl_av_nopts_value()
}
