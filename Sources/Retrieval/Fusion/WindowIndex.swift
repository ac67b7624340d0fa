// The in-memory index fused ranking reads: per stream, per window, only the compact signals
// a query is scored against (docs/FUSION.md):
//   - the window's span and store id,
//   - people and face counts (the most seen in one frame of the window),
//   - the motion value (largest changed fraction, in 1/255ths),
//   - its labels as (label id, weight), the weight being the label's mean probability over
//     the window's labelled frames, scaled so the weights sum to at most 1 (so the window's
//     label vector Σ wᵢ·e(nameᵢ) is a convex combination of label-name embeddings), in 1/255ths,
//   - one int8 text vector per speech, on-screen text or caption row (symmetric per-vector
//     scale, ≤ 0.4 % of the vector's largest component per coordinate), with the row's span,
//     id and a hash of its text (to follow a text line the store extends).
// Text itself is not kept: evidence shown with a moment is read back from the store by id.
//
// A stream is loaded from the store on its first query (`Store.windowSignals`, one
// streaming read), kept current by `FusionSink` after each commit, and trimmed when
// retention has deleted its oldest windows (found by comparing the store's oldest window
// with the index's, one index lookup per query).
import Foundation
import SightlineCore
import Store
import Synchronization

/// The kinds of text row the index holds vectors for.
enum TextKind: UInt8, CaseIterable, Sendable {
    case speech = 0, ocr = 1, caption = 2

    init?(_ m: Modality) {
        switch m {
        case .speech: self = .speech
        case .ocr: self = .ocr
        case .caption: self = .caption
        default: return nil
        }
    }

    var modality: Modality { [Modality.speech, .ocr, .caption][Int(rawValue)] }
}

/// One stream's window signals, oldest window first (by start time).
struct StreamSignals: Sendable {
    /// Dimension of the text vectors (set by the first vector seen).
    var dim = 0
    /// (windows,) store ids, spans in ms.
    var windowId: [Int64] = []
    var startMs: [Int64] = []
    var endMs: [Int64] = []
    /// (windows,) start/2 + end/2 in ms, in Double (no overflow at any Int64 time): the
    /// window's time t in the attention (kept, not recomputed per query and signal).
    var centreMs: [Double] = []
    /// Whether every window ends no earlier than the one before it (a stream's fixed-stride
    /// windows do); once false it stays false.
    var endsOrdered = true
    /// (windows,) most people / faces in one frame, saturated at 255.
    var people: [UInt8] = []
    var faces: [UInt8] = []
    /// (windows,) largest changed fraction in 1/255ths, 0 when unmeasured.
    var motion: [UInt8] = []
    /// (windows + 1,) offsets into `labelId` / `labelWeight` (CSR).
    var labelOffset: [Int32] = [0]
    var labelId: [UInt16] = []
    /// Label weights in 1/255ths (a byte each: 0.2 % steps, far below the classifier's noise).
    var labelWeight: [UInt8] = []
    /// (label ids,) per label id, the windows holding it, ascending: a query finds the windows
    /// a label similar to it can lift above the floor without reading every window.
    var labelWindows: [[Int32]] = []
    /// The largest Σ weight/255 of one window's labels (≤ 1 up to the byte rounding; never
    /// lowered when windows are dropped, so always an upper bound).
    var labelMassMax = 0.0
    /// (items,) text rows: kind, owning window index, span, evidence id, text hash, scale.
    var textKind: [UInt8] = []
    var textWindow: [Int32] = []
    var textStart: [Int64] = []
    var textEnd: [Int64] = []
    var textEvidence: [Int64] = []
    var textHash: [UInt64] = []
    var textScale: [Float] = []
    /// (items, dim) int8 codes; value ≈ code · scale.
    var textCodes: [Int8] = []

    var count: Int { windowId.count }
    var textCount: Int { textKind.count }

