// Flags shared by every command that decodes media: sampling, window length, timeouts.
import ArgumentParser
import MediaIO

enum SamplingMode: String, ExpressibleByArgument, CaseIterable {
    case fps, every, keyframes
}

struct MediaOptionGroup: ParsableArguments {
    @Option(help: "Video frames sampled per second of media time (with --sampling fps).")
    var fps: Double = 1

    @Option(help: "How frames are picked: fps (every 1/--fps seconds), every (all frames), keyframes (cheapest: key frames only).")
    var sampling: SamplingMode = .fps

    @Option(name: .customLong("window-ms"), help: "Window stride and length in milliseconds.")
    var windowMs: Int64 = 2000

    @Option(help: "Decoder threads (0 = one per core).")
    var threads: Int = 0

    @Option(name: .customLong("timeout-ms"), help: "Live inputs: connect and read timeout in milliseconds.")
    var timeoutMs: Int64 = 10_000

    func validate() throws {
        guard fps > 0 && fps <= 1000 else { throw ValidationError("--fps must be > 0 and <= 1000") }
        guard windowMs > 0 else { throw ValidationError("--window-ms must be positive") }
        guard threads >= 0 else { throw ValidationError("--threads must be 0 (auto) or more") }
        guard timeoutMs > 0 else { throw ValidationError("--timeout-ms must be positive") }
    }

    var mediaOptions: MediaOptions {
        var o = MediaOptions()
        switch sampling {
        case .fps: o.sampling = .fps(fps)
        case .every: o.sampling = .everyFrame
        case .keyframes: o.sampling = .keyframesOnly
        }
        o.windowMs = windowMs
        o.decodeThreads = threads
        o.connectTimeoutMs = timeoutMs
        o.readTimeoutMs = timeoutMs
        return o
    }
}
