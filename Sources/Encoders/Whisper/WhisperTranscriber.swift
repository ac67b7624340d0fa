// Long-form transcription with Whisper, ported from faster-whisper's transcribe() /
// generate_segments(): log-mel of the whole input (global max, as the reference), then
// 30 s windows starting at `seek`; each window is encoded, decoded with the temperature
// fallback (compression ratio / average log-probability / no-speech thresholds), split at
// timestamp-token pairs into segments, and `seek` advances to the last complete segment's
// end (or by the whole window). Previous text conditions the next window unless the
// temperature went above promptResetOnTemperature. Not reentrant: one transcription at a
// time per instance (the scratch buffers are shared).
import Foundation
import Kernels
import SpokenWords
import ModelIO

public final class WhisperTranscriber: @unchecked Sendable {
    public static let inputStride = 2           // mel frames per encoder position
    public static let timePrecision: Float = 0.02 // seconds per timestamp token
    public static let framesPerSecond = 100      // mel frames per second
    public static let maxLength = 448            // decoder positions

    public let model: WhisperModel
    public let tokenizer: WhisperTokenizer
    public let name: String
    let mel: LogMelSpectrogram
    private let generator: WhisperGenerator
    /// Generators besides `generator` for utterances decoded together (`generators(count:)`).
    private var extraGenerators: [WhisperGenerator] = []
    let windowMel: UnsafeMutablePointer<Float>          // (80, 3000)
    private let encoded: UnsafeMutablePointer<Float>    // (1500, d)
    /// (1500, d) the encoder output of a window of packed utterances (WhisperPacking); kept
    /// apart from `encoded`, which a long utterance's later windows reuse.
    let packedEncoded: UnsafeMutablePointer<Float>
    /// (1500, d) the rows one packed utterance is decoded against.
    let packedGathered: UnsafeMutablePointer<Float>
    /// (1500, d) a window of pure silence (zero log-mel) encoded, on first use by packing.
    private let silence: UnsafeMutablePointer<Float>
    private var silenceReady = false

    /// Loads a Whisper directory: config.json, tokenizer.json and the weights, either
    /// CTranslate2's model.bin or Hugging Face's model.safetensors (see WhisperCheckpoint).
    public init(directory: URL, pool: ThreadPool = .shared, beamSlots: Int = 5, precision: WhisperPrecision = .fp32) throws {
        model = try WhisperModel(directory: directory, pool: pool, precision: precision)
        tokenizer = try WhisperTokenizer(path: directory.appendingPathComponent("tokenizer.json").path,
                                         vocabularySize: model.config.vocabularySize)
        guard tokenizer.vocabularySize == model.config.vocabularySize else {
            throw WhisperError.invalidTokenizer(path: directory.appendingPathComponent("tokenizer.json").path,
                                                reason: "has \(tokenizer.vocabularySize) tokens but the model has \(model.config.vocabularySize)")
        }
        name = directory.lastPathComponent
        mel = LogMelSpectrogram(melCount: model.config.melCount)
        generator = WhisperGenerator(model: model, tokenizer: tokenizer, slots: max(beamSlots, 1))
        windowMel = .allocate(capacity: model.config.melCount * WhisperModel.framesPerWindow)
        encoded = .allocate(capacity: model.config.encoderPositions * model.config.dModel)
        packedEncoded = .allocate(capacity: model.config.encoderPositions * model.config.dModel)
        packedGathered = .allocate(capacity: model.config.encoderPositions * model.config.dModel)
        silence = .allocate(capacity: model.config.encoderPositions * model.config.dModel)
    }

    /// Resolves a model name (`whisper-base`) or directory through the registry.
    public convenience init(model nameOrPath: String, registry: ModelRegistry = ModelRegistry(), pool: ThreadPool = .shared, beamSlots: Int = 5,
                            precision: WhisperPrecision = .fp32) throws {
        let dir: URL
        do {
            dir = try registry.resolve(nameOrPath, requiredFiles: ["config.json", "tokenizer.json"])
        } catch {
            throw WhisperError.model(error)
        }
        try self.init(directory: dir, pool: pool, beamSlots: beamSlots, precision: precision)
    }

    deinit {
        windowMel.deallocate()
        encoded.deallocate()
        packedEncoded.deallocate()
        packedGathered.deallocate()
        silence.deallocate()
    }

