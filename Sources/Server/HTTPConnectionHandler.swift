// One API connection: collects one HTTP/1.1 request within the size and time limits,
// refuses peers the access policy rejects, runs the Router off the event loop and writes
// the response (a whole body, or Server-Sent Events until the client goes away). One
// request per connection (`Connection: close`): clients of a local socket open a new
// connection per call, and this keeps the limits simple and exact.
import Foundation
import NIOCore
import NIOHTTP1

final class HTTPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Limits: Sendable {
        var maxRequestBytes: Int
        var requestTimeout: TimeAmount
    }

    private let router: Router
    private let limits: Limits
    private let peer: PeerCredentials?
    private let allowed: Bool
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var responded = false
    private var timeout: Scheduled<Void>?
    private var streamTask: Task<Void, Never>?

    init(router: Router, limits: Limits, peer: PeerCredentials?, allowed: Bool) {
        self.router = router
        self.limits = limits
        self.peer = peer
        self.allowed = allowed
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
        streamTask?.cancel()
        context.fireChannelInactive()
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
        responded = true
        timeout?.cancel()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Connection", value: "close")
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
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            streamTask = Task {
                for await event in events {
                    loop.execute {
                        let (handler, context) = bound.value
                        let buffer = context.channel.allocator.buffer(string: event)
                        context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                    }
                }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
