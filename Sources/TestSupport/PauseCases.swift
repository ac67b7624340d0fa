// The speech-with-pauses test set (Tests/Fixtures/speech-pauses/cases.json, written by
// Scripts/make-pause-fixtures): recipes that join committed speech clips and digital silence,
// with every word's true time in the result. `samples()` builds a case's 16 kHz mono audio;
// `TimingCheck` matches recognised words to the true ones and `WordErrors` counts WER.
import Foundation

public struct PauseCase: Sendable, Decodable {
    public struct Part: Sendable, Decodable {
        public var clip: String?
        public var from: Int?
        public var to: Int?
        public var silenceMs: Int?
        enum CodingKeys: String, CodingKey { case clip, from, to, silenceMs = "silence_ms" }
    }
    public struct Span: Sendable, Decodable {
        public var startMs: Int64
        public var endMs: Int64
        enum CodingKeys: String, CodingKey { case startMs = "start_ms", endMs = "end_ms" }
    }
    public struct Word: Sendable, Decodable {
        public var startMs: Int64
        public var endMs: Int64
        public var word: String
        enum CodingKeys: String, CodingKey { case startMs = "start_ms", endMs = "end_ms", word }
    }

    public var name: String
    public var parts: [Part]
    public var durationMs: Int64
    /// The inserted silences.
    public var pauses: [Span]
    public var reference: String
    public var words: [Word]

    enum CodingKeys: String, CodingKey { case name, parts, durationMs = "duration_ms", pauses, reference, words }

    public static func all() throws -> [PauseCase] {
        struct File: Decodable { var cases: [PauseCase] }
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("speech-pauses/cases.json")))
        return try JSONDecoder().decode(File.self, from: data).cases
    }

    public static func named(_ name: String) throws -> PauseCase {
        guard let c = try all().first(where: { $0.name == name }) else {
            throw AudioFixture.LoadError.unreadable("speech-pauses/cases.json has no case \(name)")
        }
        return c
    }

    /// (samples,) the case's audio, 16 kHz mono, built from the committed clips.
    public func samples() throws -> [Float] {
        var clips: [String: [Float]] = [:]
        var out: [Float] = []
        for p in parts {
            if let ms = p.silenceMs {
                out += [Float](repeating: 0, count: ms * 16)
            } else if let clip = p.clip, let from = p.from, let to = p.to {
                if clips[clip] == nil { clips[clip] = try AudioFixture.samples(Fixtures.path("media/speech/\(clip)")) }
                let c = clips[clip]!
                out += c[min(from, c.count)..<min(to, c.count)]
            }
        }
        return out
    }

    /// Writes the audio as a 16-bit PCM WAV file (for paths that take a file name).
    public func writeWAV(to path: String) throws {
        try WAVWriter.write(samples(), to: path)
    }
}

public enum WAVWriter {
    public static func write(_ samples: [Float], to path: String) throws {
        var d = Data("RIFF".utf8)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        u32(36 + 2 * samples.count); d.append(contentsOf: Array("WAVEfmt ".utf8)); u32(16); u16(1); u16(1)
        u32(16_000); u32(32_000); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(2 * samples.count)
        var pcm = [Int16](repeating: 0, count: samples.count)
        for (i, s) in samples.enumerated() { pcm[i] = Int16(max(-32768, min(32767, (s * 32768).rounded()))) }
        pcm.withUnsafeBytes { d.append(contentsOf: $0) }
        try d.write(to: URL(fileURLWithPath: path))
    }
}

/// Word error rate on normalised words (lowercase, hyphens split, punctuation other than
/// apostrophes dropped; "mr" counts as "mister").
public struct WordErrors: Sendable {
    public var errors = 0, words = 0
    public var rate: Double { words == 0 ? 0 : Double(errors) / Double(words) }
    public init() {}

    public mutating func add(reference: String, hypothesis: String) {
        let r = Self.normalize(reference), h = Self.normalize(hypothesis)
        errors += Self.editDistance(r, h)
        words += r.count
    }

    public static func normalize(_ s: String) -> [String] {
        let lowered = s.lowercased().replacingOccurrences(of: "-", with: " ")
        let kept = lowered.unicodeScalars.map { c -> Character in
            CharacterSet.letters.contains(c) || CharacterSet.decimalDigits.contains(c) || c == "'" ? Character(c) : " "
        }
        return String(kept).split(separator: " ").map { $0 == "mr" ? "mister" : String($0) }
    }

    public static func editDistance(_ a: [String], _ b: [String]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}

/// Matches recognised words to a case's true words (edit-distance alignment on normalised
/// words) so a span of recognised words (a cue, a segment) can be checked against the true
/// start of its first word and the true end of its last.
public struct TimingCheck: Sendable {
    public let truth: [PauseCase.Word]
    /// For each recognised word, the index of the true word it aligns with (match or
    /// substitution), or nil when it was inserted.
    public private(set) var matched: [Int?] = []
    /// As `matched`, the last true word when a recognised word spans several.
    public private(set) var lastMatched: [Int?] = []
    /// True words that some recognised word matches exactly.
    public private(set) var found: Set<Int> = []

