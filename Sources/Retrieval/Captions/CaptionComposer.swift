// One line of text per timeline segment, from its windows' evidence, by fixed rules:
//   who is seen   the people count most windows showed (ties: the larger), "up to N" when
//                 more were seen at some point; faces likewise ("a face", "two faces");
//   what is seen  whole-frame ImageNet labels averaged over the windows that had labels,
//                 the best `maxLabels` with a mean probability ≥ `minLabelProbability`, made
//                 readable (lower case except proper names; "looks like a sports car");
//   what is written  on-screen lines with confidence ≥ `minTextConfidence`, de-duplicated
//                 (case, spacing and surrounding punctuation ignored; a line contained in a
//                 longer one is dropped), most frequent first, at most `maxTextLines`, quoted;
//   what is said  the segment's speech, identical segments once, cut to `maxSpeechWords`.
// Parts are joined with "; ". A segment with none of them has no caption (nil).
// Example: `two people, a face; looks like a desk or a monitor; text "EXIT"; says "we'll be there at ten …"`.
import Foundation

/// Turns a segment into its caption line.
public struct CaptionComposer: Sendable {
    public var maxLabels = 2
    public var minLabelProbability = 0.2
    public var maxTextLines = 3
    public var minTextConfidence = 0.5
    /// Lines shorter than this (after normalising) are noise ("|", "a").
    public var minTextCharacters = 2
    public var maxSpeechWords = 12

    public init() {}

    /// The caption of `segment`, nil when it has nothing to say.
    public func caption(_ segment: Segment) -> String? {
        caption(segment.windows)
    }

    /// The caption of a run of windows, nil when it has nothing to say.
    public func caption(_ windows: [SegmentWindow]) -> String? {
        let parts = [who(windows), what(windows), written(windows), said(windows)].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    // MARK: - Rules

    func who(_ windows: [SegmentWindow]) -> String? {
        let people = Self.typicalAndMost(windows.compactMap(\.people))
        let faces = Self.typicalAndMost(windows.compactMap(\.faces))
        var out: [String] = []
        if let p = people, p.most > 0 {
            out.append(p.typical == p.most || p.typical == 0 && p.most == 1
                ? Self.count(p.most, "person", "people")
                : "\(Self.count(p.typical, "person", "people")), up to \(Self.number(p.most))")
        }
        if let f = faces, f.most > 0 { out.append(Self.count(max(f.typical, 1), "face", "faces")) }
        return out.isEmpty ? nil : out.joined(separator: ", ")
    }

    func what(_ windows: [SegmentWindow]) -> String? {
        var sum: [String: Double] = [:], first: [String: Int] = [:]
        var labelled = 0
        for w in windows where !w.labels.isEmpty {
            labelled += 1
            for l in w.labels {
                sum[l.name, default: 0] += l.probability
                if first[l.name] == nil { first[l.name] = first.count }
            }
        }
        guard labelled > 0 else { return nil }
        let best = sum.map { (name: $0.key, mean: $0.value / Double(labelled)) }
            .filter { $0.mean >= minLabelProbability }
            .sorted { $0.mean != $1.mean ? $0.mean > $1.mean : first[$0.name, default: 0] < first[$1.name, default: 0] }
            .prefix(maxLabels)
        guard !best.isEmpty else { return nil }
        return "looks like " + best.map { Self.withArticle(Self.readable($0.name)) }.joined(separator: " or ")
    }

    func written(_ windows: [SegmentWindow]) -> String? {
        var seen: [(key: String, text: String, count: Int, order: Int)] = []
        for w in windows {
            for line in w.text where line.confidence >= minTextConfidence {
                let key = Self.normalised(line.text)
                guard key.count >= minTextCharacters else { continue }
                if let i = seen.firstIndex(where: { $0.key == key }) { seen[i].count += 1 } else {
                    seen.append((key, line.text.trimmingCharacters(in: .whitespaces), 1, seen.count))
                }
            }
        }
        // A line inside a longer one (a partial read of the same sign) adds nothing.
        let kept = seen.filter { s in !seen.contains { $0.key != s.key && $0.key.count > s.key.count && $0.key.contains(s.key) } }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.order < $1.order }
            .prefix(maxTextLines)
        guard !kept.isEmpty else { return nil }
        return "text " + kept.map { "\"\($0.text)\"" }.joined(separator: ", ")
    }

    func said(_ windows: [SegmentWindow]) -> String? {
        var texts: [String] = []
        for w in windows { for t in w.speech where texts.last != t { texts.append(t) } }
        let words = texts.joined(separator: " ").split(whereSeparator: \.isWhitespace)
        guard !words.isEmpty else { return nil }
        let cut = words.count > maxSpeechWords
        return "says \"" + words.prefix(maxSpeechWords).joined(separator: " ") + (cut ? " …" : "") + "\""
    }

    // MARK: - Wording

    /// The most common value (ties: the larger) and the largest.
    static func typicalAndMost(_ xs: [Int]) -> (typical: Int, most: Int)? {
        guard let most = xs.max() else { return nil }
        var counts: [Int: Int] = [:]
        for x in xs { counts[x, default: 0] += 1 }
        let typical = counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key < $1.key }!.key
        return (typical, most)
    }

    static let numberWords = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]

    static func number(_ n: Int) -> String { n >= 0 && n < numberWords.count ? numberWords[n] : "\(n)" }

    /// "a person", "two people", "12 people".
    static func count(_ n: Int, _ one: String, _ many: String) -> String {
        n == 1 ? withArticle(one) : "\(number(n)) \(many)"
    }

    /// "a desk", "an envelope".
    static func withArticle(_ noun: String) -> String {
        guard let c = noun.first?.lowercased() else { return noun }
        return ("aeiou".contains(c) ? "an " : "a ") + noun
    }

    /// An ImageNet class name as prose: underscores become spaces and words are lower-cased
    /// unless they are proper names (a capital after the first letter is kept: "German
    /// shepherd", "Granny Smith"; a capitalised first word followed by more words is a name).
    static func readable(_ name: String) -> String {
        let words = name.replacingOccurrences(of: "_", with: " ").split(separator: " ").map(String.init)
        guard words.count == 1, let w = words.first, w.dropFirst().allSatisfy(\.isLowercase) else {
            return words.joined(separator: " ")
        }
        return w.lowercased()
    }

    /// The comparison form of an on-screen line: lower case, single spaces, no punctuation at the ends.
    static func normalised(_ text: String) -> String {
        text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
            .trimmingCharacters(in: .punctuationCharacters.union(.whitespaces))
    }
}
