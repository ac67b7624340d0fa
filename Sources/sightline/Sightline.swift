// The `sightline` executable: ArgumentParser commands only; each command parses its
// arguments and calls library code.
import ArgumentParser
import Foundation
import Kernels

@main
struct Sightline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sightline",
        abstract: "Watch video, remember what is seen, said and written on screen, and answer questions about it.",
        discussion: """
        Examples:
          sightline probe talk.mp4 --windows        show streams and the window timeline
          sightline transcribe talk.mp4 -o talk.srt  subtitles of what is said
          sightline look camera.mp4 --at 12        people, faces, labels and text in one frame
          sightline ask door.mp4 "who came in"       index a file and find the moments that answer
          sightline models list                      which models are installed
        """,
        subcommands: [ProbeCommand.self, TranscribeCommand.self, LookCommand.self, AskCommand.self, ModelsCommand.self,
                      ServeCommand.self, StatusCommand.self, StreamsCommand.self, QueryCommand.self,
                      TranscriptCommand.self, EventsCommand.self, ConfigCommand.self]
    )

    /// Runs the chosen command; input failures (CLIFailure) exit with code 2 and a one-line
    /// message, everything else as ArgumentParser reports it.
    static func main() async {
        // Before other threads allocate: a thread keeps the malloc arena it first used.
        _ = HeapPolicy.applied
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if let code = exitCode(for: error) { Foundation.exit(code.rawValue) }
            exit(withError: error)
        }
    }
}
