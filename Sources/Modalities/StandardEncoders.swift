// The modalities of this build. A new modality is a folder beside Speech/, Motion/,
// People/ and the others with its adapter and its `EncoderDescriptor`, and one line here.
import SightlineCore

extension EncoderRegistry {
    /// Every modality `sightline serve` and `config check` know, in evidence order.
    public static let standard = EncoderRegistry([
        .speech,
        .audioLevel,
        .motion,
        .people,
        .faces,
        .labels,
        .ocr,
        .clip,
    ], enrichers: [
        .textEmbedding,
    ])
}

extension EncoderSetup {
    /// Models from `modelsDirectory` with every `[models]` key of `registry` at its default.
    public static func defaults(modelsDirectory: String, registry: EncoderRegistry = .standard) -> EncoderSetup {
        EncoderSetup(modelsDirectory: modelsDirectory,
                     models: Dictionary(uniqueKeysWithValues: registry.modelSettings.map { ($0.key, $0.defaultValue) }))
    }
}
