// Flags shared by the client commands that talk to a running daemon.
import ArgumentParser
import Server

struct ClientOptions: ParsableArguments {
    @Option(help: "The daemon's API socket.")
    var socket = "/run/sightline/sightline.sock"

    @Flag(help: "Print the daemon's JSON instead of text.")
    var json = false

    var client: APIClient { APIClient(socketPath: socket) }
}

/// Runs a client call, turning its errors into a one-line CLI failure (exit code 2).
func clientCall<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch { throw CLIFailure(message: "\(error)") }
}