    /// Approximate bytes held.
    var bytes: Int {
        count * (8 * 4 + 3) + labelOffset.count * 4 + labelId.count * 7
            + textCount * (1 + 4 + 8 * 4 + 4) + textCodes.count
    }

    /// Index of the first window whose start is ≥ `ms` (binary search).
    func firstWindow(startingAtOrAfter ms: Int64) -> Int {
        var lo = 0, hi = count
        while lo < hi { let mid = (lo + hi) / 2; if startMs[mid] < ms { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    /// Index of the first window whose end is > `ms`.
    func firstWindow(endingAfter ms: Int64) -> Int {
        // Ends are in start order too for the fixed-stride windows of one stream; a window
        // that ends before its predecessor (never produced by MediaIO) only widens the search.
        var lo = 0, hi = count
        while lo < hi { let mid = (lo + hi) / 2; if endMs[mid] <= ms { lo = mid + 1 } else { hi = mid } }
        return lo
    }
}

/// Appends windows read from the store (or seen by the sink) to a `StreamSignals`.
struct SignalBuilder {
    var signals: StreamSignals
    let labels: LabelTable
    let model: String?
    /// The window being gathered: its rows until the next window starts.
    private var current: (id: Int64, start: Int64, end: Int64, rows: [StoredEvidence])?

    init(signals: StreamSignals, labels: LabelTable, model: String?) {
        self.signals = signals
        self.labels = labels
        self.model = model
    }

    mutating func add(_ row: WindowSignalRow) {
        if current?.id != row.windowId {
            flush()
            current = (row.windowId, row.windowStartMs, row.windowEndMs, [])
        }
        if let e = row.evidence { current?.rows.append(e) }
    }

    mutating func flush() {
        guard let w = current else { return }
        current = nil
        append(id: w.id, start: w.start, end: w.end, rows: w.rows)
    }

    /// Adds one window (after every window it holds, in start order).
    mutating func append(id: Int64, start: Int64, end: Int64, rows: [StoredEvidence]) {
        let index = Int32(signals.count)
        signals.windowId.append(id)
        signals.startMs.append(start)
        if let last = signals.endMs.last, end < last { signals.endsOrdered = false }
        signals.endMs.append(end)
        signals.centreMs.append(Double(start) / 2 + Double(end) / 2)
        signals.people.append(Self.most(rows.filter { $0.modality == .person }))
        signals.faces.append(Self.most(rows.filter { $0.modality == .face }))
        let changed = rows.filter { $0.modality == .motion }.compactMap(\.value).filter(\.isFinite).max() ?? 0
        signals.motion.append(UInt8((min(max(changed, 0), 1) * 255).rounded()))
        // Labels: mean probability per name over the window's labelled frames, then scaled
        // to sum to at most 1.
        let labelRows = rows.filter { $0.modality == .label && $0.text != nil }
        let frames = max(1, Set(labelRows.map(\.startMs)).count)
        var sums: [String: Double] = [:]
        for r in labelRows { sums[r.text!, default: 0] += min(max(r.confidence ?? 0, 0), 1) }
        let total = sums.values.reduce(0, +) / Double(frames)
        let shrink = total > 1 ? 1 / total : 1
        for (name, sum) in sums.sorted(by: { $0.key < $1.key }) {
            guard let id = labels.id(name) else { continue }
            signals.labelId.append(id)
            let weight = sum / Double(frames) * shrink
            signals.labelWeight.append(UInt8((min(max(weight, 0), 1) * 255).rounded()))
            if signals.labelWindows.count <= Int(id) { signals.labelWindows += Array(repeating: [], count: Int(id) + 1 - signals.labelWindows.count) }
            signals.labelWindows[Int(id)].append(index)
        }
        let first = Int(signals.labelOffset[signals.labelOffset.count - 1])
        let mass = signals.labelWeight[first...].reduce(0.0) { $0 + Double($1) / 255 }
        signals.labelMassMax = max(signals.labelMassMax, mass)
        signals.labelOffset.append(Int32(signals.labelId.count))
        for r in rows {
            guard let kind = TextKind(r.modality), let blob = r.embedding, model == nil || r.embeddingModel == model,
                  let vector = Float16Blob.decode(blob), !vector.isEmpty else { continue }
            if signals.dim == 0 { signals.dim = vector.count }
            guard vector.count == signals.dim else { continue }
            addText(kind: kind, window: index, start: r.startMs, end: r.endMs, evidence: r.id, text: r.text ?? "", vector: vector)
        }
    }

    mutating func addText(kind: TextKind, window: Int32, start: Int64, end: Int64, evidence: Int64, text: String, vector: [Float]) {
        let largest = vector.reduce(Float(0)) { max($0, abs($1)) }
        let scale = largest > 0 ? largest / 127 : 1
        signals.textKind.append(kind.rawValue)
        signals.textWindow.append(window)
        signals.textStart.append(start)
        signals.textEnd.append(max(end, start))
        signals.textEvidence.append(evidence)
        signals.textHash.append(Self.hash(text))
        signals.textScale.append(scale)
        for v in vector { signals.textCodes.append(Int8(clamping: Int((v / scale).rounded()))) }
    }

    /// The most detections in one frame: the value the detector stored (its count in that
    /// frame) where present, else the number of rows sharing a start time.
    static func most(_ rows: [StoredEvidence]) -> UInt8 {
        guard !rows.isEmpty else { return 0 }
        var perFrame: [Int64: Int] = [:]
        var best = 0
        for r in rows {
            perFrame[r.startMs, default: 0] += 1
            if let v = r.value, v.isFinite { best = max(best, Int(min(max(v, 0), 255))) }
        }
        return UInt8(min(255, max(best, perFrame.values.max() ?? 0)))
    }

    /// FNV-1a of the text: tells a continued text line from another (a collision only
    /// extends the wrong row's span).
    static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

/// Label names ↔ small ids, shared by every stream of an index.
final class LabelTable: Sendable {
    private let state = Mutex<(ids: [String: UInt16], names: [String])>(([:], []))

    /// The id of `name`, added when new; nil once 65,535 names are known.
    func id(_ name: String) -> UInt16? {
        state.withLock { s in
            if let id = s.ids[name] { return id }
            guard s.names.count < Int(UInt16.max) else { return nil }
            let id = UInt16(s.names.count)
            s.ids[name] = id
            s.names.append(name)
            return id
        }
    }

    var names: [String] { state.withLock { $0.names } }
}

/// Every stream's window signals, loaded on demand from one store.
public final class WindowIndex: Sendable {
    /// The modalities the index reads from the store.
    static let modalities: [Modality] = [.speech, .ocr, .caption, .label, .person, .face, .motion]

    public let store: Store
    /// The text-vector model whose vectors are kept (others are skipped); nil keeps any.
    let model: String?
    let labels = LabelTable()
    /// Per stream: nil until loaded.
    private let streams = Mutex<[String: StreamEntry]>([:])

    final class StreamEntry: Sendable {
        let signals = Mutex(StreamSignals())
        /// The scorer's buffers for this stream, reused by every query (taken before `signals`).
        let scratch = Mutex(ScorerScratch())
        /// Set when the store and the index disagree in a way a trim cannot fix (a window
        /// committed out of order, evidence added to a window already held): the next query
        /// reloads the stream.
        let stale = Atomic<Bool>(false)
        /// Loaded from rows the caller gave (`load(stream:rows:)`), not from the store: not
        /// compared with the store's windows.
        let external: Bool
        init(external: Bool = false) { self.external = external }
    }

    /// An index over `store` keeping text vectors of `model`.
    public init(store: Store, model: String?) {
        self.store = store
        self.model = model
    }

    /// Windows held for `stream` (0 when not loaded).
    public func windowCount(stream: String) -> Int {
        streams.withLock { $0[stream] }?.signals.withLock { $0.count } ?? 0
    }

    /// Bytes held by every loaded stream (approximate).
    public var bytes: Int {
        streams.withLock { Array($0.values) }.reduce(0) { $0 + $1.signals.withLock { $0.bytes } }
    }

    /// The stream's entry, loading it first (and reloading when stale, trimming when
    /// retention deleted windows).
    func entry(_ stream: String) throws -> StreamEntry {
        if let e = streams.withLock({ $0[stream] }), !e.stale.load(ordering: .relaxed) {
            if !e.external { try trim(e, stream: stream) }
            return e
        }
        let e = StreamEntry()
        let loaded = try load(stream)
        e.signals.withLock { $0 = loaded }
        streams.withLock { $0[stream] = e }
        // A window committed after the load's read and before the entry was visible to
        // the sink: read it now (the sink skipped it).
        try catchUp(e, stream: stream)
        return e
    }

    /// Entries of `ids`, or of every stream in the store (and every stream loaded) when empty.
    func entries(_ ids: [String]) throws -> [(String, StreamEntry)] {
        let loaded = streams.withLock { Array($0.keys) }
        let names = ids.isEmpty ? Array(Set(try store.streamIds() + loaded)).sorted() : Array(Set(ids)).sorted()
        return try names.map { ($0, try entry($0)) }
    }

    /// Loads `stream` from rows the caller streams (in the store's order: windows by start,
    /// each window's rows together) instead of from the store, replacing what was held.
    /// For imports and benchmarks; such a stream is not checked against the store.
    public func load(stream: String, rows: ((WindowSignalRow) -> Void) throws -> Void) rethrows {
        var builder = SignalBuilder(signals: StreamSignals(), labels: labels, model: model)
        try rows { builder.add($0) }
        builder.flush()
        let e = StreamEntry(external: true)
        e.signals.withLock { $0 = builder.signals }
        streams.withLock { $0[stream] = e }
    }

    private func load(_ stream: String) throws -> StreamSignals {
        var builder = SignalBuilder(signals: StreamSignals(), labels: labels, model: model)
        try store.windowSignals(stream: stream, modalities: Self.modalities) { builder.add($0) }
        builder.flush()
        return builder.signals
    }

    /// Drops the windows retention deleted: those before the store's oldest window.
    private func trim(_ e: StreamEntry, stream: String) throws {
        let oldest = try store.oldestWindow(stream: stream)
        e.signals.withLock { s in
            guard let first = s.startMs.first else { return }
            guard let oldest else { s = StreamSignals(); return }
            if oldest.startMs > first { s.dropWindows(before: s.firstWindow(startingAtOrAfter: oldest.startMs)) }
        }
    }

    /// Brings a loaded stream up to date after `window` was committed: reads the windows
    /// the index does not hold yet, and extends the text rows a continued line extended.
    /// A stream not loaded yet is left alone (its first query loads it whole).
    func committed(_ window: CommittedWindow) throws {
        let stream = window.record.streamId
        guard let e = streams.withLock({ $0[stream] }) else { return }
        let (lastStart, lastId) = e.signals.withLock { ($0.startMs.last, $0.windowId.last) }
        if let lastStart, window.record.startMs < lastStart, window.id != lastId {
            e.stale.store(true, ordering: .relaxed)
            return
        }
        try catchUp(e, stream: stream)
        e.signals.withLock { s in
            // A line still on screen: the store extended its row's span instead of adding one.
            for ev in window.record.evidence where ev.continues {
                guard let kind = TextKind(ev.modality), let text = ev.text else { continue }
                s.extend(kind: kind, hash: SignalBuilder.hash(text), startMs: ev.startMs, endMs: ev.endMs)
            }
        }
    }

    /// Evidence was added to a window the index may hold already (a stream's last utterance,
    /// stored when its input ended): a loaded stream is reloaded on its next query.
    func evidenceAdded(stream: String) {
        streams.withLock { $0[stream] }?.stale.store(true, ordering: .relaxed)
    }

    /// Appends the windows the store holds after the entry's last one (from its last start
    /// time, skipping the windows held at that time). Reads outside the entry's lock.
    private func catchUp(_ e: StreamEntry, stream: String) throws {
        let lastStart = e.signals.withLock { $0.startMs.last }
        var rows: [WindowSignalRow] = []
        try store.windowSignals(stream: stream, fromStartMs: lastStart, modalities: Self.modalities) { rows.append($0) }
        guard !rows.isEmpty else { return }
        e.signals.withLock { s in
            var builder = SignalBuilder(signals: s, labels: labels, model: model)
            s = StreamSignals() // hand the arrays to the builder without a copy
            // Windows at or before the held last start time are already in.
            var held = Set<Int64>()
            var i = builder.signals.count - 1
            while i >= 0, builder.signals.startMs[i] == lastStart { held.insert(builder.signals.windowId[i]); i -= 1 }
            let last = builder.signals.startMs.last
            for r in rows where !held.contains(r.windowId) && (last == nil || r.windowStartMs >= last!) { builder.add(r) }
            builder.flush()
            s = builder.signals
        }
    }
}

extension StreamSignals {
    /// Removes windows [0, k) and the text rows they own.
    mutating func dropWindows(before k: Int) {
        guard k > 0 else { return }
        let k = min(k, count)
        windowId.removeFirst(k)
        startMs.removeFirst(k)
        endMs.removeFirst(k)
        centreMs.removeFirst(k)
        people.removeFirst(k)
        faces.removeFirst(k)
        motion.removeFirst(k)
        let cut = Int(labelOffset[k])
        labelId.removeFirst(cut)
        labelWeight.removeFirst(cut)
        labelOffset = labelOffset[k...].map { $0 - Int32(cut) }
        for id in labelWindows.indices {
            let kept = labelWindows[id].firstIndex { $0 >= Int32(k) } ?? labelWindows[id].count
            labelWindows[id] = labelWindows[id][kept...].map { $0 - Int32(k) }
        }
        let items = textWindow.firstIndex { $0 >= Int32(k) } ?? textCount
        textKind.removeFirst(items)
        textWindow = textWindow[items...].map { $0 - Int32(k) }
        textStart.removeFirst(items)
        textEnd.removeFirst(items)
        textEvidence.removeFirst(items)
        textHash.removeFirst(items)
        textScale.removeFirst(items)
        textCodes.removeFirst(items * dim)
    }

    /// Extends the latest text row of `kind` with text hash `hash` that ended at most
    /// `Evidence.continuationGapMs` before `startMs` to `endMs` (as the store does).
    mutating func extend(kind: TextKind, hash: UInt64, startMs: Int64, endMs: Int64) {
        var i = textCount - 1
        while i >= 0 {
            if textKind[i] == kind.rawValue, textHash[i] == hash,
               textEnd[i] >= startMs.subtractingReportingOverflow(Evidence.continuationGapMs).partialValue, textStart[i] <= startMs
            {
                textEnd[i] = max(textEnd[i], endMs)
                return
            }
            // Rows far older than the continuation gap cannot be the one.
            if textStart[i] < startMs.subtractingReportingOverflow(Evidence.continuationGapMs * 12).partialValue { return }
            i -= 1
        }
    }
}

/// Keeps a `WindowIndex` current: registered by the daemon as a `WindowSink` of every stream.
public struct FusionSink: WindowSink {
    public let name = "fusion"
    let index: WindowIndex

    /// A sink feeding `index`.
    public init(index: WindowIndex) { self.index = index }

    public func windowCommitted(_ window: CommittedWindow) async throws {
        try index.committed(window)
    }

    /// The held window changed after it was read: the stream is read again on its next query.
    public func evidenceAdded(_ evidence: [Evidence], to window: CommittedWindow) async throws {
        index.evidenceAdded(stream: window.record.streamId)
    }
}
