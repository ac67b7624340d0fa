// The `sightline` executable: ArgumentParser commands only; each command parses its
// arguments and calls library code.
import ArgumentParser

@main
struct Sightline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sightline",
        abstract: "Watch video, remember what is seen, said and written on screen, and answer questions about it.",
        discussion: """
        Examples:
          sightline probe talk.mp4 --windows        show streams and the window timeline
        """,
        subcommands: []
    )
}
