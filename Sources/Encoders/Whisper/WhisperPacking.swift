// Utterance packing: several short utterances share one 30 s encoder window instead of each
// paying for a window of its own (the encoder costs the same for 3 s of speech as for 30 s).
// Each utterance's log-mel is computed on its own (its own global-max clamp, as alone), and
// the utterances are laid into the window one after another, each followed by a gap of
// zero log-mel frames, the value a lone utterance's padding has:
//
//     | utterance 0 | gap | utterance 1 | gap | utterance 2 | padding to 3000 frames |
//
// The window is encoded once. Each utterance is then decoded on its own, with its own
// prompt, against its own encoder rows plus every row of silence (gaps and padding) but none
// of the other utterances' rows, so its text and word times come only from its own audio,
// and the decoder still sees about as much silence as after a lone utterance (a decoder
// given only the utterance and its gap, a few hundred rows instead of 1500, repeated
// itself and invented words on the speech set). The decoder's timestamps start at the slice's offset
// (Whisper's positions are absolute), so the first timestamp is looked for there and the
// result is shifted back: times are relative to the utterance's first sample, as alone.
// Anything past the first window (an utterance longer than one window, or a decode that
// stopped early) continues on the ordinary path.
//
// The encoder's self-attention is masked so that an utterance's positions attend to their
// own and to the silence only, and the silence only to itself: no neighbour's speech
// reaches an utterance through the encoder either. What packing cannot keep identical: the
// utterance's position in the window (Whisper's positions are absolute) and the silence
// it sees (padding after a lone utterance also attends to that utterance's speech).
// Tests compare packed against lone transcripts and word times on real speech.
import Foundation

/// The encoder rows one packed utterance is decoded against: its own rows first, then every
/// row of the window that belongs to no utterance (gaps and padding), gathered from the
/// packed window's encoder output.
struct PackedSlice {
    /// (rows, d) gathered encoder output.
    let encoded: UnsafePointer<Float>
    let rows: Int
    /// Encoder position of the utterance's first frame (frames / 2): its timestamps start there.
    let timestampOffset: Int
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
        let positions = model.config.encoderPositions, d = model.config.dModel
        // Encoder rows of each utterance: [first, end) positions.
        let spans = items.indices.map { i in
            (offsets[i] / Self.inputStride, min((offsets[i] + Self.melFrames(samples: items[i].samples.count) + 1) / Self.inputStride, positions))
        }
        // (positions,) the utterance each position belongs to, -1 for silence.
        var owner = [Int](repeating: -1, count: positions)
        for (i, s) in spans.enumerated() { for p in s.0..<s.1 { owner[p] = i } }
        let silentRows = (0..<positions).filter { owner[$0] < 0 }
        // The encoder's self-attention: an utterance's positions see their own and the
        // silence, never another utterance; silence sees only silence, so what a decoder
        // reads in it carries no one's speech.
        var mask = [Float](repeating: 0, count: positions * positions) // (query, key) added to the scores
        for q in 0..<positions {
            for k in 0..<positions where owner[k] >= 0 && owner[k] != owner[q] { mask[q * positions + k] = -.infinity }
        }
        try mask.withUnsafeBufferPointer { m in
            try model.encode(mel: windowMel, output: packedEncoded, attentionMask: m.baseAddress!)
        }
        return try items.enumerated().map { i, item in
            // The decoder never sees the other utterances: this one's rows, then the silence.
            // Cross-attention has no positions of its own, so the order of rows does not
            // matter to it; word alignment reads the utterance's frames from row 0 on.
            let rows = Array(spans[i].0..<spans[i].1) + silentRows
            for (k, r) in rows.enumerated() { (packedGathered + k * d).update(from: packedEncoded + r * d, count: d) }
            let slice = PackedSlice(encoded: UnsafePointer(packedGathered), rows: rows.count, timestampOffset: spans[i].0)
            let f = features[i]
            return try transcribe(features: f.mel, frames: f.frames, durationMs: Int64(item.samples.count) * 1000 / 16_000,
                                  options: item.options, packed: slice)
        }
    }
}
