// Where a pipeline's windows come from. The real implementation opens a MediaIO source;
// tests pass scripted readers (failing, flapping, generated) through the same seam.
import Foundation
import MediaIO
import Modalities
import SightlineCore
import Synchronization

public protocol WindowReader: AnyObject, Sendable {
    /// True for network streams and devices (windows carry epoch-ms times).
    var isLive: Bool { get }
    /// The next window, nil at a clean end of input; throws when the input breaks.
    func next() async throws -> MediaWindow?
    /// Interrupts a blocked `next()` from any task.
    func cancel()
}

public protocol WindowReaderFactory: Sendable {
    func open(_ stream: StreamConfig, decodeThreads: Int) async throws -> any WindowReader
}

/// Opens streams with MediaIO. Opening blocks (connect timeouts of up to tens of seconds),
/// so it runs on its own thread, never on Swift's cooperative pool of two threads. A
/// cancelled open returns at once (CancellationError); FFmpeg cannot be interrupted before
/// the source exists, so its thread finishes on its own (within the connect timeout) and
/// closes what it opened.
public struct MediaReaderFactory: WindowReaderFactory {
    /// Tells what each enabled modality reads, so only that is decoded.
    let registry: EncoderRegistry

    public init(registry: EncoderRegistry = .standard) { self.registry = registry }

    public func open(_ stream: StreamConfig, decodeThreads: Int) async throws -> any WindowReader {
        let options = stream.mediaOptions(decodeThreads: decodeThreads, registry: registry)
        let input = stream.source
        let attempt = OpenAttempt()
        let source: MediaSource = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard attempt.begin(continuation) else { return }
                let thread = Thread {
                    let result: Result<MediaSource, any Error>
                    do { result = .success(try MediaSource(input: input, options: options)) } catch { result = .failure(error) }
                    // Nobody waits any more: close what was opened.
                    if !attempt.finish(result), case let .success(abandoned) = result { abandoned.cancel() }
                }
                thread.name = "sightline.open"
                thread.start()
            }
        } onCancel: {
            attempt.abandon()
        }
        return MediaReader(source: source)
    }
}

/// One open in progress: whoever comes first — the opening thread or a cancellation —
/// resumes the waiting task, exactly once.
final class OpenAttempt: Sendable {
    private struct State {
        var waiter: CheckedContinuation<MediaSource, any Error>?
        var abandoned = false
    }
    private let state = Mutex(State())

    /// Registers the waiter; false (and the waiter resumed with CancellationError) when already abandoned.
    func begin(_ waiter: CheckedContinuation<MediaSource, any Error>) -> Bool {
        let abandoned = state.withLock { s -> Bool in
            if !s.abandoned { s.waiter = waiter }
            return s.abandoned
        }
        if abandoned { waiter.resume(throwing: CancellationError()) }
        return !abandoned
    }

    /// Hands the result to the waiter; false when the open was abandoned.
    func finish(_ result: Result<MediaSource, any Error>) -> Bool {
        guard let waiter = state.withLock({ s -> CheckedContinuation<MediaSource, any Error>? in
            defer { s.waiter = nil }
            return s.waiter
        }) else { return false }
        waiter.resume(with: result)
        return true
    }

    func abandon() {
        let waiter = state.withLock { s -> CheckedContinuation<MediaSource, any Error>? in
            s.abandoned = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(throwing: CancellationError())
    }
}

/// A MediaSource's async window sequence behind the WindowReader seam.
final class MediaReader: WindowReader, @unchecked Sendable {
    // Invariant: `iterator` is only touched by the one pipeline task that calls next();
    // cancel() goes to the source, which is safe from any thread.
    private let source: MediaSource
    private var iterator: MediaWindows.Iterator

    init(source: MediaSource) {
        self.source = source
        self.iterator = source.windows().makeAsyncIterator()
    }

    var isLive: Bool { source.info.isLive }
    func next() async throws -> MediaWindow? { try await iterator.next() }
    func cancel() { source.cancel() }
}
