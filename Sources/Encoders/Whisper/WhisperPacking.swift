// Utterance packing: several short utterances share one 30 s encoder window instead of each
// paying for a window of its own (the encoder costs the same for 3 s of speech as for 30 s).
// Each utterance's log-mel is computed on its own (its own global-max clamp, as alone), and
// the utterances are laid into the window one after another, each followed by a gap of
// zero log-mel frames, the value a lone utterance's padding has:
//
//     | utterance 0 | gap | utterance 1 | gap | utterance 2 | padding to 3000 frames |
//     |<-------- block 0 -->|<------ block 1 -->|<------------ block 2 ------------->|
//
// Everything is arranged so that each utterance is encoded and decoded as nearly as it
// would be alone, at the start of a window of its own followed by padding:
// - Positions restart at 0 in each block: an utterance's first frame gets sinusoidal
//   position 0. Its gap stands for the lone padding (positions own ..< 1500): the gap's rows
//   take positions spread evenly over that range.
// - The encoder's self-attention is block-diagonal: an utterance and its gap see only their
//   own block, never a neighbour's speech (each block's attention is computed on its own, so
//   a window of four utterances pays about a quarter of a full window's attention). Each gap
//   row stands for (1500 − own) / gap padding rows, so its keys get log of that added to
//   their scores (`weightGap`), as if each were repeated that many times.
// - conv2 (kernel 3, stride 2) reads one conv1 frame left of an utterance's first frame;
//   alone that is zero padding, packed it is conv1's answer to the gap, so it is zeroed.
// - Each utterance is decoded on its own, with its own prompt, against 1500 rows as alone:
//   its own encoder rows (positions 0 ..< own), then for each padding position the gap row
//   standing for it. Cross-attention has no positions of its own; timestamps start at 0,
//   and word alignment reads the utterance's frames from row 0 on. A gap row standing for
//   k padding positions is given to the decoder once, its attention weighed as k identical
//   rows (PackedKeysValues' repeats): the same attention, with a few hundred rows' keys and
//   values to compute and read on every decoder step instead of 1500.
// What stays different from lone decoding: a lone window's padding rows each have their own
// position (here neighbouring positions share a gap row), and whatever the lone encoder
// carries through 28 s of padding the gap carries through a few hundred rows; decoding
// amplifies small differences (PackBench --deviation measures the rows). Where they matter
// most is the utterance's end: alone, the decoder sees 28 s of padding and closes with a
// single timestamp; packed it may close a segment early, leaving a tail of a few hundred
// milliseconds that, decoded in a window of its own, comes out as a hallucinated loop ("I'm
// sorry, I'm sorry, …") at high confidence, or close after a word with a timestamp in the
// padding. So a packed decode counts only if it takes the whole utterance in the shared
// window, passes Whisper's thresholds at the first temperature and its text ends where the
// utterance does; otherwise the utterance is transcribed alone, from the start, exactly as
// without packing. PackingTests and PackBench compare packed against lone transcripts and
// word times.
import Foundation

/// The encoder rows one packed utterance is decoded against: 1500 rows as alone, each
/// distinct row once with the number of the 1500 it stands for.
struct PackedSlice {
    /// (rows, d) its own encoder rows, then the rows standing for its padding.
    let encoded: UnsafePointer<Float>
    let rows: Int
    /// (rows) how many of the 1500 rows each row stands for; nil: one each.
    let repeats: [Int]?

    /// The 1500 rows written out (rows repeated), for comparing with a lone encoding.
    func expanded(dModel d: Int) -> [Float] {
        guard let repeats else { return Array(UnsafeBufferPointer(start: encoded, count: rows * d)) }
        var out: [Float] = []
        out.reserveCapacity(repeats.reduce(0, +) * d)
        for (r, count) in repeats.enumerated() {
            for _ in 0..<count { out += UnsafeBufferPointer(start: encoded + r * d, count: d) }
        }
        return out
    }
}

