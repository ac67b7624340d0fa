// Several cue tracks of one input merged into one subtitle file (`sightline transcribe
// --tracks speech,captions,text`): speech cues as the cue builder makes them, timeline
// captions and on-screen text as the caption tools make them. Cues are in start order (ties
// in track order). How each format tells the tracks apart:
//   SRT     speech as is; other tracks in square brackets with the track's label, as
//           subtitles for the deaf mark sounds: "[caption: two people; …]", "[text: EXIT]";
//   WebVTT  every cue wrapped in a class span named after its track ("<c.captions>…</c>"),
//           which a player's CSS (::cue(.captions)) can style or hide;
//   JSON    {"tracks": [...], "language", "model", "cues": [{"track", "start_ms", "end_ms", "text"}]}
//           ("language"/"model" only with a speech track);
//   TXT     one line per cue: "[HH:MM:SS.mmm] track: text".
// Non-speech lines are broken like speech (at most `CueRules.maxCharactersPerLine` a line;
// a long caption keeps every line rather than being cut).
import Foundation

/// The tracks `--tracks` can name.
public enum CueTrack: String, Sendable, CaseIterable, Codable {
    /// What is said (Whisper).
    case speech
    /// One line per timeline segment: who and what is seen, written and said.
    case captions
    /// On-screen text (OCR), one cue per line while it shows.
    case text

    /// The word SRT's brackets carry.
    var label: String {
        switch self {
        case .speech: return "speech"
        case .captions: return "caption"
        case .text: return "text"
        }
    }
}

/// One cue of one track.
public struct TrackCue: Sendable, Hashable, Codable {
    public var track: CueTrack
    public var startMs: Int64
    public var endMs: Int64
    /// Display lines.
    public var lines: [String]

    public init(track: CueTrack, startMs: Int64, endMs: Int64, lines: [String]) {
        self.track = track
        self.startMs = startMs
        self.endMs = endMs
        self.lines = lines
    }

    /// A cue of `track` showing `text`, broken into lines of at most `rules.maxCharactersPerLine`.
    public init(track: CueTrack, startMs: Int64, endMs: Int64, text: String, rules: CueRules = .broadcast) {
        self.init(track: track, startMs: startMs, endMs: endMs, lines: Self.wrap(text, width: rules.maxCharactersPerLine))
    }

    /// Greedy word wrap; a word longer than `width` gets a line of its own.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(whereSeparator: \.isWhitespace) {
            if line.isEmpty { line = String(word) } else if line.count + 1 + word.count <= width { line += " " + word } else {
                lines.append(line)
                line = String(word)
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    enum CodingKeys: String, CodingKey {
        case track, text
        case startMs = "start_ms", endMs = "end_ms"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(track: try c.decode(CueTrack.self, forKey: .track), startMs: try c.decode(Int64.self, forKey: .startMs),
                  endMs: try c.decode(Int64.self, forKey: .endMs),
                  lines: try c.decode(String.self, forKey: .text).components(separatedBy: "\n"))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(track, forKey: .track)
        try c.encode(startMs, forKey: .startMs)
        try c.encode(endMs, forKey: .endMs)
        try c.encode(lines.joined(separator: " "), forKey: .text)
    }
}

/// The JSON form of merged tracks.
public struct TrackedTranscript: Sendable, Hashable, Codable {
    public var tracks: [CueTrack]
    public var language: String?
    public var model: String?
    public var cues: [TrackCue]

    public init(tracks: [CueTrack], language: String?, model: String?, cues: [TrackCue]) {
        self.tracks = tracks
        self.language = language
        self.model = model
        self.cues = cues
    }
}

public enum CueTracks {
    /// The speech cues of `transcript` as track cues.
    public static func speechCues(_ transcript: Transcript, rules: CueRules = .broadcast) throws(CueRulesError) -> [TrackCue] {
        try CueBuilder(rules: rules).cues(for: transcript).map { TrackCue(track: .speech, startMs: $0.startMs, endMs: $0.endMs, lines: $0.lines) }
    }

    /// `cues` in start order, ties in `tracks` order, then by end.
    public static func merged(_ cues: [TrackCue], tracks: [CueTrack]) -> [TrackCue] {
        let rank = Dictionary(uniqueKeysWithValues: tracks.enumerated().map { ($0.element, $0.offset) })
        return cues.enumerated().sorted { a, b in
            let x = a.element, y = b.element
            if x.startMs != y.startMs { return x.startMs < y.startMs }
            let rx = rank[x.track] ?? Int.max, ry = rank[y.track] ?? Int.max
            if rx != ry { return rx < ry }
            return a.offset < b.offset
        }.map(\.element)
    }

    /// The merged `cues` of `tracks` in `format` (see the file header).
    public static func render(_ cues: [TrackCue], tracks: [CueTrack], format: SubtitleFormat, language: String? = nil,
                              model: String? = nil) -> String
    {
        let all = merged(cues, tracks: tracks)
        switch format {
        case .srt:
            return SRTRenderer.render(all.map { c in
                guard c.track != .speech else { return Cue(startMs: c.startMs, endMs: c.endMs, lines: c.lines) }
                var lines = c.lines
                if !lines.isEmpty {
                    lines[0] = "[\(c.track.label): " + lines[0]
                    lines[lines.count - 1] += "]"
                }
                return Cue(startMs: c.startMs, endMs: c.endMs, lines: lines)
            })
        case .vtt:
            var out = "WEBVTT\n\n"
            for c in all {
                out += Timecode.format(c.startMs, fractionSeparator: ".") + " --> " + Timecode.format(c.endMs, fractionSeparator: ".") + "\n"
                out += "<c.\(c.track.rawValue)>" + c.lines.map(WebVTTRenderer.escape).joined(separator: "\n") + "</c>\n\n"
            }
            return out
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let t = TrackedTranscript(tracks: tracks, language: tracks.contains(.speech) ? language : nil,
                                      model: tracks.contains(.speech) ? model : nil, cues: all)
            // Encoding plain strings and integers cannot fail.
            return String(decoding: (try? encoder.encode(t)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
        case .txt:
            return all.map { "[\(Timecode.format($0.startMs, fractionSeparator: "."))] \($0.track.rawValue): \($0.lines.joined(separator: " "))" }
                .joined(separator: "\n") + (all.isEmpty ? "" : "\n")
        }
    }
}
