// The API server: HTTP/1.1 over a Unix-domain socket, either bound to a path (mode and
// group set after bind) or taken from systemd socket activation (an inherited, already
// listening fd). Enforces the connection limits (ordinary requests and event followers in
// separate pools, see ConnectionSlots) and hands each connection its peer credentials
// (SO_PEERCRED) and the access decision.
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

public final class APIServer: Sendable {
    public enum Listen: Sendable, Equatable {
        /// Bind a new socket at `path`, replacing a stale socket file.
        case path(String, mode: UInt32, groupId: UInt32?)
        /// A listening socket passed by systemd (LISTEN_FDS).
        case inheritedDescriptor(CInt)
    }

    public struct Settings: Sendable {
        public var listen: Listen
        public var access: AccessPolicy
        public var maxConnections: Int
        public var maxRequestBytes: Int
        public var requestTimeoutMs: Int64
        /// Server-Sent Events followers open at once, beside the `maxConnections` ordinary ones.
        public var maxFollowers: Int
        /// A follower whose client leaves its events unread this long is closed.
        public var followerStallTimeoutMs: Int64
        public init(listen: Listen, access: AccessPolicy, maxConnections: Int, maxRequestBytes: Int, requestTimeoutMs: Int64,
                    maxFollowers: Int = 16, followerStallTimeoutMs: Int64 = 30_000)
        {
            self.listen = listen
            self.access = access
            self.maxConnections = maxConnections
            self.maxRequestBytes = maxRequestBytes
            self.requestTimeoutMs = requestTimeoutMs
            self.maxFollowers = maxFollowers
            self.followerStallTimeoutMs = followerStallTimeoutMs
        }
    }

    let settings: Settings
    let router: Router
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let channel = NIOLockedValueBox<Channel?>(nil)
    /// Open, refused and follower connections, for /metrics and tests.
    public let slots: ConnectionSlots

    public init(settings: Settings, router: Router, logger: Logger) {
        self.settings = settings
        self.logger = logger
        // One event loop is plenty for a local control socket; request work runs off-loop.
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.slots = ConnectionSlots(maxConnections: settings.maxConnections, maxFollowers: settings.maxFollowers)
        var router = router
        router.connections = slots
        self.router = router
    }

    public var openConnections: Int { slots.snapshot.ordinary + slots.snapshot.followers }
    public var refusedConnections: Int { slots.snapshot.refused }

    /// Binds (or adopts) the socket and starts accepting. Returns once the socket is ready.
    public func start() async throws {
        let limits = HTTPConnectionHandler.Limits(maxRequestBytes: settings.maxRequestBytes,
                                                  requestTimeout: .milliseconds(settings.requestTimeoutMs),
                                                  followerStallTimeout: .milliseconds(settings.followerStallTimeoutMs))
        let router = self.router
        let access = settings.access
        let slots = self.slots
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                guard slots.admit() else {
                    logger.info("refusing connection: limit reached", metadata: ["limit": "\(slots.maxConnections)"])
                    return channel.close()
                }
                let ticket = ConnectionSlots.Ticket()
                channel.closeFuture.whenComplete { _ in slots.release(ticket) }
                return Self.peerCredentials(of: channel).flatMap { peer in
                    let allowed = peer.map(access.allows) ?? false
                    if !allowed {
                        slots.refuse()
                        logger.info("refusing peer", metadata: ["peer.uid": "\(peer?.uid ?? UInt32.max)", "peer.pid": "\(peer?.pid ?? -1)"])
                    }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionHandler(router: router, limits: limits, peer: peer, allowed: allowed,
                                                  slots: slots, ticket: ticket))
                    }
                }
            }
        let ch: Channel
        switch settings.listen {
        case let .path(path, mode, groupId):
            // A socket file may be left over from a crash (nobody answers: replace it) or
            // belong to a running daemon (it answers: never take its socket away).
            if (try? UnixHTTPClient(socketPath: path, timeoutMs: 1000).connect()).map({ close($0) }) != nil {
                throw ServerError.socketInUse(path: path)
            }
            do {
                ch = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            } catch {
                throw ServerError.cannotBind(path: path, reason: "\(error)")
            }
            if chmod(path, mode_t(mode)) != 0 {
                throw ServerError.cannotBind(path: path, reason: "chmod \(String(mode, radix: 8)) failed: \(String(cString: strerror(errno)))")
            }
            if let gid = groupId, chown(path, uid_t.max, gid_t(gid)) != 0 {
                throw ServerError.cannotBind(path: path, reason: "chown to gid \(gid) failed: \(String(cString: strerror(errno)))")
            }
        case let .inheritedDescriptor(fd):
            do {
                ch = try await bootstrap.withBoundSocket(fd).get()
            } catch {
                throw ServerError.cannotBind(path: "fd \(fd)", reason: "\(error)")
            }
        }
        channel.withLockedValue { $0 = ch }
    }

    /// Stops accepting and closes the event loop. Open event streams end.
    public func shutdown() async {
        if let ch = channel.withLockedValue({ $0 }) {
            try? await ch.close()
        }
        try? await group.shutdownGracefully()
    }

    /// SO_PEERCRED and SO_PEERGROUPS of a Unix-domain connection; nil when the kernel cannot
    /// tell who connected. Supplementary groups that cannot be read count as none.
    static func peerCredentials(of channel: Channel) -> EventLoopFuture<PeerCredentials?> {
        guard let provider = channel as? SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        let credentials: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET),
                                                                                 name: SocketOptionName(SO_PEERCRED))
        let groups: EventLoopFuture<PeerGroups> = provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET),
                                                                                 name: SocketOptionName(PeerGroups.option))
        return credentials.and(groups.map(\.ids).recover { _ in [] })
            .map { cred, groups in PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid, groups: groups) }
            .recover { _ in nil }
    }

    /// Layout of Linux's `struct ucred` (pid_t, uid_t, gid_t), which Glibc's Swift module
    /// hides behind _GNU_SOURCE. Three 32-bit fields: Swift lays them out as C does.
    struct UCred: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// SO_PEERGROUPS' answer: an array of gid_t. NIO reads options into a fixed-size,
    /// zero-filled value and does not return the length, so room is kept for 64 groups
    /// (more makes the call fail: then no supplementary groups count) and zero entries are
    /// unused slots — which also means root's group as a supplementary group is not seen;
    /// root itself is always allowed.
    struct PeerGroups: Sendable {
        static let option: Int32 = 59 // SO_PEERGROUPS (Linux >= 4.13), not exported by Glibc's Swift module
        var slots: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
            = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

        var ids: [UInt32] {
            withUnsafeBytes(of: slots) { Array($0.bindMemory(to: UInt32.self)) }.filter { $0 != 0 }
        }
    }
}

public enum ServerError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotBind(path: String, reason: String)
    case socketInUse(path: String)
    public var description: String {
        switch self {
        case let .socketInUse(path):
            return "'\(path)' is the socket of a running daemon (it accepts connections): is another sightline serve running? "
                + "Stop it, or pass another --socket."

        case let .cannotBind(path, reason):
            return "cannot listen on '\(path)': \(reason). Check that the folder exists and is writable (systemd: RuntimeDirectory=sightline), or pass --socket."
        }
    }
}