    // MARK: - Transcription

    /// Transcribes 16 kHz mono samples.
    public func transcribe(samples: [Float], options: TranscriptionOptions, progress: TranscriptionProgress? = nil) throws -> SpeechTranscript {
        let (features, frames) = mel.compute(samples, pool: model.pool) // (80, frames)
        let durationMs = Int64(samples.count) * 1000 / 16_000
        return try transcribe(features: features, frames: frames, durationMs: durationMs, options: options, progress: progress)
    }

    /// Transcribes a log-mel (80, frames) computed with `LogMelSpectrogram` (padding 160).
    public func transcribe(features: [Float], frames: Int, durationMs: Int64, options o: TranscriptionOptions,
                           progress: TranscriptionProgress? = nil) throws -> SpeechTranscript {
        try transcribe(features: features, frames: frames, durationMs: durationMs, options: o, packed: nil, progress: progress)!
    }

    /// As above; with `packed`, the first window (seek 0) is not encoded: its cross-attention,
    /// language and first decode were prepared where these features were packed into a shared
    /// encoder window (WhisperPacking), and the result is nil when decoding that window left
    /// part of the features for a window of their own, failed Whisper's thresholds at the
    /// first temperature, or gave text that does not end where the utterance does
    /// (`reachesEnd`); the caller then transcribes them alone.
    func transcribe(features: [Float], frames: Int, durationMs: Int64, options o: TranscriptionOptions,
                    packed: PackedStart?, progress: TranscriptionProgress? = nil) throws -> SpeechTranscript? {
        try validate(o)
        let generator = packed?.generator ?? self.generator
        let contentFrames = max(frames - 1, 0)
        var encodedSeek = -1
        /// The window whose cross-attention keys/values the generator holds (language
        /// detection and decoding of one window share them): its seek, nil for none.
        var preparedSeek: Int? = packed == nil ? nil : 0
        func useWindow(seek: Int, size: Int) throws {
            defer { preparedSeek = seek }
            if preparedSeek == seek { return }
            if encodedSeek != seek {
                try encodeWindow(features: features, frames: frames, seek: seek, size: size)
                encodedSeek = seek
            }
            generator.setEncoderOutput(encoded)
        }
        let (language, languageProbability) = try packed.map { ($0.language, $0.languageProbability) }
            ?? self.language(for: o, generator: generator) { try useWindow(seek: 0, size: Self.windowSize(frames: frames, seek: 0)) }
        let sotSequence = try tokenizer.sotSequence(language: language, task: o.task)
        let suppress = resolvedSuppressTokens(o.suppressTokens)
        var allTokens = initialPromptTokens(o)
        var promptResetSince = 0
        var segments: [SpeechSegment] = []
        var seek = 0
        var lastSpeechTimestamp: Float = 0
        /// Where the decoder's own timestamps put the end of the text (before word alignment,
        /// which stretches a lone last word over whatever audio follows it).
        var decodedEndMs: Int64?
        while seek < contentFrames {
            if packed != nil && seek > 0 { return nil }
            let timeOffset = Float(seek) / Float(Self.framesPerSecond)
            let segmentSize = Self.windowSize(frames: frames, seek: seek)
            let segmentDuration = Float(segmentSize) / Float(Self.framesPerSecond)
            try useWindow(seek: seek, size: segmentSize)
            let previous = Array(allTokens[promptResetSince...])
            let prompt = buildPrompt(previous: previous, sotSequence: sotSequence, withoutTimestamps: o.withoutTimestamps)
            // Packed, a first decode that fails Whisper's thresholds is not retried at higher
            // temperatures: the utterance is transcribed alone (where it mostly passes at once).
            guard let (result, temperature, compression) = decodeWithFallback(
                generator: generator, prompt: prompt, suppress: suppress, options: o, seconds: Self.seconds(melFrames: segmentSize),
                first: seek == 0 ? packed?.firstDecode : nil, firstOnly: packed != nil) else { return nil }

            if let ns = o.noSpeechThreshold {
                var skip = result.noSpeechProb > ns
                if let lp = o.logProbThreshold, result.avgLogprob > lp { skip = false }
                if skip {
                    seek += segmentSize
                    progress?(Int64(min(seek, contentFrames)) * 10, durationMs)
                    continue
                }
            }
            if packed != nil, let last = result.tokens.last(where: { $0 >= tokenizer.timestampBegin }) {
                decodedEndMs = Self.ms(timeOffset + Float(last - tokenizer.timestampBegin) * Self.timePrecision)
            }
            let previousSeek = seek
            var (pieces, newSeek, singleTimestampEnding) = splitByTimestamps(
                tokens: result.tokens, timeOffset: timeOffset, segmentSize: segmentSize,
                segmentDuration: segmentDuration, seek: seek)
            seek = newSeek
            var words: [[TranscriptWord]] = Array(repeating: [], count: pieces.count)
            if o.wordTimestamps {
                var lastSpeech = Double(lastSpeechTimestamp)
                words = WordAligner(transcriber: self, state: generator.state).align(
                    pieces: &pieces, seekFrames: previousSeek, numFrames: segmentSize, sotSequence: sotSequence,
                    language: language, options: o, lastSpeechTimestamp: &lastSpeech)
                if !singleTimestampEnding, let lastEnd = words.last(where: { !$0.isEmpty })?.last?.endMs,
                   Float(lastEnd) / 1000 > timeOffset {
                    seek = Int((Float(lastEnd) / 1000 * Float(Self.framesPerSecond)).rounded())
                }
                lastSpeechTimestamp = Float(lastSpeech)
            }
            for (i, piece) in pieces.enumerated() {
                let text = tokenizer.decode(piece.tokens)
                if piece.start == piece.end || text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
                allTokens += piece.tokens
                segments.append(SpeechSegment(
                    transcript: TranscriptSegment(startMs: Self.ms(piece.start), endMs: Self.ms(piece.end), text: text, words: words[i]),
                    tokens: piece.tokens, avgLogprob: result.avgLogprob, noSpeechProb: result.noSpeechProb, compressionRatio: compression,
                    temperature: temperature))
            }
            if !o.conditionOnPreviousText || temperature > o.promptResetOnTemperature {
                promptResetSince = allTokens.count
            }
            progress?(Int64(min(seek, contentFrames)) * 10, durationMs)
        }
        if packed != nil, !Self.reachesEnd(decodedEndMs ?? segments.last?.endMs, durationMs: durationMs) { return nil }
        return SpeechTranscript(language: language, languageProbability: languageProbability, durationMs: durationMs, segments: segments)
    }

