import ArgumentParser
import Foundation
import Server

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print events (stream up/down, standing-query matches); --follow waits for new ones.",
        discussion: """
        Examples:
          sightline events
          sightline events --follow --json
        """
    )

    @Flag(help: "Keep the connection open and print events as they happen.")
    var follow = false

    @OptionGroup var options: ClientOptions

    func run() throws {
        let client = follow ? APIClient(socketPath: options.socket, timeoutMs: 0) : options.client
        try clientCall {
            try client.events(follow: follow, json: options.json) { line in
                // Unbuffered, so `events --follow | other-program` sees each event at once.
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
                return true
            }
        }
    }
}
