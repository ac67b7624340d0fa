// The API's connection accounting, in two pools: ordinary requests and Server-Sent Events
// followers. Every accepted connection takes an ordinary slot (up to `maxConnections`);
// a connection whose request turns out to be `GET /v1/events` moves to the follower pool
// (up to `maxFollowers`) and gives its ordinary slot back. So followers, which stay open
// for hours, can never use up the slots that `/v1/health` and queries need.
//
// It also keeps the follower figures /metrics and the tests read: bytes of events written
// but not yet taken by the kernel (summed over followers), followers currently waiting for
// their client to read, and followers closed for not reading.
import NIOConcurrencyHelpers

public final class ConnectionSlots: Sendable {
    public struct Counts: Sendable, Equatable {
        /// Open connections in the ordinary pool.
        public var ordinary = 0
        /// Open event followers.
        public var followers = 0
        /// Connections refused at accept (ordinary pool full) or by the access policy.
        public var refused = 0
        /// Event requests answered 503 because the follower pool was full.
        public var followersRefused = 0
        /// Followers closed because their client did not read for the stall timeout.
        public var followersClosed = 0
        /// Followers whose channel is not writable (their client is not reading).
        public var followersBlocked = 0
        /// Event bytes handed to NIO and not yet written to the socket, over all followers.
        public var queuedEventBytes = 0
    }

    public let maxConnections: Int
    public let maxFollowers: Int
    private let counts = NIOLockedValueBox(Counts())

    public init(maxConnections: Int, maxFollowers: Int) {
        self.maxConnections = maxConnections
        self.maxFollowers = maxFollowers
    }

    public var snapshot: Counts { counts.withLockedValue { $0 } }

    /// One connection's place in the pools; touched only on its event loop.
    final class Ticket: @unchecked Sendable {
        var follower = false
        var blocked = false
    }

    /// Takes an ordinary slot for a new connection; false (counted as refused) when full.
    func admit() -> Bool {
        counts.withLockedValue { c in
            guard c.ordinary < maxConnections else {
                c.refused += 1
                return false
            }
            c.ordinary += 1
            return true
        }
    }

    func refuse() { counts.withLockedValue { $0.refused += 1 } }

    /// Moves `ticket` from the ordinary pool to the follower pool; false when that is full.
    func promote(_ ticket: Ticket) -> Bool {
        counts.withLockedValue { c in
            guard c.followers < maxFollowers else {
                c.followersRefused += 1
                return false
            }
            c.ordinary -= 1
            c.followers += 1
            ticket.follower = true
            return true
        }
    }

    /// Gives back the slot of a closed connection.
    func release(_ ticket: Ticket) {
        counts.withLockedValue { c in
            if ticket.follower { c.followers -= 1 } else { c.ordinary -= 1 }
            if ticket.blocked { c.followersBlocked -= 1 }
        }
        ticket.blocked = false
    }

    func setBlocked(_ ticket: Ticket, _ blocked: Bool) {
        guard ticket.blocked != blocked else { return }
        ticket.blocked = blocked
        counts.withLockedValue { $0.followersBlocked += blocked ? 1 : -1 }
    }

    func followerClosed() { counts.withLockedValue { $0.followersClosed += 1 } }

    func queued(_ delta: Int) { counts.withLockedValue { $0.queuedEventBytes += delta } }
}
