// The one-line answer for a question's form (QuestionForms.swift):
//   when      "At 0:01:12, 0:04:30 and 0:09:02."  (the best moments' starts, at most three, in time order)
//   said      "“the parcel comes tomorrow” (0:01:12)"  (the best moments' speech or caption lines)
//   written   "“OPEN 9-5” (0:00:40)"  (the best moments' on-screen text)
//   how_many  "2 people at 0:10:00."  (the most people in one frame: over the query's time range when it
//             has one, else of the best moment)
//   now       the latest caption of the streams asked about; without captions, the latest window's
//             evidence ("2 people; labels: street, car; said “…”")
// Times: media time as h:mm:ss for files, UTC date and time for live streams (epoch ms).
import Foundation
import SightlineCore

extension FusionRanking {
    /// The answer line from moments alone (full-text ranking: no index to count or read the latest from).
    static func answerLine(form: QuestionForm, moments: [Moment]) -> String? {
        switch form {
        case .when, .said, .written: momentLine(form: form, moments: moments)
        case .howMany, .now, .other: nil
        }
    }

    static func momentLine(form: QuestionForm, moments: [Moment]) -> String? {
        switch form {
        case .when:
            guard !moments.isEmpty else { return "Nothing found." }
            let times = moments.prefix(3).map(\.startMs).sorted().map(Self.time)
            return "At " + Self.list(times) + "."
        case .said, .written:
            let wanted: Set<Modality> = form == .said ? [.speech, .caption] : [.ocr]
            var lines: [String] = []
            for m in moments {
                for item in m.evidence where wanted.contains(item.modality) && lines.count < 3 {
                    let line = "“\(item.text)” (\(Self.time(item.startMs)))"
                    if !lines.contains(line) { lines.append(line) }
                }
            }
            return lines.isEmpty ? "Nothing found." : lines.joined(separator: "; ")
        default:
            return nil
        }
    }

    func answerLine(form: QuestionForm, moments: [Moment], candidates: [Candidate],
                    entries: [(String, WindowIndex.StreamEntry)], query: MomentQuery) throws -> String?
    {
        switch form {
        case .other:
            return nil
        case .when, .said, .written:
            return Self.momentLine(form: form, moments: moments)
        case .howMany:
            if query.fromMs != nil || query.toMs != nil {
                var best: (count: Int, at: Int64)?
                for (_, e) in entries {
                    e.signals.withLock { s in
                        let lo = query.fromMs.map { s.firstWindow(endingAfter: $0) } ?? 0
                        let hi = query.toMs.map { s.firstWindow(startingAtOrAfter: $0) } ?? s.count
                        for i in lo..<max(lo, hi) where best == nil || Int(s.people[i]) > best!.count {
                            best = (Int(s.people[i]), s.startMs[i])
                        }
                    }
                }
                guard let best else { return "No windows in that time." }
                return "\(Facts.people(best.count).capitalizedFirst) at \(Self.time(best.at))."
            }
            guard let c = candidates.first else { return "Nothing found." }
            return "\(Facts.people(c.people).capitalizedFirst) at \(Self.time(c.startMs))."
        case .now:
            return try latest(entries)
        }
    }

    /// The latest caption of `entries`' streams, or a summary of the latest window.
    func latest(_ entries: [(String, WindowIndex.StreamEntry)]) throws -> String? {
        var caption: (id: Int64, end: Int64)?
        var window: (stream: String, end: Int64)?
        for (stream, e) in entries {
            e.signals.withLock { s in
                if let k = s.textKind.lastIndex(of: TextKind.caption.rawValue), caption == nil || s.textEnd[k] > caption!.end {
                    caption = (s.textEvidence[k], s.textEnd[k])
                }
                if let end = s.endMs.last, window == nil || end > window!.end { window = (stream, end) }
            }
        }
        if let caption, let hit = try index.store.evidenceHits([caption.id], filter: MomentQuery(text: "")).first {
            return "\(hit.item.text) (\(Self.time(hit.item.startMs)))"
        }
        guard let window, let e = entries.first(where: { $0.0 == window.stream })?.1 else { return "Nothing seen yet." }
        var parts: [String] = []
        var speech: Int64?
        var at: Int64 = 0
        e.signals.withLock { s in
            let i = s.count - 1
            at = s.startMs[i]
            if s.people[i] > 0 { parts.append(Facts.people(Int(s.people[i]))) }
            if s.faces[i] > 0 { parts.append(s.faces[i] == 1 ? "a face" : "\(s.faces[i]) faces") }
            let names = labels(s, window: i)
            if !names.isEmpty { parts.append("labels: " + names.joined(separator: ", ")) }
            if Float(s.motion[i]) / 255 >= motionThreshold { parts.append("motion") }
            if let k = s.textKind.lastIndex(of: TextKind.speech.rawValue), s.textEnd[k] > s.startMs[i] - 10_000 { speech = s.textEvidence[k] }
        }
        if let speech, let hit = try index.store.evidenceHits([speech], filter: MomentQuery(text: "")).first {
            parts.append("said “\(hit.item.text)”")
        }
        return parts.isEmpty ? "Nothing seen at \(Self.time(at))." : parts.joined(separator: "; ") + " (\(Self.time(at)))"
    }

    /// The window's labels, heaviest first (at most three).
    func labels(_ s: StreamSignals, window i: Int) -> [String] {
        let names = index.labels.names
        let a = Int(s.labelOffset[i]), b = Int(s.labelOffset[i + 1])
        return (a..<b).sorted { s.labelWeight[$0] > s.labelWeight[$1] }.prefix(3)
            .compactMap { k in names.indices.contains(Int(s.labelId[k])) ? names[Int(s.labelId[k])] : nil }
    }

    /// Media time (h:mm:ss) below 10¹¹ ms (about three years), else UTC date and time; raw ms outside `MomentQuery.validTimes`.
    static func time(_ ms: Int64) -> String {
        // Beyond ±31,700 years no calendar is meaningful (and formatters may not cope).
        guard MomentQuery.validTimes.contains(ms) else { return "\(ms) ms" }
        if ms >= 100_000_000_000 || ms <= -100_000_000_000 {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyy-MM-dd HH:mm:ss'Z'"
            return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
        }
        let s = ms / 1000
        return String(format: "%@%d:%02d:%02d", ms < 0 ? "-" : "", abs(s) / 3600, abs(s) / 60 % 60, abs(s) % 60)
    }

    static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: ""
        case 1: items[0]
        default: items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
