// Locates the committed test fixtures (Tests/Fixtures) from any test target, and the
// shared media folder beside the repository when it is there.
import Foundation

public enum Fixtures {
    /// The repository root, found from this source file's path at compile time.
    public static let repositoryRoot: URL = {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent() // TestSupport
            .deletingLastPathComponent() // Sources
            .deletingLastPathComponent() // repo
    }()

    public static let directory = repositoryRoot.appendingPathComponent("Tests/Fixtures")

    /// Absolute path of a fixture, e.g. `Fixtures.path("media/jfk.wav")`.
    public static func path(_ relative: String) -> String {
        directory.appendingPathComponent(relative).path
    }
}

extension Fixtures {
    /// The build's products folder (where the `sightline` binary is), found from the test bundle.
    public static var productsDirectory: URL {
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    /// Runs a built executable of this package and returns (exit code, stdout, stderr).
    public static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes before waiting so a chatty child cannot block on a full pipe.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}

extension Fixtures {
    /// Where Scripts/fetch-models put the model weights: $SIGHTLINE_MODELS, else the
    /// default ~/.cache/sightline/models (the same rule as ModelIO's registry).
    public static var modelsDirectory: String {
        ProcessInfo.processInfo.environment["SIGHTLINE_MODELS"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/sightline/models").path
    }
}
