// Utterance packing: several short utterances share one 30 s encoder window instead of each
// paying for a window of its own (the encoder costs the same for 3 s of speech as for 30 s).
// Each utterance's log-mel is computed on its own (its own global-max clamp, as alone), and
// the utterances are laid into the window one after another, each followed by a gap of
// zero log-mel frames, the value a lone utterance's padding has:
//
//     | utterance 0 | gap | utterance 1 | gap | utterance 2 | padding to 3000 frames |
//
// The window is encoded once. Each utterance is then decoded on its own, with its own
// prompt, against the slice of the encoder output from its first frame to the next
// utterance's first frame (the last one: to the window's end), so its text and word times
// come only from its own audio. The decoder's timestamps start at the slice's offset
// (Whisper's positions are absolute), so the first timestamp is looked for there and the
// result is shifted back: times are relative to the utterance's first sample, as alone.
// Anything past the first window (an utterance longer than one window, or a decode that
// stopped early) continues on the ordinary path.
//
// What packing cannot keep identical: the encoder attends over the whole window, so the
// neighbours' audio and the utterance's position change its encoder output a little.
// Tests compare packed against lone transcripts and word times on real speech.
import Foundation

/// A slice of an encoder output that holds one packed utterance (rows from `firstRow`).
struct PackedSlice {
    /// (1500, d) the packed window's encoder output.
    let encoded: UnsafePointer<Float>
    /// Encoder position of the utterance's first frame (frames / 2).
    let firstRow: Int
    /// Positions the decoder sees: the utterance and the gap after it.
    let rows: Int
}

extension WhisperTranscriber {
    /// Silence between packed utterances, in 10 ms mel frames.
    public static let defaultPackGapFrames = 200

    /// Mel frames (10 ms) `samples` 16 kHz samples take in a window.
    public static func melFrames(samples: Int) -> Int { samples / 160 }

    /// Window offsets (mel frames, even) of utterances with these sample counts packed in
    /// order, each followed by `gapFrames`; nil when they do not fit one window.
    public static func packLayout(sampleCounts: [Int], gapFrames: Int = defaultPackGapFrames) -> [Int]? {
        var offsets: [Int] = []
        var at = 0
        for (i, n) in sampleCounts.enumerated() {
            let frames = melFrames(samples: n)
            guard at + frames <= WhisperModel.framesPerWindow else { return nil }
            offsets.append(at)
            if i + 1 < sampleCounts.count {
                at += frames + max(gapFrames, 0)
                at += at & 1 // even: each utterance starts on an encoder position
            }
        }
        return offsets
    }

    /// Transcribes several utterances sharing one encoder window (see the file header).
    /// Each element gets what `transcribe(samples:options:)` would give for it alone, up to
    /// the encoder's view of its neighbours. Throws `invalidOption` if they do not fit.
    public func transcribePacked(_ items: [(samples: [Float], options: TranscriptionOptions)],
                                 gapFrames: Int = defaultPackGapFrames) throws -> [SpeechTranscript] {
        if items.count == 1 { return [try transcribe(samples: items[0].samples, options: items[0].options)] }
        guard !items.isEmpty else { return [] }
        guard let offsets = Self.packLayout(sampleCounts: items.map(\.samples.count), gapFrames: gapFrames) else {
            throw WhisperError.invalidOption("\(items.count) utterances of \(items.map(\.samples.count)) samples do not fit one 30 s window")
        }
        let mels = model.config.melCount, w = WhisperModel.framesPerWindow
        let features = items.map { mel.compute($0.samples, pool: model.pool) } // each (80, frames), own clamp
        windowMel.update(repeating: 0, count: mels * w)
        for (i, f) in features.enumerated() {
            let size = min(max(f.frames - 1, 0), w - offsets[i])
            f.mel.withUnsafeBufferPointer { src in
                for m in 0..<mels where size > 0 {
                    (windowMel + m * w + offsets[i]).update(from: src.baseAddress! + m * f.frames, count: size)
                }
            }
        }
        try model.encode(mel: windowMel, output: packedEncoded)
        let positions = model.config.encoderPositions
        return try items.enumerated().map { i, item in
            let first = offsets[i] / Self.inputStride
            let next = i + 1 < offsets.count ? offsets[i + 1] / Self.inputStride : positions
            let slice = PackedSlice(encoded: UnsafePointer(packedEncoded), firstRow: first, rows: next - first)
            let f = features[i]
            return try transcribe(features: f.mel, frames: f.frames, durationMs: Int64(item.samples.count) * 1000 / 16_000,
                                  options: item.options, packed: slice)
        }
    }
}
