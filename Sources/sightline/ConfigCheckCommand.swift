import ArgumentParser
import Daemon

struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the daemon config and every stream file without running anything.",
        discussion: """
        Unknown keys and bad values are reported with file, line and key (exit code 2).

        Examples:
          sightline config check --config Config/sightline.toml --streams Streams
          sightline config check --config /etc/sightline/sightline.toml --print
        """
    )

    @Option(help: "Daemon configuration file.")
    var config: String?

    @Option(help: "Streams folder, overriding paths.streams_dir.")
    var streams: String?

    @Flag(help: "Print the effective values (defaults included) of every file.")
    var print = false

    func run() throws {
        let report: String
        do {
            report = try Configuration.load(file: config, streamsDir: streams).report(printValues: print)
        } catch {
            throw CLIFailure(message: "\(error)")
        }
        Swift.print(report, terminator: "")
    }
}
