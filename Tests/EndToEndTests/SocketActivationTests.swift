// The shipped systemd units, run for real as far as a machine without systemd as PID 1
// allows: `systemd-socket-activate` creates the API socket at the path, mode and group of
// systemd/sightline.socket and starts the daemon on the first connection with the
// service's ExecStart, user, group and environment, passing the socket as LISTEN_FDS.
// When the service sets PrivateUsers=yes the daemon runs inside a user namespace that
// maps only its own user, as systemd does (every other uid then reads as 65534 in
// SO_PEERCRED). Then: a listed uid and a member of a listed group get answers, a socket
// group member on neither list gets 403 from the daemon, and a user outside the socket
// group is refused by the kernel.
import Foundation
import Server
import TestSupport
import XCTest

/// `Key=Value` lines of a unit file (the last assignment of a key wins, as in systemd).
struct UnitFile {
    var values: [String: [String]] = [:]

    init(_ path: String) throws {
        for raw in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.hasPrefix("#"), !line.hasPrefix("["), let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq]), default: []].append(String(line[line.index(after: eq)...]))
        }
    }

    subscript(_ key: String) -> String? { values[key]?.last }
}

final class SocketActivationTests: XCTestCase {
    // Ids standing for the unit's `sightline` user and group, and for the clients.
    static let serviceUid = 4350
    static let socketGid = 4360      // SocketGroup= and Group=
    static let listedUid = 4351      // in [access] allowed_uids
    static let listedGroup = 4361    // in [access] allowed_gids
    static let groupMember = 4352    // on neither list, but in a listed group
    static let stranger = 4353       // in the socket group only
    static let outsider = 4354       // not even in the socket group

    func testShippedUnitsLetListedUidAndGroupInAndRefuseEveryoneElse() throws {
        let activate = "/usr/bin/systemd-socket-activate"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: activate), "systemd-socket-activate (Debian package systemd) is not installed")
        try XCTSkipUnless(getuid() == 0, "switching to the service's and the clients' uids needs root")
        let units = Fixtures.repositoryRoot.appendingPathComponent("systemd")
        let socketUnit = try UnitFile(units.appendingPathComponent("sightline.socket").path)
        let service = try UnitFile(units.appendingPathComponent("sightline.service").path)

        let dir = URL(fileURLWithPath: "/tmp/sl-sa-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = dir.appendingPathComponent("state")
        let streams = dir.appendingPathComponent("streams")
        for d in [state, streams] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        XCTAssertEqual(chown(state.path, uid_t(Self.serviceUid), gid_t(Self.socketGid)), 0)
        XCTAssertEqual(chmod(dir.path, 0o755), 0)
        // The shipped socket path, moved into the test's folder.
        let listen = try XCTUnwrap(socketUnit["ListenStream"])
        XCTAssertEqual(listen, "/run/sightline/sightline.sock")
        let socketPath = dir.appendingPathComponent((listen as NSString).lastPathComponent).path
        let mode = try XCTUnwrap(socketUnit["SocketMode"].flatMap { mode_t($0, radix: 8) })
        XCTAssertEqual(socketUnit["SocketGroup"], service["Group"], "the service's group owns the socket")

        let config = dir.appendingPathComponent("sightline.toml")
        try """
        [paths]
        state_dir = "\(state.path)"
        streams_dir = "\(streams.path)"
        [access]
        allowed_uids = [\(Self.listedUid)]
        allowed_gids = [\(Self.listedGroup)]
        allowed_groups = []
        """.write(to: config, atomically: true, encoding: .utf8)

        // ExecStart with the binary under test and this config.
        var exec = try XCTUnwrap(service["ExecStart"]).split(separator: " ").map(String.init)
        XCTAssertEqual(exec.first, "/usr/local/bin/sightline")
        exec[0] = E2E.binary
        if let i = exec.firstIndex(of: "--config"), i + 1 < exec.count { exec[i + 1] = config.path }
        var command = ["/usr/bin/setpriv", "--reuid=\(Self.serviceUid)", "--regid=\(Self.socketGid)", "--clear-groups"]
        if service["PrivateUsers"] == "yes" || service["PrivateUsers"] == "true" {
            command += ["/usr/bin/unshare", "--user", "--map-user=\(Self.serviceUid)", "--map-group=\(Self.socketGid)"]
        }
        command += exec
        let environment = (service.values["Environment"] ?? []).flatMap { ["-E", $0] }

        let log = dir.appendingPathComponent("daemon.log")
        // Spawned directly, not with Process: the activator execs the daemon in its own pid,
        // and Foundation's child bookkeeping then blocks in wait4() on it, so the clients
        // started with Process below would never be seen to exit.
        let pid = try Self.spawn([activate, "-l", socketPath] + environment + command, output: log.path)
        var exited = false
        defer { if !exited { kill(pid, SIGKILL); var status: Int32 = 0; waitpid(pid, &status, 0) } }
        var daemonLog: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        // systemd creates the socket with SocketUser/SocketGroup/SocketMode before anyone connects.
        try E2E.waitUntil("the socket at \(socketPath)", seconds: 10) { FileManager.default.fileExists(atPath: socketPath) }
        XCTAssertEqual(chown(socketPath, 0, gid_t(Self.socketGid)), 0)
        XCTAssertEqual(chmod(socketPath, mode), 0)
        var st = stat()
        XCTAssertEqual(stat(socketPath, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o660, "the shipped SocketMode")

        // The first connection starts the daemon (socket activation); it answers once ready.
        let (firstCode, first) = try E2E.run(E2E.binary, ["status", "--socket", socketPath], asUser: Self.listedUid, groups: [Self.socketGid])
        XCTAssertEqual(firstCode, 0, "a listed uid in the socket group\n\(first)\n\(daemonLog)")
        XCTAssertTrue(daemonLog.contains("ready"), daemonLog)
        XCTAssertTrue(daemonLog.contains("fd(3)") || daemonLog.contains("inherited"), "the daemon took systemd's socket: \(daemonLog)")

        let (groupCode, groupOut) = try E2E.run(E2E.binary, ["status", "--socket", socketPath], asUser: Self.groupMember,
                                                groups: [Self.socketGid, Self.listedGroup])
        XCTAssertEqual(groupCode, 0, "a member of a listed group\n\(groupOut)")

        let (strangerCode, strangerOut) = try E2E.run(E2E.binary, ["status", "--socket", socketPath], asUser: Self.stranger,
                                                      groups: [Self.socketGid])
        XCTAssertEqual(strangerCode, 2, strangerOut)
        XCTAssertTrue(strangerOut.contains("403") && strangerOut.contains("access denied for uid \(Self.stranger)"), strangerOut)

        let (outsiderCode, outsiderOut) = try E2E.run(E2E.binary, ["status", "--socket", socketPath], asUser: Self.outsider)
        XCTAssertEqual(outsiderCode, 2, outsiderOut)
        XCTAssertTrue(outsiderOut.contains("Permission denied"), "the kernel refuses the connect: \(outsiderOut)")

        let (rootCode, rootOut) = try E2E.run(E2E.binary, ["status", "--socket", socketPath])
        XCTAssertEqual(rootCode, 0, rootOut)

        kill(pid, SIGTERM)
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        exited = true
        XCTAssertEqual(status, 0, "exit status \(status >> 8), signal \(status & 0x7f)\n\(daemonLog)")
    }

    /// posix_spawn of `argv` with stdout and stderr appended to `output`; the caller reaps it.
    static func spawn(_ argv: [String], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
        guard rc == 0 else { throw E2EFailure(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }
}
