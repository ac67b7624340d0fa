// Audio level of a window: RMS and peak of the 16 kHz mono samples, in dBFS (0 dBFS = a
// full-scale sine's peak). A cheap, real measurement that lets the timeline show when there
// was sound and lets back-pressure tell quiet windows (nothing to transcribe) from loud ones.
import Foundation
import MediaIO
import SightlineCore

public struct AudioLevelEncoder: WindowEncoder {
    public let name = "audio_level"
    public let input = EncoderInput.audio
    /// Level reported for digital silence (log of zero): below any real microphone's floor.
    public static let silenceDb = -120.0

    public init() {}

    public func encode(_ window: MediaWindow) async throws -> [Evidence] {
        guard !window.audio.isEmpty else { return [] }
        let (rms, _) = Self.levels(window.audio)
        return [Evidence(modality: .audioLevel, startMs: window.startMs, endMs: window.endMs, value: rms)]
    }

    /// (rms dBFS, peak dBFS) of (samples,) audio in -1...1.
    public static func levels(_ audio: [Float]) -> (Double, Double) {
        var sum = 0.0
        var peak: Float = 0
        for s in audio {
            sum += Double(s) * Double(s)
            peak = max(peak, abs(s))
        }
        let rms = (sum / Double(max(audio.count, 1))).squareRoot()
        return (db(rms), db(Double(peak)))
    }

    static func db(_ x: Double) -> Double { x > 0 ? max(silenceDb, 20 * log10(x)) : silenceDb }
}

extension EncoderDescriptor {
    /// `audio_level`: RMS level of each window's audio (no model).
    public static let audioLevel = EncoderDescriptor(
        name: "audio_level", summary: "RMS level of each window's audio in dBFS (no model)",
        input: .audio, enabledByDefault: true, prepare: { _ in StatelessEncoder { AudioLevelEncoder() } })
}
