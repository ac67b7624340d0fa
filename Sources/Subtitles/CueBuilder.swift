// Turns transcript segments into subtitle cues under `CueRules`.
//
// Algorithm (one pass over the words, then a timing pass):
// 1. Words (or estimated word spans when the segment has no word times) are appended to the
//    current cue. A silence longer than `maxPauseInCueMs` before a word ends the cue first.
// 2. When the cue no longer fits (more than `maxLines` lines or longer than `maxDurationMs`),
//    it is split at the best earlier point: a sentence end, a clause end or a pause, else just
//    before the word that overflowed. After a sentence end the cue is closed.
// 3. Timing: cues longer than `maxDurationMs` (a single very long word) are cut, cues never
//    overlap (a cue starts no earlier than the previous one ends), and cues shorter than
//    `minDurationMs` are extended into the following gap, then backwards into the preceding
//    gap, never over a neighbour. Dense speech can leave a cue shorter than the minimum rather
//    than overlapping.
// Guarantees: no empty cue, cues in time order, start < end, no overlap.
public struct CueBuilder: Sendable {
    public var rules: CueRules

    public init(rules: CueRules = .broadcast) throws(CueRulesError) {
        try rules.validate()
        self.rules = rules
    }

    public func cues(for transcript: Transcript) -> [Cue] { cues(for: transcript.segments) }

    public func cues(for segments: [TranscriptSegment]) -> [Cue] {
        let tokens = segments.flatMap {
            CueToken.tokens(of: $0, maxCharactersPerLine: rules.maxCharactersPerLine)
        }
        return timed(group(tokens))
    }

    // MARK: - Grouping words into cues

    private func group(_ tokens: [CueToken]) -> [[CueToken]] {
        var groups: [[CueToken]] = []
        var current: [CueToken] = []
        func close() {
            if !current.isEmpty { groups.append(current) }
            current = []
        }
        for token in tokens {
            if let last = current.last, token.startMs - last.endMs > rules.maxPauseInCueMs {
                close()
            }
            current.append(token)
            while current.count > 1 && !fits(current[...]) {
                let k = bestSplit(current)
                groups.append(Array(current[..<k]))
                current = Array(current[k...])
            }
            if rules.splitAtSentenceEnds && token.endsSentence { close() }
        }
        close()
        return groups
    }

    private func fits(_ tokens: ArraySlice<CueToken>) -> Bool {
        guard let first = tokens.first, let last = tokens.last else { return true }
        if tokens.count > 1 && last.endMs - first.startMs > rules.maxDurationMs { return false }
        return LineBreaker.minimumLineCount(Array(tokens), maxCharacters: rules.maxCharactersPerLine)
            <= rules.maxLines
    }

    /// How many leading tokens of an overfull cue to emit as one cue (1 ..< count). Prefers the
    /// latest sentence end, clause end or pause whose first part fills at least half a line;
    /// otherwise the longest prefix that fits.
    private func bestSplit(_ tokens: [CueToken]) -> Int {
        var best = 1
        var bestScore = -1
        let halfLine = rules.maxCharactersPerLine / 2
        for k in 1..<tokens.count {
            let head = tokens[..<k]
            guard k == 1 || fits(head) else { break }
            var score = 0
            if LineBreaker.length(head) >= halfLine {
                let left = tokens[k - 1]
                if left.endsSentence { score += 3 } else if left.endsClause { score += 2 }
                if tokens[k].startMs - left.endMs >= rules.preferredPauseMs { score += 2 }
            }
            if score >= bestScore {
                best = k
                bestScore = score
            }
        }
        return best
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
