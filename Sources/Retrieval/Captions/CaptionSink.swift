// Captions as a window sink: keeps one stream's open timeline segment (Segmenter) and, when
// a segment closes, stores its caption line (CaptionComposer) as `caption` evidence whose
// span is the segment, added to the window being committed when it closed — as speech is
// stored with the window where it ended — so it is searchable and in the timeline with no
// new table. The segment still open when the stream ends (a file's end, a stop, a reload)
// is closed and stored with the stream's last window by `streamEnded()`, with the speech
// the stream's end added to that window (`evidenceAdded`).
import Foundation
import SightlineCore
import Store
import Synchronization

/// Captions one stream's timeline segments into the store.
public final class CaptionSink: WindowSink {
    public let name = "captions"
    let streamId: String
    let store: Store
    let composer: CaptionComposer
    private let state: Mutex<(segmenter: Segmenter, lastWindowId: Int64?)>

    /// The sink of `streamId` writing to `store`.
    public init(streamId: String, store: Store, options: SegmenterOptions = SegmenterOptions(),
                composer: CaptionComposer = CaptionComposer())
    {
        self.streamId = streamId
        self.store = store
        self.composer = composer
        state = Mutex((Segmenter(options: options), nil))
    }

    public func windowCommitted(_ window: CommittedWindow) async throws {
        let closed = state.withLock { s -> [Segment] in
            s.lastWindowId = window.id
            return s.segmenter.push(SegmentWindow(window.record))
        }
        try save(closed, windowId: window.id)
    }

    /// The stream's last utterance, added to its last window at the end: it joins the open segment's caption.
    public func evidenceAdded(_ evidence: [Evidence], to window: CommittedWindow) async throws {
        state.withLock { $0.segmenter.amendLast(SegmentWindow(window.record)) }
    }

    public func streamEnded() async throws {
        let (segment, windowId) = state.withLock { s in (s.segmenter.finish(), s.lastWindowId) }
        guard let segment, let windowId else { return }
        try save([segment], windowId: windowId)
    }

    /// The caption evidence of `segments` (those with something to say).
    public func evidence(_ segments: [Segment]) -> [Evidence] {
        segments.compactMap { seg in
            composer.caption(seg).map { Evidence(modality: .caption, startMs: seg.startMs, endMs: seg.endMs, text: $0) }
        }
    }

    private func save(_ segments: [Segment], windowId: Int64) throws {
        let captions = evidence(segments)
        guard !captions.isEmpty else { return }
        try store.addEvidence(captions, toWindow: windowId, streamId: streamId)
    }
}
