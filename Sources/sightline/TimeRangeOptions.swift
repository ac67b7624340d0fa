// --since / --from / --to, shared by query and transcript.
import ArgumentParser
import Foundation
import Server

struct TimeRangeOptions: ParsableArguments {
    @Option(help: "Only the last DURATION, e.g. 90s, 15m, 2h, 1d (live streams).")
    var since: String?

    @Option(help: "Start: epoch milliseconds (or media ms for files) or ISO 8601.")
    var from: String?

    @Option(help: "End: epoch milliseconds (or media ms for files) or ISO 8601.")
    var to: String?

    func validate() throws {
        if since != nil, from != nil || to != nil { throw ValidationError("use --since or --from/--to, not both") }
    }

    func resolve() throws -> (Int64?, Int64?) {
        try clientCall { try TimeRange.resolve(since: since, from: from, to: to, nowMs: Int64(Date().timeIntervalSince1970 * 1000)) }
    }
}
