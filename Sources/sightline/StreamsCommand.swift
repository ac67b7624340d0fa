import ArgumentParser

struct StreamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "List configured streams with state, counters, lag and last error.",
        discussion: "Example:\n  sightline streams --json"
    )

    @OptionGroup var options: ClientOptions

    func run() throws {
        print(try clientCall { try options.client.streams(json: options.json) }, terminator: "")
    }
}
