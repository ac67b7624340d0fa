// One API connection: collects one HTTP/1.1 request within the size and time limits,
// refuses peers the access policy rejects, runs the Router off the event loop and writes
// the response (a whole body, or Server-Sent Events until the client goes away). One
// request per connection (`Connection: close`): clients of a local socket open a new
// connection per call, and this keeps the limits simple and exact.
//
// Event streams are pulled, not pushed: the next event is taken from the router's feed
// only while the channel is writable, so what waits for a slow client is at most NIO's
// write buffer (its high-water mark, `Limits.followerWriteBuffer`) plus one event, and the
// rest stays in the store. A follower whose client has not read for
// `followerStallTimeout` is closed (no final event: a client that does not read would not
// see it); it reconnects with `Last-Event-ID` and loses nothing.
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

final class HTTPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Limits: Sendable {
        var maxRequestBytes: Int
        var requestTimeout: TimeAmount
        /// How long an event follower may leave its writes unread before it is closed.
        var followerStallTimeout: TimeAmount
    }

    /// Outbound buffer of an event follower: above `high` bytes the channel is not writable
    /// and no further event is taken; below `low` it is again.
    static let followerWriteBuffer = ChannelOptions.Types.WriteBufferWaterMark(low: 16 * 1024, high: 64 * 1024)

    private let router: Router
    private let limits: Limits
    private let peer: PeerCredentials?
    private let allowed: Bool
    private let slots: ConnectionSlots
    private let ticket: ConnectionSlots.Ticket
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var responded = false
    private var timeout: Scheduled<Void>?
    private var stallTimer: Scheduled<Void>?
    private var streamTask: Task<Void, Never>?
    private var gate: WritabilityGate?

    init(router: Router, limits: Limits, peer: PeerCredentials?, allowed: Bool, slots: ConnectionSlots, ticket: ConnectionSlots.Ticket) {
        self.router = router
        self.limits = limits
        self.peer = peer
        self.allowed = allowed
        self.slots = slots
        self.ticket = ticket
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: limits.requestTimeout) {
            let (handler, context) = bound.value
            handler.respond(context, .error(408, "the request did not arrive completely within \(handler.limits.requestTimeout.nanoseconds / 1_000_000) ms"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        stallTimer?.cancel()
        streamTask?.cancel()
        gate?.close()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let gate {
            let writable = context.channel.isWritable
            gate.set(writable: writable)
            slots.setBlocked(ticket, !writable)
            stallTimer?.cancel()
            stallTimer = nil
            if !writable {
                let channel = context.channel
                let slots = self.slots
                stallTimer = context.eventLoop.scheduleTask(in: limits.followerStallTimeout) {
                    slots.followerClosed()
                    channel.close(promise: nil)
                }
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !responded else { return }
        switch unwrapInboundIn(data) {
        case let .head(h):
            head = h
            guard allowed else {
                let who = peer.map { p in
                    "uid \(p.uid), gid \(p.gid)" + (p.groups.isEmpty ? "" : ", groups \(p.groups.map(String.init).joined(separator: " "))")
                } ?? "unknown peer"
                respond(context, .error(403, "access denied for \(who): add the uid or its group to [access] in sightline.toml"))
                return
            }
            if let length = h.headers.first(name: "content-length").flatMap(Int.init), length > limits.maxRequestBytes {
                respond(context, .error(413, "request body of \(length) bytes exceeds the limit of \(limits.maxRequestBytes) bytes"))
            }
        case var .body(buffer):
            guard body.count + buffer.readableBytes <= limits.maxRequestBytes else {
                respond(context, .error(413, "request body exceeds the limit of \(limits.maxRequestBytes) bytes"))
                return
            }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let h = head else { return }
            timeout?.cancel()
            let request = APIRequest(method: h.method.rawValue, uri: h.uri,
                                     headers: h.headers.map { ($0.name, $0.value) }, body: body, peer: peer)
            let router = self.router
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            // The router may block on SQLite; it runs on the cooperative pool, never on the event loop.
            streamTask = Task {
                let response = await router.handle(request)
                loop.execute {
                    let (handler, context) = bound.value
                    handler.respond(context, response)
                }
            }
        }
    }

    /// Writes `response` once, then closes (or, for events, keeps writing until the client leaves).
    private func respond(_ context: ChannelHandlerContext, _ response: APIResponse) {
        guard !responded else { return }
        if case .eventStream = response.body, !slots.promote(ticket) {
            respond(context, .error(503, "too many event followers: at most \(slots.maxFollowers) may be open at once "
                + "(limits.max_event_followers); close one or try again later"))
            return
        }
        responded = true
        timeout?.cancel()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Connection", value: "close")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        let status = HTTPResponseStatus(statusCode: response.status)
        switch response.body {
        case let .bytes(bytes):
            headers.add(name: "Content-Length", value: String(bytes.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        case let .eventStream(events):
            headers.add(name: "Cache-Control", value: "no-cache")
            context.channel.setOption(ChannelOptions.writeBufferWaterMark, value: Self.followerWriteBuffer).whenFailure { _ in }
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            let gate = WritabilityGate(writable: context.channel.isWritable)
            self.gate = gate
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            let slots = self.slots
            streamTask = Task {
                var iterator = events.makeAsyncIterator()
                // Take an event only when the previous ones have left NIO's buffer (down to
                // its low-water mark): the write below updates writability before it returns.
                while await gate.waitUntilWritable(), let event = await iterator.next() {
                    let written: EventLoopFuture<Void> = loop.submit {
                        let (handler, context) = bound.value
                        let buffer = context.channel.allocator.buffer(string: event)
                        let size = buffer.readableBytes
                        slots.queued(size)
                        let promise = context.eventLoop.makePromise(of: Void.self)
                        promise.futureResult.whenComplete { _ in slots.queued(-size) }
                        context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: promise)
                    }
                    do { try await written.get() } catch { break }
                }
                loop.execute {
                    let (_, context) = bound.value
                    context.close(promise: nil)
                }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Lets the event task wait, off the event loop, until the channel is writable again.
final class WritabilityGate: Sendable {
    private struct State {
        var writable: Bool
        var closed = false
        var waiter: CheckedContinuation<Bool, Never>?
    }
    private let state: Mutex<State>

    init(writable: Bool) { state = Mutex(State(writable: writable)) }

    /// True once the channel is writable; false when it closed.
    func waitUntilWritable() async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let now: Bool? = state.withLock { s in
                if s.closed { return false }
                if s.writable { return true }
                s.waiter = c
                return nil
            }
            if let now { c.resume(returning: now) }
        }
    }

    func set(writable: Bool) {
        let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            s.writable = writable
            guard writable, let w = s.waiter else { return nil }
            s.waiter = nil
            return w
        }
        waiter?.resume(returning: true)
    }

    func close() {
        let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: false)
    }
}
