// Typed errors for everything MediaIO can meet. Each carries the input, the FFmpeg
// function and return code where there was one, and FFmpeg's own text, and reads as a
// sentence that says what to do.
import CFFmpeg

public struct FFmpegFailure: Sendable, Equatable {
    public var function: String
    public var code: Int32
    public var message: String
}

public enum MediaError: Error, Sendable, Equatable {
    /// The input could not be opened or its container could not be recognised.
    case cannotOpen(input: String, FFmpegFailure)
    /// The container opened, but has no stream of a kind that was asked for.
    case noUsableStream(input: String, wanted: String)
    /// The stream's codec has no decoder in this FFmpeg build.
    case unsupportedCodec(input: String, codec: String)
    /// A live input produced no data for the read timeout.
    case readTimedOut(input: String, timeoutMs: Int64)
    /// A read or decode failed in a way that ends the stream (not a single corrupt packet).
    case readFailed(input: String, FFmpegFailure)
    /// The caller asked for something MediaIO cannot do (bad fps, zero window, ...).
    case invalidOptions(String)
    /// A frame at `atMs` was asked for, but the input's pictures end at `lastMs` (nil: it has none).
    case noFrameAt(input: String, atMs: Int64, lastMs: Int64?)
}

extension MediaError: CustomStringConvertible {
    /// What to do when an input cannot be opened, from the server's answer where there was one.
    static func openAdvice(code: Int32) -> String {
        switch code {
        case sl_averror_http_unauthorized(), sl_averror_http_forbidden():
            return "The server refused the user name or password: check the credentials in the source URL (scheme://user:password@host/path)."
        case sl_averror_http_not_found():
            return "The server has no such path: check the path in the source URL."
        default:
            return "Check that the path or URL exists and is an audio or video file or stream FFmpeg can read."
        }
    }


    public var description: String {
        switch self {
        case let .cannotOpen(input, f):
            return "cannot open '\(input)': \(f.message) (\(f.function) returned \(f.code)). " + Self.openAdvice(code: f.code)
        case let .noUsableStream(input, wanted):
            return "no \(wanted) stream in '\(input)'. The input opened, but carries nothing to decode for this job."
        case let .unsupportedCodec(input, codec):
            return "unsupported codec '\(codec)' in '\(input)': this FFmpeg build has no decoder for it. "
                + "Re-encode the input (for example with ffmpeg -c:v libx264 -c:a aac) or install an FFmpeg with that decoder."
        case let .readTimedOut(input, timeoutMs):
            return "read timed out on '\(input)': no data for \(timeoutMs) ms. The source may be down; it will be retried if supervised."
        case let .readFailed(input, f):
            return "reading '\(input)' failed: \(f.message) (\(f.function) returned \(f.code))."
        case let .invalidOptions(text):
            return "invalid media options: \(text)"
        case let .noFrameAt(input, atMs, lastMs):
            guard let lastMs else { return "'\(input)' has no picture to look at: no video frame could be decoded (is it truncated or damaged?)." }
            return "'\(input)' has no picture at \(Double(atMs) / 1000) s: its last frame is at \(Double(lastMs) / 1000) s. Pick an earlier --at."
        }
    }
}
