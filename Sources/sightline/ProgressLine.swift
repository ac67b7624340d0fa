// A one-line progress display on stderr, only when stderr is a terminal: media time done
// and the speed as a multiple of real time.
import Daemon
import Foundation
import Transcription

final class ProgressLine: @unchecked Sendable { // mutated only from one thread at a time: the transcription thread, or an index's commits (in order)
    private let start = Date()
    private var lastDraw = Date.distantPast

    static func forStandardError() -> ProgressLine? { isatty(STDERR_FILENO) == 1 ? ProgressLine() : nil }

    func report(_ phase: TranscriptionPhase) {
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.2 else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 1e-3)
        let line: String
        switch phase {
        case let .decoding(done, total):
            line = "decoding audio \(Self.clock(done))" + (total.map { " / \(Self.clock($0))" } ?? "")
        case let .recognizing(done, total):
            line = String(format: "transcribing %@ / %@  (%.1f× real time)", Self.clock(done), Self.clock(total), Double(done) / 1000 / elapsed)
        }
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
    }

    func report(_ p: FileIndexProgress) {
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.2 else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 1e-3)
        let line = String(format: "indexing %@%@  %d windows  (%.1f× real time)", Self.clock(p.doneMs),
                          p.totalMs.map { " / " + Self.clock($0) } ?? "", p.windows, Double(p.doneMs) / 1000 / elapsed)
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
    }

    /// The picture pass of `transcribe --tracks`: media time of the frames analysed so far.
    func reportFrames(doneMs: Int64, totalMs: Int64?) {
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.2 else { return }
        lastDraw = now
        let line = "looking at frames \(Self.clock(doneMs))" + (totalMs.map { " / \(Self.clock($0))" } ?? "")
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
    }

    func finish() { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }

    static func clock(_ ms: Int64, tenths: Bool = false) -> String {
        let s = ms / 1000
        let whole = String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
        return tenths ? whole + ".\(abs(ms % 1000) / 100)" : whole
    }
}
