// Speech of a local file read once at full speed (`sightline ask`, the development set,
// daemon file streams neither paced nor looped), transcribed the way `sightline transcribe` does it instead of
// the way a live stream must. A live stream cannot see ahead, so each utterance pays a
// Whisper window of its own (30 s of encoder for 3 s of speech) and a sentence cut at a
// pause is decoded again once it is joined. A file can be read ahead: its speech regions
// (Silero VAD, faster-whisper's gate: silences under 2 s kept, 400 ms padding) are joined
// and decoded in full 30 s windows, and the words are put back on the media timeline — an
// encoder window per 30 s of speech, not per utterance. Unlike `transcribe`, a window is
// not given the text before it as prompt (TranscriptionOptions.file says why).
//
// The encoder reads the file's audio with a MediaSource of its own, ahead of the pipeline,
// a chunk at a time (`chunkMs` of media, 5 min by default), so memory holds one chunk. A
// chunk is cut where its last speech region starts when that region may still go on (it
// reaches the chunk's last 2.4 s: the gate's 2 s silence plus padding), so no region is
// split (a chunk that is speech from end to end is cut in its longest quiet stretch). Each
// chunk is gated with the VAD run once over it. A segment is returned with the pipeline's
// window in which it ends, with its own times, as live speech is: by the time a window is
// encoded, its speech has been transcribed, so captions and the timeline see speech where
// it is said. The Whisper model is shared with live streams (PackingRecognizer's turns).
//
// Once a window's chunk is transcribed, the next chunk is read and transcribed on a thread
// of its own while the pipeline works through this chunk's windows (the picture models):
// the two take turns on the kernel pool kernel by kernel, and what runs between kernels
// (beam search, decoding audio, pre- and post-processing) runs on both cores at once. A
// window waits for that chunk only when it reaches it.
import Foundation
import SpokenWords
import MediaIO
import SightlineCore
import Subtitles
import Transcription
import VAD

/// Counts the speech the voice detector found that the recogniser turned into no text.
public protocol UnrecognizedSpeechCounting {
    var unrecognizedCount: Int { get }
}

extension SpeechEncoder: UnrecognizedSpeechCounting {}

public final class FileSpeechEncoder: WindowEncoder, UnrecognizedSpeechCounting, @unchecked Sendable {
    public let name = "speech"
    /// The pipeline's audio is not used (the encoder reads ahead on its own), but asking for
    /// it keeps the window's times those of the audio.
    public let input = EncoderInput.audio
    /// The file the pipeline reads.
    public let path: String
    public let transcriber: FileTranscriber
    private let gate: SpeechGate
    /// Media read ahead and transcribed at a time.
    public let chunkMs: Int64
    public static let defaultChunkMs: Int64 = 300_000

    private let lock = NSLock()
    /// The file's audio; handed to `ahead` while it runs and only touched again after it.
    private var reader: ChunkReader?
    /// The next chunk, read and transcribed in the background.
    private var ahead: ChunkJob?
    /// Transcribed, not yet returned, in time order.
    private var pending: [TranscriptSegment] = []
    /// End of the last window `encode` was given since the encoder (re)started.
    private var lastWindowEndMs: Int64?
    private var unrecognized = 0

    public var unrecognizedCount: Int { lock.withLock { unrecognized } }

    /// `transcriber` must gate (its `gate` set): the chunks are cut at the gate's regions.
    public init(path: String, transcriber: FileTranscriber, chunkMs: Int64 = defaultChunkMs) {
        guard let gate = transcriber.gate else { preconditionFailure("FileSpeechEncoder cuts chunks at the gate's speech regions") }
        self.path = path
        self.transcriber = transcriber
        self.gate = gate
        self.chunkMs = max(chunkMs, 30_000)
    }

    public func encode(_ window: MediaWindow) async throws -> [Evidence] {
        try lock.withLock {
            // A file without audio (or a stretch before it starts) has nothing to read ahead.
            if reader == nil && window.audio.isEmpty { return [] }
            // The first window with audio since a (re)start: the file is read from there.
            if reader == nil { reader = try ChunkReader(path: path, fromMs: window.startMs) }
            lastWindowEndMs = window.endMs
            try transcribe(through: window.endMs)
            return SpeechEncoder.evidence(take { $0.endMs <= window.endMs })
        }
    }

