import ArgumentParser
import Server

struct TranscriptCommand: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case srt, vtt, json }

    static let configuration = CommandConfiguration(
        commandName: "transcript",
        abstract: "Print what was said on STREAM as SRT, WebVTT or JSON cues.",
        discussion: """
        Examples:
          sightline transcript front-door --since 1h --format srt > last-hour.srt
          sightline transcript demo --format json
        """
    )

    @Argument(help: "Stream id.")
    var stream: String

    @OptionGroup var range: TimeRangeOptions

    @Option(help: "Output format: srt, vtt or json.")
    var format: Format = .srt

    @Option(help: "The daemon's API socket.")
    var socket = "/run/sightline/sightline.sock"

    func run() throws {
        let (from, to) = try range.resolve()
        print(try clientCall {
            try APIClient(socketPath: socket).transcript(stream: stream, fromMs: from, toMs: to, format: format.rawValue)
        }, terminator: "")
    }
}
