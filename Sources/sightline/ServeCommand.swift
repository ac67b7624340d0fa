import ArgumentParser
import Daemon
import Foundation
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon: ingest the configured streams and answer on the API socket.",
        discussion: """
        Reads CONFIG (default: built-in defaults) and every *.toml in its streams folder. \
        Runs until SIGTERM or SIGINT (graceful: windows in flight are finished); SIGHUP \
        reloads the streams folder. Under systemd it speaks the notify protocol and accepts \
        a socket from sightline.socket.

        Examples:
          sightline serve --config Config/sightline.toml --streams Streams --socket /tmp/sl.sock --state-dir /tmp/sl
          systemctl start sightline
        """
    )

    @Option(help: "Daemon configuration file (see Config/sightline.toml).")
    var config: String?

    @Option(help: "Streams folder, overriding paths.streams_dir.")
    var streams: String?

    @Option(help: "API socket path, overriding socket.path (and a systemd-passed socket).")
    var socket: String?

    @Option(help: "State folder for the database, overriding paths.state_dir.")
    var stateDir: String?

    @Option(help: "Folder with the downloaded models, overriding paths.models_dir.")
    var modelsDir: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        // Priority-prefixed lines when stderr is the journal; credentials never logged.
        LoggingSystem.bootstrap { label in DaemonLogHandler(label: label) }
        var logger = Logger(label: "sightline")
        logger.logLevel = logLevel
        var configuration: Configuration
        do {
            configuration = try Configuration.load(file: config, streamsDir: streams)
        } catch {
            throw CLIFailure(message: "\(error)")
        }
        if let stateDir { configuration.daemon.paths.stateDir = stateDir }
        if let modelsDir { configuration.daemon.paths.modelsDir = modelsDir }
        do {
            let encoders = try RegistryEncoders.load(configuration: configuration, logger: logger)
            try await DaemonRunner(configuration: configuration, socketOverride: socket, encoders: encoders,
                                   logger: logger, version: SightlineVersion.string).run()
        } catch {
            throw CLIFailure(message: "\(error)")
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