    /// The input ended (or the pipeline stops): the speech up to the last window's end is
    /// returned; the next `encode` reads the file again from its window.
    public func finish() async throws -> [Evidence] {
        try lock.withLock {
            // A chunk still transcribing past the last window is not waited for: it ends on
            // its own thread, with its own reference to the reader, and is dropped.
            defer { reader = nil; ahead = nil; pending = []; lastWindowEndMs = nil }
            guard let end = lastWindowEndMs else { return [] }
            try transcribe(through: end, readingAhead: false)
            return SpeechEncoder.evidence(take { $0.startMs < end })
        }
    }

    /// Transcribes chunks until everything up to `endMs` is (or the audio ends), then, with
    /// `readingAhead`, starts the next chunk in the background.
    private func transcribe(through endMs: Int64, readingAhead: Bool = true) throws {
        guard let reader else { return }
        if let job = ahead, job.startMs < endMs {
            ahead = nil
            if let done = try job.wait() { absorb(done) }
        }
        while ahead == nil, reader.transcribedEndMs < endMs, let chunk = try reader.nextChunk(chunkMs: chunkMs, gate: gate) {
            absorb(try transcribed(chunk))
        }
        if readingAhead, ahead == nil, reader.transcribedEndMs < Int64.max {
            ahead = ChunkJob(startMs: reader.transcribedEndMs) { [self] in
                try reader.nextChunk(chunkMs: chunkMs, gate: gate).map(transcribed)
            }
        }
    }

    private func transcribed(_ chunk: ChunkReader.Chunk) throws -> (startMs: Int64, transcript: Transcript) {
        (chunk.startMs, try transcriber.transcribe(samples: chunk.samples, name: path, speechProbabilities: chunk.probabilities))
    }

    /// Keeps a chunk's segments, on the media timeline, until their windows come.
    private func absorb(_ done: (startMs: Int64, transcript: Transcript)) {
        unrecognized += done.transcript.unrecognized.count
        pending += done.transcript.segments.map { $0.shifted(by: done.startMs) }
    }

    /// Removes and returns the pending segments `isDue` accepts, by start.
    private func take(_ isDue: (TranscriptSegment) -> Bool) -> [TranscriptSegment] {
        let due = pending.filter(isDue)
        pending.removeAll(where: isDue)
        return due.sorted { $0.startMs < $1.startMs }
    }
}

/// A chunk read and transcribed on a thread of its own.
// `work` runs on the job's thread only; `result` is written there before `done` is signalled
// and read by the waiter after it.
private final class ChunkJob: @unchecked Sendable {
    typealias Done = (startMs: Int64, transcript: Transcript)
    /// Media time where the chunk starts: windows before it do not need it.
    let startMs: Int64
    private let work: () throws -> Done?
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Done?, any Error> = .success(nil)

    init(startMs: Int64, work: @escaping () throws -> Done?) {
        self.startMs = startMs
        self.work = work
        let thread = Thread { [self] in
            result = Result { try self.work() }
            done.signal()
        }
        thread.name = "sightline-speech-ahead"
        thread.start()
    }

    /// The chunk's start and transcript (nil: the audio had ended), once transcribed; the
    /// job's error if it failed.
    func wait() throws -> Done? {
        done.wait()
        done.signal() // done stays done for a later wait
        return try result.get()
    }
}

/// A file's audio read ahead and handed out in chunks cut in silence. Used by one thread at
/// a time: the encoder, or the background job it waits for before touching it again.
final class ChunkReader: @unchecked Sendable {
    /// One chunk: its samples (16 kHz mono), its media start and the VAD's probabilities
    /// over it (one per 512-sample chunk from its first sample).
    struct Chunk {
        let samples: [Float]
        let startMs: Int64
        let probabilities: [Float]
    }

