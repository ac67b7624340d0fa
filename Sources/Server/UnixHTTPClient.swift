// A small blocking HTTP/1.1 client over a Unix-domain socket, for the CLI's client
// commands and the tests: one request per connection (the server closes after each),
// Content-Length or chunked bodies, and incremental reading for Server-Sent Events.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct HTTPReply: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}

public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotConnect(path: String, reason: String)
    case io(path: String, reason: String)
    case badResponse(path: String, reason: String)
    public var description: String {
        switch self {
        case let .cannotConnect(path, reason):
            return "cannot connect to the daemon at '\(path)': \(reason). Is `sightline serve` running, and may your user use the socket (group sightline)? Use --socket to point elsewhere."
        case let .io(path, reason):
            return "talking to the daemon at '\(path)' failed: \(reason)"
        case let .badResponse(path, reason):
            return "the daemon at '\(path)' sent a response that is not valid HTTP: \(reason)"
        }
    }
}

public struct UnixHTTPClient: Sendable {
    public var socketPath: String
    /// Per read/write timeout; 0 waits forever (event following).
    public var timeoutMs: Int

    public init(socketPath: String, timeoutMs: Int = 30_000) {
        self.socketPath = socketPath
        self.timeoutMs = timeoutMs
    }

    public func request(_ method: String, _ path: String, body: [UInt8]? = nil,
                        contentType: String = "application/json", extraHeaders: [String: String] = [:]) throws -> HTTPReply
    {
        let fd = try connect()
        defer { close(fd) }
        try sendRequest(fd, method, path, body: body, contentType: contentType, extraHeaders: extraHeaders)
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                // The server may answer and close before reading all of an oversized body;
                // keep what arrived if it already holds a response.
                if errno == ECONNRESET, !data.isEmpty { break }
                throw ClientError.io(path: socketPath, reason: String(cString: strerror(errno)))
            }
            data += buf[0..<n]
        }
        return try Self.parse(data, path: socketPath)
    }

    /// Sends a GET and passes each received piece of body text to `onText` until it returns
    /// false or the server closes. Returns the status and headers.
    public func stream(_ path: String, extraHeaders: [String: String] = [:], onText: (String) -> Bool) throws -> Int {
        let fd = try connect()
        defer { close(fd) }
        try sendRequest(fd, "GET", path, body: nil, contentType: "", extraHeaders: extraHeaders.merging(["Accept": "text/event-stream"]) { a, _ in a })
        var pending: [UInt8] = []
        var status = 0
        var headerDone = false
        var chunked = false
        var buf = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = read(fd, &buf, buf.count)
            if n == 0 { return status }
            if n < 0 {
                if errno == EINTR { continue }
                throw ClientError.io(path: socketPath, reason: String(cString: strerror(errno)))
            }
            pending += buf[0..<n]
            if !headerDone {
                guard let end = Self.find(pending, [13, 10, 13, 10]) else { continue }
                let head = try Self.parseHead(Array(pending[0..<end]), path: socketPath)
                status = head.0
                chunked = head.1["transfer-encoding"]?.lowercased() == "chunked"
                pending.removeFirst(end + 4)
                headerDone = true
            }
            var text = ""
            if chunked {
                while let (payload, used) = Self.nextChunk(pending) {
                    pending.removeFirst(used)
                    if payload.isEmpty { if !text.isEmpty { _ = onText(text) }; return status }
                    text += String(decoding: payload, as: UTF8.self)
                }
            } else {
                text = String(decoding: pending, as: UTF8.self)
                pending.removeAll()
            }
            if !text.isEmpty, !onText(text) { return status }
        }
    }

    // MARK: - Plumbing

    func connect() throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError.cannotConnect(path: socketPath, reason: String(cString: strerror(errno))) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw ClientError.cannotConnect(path: socketPath, reason: "path longer than \(MemoryLayout.size(ofValue: addr.sun_path) - 1) bytes")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ClientError.cannotConnect(path: socketPath, reason: reason)
        }
        if timeoutMs > 0 {
            var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        return fd
    }

    func sendRequest(_ fd: Int32, _ method: String, _ path: String, body: [UInt8]?, contentType: String,
                     extraHeaders: [String: String]) throws
    {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n"
        for (k, v) in extraHeaders.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        if let body {
            head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        let out = Array(head.utf8) + (body ?? [])
        let total = out.count
        var offset = 0
        while offset < total {
            let n = out.withUnsafeBytes { write(fd, $0.baseAddress! + offset, total - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                // EPIPE/ECONNRESET: the server refused early (413/403); its answer is still readable.
                if errno == EPIPE || errno == ECONNRESET { return }
                throw ClientError.io(path: socketPath, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
    }

    static func find(_ data: [UInt8], _ needle: [UInt8]) -> Int? {
        guard data.count >= needle.count else { return nil }
        for i in 0...(data.count - needle.count) where data[i] == needle[0] {
            if Array(data[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }

    static func parseHead(_ bytes: [UInt8], path: String) throws -> (Int, [String: String]) {
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw ClientError.badResponse(path: path, reason: "status line '\(lines.first ?? "")'")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers)
    }

    /// One chunk of a chunked body: (payload, bytes consumed), or nil if incomplete.
    static func nextChunk(_ data: [UInt8]) -> ([UInt8], Int)? {
        guard let lineEnd = find(data, [13, 10]) else { return nil }
        let sizeText = String(decoding: data[0..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
        guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
        let start = lineEnd + 2
        guard data.count >= start + size + 2 else { return nil }
        return (Array(data[start..<(start + size)]), start + size + 2)
    }

    static func parse(_ data: [UInt8], path: String) throws -> HTTPReply {
        guard let end = find(data, [13, 10, 13, 10]) else {
            throw ClientError.badResponse(path: path, reason: data.isEmpty ? "the connection closed without a response" : "no end of headers")
        }
        let (status, headers) = try parseHead(Array(data[0..<end]), path: path)
        var body = Array(data[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var out: [UInt8] = []
            while let (payload, used) = nextChunk(body), !payload.isEmpty {
                out += payload
                body.removeFirst(used)
            }
            body = out
        }
        return HTTPReply(status: status, headers: headers, body: body)
    }
}
