import ArgumentParser
import Foundation

/// A failure on the user's input: the message goes to stderr and the exit code is 2.
struct CLIFailure: Error, CustomStringConvertible {
    static let exitCode: Int32 = 2
    var message: String
    var description: String { message }
}

extension Sightline {
    /// Prints CLIFailure as `sightline: <message>` with exit code 2; other errors as ArgumentParser does.
    static func exitCode(for error: Error) -> ExitCode? {
        guard let failure = error as? CLIFailure else { return nil }
        FileHandle.standardError.write(Data("sightline: \(failure.message)\n".utf8))
        return ExitCode(CLIFailure.exitCode)
    }
}
