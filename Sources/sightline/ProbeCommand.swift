import ArgumentParser
import Foundation
import MediaIO

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Show an input's container, streams and (with --windows) its window timeline.",
        discussion: """
        INPUT is anything FFmpeg opens: a file, http(s)://, rtsp://, an HLS playlist, udp:// or \
        srt://, or a V4L2 device such as /dev/video0. Exit code 2 means the input could not be \
        read; the message says why.

        Examples:
          sightline probe clip.mp4
          sightline probe clip.mp4 --windows --fps 2 --window-ms 5000
          sightline probe rtsp://camera.local/stream --json
        """
    )

    @Argument(help: "File path, URL or device to inspect.")
    var input: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(help: "Decode the whole input and list its windows (start_ms, end_ms, frames, audio samples).")
    var windows = false

    @OptionGroup var media: MediaOptionGroup

    func run() throws {
        do {
            let report = windows
                ? try ProbeReport.withWindows(input: input, options: media.mediaOptions)
                : ProbeReport(info: try MediaSource.probe(input: input, options: media.mediaOptions))
            print(json ? report.json() : report.text())
        } catch {
            throw CLIFailure(message: error.description)
        }
    }
}
