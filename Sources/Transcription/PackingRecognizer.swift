// Utterances of many live streams recognised together: each stream's transcriber asks for
// one utterance at a time from its own thread and waits; the waiting utterances are handed
// to the recogniser as one batch, which packs those that fit into shared 30 s encoder
// windows (WhisperRecognizer.recognize(batch:)). One batch runs at a time (the recogniser is
// not reentrant), so utterances that end while a batch runs queue behind it; when it
// returns, the next batch starts as soon as one is due:
// - every stream using the packer is waiting or has its utterance in the batch being
//   recognised (no one else can add an utterance), or
// - the waiting utterances no longer fit one window, or
// - the oldest has waited `latencyMs` (the wait packing may add to gather utterances while
//   the recogniser is free; with 0, the daemon's default, nothing waits for a free
//   recogniser and only utterances that queued behind a running batch share a window:
//   packing then adds no latency, and happens only when the recogniser falls behind),
// and at once for a stream that asked for low latency (`immediate`), whose utterance is
// recognised alone. A caller whose utterance is due runs the batch on its own thread, so
// the packer has no thread.
import Foundation
import MediaIO

public final class PackingRecognizer: SegmentRecognizer, @unchecked Sendable {
    public let inner: any BatchRecognizer
    /// How long an utterance may wait for others to share its window while the recogniser
    /// is free (0: not at all; it still shares one with those queued behind a running batch).
    public let latencyMs: Int
    public var modelName: String { inner.modelName }

    private final class Request {
        let request: RecognitionRequest
        let immediate: Bool
        let since: Date
        /// It was due with a batch it did not fit into: it goes in the next one at once.
        var overflowed = false
        var result: Result<RecognizedSpeech, Error>? = nil
        init(_ request: RecognitionRequest, immediate: Bool) {
            self.request = request
            self.immediate = immediate
            since = Date()
        }
    }

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var waiting: [Request] = []
    private var running = false
    /// Utterances in the batch being recognised: their streams cannot add another meanwhile.
    private var inFlight = 0
    private var streams = 0
    private var statistics = PackingStatistics()

    public init(_ inner: any BatchRecognizer, latencyMs: Int) {
        self.inner = inner
        self.latencyMs = max(latencyMs, 0)
    }

    /// A stream that will ask for utterances (a batch may start once all of them wait).
    public func addStream() { condition.withLock { streams += 1; condition.broadcast() } }
    public func removeStream() { condition.withLock { streams = max(streams - 1, 0); condition.broadcast() } }

    /// Batches run and utterances recognised so far.
    public var counts: PackingStatistics { condition.withLock { statistics } }