/// A packed utterance's first window, ready to decode on: the generator holding its
/// cross-attention keys and values, its language, and (when it was decoded together with
/// the window's other utterances) the decode at the first temperature.
struct PackedStart {
    let generator: WhisperGenerator
    let language: String
    let languageProbability: Float
    let firstDecode: DecodeResult?
}

extension WhisperTranscriber {
    /// Silence between packed utterances, in 10 ms mel frames.
    public static let defaultPackGapFrames = 200

    /// Mel frames (10 ms) `samples` 16 kHz samples take in a window.
    public static func melFrames(samples: Int) -> Int { samples / 160 }

    /// Window offsets (mel frames, even) of utterances with these sample counts packed in
    /// order, each followed by at least `gapFrames`; nil when they do not fit one window.
    /// Room the utterances leave is not all left at the end: it widens every gap, in
    /// proportion to the lone padding each gap stands for (the window minus its utterance),
    /// since the more gap rows stand for that padding, the closer the packed encoding is to
    /// the lone one (word times above all).
    public static func packLayout(sampleCounts: [Int], gapFrames: Int = defaultPackGapFrames) -> [Int]? {
        let w = WhisperModel.framesPerWindow, gap = max(gapFrames, 0)
        let frames = sampleCounts.map { melFrames(samples: $0) }
        func layout(extra: [Int]) -> [Int]? {
            var offsets: [Int] = []
            var at = 0
            for (i, f) in frames.enumerated() {
                guard at + f <= w else { return nil }
                offsets.append(at)
                if i + 1 < frames.count {
                    at += f + gap + extra[i]
                    at += at & 1 // even: each utterance starts on an encoder position
                }
            }
            return offsets
        }
        guard let tight = layout(extra: Array(repeating: 0, count: frames.count)) else { return nil }
        // What the tight layout leaves after the last utterance, less a frame per gap for the
        // rounding to even starts; shared by all blocks, the last one keeping its own share.
        let room = w - (tight.last! + frames.last!) - frames.count
        guard frames.count > 1, room > 0 else { return tight }
        let padding = frames.map { max(w - $0, 0) }, total = padding.reduce(0, +)
        guard total > 0 else { return tight }
        return layout(extra: padding.map { room * $0 / total }) ?? tight
    }

    /// One packed utterance's encoder positions in the window.
    struct PackedBlock {
        /// Its first position; its own rows are start ..< end, its gap end ..< blockEnd.
        let start: Int, end: Int, blockEnd: Int
        var own: Int { end - start }
    }

    /// Utterances of one window whose first decodes run together: each needs a decoder state
    /// of its own (cross-attention keys and values, beam caches: ~130 MB for base), so the
    /// generators kept for them are bounded.
    public static let maxDecodedTogether = 6