    /// `recognised`: the words in output order (each may hold several normalised tokens).
    public init(truth: [PauseCase.Word], recognised: [String]) {
        self.truth = truth
        // Flatten both sides to normalised tokens, remembering which word each came from.
        var rTok: [(String, Int)] = [], hTok: [(String, Int)] = []
        for (i, w) in truth.enumerated() { for t in WordErrors.normalize(w.word) { rTok.append((t, i)) } }
        for (i, w) in recognised.enumerated() { for t in WordErrors.normalize(w) { hTok.append((t, i)) } }
        let n = rTok.count, m = hTok.count
        var cost = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in 0...n { cost[i][0] = i }
        for j in 0...m { cost[0][j] = j }
        if n > 0 && m > 0 {
            for i in 1...n {
                for j in 1...m {
                    cost[i][j] = min(cost[i - 1][j] + 1, cost[i][j - 1] + 1,
                                     cost[i - 1][j - 1] + (rTok[i - 1].0 == hTok[j - 1].0 ? 0 : 1))
                }
            }
        }
        var match = [Int?](repeating: nil, count: recognised.count)
        var last = [Int?](repeating: nil, count: recognised.count)
        var exact: Set<Int> = []
        var i = n, j = m
        while i > 0 && j > 0 {
            if cost[i][j] == cost[i - 1][j - 1] + (rTok[i - 1].0 == hTok[j - 1].0 ? 0 : 1) {
                // A recognised word made of several tokens ("ill-disposed") ends where its last
                // matched true word ends: keep the first match met (backwards) in `last`.
                if match[hTok[j - 1].1] == nil || rTok[i - 1].0 == hTok[j - 1].0 { match[hTok[j - 1].1] = rTok[i - 1].1 }
                if last[hTok[j - 1].1] == nil { last[hTok[j - 1].1] = rTok[i - 1].1 }
                if rTok[i - 1].0 == hTok[j - 1].0 { exact.insert(rTok[i - 1].1) }
                i -= 1; j -= 1
            } else if cost[i][j] == cost[i - 1][j] + 1 {
                i -= 1
            } else {
                j -= 1
            }
        }
        matched = match
        lastMatched = zip(match, last).map { m, l in l ?? m }
        found = exact
    }

    /// True (start, end) of the recognised words `range`: the first and last matched ones,
    /// with their indices in `truth`.
    public func trueSpan(ofRecognised range: Range<Int>) -> (startMs: Int64, endMs: Int64, first: Int, last: Int)? {
        guard let first = range.lazy.compactMap({ self.matched[$0] }).first,
              let last = range.reversed().lazy.compactMap({ self.lastMatched[$0] }).first else { return nil }
        return (truth[first].startMs, truth[last].endMs, first, last)
    }
}

/// A timed run of recognised text: a cue of SRT/WebVTT output or a JSON segment.
public struct TimedText: Sendable {
    public var startMs: Int64
    public var endMs: Int64
    public var text: String
    public init(startMs: Int64, endMs: Int64, text: String) { self.startMs = startMs; self.endMs = endMs; self.text = text }

    /// Cues of SRT or WebVTT text (times "hh:mm:ss,mmm" or "hh:mm:ss.mmm").
    public static func cues(of subtitles: String) -> [TimedText] {
        var out: [TimedText] = []
        var current: TimedText? = nil
        func ms(_ s: Substring) -> Int64? {
            let f = s.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: ".").split(separator: ":")
            guard f.count == 3, let h = Int64(f[0]), let m = Int64(f[1]), let sec = Double(f[2]) else { return nil }
            return (h * 3600 + m * 60) * 1000 + Int64((sec * 1000).rounded())
        }
        for line in subtitles.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.contains("-->") {
                let p = line.components(separatedBy: "-->")
                if let a = ms(Substring(p[0])), let b = ms(Substring(p[1].split(separator: " ").first ?? "")) {
                    current = TimedText(startMs: a, endMs: b, text: "")
                }
            } else if line.trimmingCharacters(in: .whitespaces).isEmpty {
                if let c = current { out.append(c) }
                current = nil
            } else if current != nil {
                current!.text += (current!.text.isEmpty ? "" : " ") + line
            }
        }
        if let c = current { out.append(c) }
        return out
    }

    /// Segments of `--format json` output (`key`: "cues" for the daemon's transcript endpoint).
    public static func segments(ofJSON json: String, key: String = "segments") throws -> [TimedText] {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return (object?[key] as? [[String: Any]] ?? []).map {
            TimedText(startMs: Int64($0["start_ms"] as? Int ?? -1), endMs: Int64($0["end_ms"] as? Int ?? -1),
                      text: $0["text"] as? String ?? "")
        }
    }
}

