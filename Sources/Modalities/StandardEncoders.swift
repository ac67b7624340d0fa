// The modalities of this build. A new modality is a folder beside Speech/, Motion/ and
// AudioLevel/ with its adapter and its `EncoderDescriptor`, and one line here.
import SightlineCore

extension EncoderRegistry {
    /// Every modality `sightline serve` and `config check` know, in evidence order.
    public static let standard = EncoderRegistry([
        .speech,
        .audioLevel,
        .motion,
    ])
}
