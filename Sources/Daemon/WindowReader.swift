// Where a pipeline's windows come from. The real implementation opens a MediaIO source;
// tests pass scripted readers (failing, flapping, generated) through the same seam.
import Foundation
import MediaIO
import Modalities
import SightlineCore

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
/// so it runs on its own thread, never on Swift's cooperative pool of two threads.
public struct MediaReaderFactory: WindowReaderFactory {
    /// Tells what each enabled modality reads, so only that is decoded.
    let registry: EncoderRegistry

    public init(registry: EncoderRegistry = .standard) { self.registry = registry }

    public func open(_ stream: StreamConfig, decodeThreads: Int) async throws -> any WindowReader {
        let options = stream.mediaOptions(decodeThreads: decodeThreads, registry: registry)
        let input = stream.source
        let source: MediaSource = try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do { continuation.resume(returning: try MediaSource(input: input, options: options)) } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "sightline.open"
            thread.start()
        }
        return MediaReader(source: source)
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
