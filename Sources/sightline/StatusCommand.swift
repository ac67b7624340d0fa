import ArgumentParser

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether the daemon is ready, its models and every stream's state.",
        discussion: "Example:\n  sightline status --socket /tmp/sl.sock"
    )

    @OptionGroup var options: ClientOptions

    func run() throws {
        print(try clientCall { try options.client.status(json: options.json) }, terminator: "")
    }
}
