// The seams of the pipeline. Per window: every `WindowEncoder` of the stream turns the
// window into evidence, then every `EvidenceEnricher` adds to that evidence (a text
// embedder over speech and on-screen text), then the window is committed to the store and
// every `WindowSink` sees it (standing queries, fusion). Encoders are adapters over pure
// model code; they declare the input they need and the pipeline prepares it once per
// window for all encoders that share it.
import MediaIO

/// The frames an encoder wants from each window.
public struct FrameRequest: Sendable, Hashable {
    /// Size to scale to; nil takes frames as the stream samples them (its configured size or the source's).
    public var size: FrameSize?
    /// Memory layout of the pixels.
    public var layout: PixelLayout
    /// Thin the window's sampled frames to at most this rate; nil takes every sampled frame.
    public var maxFps: Double?

    /// Frames of `size` (nil: as sampled) in `layout`, at most `maxFps` per second.
    public init(size: FrameSize? = nil, layout: PixelLayout = .rgb8, maxFps: Double? = nil) {
        self.size = size
        self.layout = layout
        self.maxFps = maxFps
    }
}

/// What an encoder reads from each window: audio, frames, or both.
public struct EncoderInput: Sendable, Hashable {
    /// Whether the encoder reads the window's 16 kHz mono audio.
    public var audio: Bool
    /// The frames it reads; nil when it reads none.
    public var video: FrameRequest?

    /// An input of audio and/or frames.
    public init(audio: Bool = false, video: FrameRequest? = nil) {
        self.audio = audio
        self.video = video
    }

    /// Audio only.
    public static let audio = EncoderInput(audio: true)
    /// Frames as the stream samples them, rgb8.
    public static let frames = EncoderInput(video: FrameRequest())
}

/// Turns one window of one stream into evidence. An instance belongs to one stream's
/// pipeline and is called for that stream's windows in order, one at a time, so it may keep
/// state from window to window (the motion encoder keeps the previous frame).
public protocol WindowEncoder: Sendable {
    /// Short name for logs and metrics; the registry name it was made from ("speech", "motion").
    var name: String { get }
    /// What the encoder reads. The window it is given holds exactly that: no audio unless
    /// `input.audio`, and frames prepared as `input.video` asks (none when it is nil).
    var input: EncoderInput { get }
    /// The evidence for `window`, with times on the stream's timeline. Called on the compute
    /// executor, never on Swift's cooperative pool, so it may run long synchronous work.
    func encode(_ window: MediaWindow) async throws -> [Evidence]
    /// No more windows follow this one's last (the input ended, a live source dropped, the
    /// pipeline is stopping): the evidence still held back, with its own times (the speech
    /// transcriber's last utterance, which waits for silence before it is final). The next
    /// `encode`, if any, starts afresh.
    func finish() async throws -> [Evidence]
}

extension WindowEncoder {
    /// Nothing held back.
    public func finish() async throws -> [Evidence] { [] }
}

/// An encoder that may analyse behind `encode`'s return: speech with utterance packing, whose
/// transcriber runs on its own queue and may wait for other streams' utterances. Its lag is
/// measured from what it has analysed, not from what it was handed (the daemon's metrics
/// and the scheduler count it).
public protocol Backlogged: WindowEncoder {
    /// End, on the stream's timeline, of the last window it has analysed; nil while it
    /// works inside `encode` (then it is never behind the windows it returned).
    var analysedEndMs: Int64? { get }
    /// How far behind it may run by design (the packer's latency budget): up to this much it
    /// is not late, and the scheduler does not thin pictures for it.
    var plannedDelayMs: Int { get }
}

/// A costly picture modality (people, faces, labels, on-screen text, CLIP): it may leave
/// frames out behind a motion gate and says how many, so the stream's metrics count them
/// (frames are never skipped silently), and the daemon's scheduler thins it while a live
/// stream is late.
public protocol FrameSkipping: WindowEncoder {
    /// Frames it left out so far (cumulative).
    var framesSkipped: Int { get }
}

/// Adds to a window's evidence after every encoder ran: derived evidence or fields (a text
/// embedding of every speech segment and on-screen text line). Enrichers see the whole
/// window's evidence, so one model call can serve every modality's text.
public protocol EvidenceEnricher: Sendable {
    /// Short name for logs and metrics.
    var name: String { get }
    /// `evidence` with additions; it must keep every piece it was given, in order.
    func enrich(_ evidence: [Evidence], streamId: String) async throws -> [Evidence]
}

/// A window as committed to the store, with the store's id for it.
public struct CommittedWindow: Sendable, Equatable {
    /// The store's id of the window row.
    public var id: Int64
    /// What was committed.
    public var record: WindowRecord
    /// Wall-clock epoch ms of the commit.
    public var committedMs: Int64

    /// The committed `record`, stored as row `id` at `committedMs`.
    public init(id: Int64, record: WindowRecord, committedMs: Int64) {
        self.id = id
        self.record = record
        self.committedMs = committedMs
    }
}

/// Work after a window is committed: standing-query matching, fusion. A sink is called
/// for each of its stream's windows in commit order; a failing sink is logged and counted,
/// and never holds back the stream or the other sinks.
public protocol WindowSink: Sendable {
    /// Short name for logs and metrics.
    var name: String { get }
    /// Reacts to one committed window.
    func windowCommitted(_ window: CommittedWindow) async throws
    /// Evidence the encoders gave only when the input ended (WindowEncoder.finish) was added
    /// to `window`, the last committed one; `window.record` holds it. Called before `streamEnded`.
    func evidenceAdded(_ evidence: [Evidence], to window: CommittedWindow) async throws
    /// The stream's input ended or its pipeline is stopping: no more windows follow from this
    /// run. A sink that holds state across windows (an open segment) settles it here.
    func streamEnded() async throws
}

extension WindowSink {
    /// Late evidence changes nothing the sink keeps.
    public func evidenceAdded(_ evidence: [Evidence], to window: CommittedWindow) async throws {}
    /// Nothing to settle.
    public func streamEnded() async throws {}
}
