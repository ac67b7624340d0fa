// Breaks the words of one cue into display lines: the fewest lines that respect the
// per-line limit, then, among the ways to break into that many lines, the most balanced one,
// preferring breaks after punctuation (the "balanced line breaks" broadcast guidelines ask for;
// a greedy fill would leave "the" dangling on a long first line). Lengths are in grapheme
// clusters. Works on token texts that keep their leading spaces; lines are trimmed.
enum LineBreaker {
    /// The minimal number of lines for `tokens` at `maxCharacters` per line (greedy fill is
    /// optimal for the count). A token longer than a line occupies a line of its own.
    static func minimumLineCount(_ tokens: [CueToken], maxCharacters: Int) -> Int {
        guard !tokens.isEmpty else { return 0 }
        var lines = 1
        var start = 0
        for i in 1..<tokens.count where length(tokens[start...i]) > maxCharacters {
            lines += 1
            start = i
        }
        return lines
    }

    /// Lines for `tokens`: `minimumLineCount` lines, balanced by dynamic programming over the
    /// break positions. Cost = Σ (lineLength − mean)² − bonus for each break after punctuation.
    static func lines(_ tokens: [CueToken], maxCharacters: Int) -> [String] {
        let n = tokens.count
        let lineCount = minimumLineCount(tokens, maxCharacters: maxCharacters)
        guard lineCount > 1 else { return tokens.isEmpty ? [] : [join(tokens[...])] }
        let mean = Double(length(tokens[...])) / Double(lineCount)
        let punctuationBonus = 25.0  // tolerates ~5 characters of imbalance for a clause break
        // best[k][j]: minimal cost of laying tokens[0..<j] on k lines; from[k][j]: start of line k.
        var best = Array(repeating: Array(repeating: Double.infinity, count: n + 1), count: lineCount + 1)
        var from = Array(repeating: Array(repeating: -1, count: n + 1), count: lineCount + 1)
        best[0][0] = 0
        for k in 1...lineCount {
            for j in 1...n {
                for i in 0..<j where best[k - 1][i].isFinite {
                    let line = tokens[i..<j]
                    let len = length(line)
                    // A single over-long token may exceed the limit on a line of its own.
                    guard len <= maxCharacters || j - i == 1 else { continue }
                    var cost = best[k - 1][i] + (Double(len) - mean) * (Double(len) - mean)
                    if j < n, tokens[j - 1].endsClause || tokens[j - 1].endsSentence {
                        cost -= punctuationBonus
                    }
                    if cost < best[k][j] {
                        best[k][j] = cost
                        from[k][j] = i
                    }
                }
            }
        }
        var result: [String] = []
        var j = n
        for k in stride(from: lineCount, to: 0, by: -1) {
            let i = from[k][j]
            result.append(join(tokens[i..<j]))
            j = i
        }
        return result.reversed()
    }

    static func join(_ tokens: ArraySlice<CueToken>) -> String {
        tokens.map(\.text).joined().trimmingWhitespace
    }

    static func length(_ tokens: ArraySlice<CueToken>) -> Int { join(tokens).count }
}