    public func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        try recognize(samples, prompt: nil, immediate: false)
    }

    public func recognize(_ samples: [Float], prompt: String?, progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        try recognize(samples, prompt: prompt, immediate: false)
    }

    /// Waits until the utterance is recognised (in a batch, or alone when `immediate`).
    public func recognize(_ samples: [Float], prompt: String?, immediate: Bool) throws -> RecognizedSpeech {
        let mine = Request(RecognitionRequest(samples: samples, prompt: prompt), immediate: immediate)
        condition.lock()
        waiting.append(mine)
        condition.broadcast()
        while mine.result == nil {
            if !running, let batch = takeDueBatch() {
                running = true
                inFlight = batch.count
                condition.unlock()
                let started = ContinuousClock.now
                let results: Result<[RecognizedSpeech], Error> = Result { try inner.recognize(batch: batch.map(\.request)) }
                let took = ContinuousClock.now - started
                condition.lock()
                switch results {
                case let .success(list) where list.count == batch.count:
                    for (r, s) in zip(batch, list) { r.result = .success(s) }
                case let .success(list):
                    for r in batch { r.result = .failure(PackingError.wrongCount(asked: batch.count, got: list.count)) }
                case let .failure(error):
                    for r in batch { r.result = .failure(error) }
                }
                statistics.batches += 1
                statistics.utterances += batch.count
                statistics.shared += batch.count > 1 ? batch.count : 0
                statistics.callSeconds += took.seconds
                statistics.longestCallSeconds = max(statistics.longestCallSeconds, took.seconds)
                running = false
                inFlight = 0
                condition.broadcast()
                continue
            }
            if running {
                condition.wait()
            } else if let first = waiting.first {
                _ = condition.wait(until: first.since.addingTimeInterval(Double(latencyMs) / 1000))
            } else {
                condition.wait()
            }
        }
        condition.unlock()
        return try mine.result!.get()
    }

    /// Whether an utterance waiting should be recognised now (see the file header).
    private var hasDueBatch: Bool {
        guard let first = waiting.first else { return false }
        // Streams whose utterance is being recognised cannot add one before it returns.
        return waiting.contains(where: \.immediate) || waiting.count + inFlight >= streams || first.overflowed
            || Date() >= first.since.addingTimeInterval(Double(latencyMs) / 1000)
            || !inner.fitOneWindow(sampleCounts: waiting.map(\.request.samples.count))
    }

    /// The utterances to recognise now, taken from `waiting`; nil while waiting is better.
    private func takeDueBatch() -> [Request]? {
        guard hasDueBatch else { return nil }
        if let i = waiting.firstIndex(where: \.immediate) { return [waiting.remove(at: i)] }
        // The longest prefix that fits one window; the rest waits for the next batch.
        var n = 1
        while n < waiting.count && inner.fitOneWindow(sampleCounts: waiting[0...n].map(\.request.samples.count)) { n += 1 }
        let batch = Array(waiting[0..<n])
        waiting.removeFirst(n)
        for r in waiting { r.overflowed = true }
        return batch
    }

    /// A view of this packer for one stream that never waits for others (low latency).
    public var immediate: ImmediateRecognizer { ImmediateRecognizer(packer: self) }

    /// Runs `body` when no batch is being recognised or due, holding new batches off until it
    /// returns or calls `yieldTurn()`: how another user of the same model (a file's speech
    /// decoded the file way, with options of its own) takes its turn with the packed streams.
    public func exclusively<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        while running || hasDueBatch { condition.wait() }
        running = true
        condition.unlock()
        defer {
            condition.lock()
            running = false
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }

    /// Called inside `exclusively` between pieces of its work (a file's Whisper windows):
    /// the utterances due meanwhile are recognised now, then the turn comes back, so a live
    /// stream's speech waits for one window of a file's decode, not for all of it.
    public func yieldTurn() {
        condition.lock()
        defer { condition.unlock() }
        guard hasDueBatch else { return }
        running = false
        condition.broadcast()
        while running || hasDueBatch { condition.wait() }
        running = true
    }

    /// `recognizer` (over this packer's model) calling it only in turn with the batches,
    /// giving the turn up between the pieces it reports progress on.
    public func takingTurns(_ recognizer: any SegmentRecognizer) -> TurnTakingRecognizer {
        TurnTakingRecognizer(packer: self, inner: recognizer)
    }
}

/// A recogniser that shares its model with a packer's batches, one call at a time.
public final class TurnTakingRecognizer: SegmentRecognizer, @unchecked Sendable {
    let packer: PackingRecognizer
    let inner: any SegmentRecognizer
    public var modelName: String { inner.modelName }
    init(packer: PackingRecognizer, inner: any SegmentRecognizer) {
        self.packer = packer
        self.inner = inner
    }
    public func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        try recognize(samples, prompt: nil, progress: progress)
    }
    public func recognize(_ samples: [Float], prompt: String?, progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        let packer = self.packer
        return try packer.exclusively {
            // Whisper reports progress after each window and encodes the next one afresh, so
            // batches may run in between.
            try inner.recognize(samples, prompt: prompt) { done, total in
                progress?(done, total)
                packer.yieldTurn()
            }
        }
    }
}

public struct PackingStatistics: Sendable, Equatable {
    /// Recogniser calls (one window each, or more for a batch that does not fit one).
    public var batches = 0
    public var utterances = 0
    /// Utterances that shared their batch with others.
    public var shared = 0
    /// Time spent in recogniser calls, and in the longest one: while a call runs, every
    /// stream's next utterance waits for it.
    public var callSeconds = 0.0
    public var longestCallSeconds = 0.0
}

enum PackingError: Error, CustomStringConvertible {
    case wrongCount(asked: Int, got: Int)
    var description: String {
        switch self {
        case let .wrongCount(asked, got): "the recogniser returned \(got) results for \(asked) utterances"
        }
    }
}

/// Asks its packer for each utterance with `immediate`.
public final class ImmediateRecognizer: SegmentRecognizer, Sendable {
    let packer: PackingRecognizer
    public var modelName: String { packer.modelName }
    init(packer: PackingRecognizer) { self.packer = packer }
    public func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        try packer.recognize(samples, prompt: nil, immediate: true)
    }
    public func recognize(_ samples: [Float], prompt: String?, progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        try packer.recognize(samples, prompt: prompt, immediate: true)
    }
}
