// Word timestamps from cross-attention, as faster-whisper / CTranslate2 compute them: the
// window's text tokens are run through the decoder once (sot sequence, <|notimestamps|>,
// text, <|endoftext|>); the alignment heads' cross-attention logits over the window's real
// frames are softmaxed, standardised over tokens, median-filtered (width 7) over time and
// averaged over heads; dynamic time warping on the negated matrix maps tokens to encoder
// frames (20 ms). Tokens are grouped into words (at spaces, or at Unicode boundaries for
// zh/ja/th/lo/my/yue), punctuation merged into neighbours, and the reference's duration
// heuristics applied. Word probability = mean probability of its tokens.
import Foundation
import Kernels
import SpokenWords

struct WordAligner {
    let transcriber: WhisperTranscriber
    /// The decoder state holding the window's cross-attention keys and values.
    let state: WhisperDecoderState
    static let medianFilterWidth = 7
    static let tokensPerSecond = 50.0

    private struct Timing { var word: String; var tokens: [Int]; var start: Double; var end: Double; var probability: Double }

    /// Words per piece; updates the pieces' start/end as the reference does and returns
    /// the new last-speech timestamp.
    func align(pieces: inout [WhisperTranscriber.Piece], seekFrames: Int, numFrames: Int, sotSequence: [Int], language: String,
               options o: TranscriptionOptions, lastSpeechTimestamp: inout Double) -> [[TranscriptWord]] {
        let tok = transcriber.tokenizer
        let perPiece = pieces.map { $0.tokens.filter { $0 < tok.eot } }
        let text = perPiece.flatMap { $0 }
        var result = [[TranscriptWord]](repeating: [], count: pieces.count)
        guard !text.isEmpty else { return result }
        var alignment = findAlignment(text: text, sotSequence: sotSequence, numFrames: numFrames, language: language)
        let durations = alignment.map { $0.end - $0.start }.filter { $0 != 0 }.sorted()
        var median = 0.0
        if !durations.isEmpty {
            let c = durations.count
            median = c % 2 == 1 ? durations[c / 2] : (durations[c / 2 - 1] + durations[c / 2]) / 2
        }
        median = min(0.7, median)
        let maxDuration = median * 2
        if !durations.isEmpty {
            let sentenceEnd = ".。!！?？"
            for i in 1..<max(alignment.count, 1) where alignment[i].end - alignment[i].start > maxDuration {
                if sentenceEnd.contains(alignment[i].word) && !alignment[i].word.isEmpty {
                    alignment[i].end = alignment[i].start + maxDuration
                } else if sentenceEnd.contains(alignment[i - 1].word) && !alignment[i - 1].word.isEmpty {
                    alignment[i].start = alignment[i].end - maxDuration
                }
            }
        }
        Self.mergePunctuations(&alignment, prepended: o.prependPunctuations, appended: o.appendPunctuations)
        let timeOffset = Double(seekFrames) / Double(WhisperTranscriber.framesPerSecond)
        var wordIndex = 0
        for (pi, piece) in pieces.enumerated() {
            var saved = 0
            var words: [Timing] = []
            while wordIndex < alignment.count && saved < perPiece[pi].count {
                let t = alignment[wordIndex]
                if !t.word.isEmpty {
                    words.append(Timing(word: t.word, tokens: t.tokens, start: Self.round2(timeOffset + t.start),
                                        end: Self.round2(timeOffset + t.end), probability: t.probability))
                }
                saved += t.tokens.count
                wordIndex += 1
            }
            var start = Double(piece.start), end = Double(piece.end)
            if !words.isEmpty {
                if words[0].end - lastSpeechTimestamp > median * 4
                    && (words[0].end - words[0].start > maxDuration || (words.count > 1 && words[1].end - words[0].start > maxDuration * 2)) {
                    if words.count > 1 && words[1].end - words[1].start > maxDuration {
                        let boundary = max(words[1].end / 2, words[1].end - maxDuration)
                        words[0].end = boundary; words[1].start = boundary
                    }
                    words[0].start = max(0, words[0].end - maxDuration)
                }
                if start < words[0].end && start - 0.5 > words[0].start {
                    words[0].start = max(0, min(words[0].end - median, start))
                } else {
                    start = words[0].start
                }
                let last = words.count - 1
                if end > words[last].start && end + 0.5 < words[last].end {
                    words[last].end = max(words[last].start + median, end)
                } else {
                    end = words[last].end
                }
                lastSpeechTimestamp = end
            }
            pieces[pi].start = Float(start); pieces[pi].end = Float(end)
            result[pi] = words.map {
                TranscriptWord(startMs: WhisperTranscriber.ms(Float($0.start)), endMs: WhisperTranscriber.ms(Float($0.end)),
                               word: $0.word, probability: $0.probability)
            }
        }
        return result
    }