    // MARK: - Steps

    /// Copies features[:, seek ..< seek+size] into the window, zero-padded to 3000 frames
    /// (faster-whisper's pad_or_trim on the log-mel), and encodes it.
    func encodeWindow(features: [Float], frames: Int, seek: Int, size: Int) throws {
        let mels = model.config.melCount, w = WhisperModel.framesPerWindow
        windowMel.update(repeating: 0, count: mels * w)
        features.withUnsafeBufferPointer { f in
            for m in 0..<mels where size > 0 {
                (windowMel + m * w).update(from: f.baseAddress! + m * frames + seek, count: size)
            }
        }
        try model.encode(mel: windowMel, output: encoded)
    }

    /// The encoder output of a window of pure silence (1500, d), encoded once.
    func silenceEncoded() throws -> UnsafePointer<Float> {
        if !silenceReady {
            windowMel.update(repeating: 0, count: model.config.melCount * WhisperModel.framesPerWindow)
            try model.encode(mel: windowMel, output: silence)
            silenceReady = true
        }
        return UnsafePointer(silence)
    }

    /// The first window of these features encoded alone, as `transcribe` does (1500 · d).
    func encodeAlone(features: [Float], frames: Int) throws -> [Float] {
        try encodeWindow(features: features, frames: frames, seek: 0, size: min(WhisperModel.framesPerWindow, max(frames - 1, 0)))
        return Array(UnsafeBufferPointer(start: encoded, count: model.config.encoderPositions * model.config.dModel))
    }

    /// How far from the end of a packed utterance its text may end: the live voice
    /// detector's padding after speech (0.4 s) plus the slack of Whisper's timestamps, with
    /// room to spare.
    static let packedEndToleranceMs: Int64 = 1_000

