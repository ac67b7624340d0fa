// Loading the model a `[models]` key names, for every modality and enricher: the key's
// value is a registry name (fetched by `sightline models fetch`) or a model directory;
// "none" turns the modality off. A failure names the key, the model, the directory and the
// command that fetches it, so a start-up error is fixed from its message alone.
import Foundation
import ModelIO
import SightlineCore

/// A model file that cannot be loaded, with what to do about it.
public struct ModelLoadFailure: Error, CustomStringConvertible {
    public var description: String
}

public enum ModelLoading {
    /// Loads the model `setup` names for `key` (a registry name or a directory holding
    /// `requiredFiles`) with `load`; nil when it is "none". A failure names the model, the
    /// directory and the command that fetches it.
    public static func load<Model>(_ key: String, setup: EncoderSetup, requiredFiles: [String],
                                   _ load: (URL) throws -> Model) throws -> (name: String, model: Model)?
    {
        let name = setup.modelName(key)
        guard name != "none" else { return nil }
        do {
            let dir = try ModelRegistry(root: setup.modelsDirectory).resolve(name, requiredFiles: requiredFiles)
            return (name, try load(dir))
        } catch {
            throw ModelLoadFailure(description: "cannot load the \(key) model '\(name)' from \(setup.modelsDirectory): \(error). "
                + "Fetch it with `SIGHTLINE_MODELS=\(setup.modelsDirectory) sightline models fetch \(name)`, "
                + "or set models.\(key) = \"none\".")
        }
    }
}
