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