    /// Whether a packed utterance's text, ending at `endMs` (nil: no text), ends where the
    /// utterance does. Packed, the decoder now and then closes after its first word or two
    /// ("The" for "The birch canoe slid on the smooth planks.", its timestamp put 22 s past
    /// the utterance, in the padding); the utterances a live stream packs are speech to their
    /// end (the voice detector cut them there), so text that stops short of it or runs past
    /// it — or no text — is redone alone.
    static func reachesEnd(_ endMs: Int64?, durationMs: Int64) -> Bool {
        guard let endMs else { return false }
        return abs(endMs - durationMs) <= packedEndToleranceMs
    }

    /// Throws `invalidOption` for options no decode can run with.
    func validate(_ o: TranscriptionOptions) throws {
        guard o.beamSize >= 1, o.beamSize <= generator.state.slots, o.bestOf >= 1, !o.temperatures.isEmpty else {
            throw WhisperError.invalidOption("beam size must be 1...\(generator.state.slots), best_of >= 1, and at least one temperature")
        }
        if o.task == .translate && !tokenizer.isMultilingual { throw WhisperError.translateNeedsMultilingual(model: name) }
    }

    /// The language to decode in and its probability: the one asked for, English for an
    /// English-only model, or the one detected on the first window (which `prepareWindow`
    /// sets up on `generator`).
    func language(for o: TranscriptionOptions, generator: WhisperGenerator,
                  prepareWindow: () throws -> Void) throws -> (String, Float) {
        if let requested = o.language, requested != "auto" {
            guard tokenizer.isMultilingual else { return ("en", 1) }
            guard tokenizer.languageTokens[requested] != nil else { throw WhisperError.unknownLanguage(requested) }
            return (requested, 1)
        }
        guard tokenizer.isMultilingual else { return ("en", 1) }
        try prepareWindow()
        if let top = generator.detectLanguage().first, let code = tokenizer.languageCode(of: top.id) {
            return (code, top.probability)
        }
        return ("en", 1)
    }

    /// The initial prompt's tokens: the text Whisper sees as said before the first window.
    func initialPromptTokens(_ o: TranscriptionOptions) -> [Int] {
        guard let initial = o.initialPrompt else { return [] }
        return tokenizer.encode(" " + initial.trimmingCharacters(in: .whitespaces))
    }

    /// The main generator and, after it, as many more (each its own decoder state) as
    /// utterances decoded together need; the extra ones are made on first use and kept.
    func generators(count: Int) -> [WhisperGenerator] {
        while extraGenerators.count < count - 1 {
            extraGenerators.append(WhisperGenerator(model: model, tokenizer: tokenizer, slots: generator.state.slots))
        }
        return [generator] + extraGenerators.prefix(max(count - 1, 0))
    }

    func buildPrompt(previous: [Int], sotSequence: [Int], withoutTimestamps: Bool) -> [Int] {
        var prompt: [Int] = []
        if !previous.isEmpty {
            prompt.append(tokenizer.sotPrev)
            prompt += previous.suffix(Self.maxLength / 2 - 1)
        }
        prompt += sotSequence
        if withoutTimestamps { prompt.append(tokenizer.noTimestamps) }
        return prompt
    }

    func resolvedSuppressTokens(_ requested: [Int]) -> [Int] {
        var s = requested.filter { $0 >= 0 }
        if requested.contains(-1) { s += tokenizer.nonSpeechTokens }
        s += [tokenizer.transcribe, tokenizer.translate, tokenizer.sot, tokenizer.sotPrev, tokenizer.sotLM, tokenizer.noSpeech]
        return Array(Set(s)).sorted()
    }

    /// Mel frames of the window at `seek` of a log-mel with `frames` frames (its last frame,
    /// the padding's, is not content): at most 3000.
    static func windowSize(frames: Int, seek: Int) -> Int { min(WhisperModel.framesPerWindow, max(frames - 1, 0) - seek) }

    /// Seconds of audio in `size` mel frames of a window (what its token limit is measured on).
    static func seconds(melFrames size: Int) -> Double { Double(size) / Double(framesPerSecond) }

    /// The generator's options for one decode at temperature `t` of a window holding
    /// `seconds` of audio.
    func decodeOptions(_ o: TranscriptionOptions, suppress: [Int], temperature t: Float, seconds: Double) -> DecodeOptions {
        var d = DecodeOptions()
        d.suppressTokens = suppress
        d.suppressBlank = o.suppressBlank
        d.withoutTimestamps = o.withoutTimestamps
        d.maxInitialTimestampIndex = Int((o.maxInitialTimestamp / Self.timePrecision).rounded())
        d.maxLength = Self.maxLength
        d.maxTokens = o.tokenLimit?.tokens(seconds: seconds)
        d.lengthPenalty = o.lengthPenalty
        d.patience = o.patience
        d.temperature = t
        d.beamSize = t > 0 ? 1 : o.beamSize
        d.bestOf = t > 0 ? o.bestOf : 1
        return d
    }

