// The async form of a MediaSource: `for try await window in source.windows()`. Decoding
// runs on a dedicated thread (never on Swift's cooperative pool, which a blocking network
// read would starve) and stays at most `options.bufferedWindows` windows ahead of the
// consumer: when the buffer is full the decoder thread waits, so a slow consumer slows
// decoding instead of growing memory. Ending the iteration early cancels the source.
import Foundation
import Synchronization

public struct MediaWindows: AsyncSequence, Sendable {
    public typealias Element = MediaWindow
    let source: MediaSource

    public func makeAsyncIterator() -> Iterator {
        let channel = WindowChannel(capacity: Swift.max(source.options.bufferedWindows, 1))
        let source = self.source
        let thread = Thread {
            do {
                while let window = try source.nextWindow() {
                    if !channel.put(window) { break } // consumer went away
                }
                channel.finish(nil)
            } catch {
                channel.finish(error)
            }
        }
        thread.name = "sightline.decode"
        thread.start()
        return Iterator(channel: channel, source: source)
    }

    public final class Iterator: AsyncIteratorProtocol {
        let channel: WindowChannel
        let source: MediaSource

        init(channel: WindowChannel, source: MediaSource) {
            self.channel = channel
            self.source = source
        }

        deinit {
            source.cancel()
            channel.close()
        }

        public func next() async throws(MediaError) -> MediaWindow? {
            try await channel.take(onCancel: { [source] in source.cancel() })
        }
    }
}

extension MediaSource {
    /// Windows as an AsyncSequence, decoded on a dedicated thread with bounded read-ahead.
    /// Iterate it once; throws `MediaError` for live inputs that time out or break.
    public func windows() -> MediaWindows { MediaWindows(source: self) }
}

/// A bounded single-producer, single-consumer hand-off between the decode thread (which
/// blocks while the buffer is full) and an async consumer (which suspends while it is empty).
final class WindowChannel: Sendable {
    private struct State {
        var buffer: [MediaWindow] = []
        var finished = false
        var error: MediaError? = nil
        var closed = false
        var waiter: CheckedContinuation<Void, Never>? = nil
    }
    private let state = Mutex(State())
    /// Counts free buffer slots; the producer waits on it before each put.
    private let slots: DispatchSemaphore

    init(capacity: Int) {
        // Created at 0 and raised to `capacity`: libdispatch traps when a semaphore is freed
        // with a value below its initial one, which happens when a consumer stops early with
        // windows still buffered (the daemon stopping a stream).
        slots = DispatchSemaphore(value: 0)
        for _ in 0..<capacity { slots.signal() }
    }

    /// Producer: blocks while the buffer is full. Returns false once the consumer has closed.
    func put(_ window: MediaWindow) -> Bool {
        slots.wait()
        let waiter: CheckedContinuation<Void, Never>?
        let open: Bool = state.withLock { s in
            if s.closed { return false }
            s.buffer.append(window)
            return true
        }
        guard open else { return false }
        waiter = state.withLock { s in defer { s.waiter = nil }; return s.waiter }
        waiter?.resume()
        return true
    }

    /// Producer: no more windows; `error` is delivered after the buffered ones.
    func finish(_ error: Error?) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.finished = true
            s.error = error as? MediaError ?? error.map { .readFailed(input: "", FFmpegFailure(function: "decode", code: -1, message: "\($0)")) }
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// Consumer: stops the producer; its pending or next put() returns false.
    func close() {
        state.withLock { $0.closed = true }
        slots.signal() // wake a producer blocked on a full buffer
    }

    func take(onCancel: @escaping @Sendable () -> Void) async throws(MediaError) -> MediaWindow? {
        while true {
            enum Step { case window(MediaWindow), end(MediaError?), wait }
            let step: Step = state.withLock { s in
                if !s.buffer.isEmpty { return .window(s.buffer.removeFirst()) }
                if s.finished { let e = s.error; s.error = nil; return .end(e) }
                return .wait
            }
            switch step {
            case .window(let w):
                slots.signal()
                return w
            case .end(let error):
                if let error { throw error }
                return nil
            case .wait:
                if Task.isCancelled {
                    onCancel()
                    return nil
                }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let resumeNow = state.withLock { s -> Bool in
                            if !s.buffer.isEmpty || s.finished { return true }
                            s.waiter = c
                            return false
                        }
                        if resumeNow { c.resume() }
                    }
                } onCancel: {
                    onCancel() // the decode thread ends soon and finish() wakes us
                }
            }
        }
    }
}
