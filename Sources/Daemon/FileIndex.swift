// Indexes one media file into a store: the file's windows go through the same encoders,
// enrichers and commit path a daemon stream uses (Pipeline), read once and as fast as the
// CPU allows — no realtime pacing, the decoder running ahead of the encoders by the queue's
// windows, every picture modality on every frame its rate allows (no motion gate), speech read
// ahead and decoded the file way (FileSpeechEncoder, which a file read once chooses). What
// `sightline ask` and the development-set evaluation index with, and what a daemon stream
// with `pace = "fast"` does.
//
// A file is keyed by its absolute path, size and modification time: the store's stream id
// is derived from that key, and an index that ran to its end is marked by the stream's
// `finished` state event, so `existing(path:in:)` finds a complete index of exactly this
// version of the file and an interrupted one is never mistaken for it. Window times are
// media times in ms from the file's start.
import Foundation
import Logging
import MediaIO
import Retrieval
import SightlineCore
import Store
import Synchronization

/// How far an index run has got.
public struct FileIndexProgress: Sendable, Equatable {
    /// End of the last committed window, media ms.
    public var doneMs: Int64
    /// The file's duration when the container states it.
    public var totalMs: Int64?
    /// Windows committed so far.
    public var windows: Int
}

/// What an index run did.
public struct FileIndexResult: Sendable, Equatable {
    /// The stream id the file's windows are stored under.
    public var streamId: String
    /// True when the store already held a complete index of this file and nothing was read.
    public var reused: Bool
    /// Windows committed (0 when reused).
    public var windows: Int
    /// Media time covered, ms.
    public var mediaMs: Int64
    /// Stages (encoders, enrichers) that failed on some window: the window was stored with
    /// the other stages' evidence. Non-zero means the index is incomplete for those modalities.
    public var stageErrors: Int
    /// Time spent per stage over the run, ms, by encoder or enricher name.
    public var stageMs: [String: Double]
    /// CPU time of the process while each stage ran, ms (every pool thread's share of the
    /// stage, and the decoder's work that overlapped it).
    public var stageCpuMs: [String: Double] = [:]
}

/// Why a file could not be indexed.
public enum FileIndexError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input is not a regular file that exists.
    case notAFile(path: String)
    /// The file exists but FFmpeg cannot read it as media (or it has nothing the enabled modalities read).
    case unreadableMedia(path: String, reason: String)
    /// A live source (URL or device) was given: it never ends.
    case live(path: String)
    /// Reading broke off part-way; `windows` were committed before it did.
    case readFailed(path: String, windows: Int, reason: String)
    /// The models of an enabled modality could not be loaded.
    case models(reason: String)
    /// The store refused a write.
    case store(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notAFile(path):
            return "'\(path)' is not a file; give the path of a video or audio file"
        case let .unreadableMedia(path, reason):
            return "cannot index '\(path)': \(reason)"
        case let .live(path):
            return "'\(path)' is a live source; only files can be indexed (a daemon stream watches live sources)"
        case let .readFailed(path, windows, reason):
            return "reading '\(path)' failed after \(windows) window(s): \(reason)"
        case let .models(reason):
            return "cannot load the models: \(reason)"
        case let .store(path, reason):
            return "cannot write the index '\(path)': \(reason)"
        }
    }
}

/// Indexes media files into a store through the standard encoders.
public struct FileIndex: Sendable {
    public let encoders: any EncoderFactory
    public let readers: any WindowReaderFactory
    /// FFmpeg decoder threads.
    public let decodeThreads: Int
    /// Windows the decoder may run ahead of the encoders.
    public let queueWindows: Int
    public let logger: Logger

    /// Indexing with `encoders` (their models load on first use), reading through `readers`.
    public init(encoders: any EncoderFactory, readers: any WindowReaderFactory = MediaReaderFactory(),
                decodeThreads: Int = 1, queueWindows: Int = 8, logger: Logger = Logger(label: "sightline.index"))
    {
        self.encoders = encoders
        self.readers = readers
        self.decodeThreads = decodeThreads
        self.queueWindows = max(1, queueWindows)
        self.logger = logger
    }

