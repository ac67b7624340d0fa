// Turns transcript segments into subtitle cues under `CueRules`.
//
// Algorithm:
// 1. Words (or estimated word spans when the segment has no word times) are cut into runs at
//    the hard boundaries: a silence longer than `maxPauseInCueMs` and a sentence end.
// 2. Each run is cut into cues by a shortest-path search over the word boundaries: every cue
//    must fit (`maxLines` lines of `maxCharactersPerLine`, at most `maxDurationMs`), and the
//    cost prefers fewer, evenly filled cues that end at clause marks or pauses, else before a
//    word that opens a clause ("and", "which", "how": English subtitle practice). A greedy fill
//    was rejected: it strands one- or two-word stubs ("you,") at the start of the next cue.
// 3. Timing: cues longer than `maxDurationMs` (a single very long word) are cut, cues never
//    overlap (a cue starts no earlier than the previous one ends), and cues shorter than
//    `minDurationMs` are extended into the following gap, then backwards into the preceding
//    gap, never over a neighbour. Dense speech can leave a cue shorter than the minimum rather
//    than overlapping.
// Guarantees: no empty cue, cues in time order, start < end, no overlap.
import SpokenWords

public struct CueBuilder: Sendable {
    public var rules: CueRules

    public init(rules: CueRules = .broadcast) throws(CueRulesError) {
        try rules.validate()
        self.rules = rules
    }

    public func cues(for transcript: Transcript) -> [Cue] { cues(for: transcript.segments) }

    public func cues(for segments: [TranscriptSegment]) -> [Cue] {
        // Pieces are glued within a segment only, and a segment whose text lacks the leading
        // space Whisper writes gets one, so it never fuses with the previous segment's last word.
        let tokens = segments.flatMap { segment -> [CueToken] in
            var tokens = CueToken.gluingWordPieces(
                CueToken.tokens(of: segment, maxCharactersPerLine: rules.maxCharactersPerLine))
            if let first = tokens.first?.text.first, !first.isWhitespace, !CueToken.isSpaceless(first) {
                tokens[0].text = " " + tokens[0].text
            }
            return tokens
        }
        return timed(group(tokens))
    }

    // MARK: - Grouping words into cues

    /// Hard boundaries first (a pause over `maxPauseInCueMs`, a sentence end), then each run
    /// between them is cut into the cheapest sequence of cues that fit.
    private func group(_ tokens: [CueToken]) -> [[CueToken]] {
        var groups: [[CueToken]] = []
        var run: [CueToken] = []
        for token in tokens {
            if let last = run.last, token.startMs - last.endMs > rules.maxPauseInCueMs {
                groups += segmentRun(run)
                run = []
            }
            run.append(token)
            if rules.splitAtSentenceEnds && token.endsSentence {
                groups += segmentRun(run)
                run = []
            }
        }
        groups += segmentRun(run)
        return groups
    }

    /// Cost of one cue: every cue costs `perCue` (fewer, fuller cues are better), a cue that
    /// ends inside a run pays for the quality of its break point (a clause end or a pause is
    /// cheap, mid-phrase is dear), and a cue pays for unused room so that text is spread
    /// evenly rather than leaving a stub.
    private enum Cost {
        static let perCue = 10.0
        static let breakAtSentenceEnd = 0.0
        static let breakAtClauseEndWithPause = 1.0
        static let breakAtClauseEnd = 3.0
        static let breakAtPause = 5.0
        static let breakBeforeClause = 15.0
        static let breakMidPhrase = 25.0  // dearer than one more cue
        static let emptyRoom = 8.0  // × (unused fraction of the cue's characters)²
    }

    /// Shortest-path segmentation of one run: best[j] = cheapest layout of tokens[0..<j].
    private func segmentRun(_ run: [CueToken]) -> [[CueToken]] {
        guard !run.isEmpty else { return [] }
        let capacity = Double(rules.maxCharactersPerLine * rules.maxLines)
        var best = [0.0] + Array(repeating: Double.infinity, count: run.count)
        var from = Array(repeating: 0, count: run.count + 1)
        for j in 1...run.count {
            // Longer cues ending at j only get worse once one does not fit, so stop there.
            for i in stride(from: j - 1, through: 0, by: -1) {
                let cue = run[i..<j]
                guard j - i == 1 || fits(cue) else { break }
                let unused = max(0, 1 - Double(LineBreaker.length(cue)) / capacity)
                var cost = best[i] + Cost.perCue + Cost.emptyRoom * unused * unused
                if j < run.count { cost += breakCost(after: run[j - 1], before: run[j]) }
                if cost < best[j] {
                    best[j] = cost
                    from[j] = i
                }
            }
        }
        var groups: [[CueToken]] = []
        var j = run.count
        while j > 0 {
            groups.append(Array(run[from[j]..<j]))
            j = from[j]
        }
        return groups.reversed()
    }

    private func breakCost(after left: CueToken, before right: CueToken) -> Double {
        let pause = right.startMs - left.endMs >= rules.preferredPauseMs
        if left.endsSentence { return Cost.breakAtSentenceEnd }
        if left.endsClause { return pause ? Cost.breakAtClauseEndWithPause : Cost.breakAtClauseEnd }
        if pause { return Cost.breakAtPause }
        return right.opensClause ? Cost.breakBeforeClause : Cost.breakMidPhrase
    }

    private func fits(_ tokens: ArraySlice<CueToken>) -> Bool {
        guard let first = tokens.first, let last = tokens.last else { return true }
        if tokens.count > 1 && last.endMs - first.startMs > rules.maxDurationMs { return false }
        return LineBreaker.minimumLineCount(Array(tokens), maxCharacters: rules.maxCharactersPerLine)
            <= rules.maxLines
    }

    // MARK: - Timing

    private func timed(_ groups: [[CueToken]]) -> [Cue] {
        var cues = groups.compactMap { group -> Cue? in
            guard let first = group.first, let last = group.last else { return nil }
            let lines = LineBreaker.lines(group, maxCharacters: rules.maxCharactersPerLine)
            guard !lines.isEmpty else { return nil }
            return Cue(startMs: max(0, first.startMs), endMs: last.endMs, lines: lines)
        }
        // Raw starts bound how far a short cue may grow forward.
        let rawStarts = cues.map(\.startMs)
        var previousEnd: Int64 = 0
        for i in cues.indices {
            var cue = cues[i]
            cue.startMs = max(cue.startMs, previousEnd)
            cue.endMs = min(max(cue.endMs, cue.startMs + 1), cue.startMs + rules.maxDurationMs)
            if cue.durationMs < rules.minDurationMs {
                let nextStart = i + 1 < cues.count ? max(rawStarts[i + 1], cue.endMs) : Int64.max
                cue.endMs = min(cue.startMs + rules.minDurationMs, nextStart)
            }
            if cue.durationMs < rules.minDurationMs {
                cue.startMs = max(previousEnd, cue.endMs - rules.minDurationMs)
            }
            cues[i] = cue
            previousEnd = cue.endMs
        }
        return cues
    }
}