    /// Transcribes several utterances sharing one encoder window (see the file header).
    /// Each element gets what `transcribe(samples:options:)` would give for it alone, up to
    /// the differences the header lists. Their first beam searches share each decoder step
    /// (`WhisperGenerator.beamTogether`). Throws `invalidOption` if they do not fit.
    public func transcribePacked(_ items: [(samples: [Float], options: TranscriptionOptions)],
                                 gapFrames: Int = defaultPackGapFrames, weightGap: Bool = true) throws -> [SpeechTranscript] {
        if items.count == 1 { return [try transcribe(samples: items[0].samples, options: items[0].options)] }
        guard !items.isEmpty else { return [] }
        for item in items { try validate(item.options) }
        let (features, blocks) = try encodePacked(items.map(\.samples), gapFrames: gapFrames, weightGap: weightGap)
        var results: [SpeechTranscript] = []
        for chunk in stride(from: 0, to: items.count, by: Self.maxDecodedTogether) {
            let indices = Array(chunk..<min(chunk + Self.maxDecodedTogether, items.count))
            let generators = self.generators(count: indices.count)
            // Each utterance's cross-attention, language and first prompt on its own generator.
            var starts: [PackedStart] = [], prompts: [[Int]] = []
            for (g, i) in zip(generators, indices) {
                let slice = try gatherLoneLike(blocks[i])
                g.setEncoderOutput(slice.encoded, rows: slice.rows, repeats: slice.repeats)
                let o = items[i].options
                let (language, probability) = try language(for: o, generator: g) {}
                starts.append(PackedStart(generator: g, language: language, languageProbability: probability, firstDecode: nil))
                let sot = try tokenizer.sotSequence(language: language, task: o.task)
                prompts.append(buildPrompt(previous: initialPromptTokens(o), sotSequence: sot, withoutTimestamps: o.withoutTimestamps))
            }
            // Beam searches at the first temperature, together.
            let together = indices.indices.filter { k in
                let o = items[indices[k]].options
                return o.temperatures[0] == 0 && o.beamSize > 1
            }
            if together.count > 1 {
                let decoded = WhisperGenerator.beamTogether(
                    together.map { generators[$0] }, prompts: together.map { prompts[$0] },
                    options: together.map { k in
                        let o = items[indices[k]].options
                        return decodeOptions(o, suppress: resolvedSuppressTokens(o.suppressTokens), temperature: 0,
                                             seconds: Self.seconds(melFrames: Self.windowSize(frames: features[indices[k]].frames, seek: 0)))
                    })
                for (k, r) in zip(together, decoded) {
                    let s = starts[k]
                    starts[k] = PackedStart(generator: s.generator, language: s.language, languageProbability: s.languageProbability,
                                            firstDecode: r)
                }
            }
            // The rest of each decode in turn (fallback temperatures, word times). One that
            // does not finish in the shared window is transcribed alone on the main generator,
            // whose own utterance (the chunk's first) is done by then.
            for (k, i) in indices.enumerated() {
                let f = features[i], durationMs = Int64(items[i].samples.count) * 1000 / 16_000
                if let t = try transcribe(features: f.mel, frames: f.frames, durationMs: durationMs, options: items[i].options,
                                          packed: starts[k]) {
                    results.append(t)
                } else {
                    results.append(try transcribe(features: f.mel, frames: f.frames, durationMs: durationMs, options: items[i].options))
                }
            }
        }
        return results
    }

    /// Encodes the utterances packed into one window (`packedEncoded`); returns each one's
    /// log-mel (80, frames) and its block.
    func encodePacked(_ samples: [[Float]], gapFrames: Int, weightGap: Bool) throws -> ([(mel: [Float], frames: Int)], [PackedBlock]) {
        guard let offsets = Self.packLayout(sampleCounts: samples.map(\.count), gapFrames: gapFrames) else {
            throw WhisperError.invalidOption("\(samples.count) utterances of \(samples.map(\.count)) samples do not fit one 30 s window")
        }
        let mels = model.config.melCount, w = WhisperModel.framesPerWindow, n = model.config.encoderPositions
        let features = samples.map { mel.compute($0, pool: model.pool) } // each (80, frames), own clamp
        windowMel.update(repeating: 0, count: mels * w)
        for (i, f) in features.enumerated() {
            let size = min(max(f.frames - 1, 0), w - offsets[i])
            f.mel.withUnsafeBufferPointer { src in
                for m in 0..<mels where size > 0 {
                    (windowMel + m * w + offsets[i]).update(from: src.baseAddress! + m * f.frames, count: size)
                }
            }
        }
        let blocks = samples.indices.map { i in
            let start = offsets[i] / Self.inputStride
            return PackedBlock(start: start,
                               end: min((offsets[i] + Self.melFrames(samples: samples[i].count) + 1) / Self.inputStride, n),
                               blockEnd: i + 1 < offsets.count ? offsets[i + 1] / Self.inputStride : n)
        }
        var positionIndices = [Int](repeating: 0, count: n) // (1500) position added to each row
        // Each block attends only within itself; its mask (query, key) is 0 on its own rows
        // and, on its gap's keys, the weight of the lone padding they stand for.
        var attentionBlocks: [WhisperModel.EncoderAttentionBlock] = []
        for b in blocks {
            let gap = b.blockEnd - b.end, len = b.blockEnd - b.start
            let gapBias: Float = weightGap && gap > 0 ? Float(Foundation.log(Double(n - b.own) / Double(gap))) : 0
            for p in b.start..<b.end { positionIndices[p] = p - b.start }
            for p in b.end..<b.blockEnd {
                positionIndices[p] = b.own + (p - b.end) * (n - b.own) / gap
            }
            var mask: [Float]?
            if gapBias != 0 {
                var m = [Float](repeating: 0, count: len * len)
                for q in 0..<len { for k in b.own..<len { m[q * len + k] = gapBias } }
                mask = m
            }
            attentionBlocks.append(.init(rows: b.start..<b.blockEnd, mask: mask))
        }
        try model.encode(mel: windowMel, output: packedEncoded, attentionBlocks: attentionBlocks,
                         positionIndices: positionIndices, conv2LeftEdges: offsets)
        return (features, blocks)
    }