    /// The stream id a file's index is stored under: "file-" and 16 hex digits of a 64-bit
    /// FNV-1a hash of its absolute path, size and modification time (ns). A changed file
    /// (new size or time) gets a new id; the old index is left for retention.
    public static func streamId(path: String) throws -> String {
        let absolute = absolutePath(path)
        var st = stat()
        guard stat(absolute, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw FileIndexError.notAFile(path: path) }
        let mtimeNs = Int64(st.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(st.st_mtim.tv_nsec)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a offset basis
        for byte in Array("\(absolute)\u{0}\(st.st_size)\u{0}\(mtimeNs)".utf8) {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 // FNV-1a prime
        }
        return "file-" + String(hash, radix: 16).leftPadded(to: 16)
    }

    static func absolutePath(_ path: String) -> String {
        let p = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return (p as NSString).standardizingPath
    }

    /// The stream id of a complete index of this version of `path` in `store`, nil if none.
    public static func existing(path: String, in store: Store) throws -> String? {
        let id = try streamId(path: path)
        return try isComplete(streamId: id, in: store) ? id : nil
    }

    /// Whether `store` holds windows of `streamId` and its `finished` state event, which
    /// is written only after the last window of a run committed.
    static func isComplete(streamId: String, in store: Store) throws -> Bool {
        guard try store.windowCount(stream: streamId) > 0 else { return false }
        var after: Int64 = 0
        let page = 1000
        while true {
            let events = try store.events(afterId: after, limit: page)
            for e in events where e.streamId == streamId {
                if case let .streamState(change) = e.payload, change.state == .finished { return true }
            }
            guard events.count == page, let last = events.last?.id else { return false }
            after = last
        }
    }

    /// The stream settings a file is indexed with: `template`'s sampling, modalities and
    /// rates (the registry's defaults when nil), read once at full speed, no motion gate.
    public static func streamConfig(path: String, id: String, template: StreamConfig? = nil) -> StreamConfig {
        var c = template ?? StreamConfig(id: id, source: path)
        c.id = id
        c.source = path
        c.loop = false
        c.pace = .fast
        c.visionGate = .always
        c.queries = []
        return c
    }

    /// Indexes `path` into `store` (reusing a complete index of this version of the file
    /// when `reuse` is set) and returns what it did. `progress` is called after every
    /// committed window, on the storage executor.
    public func index(path: String, into store: Store, template: StreamConfig? = nil, reuse: Bool = true,
                      progress: (@Sendable (FileIndexProgress) -> Void)? = nil) async throws -> FileIndexResult
    {
        let id = try Self.streamId(path: path)
        if reuse, try Self.isComplete(streamId: id, in: store) {
            let ranges = try store.windowRanges(stream: id)
            return FileIndexResult(streamId: id, reused: true, windows: ranges.count,
                                   mediaMs: ranges.map(\.upperBound).max() ?? 0, stageErrors: 0, stageMs: [:])
        }
        // A run that broke off left windows under this id; a new run starts clean under a
        // numbered id so the two never mix.
        var streamId = id
        var attempt = 2
        while try store.windowCount(stream: streamId) > 0 {
            streamId = "\(id).\(attempt)"
            attempt += 1
        }
        let config = Self.streamConfig(path: Self.absolutePath(path), id: streamId, template: template)
        let info: MediaInfo
        do { info = try MediaSource.probe(input: config.source) } catch {
            throw FileIndexError.unreadableMedia(path: path, reason: "\(error)")
        }
        if info.isLive { throw FileIndexError.live(path: path) }

        let stageEncoders: [any WindowEncoder]
        let enrichers: [any EvidenceEnricher]
        do {
            stageEncoders = try encoders.makeEncoders(for: config)
            enrichers = try encoders.makeEnrichers()
        } catch {
            throw FileIndexError.models(reason: "\(error)")
        }
        // The sinks a daemon stream has (timeline captions when it looks at the picture), then progress.
        var sinks: [any WindowSink] = stageEncoders.contains { $0.input.video != nil } ? [CaptionSink(streamId: streamId, store: store)] : []
        sinks.append(ProgressSink(totalMs: info.durationMs, report: progress))
        let pipeline = Pipeline(config: config, store: store, readers: readers, encoders: stageEncoders, enrichers: enrichers,
                                sinks: sinks, clock: WallClock(), logger: logger, queueCapacity: queueWindows,
                                decodeThreads: decodeThreads)
        do { try store.upsertStream(id: streamId, source: config.source, nowMs: WallClock().nowMs()) } catch {
            throw FileIndexError.store(path: store.path, reason: "\(error)")
        }
        let committed = try await pipeline.indexOnce(path: path)
        let s = pipeline.runtime.snapshot
        return FileIndexResult(streamId: streamId, reused: false, windows: committed, mediaMs: s.lastWindowEndMs ?? 0,
                               stageErrors: s.encoderErrors, stageMs: s.encodeMs, stageCpuMs: s.encodeCpuMs)
    }
}

extension Pipeline {
    /// Reads the stream's file once through pump(): no retries (a second read of a file
    /// would store its windows twice), failures as FileIndexError; `finished` is recorded
    /// only when every window committed.
    func indexOnce(path: String) async throws -> Int {
        setState(.starting, error: nil)
        let reader: any WindowReader
        do { reader = try await readers.open(config, decodeThreads: decodeThreads) } catch {
            setState(.failed, error: "\(error)")
            throw FileIndexError.unreadableMedia(path: path, reason: "\(error)")
        }
        if reader.isLive {
            reader.cancel()
            throw FileIndexError.live(path: path)
        }
        setState(.running, error: nil)
        do {
            let committed = try await pump(reader, live: false)
            // No more windows: sinks settle what they hold (a caption's open segment), as after a stream's run.
            for sink in sinks {
                do { try await BlockingExecutor.storage.run { try await sink.streamEnded() } } catch {
                    runtime.update { $0.encoderErrors += 1 }
                    logger.warning("stage failed at the file's end", metadata: ["stage": "\(sink.name)", "error": "\(error)"])
                }
            }
            setState(.finished, error: nil)
            return committed
        } catch let e as FileIndexError {
            setState(.failed, error: "\(e)")
            throw e
        } catch let e as StoreError {
            setState(.failed, error: "\(e)")
            throw FileIndexError.store(path: store.path, reason: "\(e)")
        } catch {
            setState(.failed, error: "\(error)")
            throw FileIndexError.readFailed(path: path, windows: runtime.snapshot.windowsProcessed, reason: "\(error)")
        }
    }
}

/// Reports progress after each committed window.
struct ProgressSink: WindowSink {
    let totalMs: Int64?
    let report: (@Sendable (FileIndexProgress) -> Void)?
    private let count = Counter()
    var name: String { "progress" }

    func windowCommitted(_ window: CommittedWindow) async throws {
        let n = count.increment()
        report?(FileIndexProgress(doneMs: window.record.endMs, totalMs: totalMs, windows: n))
    }

    final class Counter: Sendable {
        private let value = Mutex(0)
        func increment() -> Int { value.withLock { $0 += 1; return $0 } }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
