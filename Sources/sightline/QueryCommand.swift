import ArgumentParser

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Find moments whose evidence (speech, text, labels, motion) matches TEXT.",
        discussion: """
        Examples:
          sightline query "delivery van" --since 2h
          sightline query motion --stream demo --limit 5 --json
        """
    )

    @Argument(help: "Words to look for.")
    var text: String

    @Option(name: .customLong("stream"), help: "Restrict to a stream id (repeatable).")
    var streams: [String] = []

    @OptionGroup var range: TimeRangeOptions

    @Option(help: "Maximum number of moments (1-1000).")
    var limit = 10

    @OptionGroup var options: ClientOptions

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000") }
    }

    func run() throws {
        let (from, to) = try range.resolve()
        print(try clientCall {
            try options.client.query(text: text, streams: streams, fromMs: from, toMs: to, limit: limit, json: options.json)
        }, terminator: "")
    }
}