    /// Fills `packedGathered` with the block's own rows of `packedEncoded`, then the rows
    /// standing for the padding positions own ..< 1500 (each with how many it stands for):
    /// 1500 rows as alone.
    func gatherLoneLike(_ b: PackedBlock) throws -> PackedSlice {
        let n = model.config.encoderPositions, d = model.config.dModel
        packedGathered.update(from: packedEncoded + b.start * d, count: b.own * d)
        guard b.blockEnd > b.end else {
            let silence = try silenceEncoded()
            (packedGathered + b.own * d).update(from: silence + b.own * d, count: (n - b.own) * d)
            return PackedSlice(encoded: UnsafePointer(packedGathered), rows: n, repeats: nil)
        }
        // The block's own gap rows (they attended to this utterance, as lone padding does),
        // padding position r standing on gap row (r − own) · gap / (1500 − own). The block
        // ends by 1500, so there are no more gap rows than padding positions and each gap row
        // stands for at least one.
        let gap = b.blockEnd - b.end
        var repeats = [Int](repeating: 1, count: b.own) + [Int](repeating: 0, count: gap)
        for r in b.own..<n { repeats[b.own + min((r - b.own) * gap / (n - b.own), gap - 1)] += 1 }
        (packedGathered + b.own * d).update(from: packedEncoded + b.end * d, count: gap * d)
        return PackedSlice(encoded: UnsafePointer(packedGathered), rows: b.own + gap, repeats: repeats)
    }

    /// For measuring packing: per utterance, the largest |packed − lone| over its own encoder
    /// rows and over all 1500 rows its decoder reads, the lone rows being those of the
    /// utterance encoded alone in a window of its own.
    public func packedEncoderDeviation(_ samples: [[Float]], gapFrames: Int = defaultPackGapFrames,
                                       weightGap: Bool = true) throws -> [(own: Float, ownRMS: Float, decoderRows: Float, padRMS: Float)] {
        let (features, blocks) = try encodePacked(samples, gapFrames: gapFrames, weightGap: weightGap)
        let n = model.config.encoderPositions, d = model.config.dModel
        let packedRows = try blocks.map { try gatherLoneLike($0).expanded(dModel: d) }
        return try features.enumerated().map { i, f in
            let lone = try encodeAlone(features: f.mel, frames: f.frames)
            var own: Float = 0, all: Float = 0
            var ownSq = 0.0, ownRef = 0.0, padSq = 0.0, padRef = 0.0
            for r in 0..<n {
                var m: Float = 0, sq = 0.0, ref = 0.0
                for c in 0..<d {
                    let x = packedRows[i][r * d + c] - lone[r * d + c]
                    m = max(m, abs(x)); sq += Double(x * x); ref += Double(lone[r * d + c] * lone[r * d + c])
                }
                if r < blocks[i].own { own = max(own, m); ownSq += sq; ownRef += ref } else { padSq += sq; padRef += ref }
                all = max(all, m)
            }
            // RMS of the difference relative to the RMS of the lone rows.
            return (own, Float((ownSq / max(ownRef, 1e-30)).squareRoot()), all, Float((padSq / max(padRef, 1e-30)).squareRoot()))
        }
    }
}