    private let source: MediaSource
    /// Audio ending before this is skipped (a restart part-way through the file).
    private let fromMs: Int64
    /// Audio read and not yet handed out, starting at `bufferStartMs`.
    private var buffer: [Float] = []
    private var bufferStartMs: Int64 = 0
    /// A window after a gap in the audio: it starts the next chunk.
    private var carried: MediaWindow?
    private var ended = false
    /// Everything before this media time has been handed out.
    private(set) var transcribedEndMs: Int64 = Int64.min

    init(path: String, fromMs: Int64) throws {
        self.fromMs = fromMs
        var options = MediaOptions()
        options.decodeVideo = false
        options.windowMs = 10_000
        source = try MediaSource(input: path, options: options)
    }

    /// The next chunk: at least `chunkMs` of audio when the file has it, cut at the start of
    /// a speech region that may continue past it; nil once everything is handed out.
    func nextChunk(chunkMs: Int64, gate: SpeechGate) throws -> Chunk? {
        let perMs = AudioFormat.samplesPerMs
        var gap = false
        if let w = carried {
            carried = nil
            buffer = w.audio
            bufferStartMs = w.startMs
        }
        while !ended, Int64(buffer.count / perMs) < chunkMs {
            guard let w = try source.nextWindow() else { ended = true; break }
            guard !w.audio.isEmpty, w.endMs > fromMs else { continue }
            if buffer.isEmpty {
                bufferStartMs = w.startMs
            } else if abs(w.startMs - (bufferStartMs + Int64(buffer.count / perMs))) > 1 {
                // A gap (or overlap) in the audio: the chunk ends here, so times never drift.
                carried = w
                gap = true
                break
            }
            buffer += w.audio
        }
        guard !buffer.isEmpty else {
            if ended && carried == nil { transcribedEndMs = Int64.max }
            return nil
        }
        let probabilities = SileroVAD(weights: gate.weights).probabilities(of: buffer)
        let cut = ended || gap ? buffer.count : try Self.cut(buffer.count, probabilities: probabilities, options: gate.options.regions)
        let chunk = Chunk(samples: Array(buffer[0..<cut]), startMs: bufferStartMs,
                          probabilities: Array(probabilities.prefix((cut + SileroVAD.chunkSamples - 1) / SileroVAD.chunkSamples)))
        buffer.removeFirst(cut)
        bufferStartMs += Int64(cut / perMs)
        transcribedEndMs = ended && buffer.isEmpty && carried == nil ? Int64.max : bufferStartMs
        return chunk
    }

    /// Where to end a chunk of `count` samples that the file goes on after: at the start of
    /// its last speech region when that region may continue (it reaches the last 2.4 s: the
    /// gate's silence plus padding), so the region is decoded whole with the next chunk; at
    /// its end when the tail is silence. A chunk that is speech from end to end is cut in its
    /// longest quiet stretch (chunks the VAD scores below the exit threshold) in its second
    /// half, or at its end if it has none. Cuts fall on VAD chunks, so the probabilities up
    /// to the cut stay those of the samples handed out.
    static func cut(_ count: Int, probabilities: [Float], options: SpeechRegionOptions) throws(VADError) -> Int {
        let vadChunk = SileroVAD.chunkSamples, perMs = AudioFormat.samplesPerMs
        let regions = try SpeechRegions.detect(probabilities: probabilities, sampleCount: count, options: options)
        guard let last = regions.last, last.endSample > count - (options.minSilenceMs + options.speechPadMs) * perMs else {
            return count
        }
        if last.startSample >= vadChunk { return last.startSample / vadChunk * vadChunk }
        var best: (start: Int, length: Int)? = nil, run = 0
        let quiet = Float(options.effectiveNegativeThreshold)
        for i in (probabilities.count / 2)..<probabilities.count {
            run = probabilities[i] < quiet ? run + 1 : 0
            if run > 0, run > best?.length ?? 0 { best = (i + 1 - run, run) }
        }
        guard let best else { return count }
        return min((best.start + best.length / 2) * vadChunk, count)
    }
}
