// Who may talk to the daemon. The socket file's mode and group are the first gate; this
// is the second: every accepted connection's peer credentials (SO_PEERCRED: the uid, gid
// and pid of the process that connected; SO_PEERGROUPS: its supplementary groups — both as
// the kernel recorded them at connect) are checked here. A user added to the `sightline`
// group with `usermod -aG` has it as a supplementary group, so both count.
// Root and the daemon's own uid are always allowed (they could read the database anyway).

public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary group ids.
    public var groups: [UInt32]
    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }
}

public struct AccessPolicy: Sendable, Equatable {
    public var allowedUids: Set<UInt32>
    public var allowedGids: Set<UInt32>
    /// Uids allowed regardless of the lists: root and the daemon's own uid.
    public var alwaysAllowedUids: Set<UInt32>

    public init(allowedUids: Set<UInt32>, allowedGids: Set<UInt32>, ownUid: UInt32) {
        self.allowedUids = allowedUids
        self.allowedGids = allowedGids
        self.alwaysAllowedUids = [0, ownUid]
    }

    public func allows(_ peer: PeerCredentials) -> Bool {
        alwaysAllowedUids.contains(peer.uid) || allowedUids.contains(peer.uid) || allowedGids.contains(peer.gid)
            || peer.groups.contains(where: allowedGids.contains)
    }
}