    // MARK: - Alignment

    private func findAlignment(text: [Int], sotSequence: [Int], numFrames: Int, language: String) -> [Timing] {
        let tok = transcriber.tokenizer, model = transcriber.model
        let c = model.config, d = c.dModel, heads = c.decoderHeads, hd = d / heads, n = c.encoderPositions
        let input = sotSequence + [tok.noTimestamps] + text + [tok.eot]
        let rows = input.count, sotLen = sotSequence.count
        let frames = min(numFrames / 2, n)
        guard frames > 0, rows <= state.capacity else { return [] }
        let alignHeads = c.alignmentHeads.filter { $0.layer < c.decoderLayers && $0.head < heads }
        guard !alignHeads.isEmpty else { return [] }
        var weights = [Float](repeating: 0, count: alignHeads.count * rows * frames) // (alignHeads, rows, frames)
        let scale = 1 / Float(hd).squareRoot()
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: max(text.count, 1) * c.vocabularySize)
        defer { logits.deallocate() }
        state.reset()
        weights.withUnsafeMutableBufferPointer { wbuf in
            let w = wbuf.baseAddress!
            model.decode(tokens: input, slots: Array(repeating: 0, count: rows), positions: Array(0..<rows), state: state,
                         logitRows: Array(sotLen..<(sotLen + text.count)), logits: logits) { layer, queries, r in
                let ckv = state.crossKV + layer * n * 2 * d
                for (i, ah) in alignHeads.enumerated() where ah.layer == layer {
                    // scores (rows, frames) = scale · q_h k_hᵀ over the window's real frames
                    sgemm(transB: true, m: r, n: frames, k: hd, alpha: scale, a: queries + ah.head * hd, lda: d,
                          b: ckv + ah.head * hd, ldb: 2 * d, c: w + i * rows * frames, ldc: frames, pool: model.pool)
                    softmax(w + i * rows * frames, rows: r, cols: frames, pool: model.pool)
                }
            }
        }
        // Standardise over tokens (per head, per frame), median filter over frames, mean over heads.
        var matrix = [Float](repeating: 0, count: (text.count + 1) * frames) // (text + 1, frames)
        var filtered = [Float](repeating: 0, count: frames)
        var window = [Float](repeating: 0, count: Self.medianFilterWidth)
        let rank = Self.medianFilterWidth / 2
        for i in 0..<alignHeads.count {
            let base = i * rows * frames
            for f in 0..<frames {
                var mean = 0.0
                for t in 0..<rows { mean += Double(weights[base + t * frames + f]) }
                mean /= Double(rows)
                var v = 0.0
                for t in 0..<rows { let x = Double(weights[base + t * frames + f]) - mean; v += x * x }
                let inv = 1 / (v / Double(rows)).squareRoot()
                for t in 0..<rows { weights[base + t * frames + f] = Float((Double(weights[base + t * frames + f]) - mean) * inv) }
            }
            for t in sotLen...(sotLen + text.count) {
                let row = base + t * frames
                if frames > rank {
                    for j in 0..<frames {
                        for k in -rank...rank {
                            var read = abs(j + k)
                            if read >= frames { read = frames - (read - frames) - 2 }
                            window[k + rank] = weights[row + read]
                        }
                        window.sort()
                        filtered[j] = window[rank]
                    }
                } else {
                    for j in 0..<frames { filtered[j] = weights[row + j] }
                }
                let out = (t - sotLen) * frames
                for j in 0..<frames { matrix[out + j] += filtered[j] / Float(alignHeads.count) }
            }
        }
        let path = Self.negativeDTW(matrix, rows: text.count + 1, cols: frames)
        // Probability of each text token given the tokens before it (softmax over text vocabulary).
        var probs: [Double] = []
        for t in 0..<text.count {
            let row = logits + t * c.vocabularySize
            let lse = logSumExp(row, count: tok.eot)
            probs.append(Double(Foundation.exp(row[text[t]] - lse)))
        }
        let (words, wordTokens) = splitToWordTokens(text + [tok.eot], language: language)
        guard wordTokens.count > 1 else { return [] }
        var boundaries = [0]
        for wt in wordTokens.dropLast() { boundaries.append(boundaries.last! + wt.count) }
        var jumpTimes: [Double] = []
        for (k, p) in path.enumerated() where k == 0 || p.0 != path[k - 1].0 {
            jumpTimes.append(Double(p.1) / Self.tokensPerSecond)
        }
        var out: [Timing] = []
        for w in 0..<(boundaries.count - 1) {
            let i = boundaries[w], j = boundaries[w + 1]
            guard j < jumpTimes.count else { break }
            let slice = probs[min(i, probs.count)..<min(j, probs.count)]
            let prob = slice.isEmpty ? 0 : slice.reduce(0, +) / Double(slice.count)
            out.append(Timing(word: words[w], tokens: wordTokens[w], start: jumpTimes[i], end: jumpTimes[j], probability: prob))
        }
        return out
    }

    /// DTW on -x (rows, cols) with CTranslate2's tie-breaking; returns (row, col) pairs.
    static func negativeDTW(_ x: [Float], rows n: Int, cols m: Int) -> [(Int, Int)] {
        var cost = [Float](repeating: .infinity, count: (n + 1) * (m + 1))
        var trace = [Int8](repeating: -1, count: (n + 1) * (m + 1))
        cost[0] = 0
        let w = m + 1
        for j in 1..<(m + 1) {
            for i in 1..<(n + 1) {
                let c0 = cost[(i - 1) * w + j - 1], c1 = cost[(i - 1) * w + j], c2 = cost[i * w + j - 1]
                let c: Float, t: Int8
                if c0 < c1 && c0 < c2 { c = c0; t = 0 } else if c1 < c0 && c1 < c2 { c = c1; t = 1 } else { c = c2; t = 2 }
                cost[i * w + j] = -x[(i - 1) * m + (j - 1)] + c
                trace[i * w + j] = t
            }
        }
        for k in 0...m { trace[k] = 2 }
        for k in 0...n { trace[k * w] = 1 }
        var i = n, j = m
        var path: [(Int, Int)] = []
        while i > 0 || j > 0 {
            path.append((i - 1, j - 1))
            switch trace[i * w + j] {
            case 0: i -= 1; j -= 1
            case 1: i -= 1
            default: j -= 1
            }
        }
        return path.reversed()
    }

    // MARK: - Words

    func splitToWordTokens(_ tokens: [Int], language: String) -> ([String], [[Int]]) {
        if ["zh", "ja", "th", "lo", "my", "yue"].contains(language) { return splitOnUnicode(tokens) }
        let (subwords, subTokens) = splitOnUnicode(tokens)
        var words: [String] = [], wordTokens: [[Int]] = []
        let punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
        for (sw, st) in zip(subwords, subTokens) {
            let special = st[0] >= transcriber.tokenizer.eot
            let withSpace = sw.hasPrefix(" ")
            let stripped = sw.trimmingCharacters(in: .whitespacesAndNewlines)
            let isPunct = stripped.isEmpty || punctuation.contains(stripped)
            if special || withSpace || isPunct || words.isEmpty {
                words.append(sw); wordTokens.append(st)
            } else {
                words[words.count - 1] += sw; wordTokens[wordTokens.count - 1] += st
            }
        }
        return (words, wordTokens)
    }

    func splitOnUnicode(_ tokens: [Int]) -> ([String], [[Int]]) {
        let tok = transcriber.tokenizer
        let full = Array(tok.decodeWithTimestamps(tokens).unicodeScalars)
        let replacement: Unicode.Scalar = "\u{FFFD}"
        var words: [String] = [], wordTokens: [[Int]] = []
        var current: [Int] = []
        var offset = 0
        for t in tokens {
            current.append(t)
            let decoded = tok.decodeWithTimestamps(current)
            let scalars = Array(decoded.unicodeScalars)
            let idx = scalars.firstIndex(of: replacement).map { $0 + offset }
            if idx == nil || (idx! < full.count && full[idx!] == replacement) {
                words.append(decoded); wordTokens.append(current)
                current = []
                offset += scalars.count
            }
        }
        return (words, wordTokens)
    }

    private static func mergePunctuations(_ a: inout [Timing], prepended: String, appended: String) {
        guard a.count > 1 else { return }
        var i = a.count - 2, j = a.count - 1
        while i >= 0 {
            let stripped = a[i].word.trimmingCharacters(in: .whitespacesAndNewlines)
            if a[i].word.hasPrefix(" ") && (stripped.isEmpty || prepended.contains(stripped)) {
                a[j].word = a[i].word + a[j].word
                a[j].tokens = a[i].tokens + a[j].tokens
                a[i].word = ""; a[i].tokens = []
            } else {
                j = i
            }
            i -= 1
        }
        i = 0; j = 1
        while j < a.count {
            if !a[i].word.hasSuffix(" ") && (a[j].word.isEmpty || appended.contains(a[j].word)) {
                a[i].word += a[j].word
                a[i].tokens += a[j].tokens
                a[j].word = ""; a[j].tokens = []
            } else {
                i = j
            }
            j += 1
        }
    }

    private static func round2(_ x: Double) -> Double { (x * 100).rounded(.toNearestOrEven) / 100 }
}