extension PauseCase {
    /// Everything wrong with `spans` (in output order) as timed output of this case: a span
    /// whose start is more than `toleranceMs` from its first word's true start, or whose end
    /// is more than `toleranceMs` from its last word's true end (a cue stretched to
    /// `minDurationMs` may end later), a span across an inserted pause of `maxPauseMs` or
    /// more, and a reference sentence none of whose words were recognised.
    ///
    /// That holds for every edge, also one between two words said without a pause (a cue
    /// split by length inside a sentence), where Whisper's word alignment (faster-whisper's
    /// too) can sit up to 330 ms from the forced alignment on the LibriVox clips
    /// (`Scripts/make-pause-fixtures --edges`): the cue builder breaks there at clause
    /// marks, pauses and clause openers, where the boundaries are sharper.
    public func problems(_ spans: [TimedText], toleranceMs: Int64 = 200, minDurationMs: Int64 = 0,
                         maxPauseMs: Int64 = 1000) -> [String] {
        var words: [String] = [], owner: [Int] = []
        for (k, s) in spans.enumerated() {
            for w in s.text.split(whereSeparator: \.isWhitespace) { words.append(String(w)); owner.append(k) }
        }
        let check = TimingCheck(truth: self.words, recognised: words)
        var out: [String] = []
        for (k, s) in spans.enumerated() {
            let mine = owner.indices.filter { owner[$0] == k }
            guard let lo = mine.first, let hi = mine.last, let t = check.trueSpan(ofRecognised: lo..<(hi + 1)) else { continue }
            let label = "\(name): [\(s.startMs)–\(s.endMs)] \"\(s.text)\""
            if abs(s.startMs - t.startMs) > toleranceMs {
                out.append("\(label) starts \(s.startMs - t.startMs) ms off its first word (\(t.startMs))")
            }
            let allowedEnd = max(t.endMs + toleranceMs, s.startMs + minDurationMs)
            if s.endMs > allowedEnd || s.endMs < t.endMs - toleranceMs {
                out.append("\(label) ends \(s.endMs - t.endMs) ms off its last word (\(t.endMs))")
            }
            for p in pauses where p.endMs - p.startMs >= maxPauseMs && s.startMs < p.startMs && s.endMs > p.endMs {
                out.append("\(label) spans the pause \(p.startMs)–\(p.endMs)")
            }
        }
        // Sentences: the words of each reference clip (by true-word runs between pauses ≥ 1 s
        // are not sentences; use the clips) must not all be missing.
        var clipOf: [Int] = []
        var t: Int64 = 0, clipIndex = -1, lastClip: String? = nil
        var wordClip: [(start: Int64, clip: Int)] = []
        for p in parts {
            if let ms = p.silenceMs { t += Int64(ms); continue }
            if p.clip != lastClip || p.from == 0 { clipIndex += 1; lastClip = p.clip }
            wordClip.append((t, clipIndex))
            t += Int64(((p.to ?? 0) - (p.from ?? 0)) / 16)
        }
        for w in self.words { clipOf.append(wordClip.last { $0.start <= w.startMs }?.clip ?? 0) }
        let found = Set(check.found.map { clipOf[$0] })
        for c in Set(clipOf).sorted() where !found.contains(c) {
            let text = self.words.indices.filter { clipOf[$0] == c }.map { self.words[$0].word }.joined()
            out.append("\(name): sentence \(c + 1) missing:\(text)")
        }
        return out
    }
}

extension PauseCase {
    /// Signed errors (ms, output minus truth) of the span edges next to silence (a span's
    /// start when its first word follows a pause of `pauseGapMs` or more, its end likewise),
    /// and of the edges inside continuous speech, for reporting the largest.
    public func edgeErrors(_ spans: [TimedText], pauseGapMs: Int64 = 100)
        -> (startsAtSilence: [Int64], endsAtSilence: [Int64], inSpeech: [Int64]) {
        var words: [String] = [], owner: [Int] = []
        for (k, s) in spans.enumerated() {
            for w in s.text.split(whereSeparator: \.isWhitespace) { words.append(String(w)); owner.append(k) }
        }
        let check = TimingCheck(truth: self.words, recognised: words)
        var starts: [Int64] = [], ends: [Int64] = [], inSpeech: [Int64] = []
        for (k, s) in spans.enumerated() {
            let mine = owner.indices.filter { owner[$0] == k }
            guard let lo = mine.first, let hi = mine.last, let t = check.trueSpan(ofRecognised: lo..<(hi + 1)) else { continue }
            let startsAfterPause = t.first == 0 || self.words[t.first].startMs - self.words[t.first - 1].endMs >= pauseGapMs
            let endsBeforePause = t.last == self.words.count - 1 || self.words[t.last + 1].startMs - self.words[t.last].endMs >= pauseGapMs
            if startsAfterPause { starts.append(s.startMs - t.startMs) } else { inSpeech.append(s.startMs - t.startMs) }
            if endsBeforePause { ends.append(s.endMs - t.endMs) } else { inSpeech.append(s.endMs - t.endMs) }
        }
        return (starts, ends, inSpeech)
    }
}