    /// faster-whisper's generate_with_fallback for a window holding `seconds` of audio; a
    /// decode that reaches `options.tokenLimit` fails the thresholds as one over the
    /// compression ratio does. `first`, when given, is the decode at the first temperature,
    /// already run (with other utterances, WhisperPacking). With `firstOnly`, nil instead of
    /// the fallback when the first decode fails the thresholds.
    func decodeWithFallback(generator: WhisperGenerator, prompt: [Int], suppress: [Int], options o: TranscriptionOptions,
                            seconds: Double, first: DecodeResult? = nil,
                            firstOnly: Bool = false) -> (DecodeResult, Float, Float)? {
        var all: [(DecodeResult, Float, Float)] = []
        var belowCR: [(DecodeResult, Float, Float)] = []
        for (i, t) in o.temperatures.enumerated() {
            let r: DecodeResult
            if i == 0, let first {
                r = first
            } else {
                r = generator.generate(prompt: prompt, options: decodeOptions(o, suppress: suppress, temperature: t, seconds: seconds))
            }
            let text = tokenizer.decode(r.tokens).trimmingCharacters(in: .whitespacesAndNewlines)
            let cr = CompressionRatio.of(text)
            let entry = (r, t, cr)
            all.append(entry)
            let runaway = o.tokenLimit.map { r.tokens.count >= $0.tokens(seconds: seconds) } ?? false
            var needsFallback = runaway
            if let th = o.compressionRatioThreshold {
                if cr > th { needsFallback = true } else if !runaway { belowCR.append(entry) }
            }
            if let lp = o.logProbThreshold, r.avgLogprob < lp { needsFallback = true }
            if let ns = o.noSpeechThreshold, r.noSpeechProb > ns, let lp = o.logProbThreshold, r.avgLogprob < lp {
                needsFallback = false // silence
            }
            if !needsFallback { return entry }
            if firstOnly { return nil }
        }
        let best = (belowCR.isEmpty ? all : belowCR).max { $0.0.avgLogprob < $1.0.avgLogprob }!
        return (best.0, o.temperatures.last!, best.2)
    }

    struct Piece { var start: Float; var end: Float; var tokens: [Int] }

    /// faster-whisper's _split_segments_by_timestamps.
    func splitByTimestamps(tokens: [Int], timeOffset: Float, segmentSize: Int, segmentDuration: Float,
                           seek: Int) -> ([Piece], Int, Bool) {
        let tb = tokenizer.timestampBegin
        var pieces: [Piece] = []
        var seek = seek
        let singleTimestampEnding = tokens.count >= 2 && tokens[tokens.count - 2] < tb && tokens[tokens.count - 1] >= tb
        let consecutive = tokens.indices.filter { $0 > 0 && tokens[$0] >= tb && tokens[$0 - 1] >= tb }
        if !consecutive.isEmpty {
            var slices = consecutive
            if singleTimestampEnding { slices.append(tokens.count) }
            var last = 0
            for cur in slices {
                let sliced = Array(tokens[last..<cur])
                let start = timeOffset + Float(sliced.first! - tb) * Self.timePrecision
                let end = timeOffset + Float(sliced.last! - tb) * Self.timePrecision
                pieces.append(Piece(start: start, end: end, tokens: sliced))
                last = cur
            }
            if singleTimestampEnding {
                seek += segmentSize
            } else {
                seek += (tokens[last - 1] - tb) * Self.inputStride
            }
        } else {
            var duration = segmentDuration
            if let lastTs = tokens.last(where: { $0 >= tb }), lastTs != tb {
                duration = Float(lastTs - tb) * Self.timePrecision
            }
            pieces.append(Piece(start: timeOffset, end: timeOffset + duration, tokens: tokens))
            seek += segmentSize
        }
        return (pieces, seek, singleTimestampEnding)
    }

    static func ms(_ seconds: Float) -> Int64 { Int64((Double(seconds) * 1000).rounded()) }
}
