// Shares two cores between streams and modalities. Speech comes first: while any live
// stream is more than `lagBudgetMs` behind the wall clock, the costly picture
// modalities (people, faces, labels, on-screen text, CLIP: the encoders that can skip
// frames) of every stream analyse a window only when their keep-alive is due, so speech
// catches up and a person standing in view is still seen now and then. Each window a
// modality leaves out this way is counted per stream and modality
// (`sightline_windows_shed_total`), never dropped silently; motion, audio level and speech
// always run. Files indexed at full speed have no wall-clock lag and are never thinned.
import SightlineCore
import Synchronization

public final class ComputeScheduler: Sendable {
    /// Any live stream later than this thins picture modalities everywhere.
    public let lagBudgetMs: Int64
    /// A reported lag older than this (wall ms) no longer counts: its stream has gone quiet,
    /// ended or been removed.
    static let reportLifetimeMs: Int64 = 30_000

    private struct Report { var lagMs: Int64; var atMs: Int64 }
    private let reports = Mutex<[String: Report]>([:])

    /// A scheduler that protects speech at `lagBudgetMs` of lag.
    public init(lagBudgetMs: Int64 = 5_000) { self.lagBudgetMs = lagBudgetMs }

    /// `stream` is `lagMs` behind (wall ms `nowMs`): the wall clock minus the end of the
    /// window it is about to encode.
    public func reportLag(stream: String, lagMs: Int64, nowMs: Int64) {
        reports.withLock { $0[stream] = Report(lagMs: lagMs, atMs: nowMs) }
    }

    /// Forgets `stream` (it stopped).
    public func remove(stream: String) { reports.withLock { _ = $0.removeValue(forKey: stream) } }

    /// Whether some live stream is over budget now.
    public func isOverloaded(nowMs: Int64) -> Bool {
        reports.withLock { r in
            r.values.contains { nowMs - $0.atMs <= Self.reportLifetimeMs && $0.lagMs > lagBudgetMs }
        }
    }

    /// Whether a costly picture modality analyses the window starting at `windowStartMs`:
    /// always while every stream keeps up; under overload only when its last analysed window ended
    /// `keepAliveMs` or more before this one starts (or it has analysed none).
    public func admitsPicture(windowStartMs: Int64, lastAnalysedEndMs: Int64?, keepAliveMs: Int64, nowMs: Int64) -> Bool {
        guard isOverloaded(nowMs: nowMs) else { return true }
        guard let last = lastAnalysedEndMs else { return true }
        return windowStartMs - last >= keepAliveMs
    }
}
