// Token generation for one 30 s window, as CTranslate2's Whisper generate() does it:
// the prompt is run in one pass, then tokens are chosen step by step (greedy argmax, beam
// search, or temperature sampling) after the logits processors — suppress list,
// suppress-blank at the first step, and Whisper's timestamp rules (timestamps come in
// pairs, never decrease, the first one within max_initial_timestamp, and a timestamp is
// forced when their total probability beats every text token). Scores are the sum of the
// chosen tokens' log-probabilities after processing, <|endoftext|> included.
import Foundation
import Kernels

struct DecodeOptions {
    var beamSize = 1
    var patience: Float = 1
    var lengthPenalty: Float = 1
    var temperature: Float = 0
    var bestOf = 1
    var suppressTokens: [Int] = []
    var suppressBlank = true
    var withoutTimestamps = false
    var maxInitialTimestampIndex = 50
    var maxLength = 448
    /// Timestamp index of the decoded audio's start inside the encoder window: 0 for a window
    /// of its own; an utterance packed at 10 s has 500. The first timestamp must lie within
    /// `maxInitialTimestampIndex` of it, and the result's timestamps are shifted back by it,
    /// so they read as if the audio had started the window.
    var timestampOffsetIndex = 0
}

struct DecodeResult {
    var tokens: [Int]          // generated, without <|endoftext|>
    var tokenLogprobs: [Float] // one per step (the last may be <|endoftext|>)
    var sumLogprob: Float
    var noSpeechProb: Float
    /// faster-whisper's avg_logprob: sum / (tokens + 1).
    var avgLogprob: Float { sumLogprob / Float(tokens.count + 1) }
}

final class WhisperGenerator {
    let model: WhisperModel
    let tokenizer: WhisperTokenizer
    let state: WhisperDecoderState
    let vocab: Int
    private let logits: UnsafeMutablePointer<Float> // (slots + 2, vocab)
    private var rng = SystemRandomNumberGenerator()

    init(model: WhisperModel, tokenizer: WhisperTokenizer, slots: Int) {
        self.model = model
        self.tokenizer = tokenizer
        state = WhisperDecoderState(config: model.config, slots: slots)
        vocab = model.config.vocabularySize
        logits = .allocate(capacity: (slots + 2) * vocab)
    }

    deinit { logits.deallocate() }

    /// Sets up the cross-attention for a window's encoder output (1500, d), or for `rows`
    /// rows of it.
    func setEncoderOutput(_ encoded: UnsafePointer<Float>, rows: Int? = nil) {
        model.prepareCross(encoded: encoded, rows: rows, state: state)
    }

    /// Language probabilities from the logits after <|startoftranscript|>, softmax over the
    /// language tokens only (as CTranslate2's detect_language).
    func detectLanguage() -> [(id: Int, probability: Float)] {
        state.reset()
        model.decode(tokens: [tokenizer.sot], slots: [0], positions: [0], state: state, logitRows: [0], logits: logits)
        let ids = model.config.languageIDs.isEmpty ? Array(tokenizer.languageTokens.values).sorted() : model.config.languageIDs
        let ls = ids.map { logits[$0] }
        let m = ls.max() ?? 0
        let e = ls.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return zip(ids, e).map { ($0, $1 / s) }.sorted { $0.probability > $1.probability }
    }

    func generate(prompt: [Int], options o: DecodeOptions) -> DecodeResult {
        var r = generateInWindow(prompt: prompt, options: o)
        if o.timestampOffsetIndex > 0 {
            let tb = tokenizer.timestampBegin
            r.tokens = r.tokens.map { $0 > tb ? max($0 - o.timestampOffsetIndex, tb) : $0 }
        }
        return r
    }

    private func generateInWindow(prompt: [Int], options o: DecodeOptions) -> DecodeResult {
        let sotIndex = prompt.lastIndex(of: tokenizer.sot) ?? 0
        state.reset()
        // Prefill the prompt on slot 0; logits for the sot row (no-speech) and the last row.
        let p = prompt.count
        model.decode(tokens: prompt, slots: Array(repeating: 0, count: p), positions: Array(0..<p), state: state,
                     logitRows: [sotIndex, p - 1], logits: logits)
        let noSpeech = softmaxAt(logits, index: tokenizer.noSpeech)
        (logits).update(from: logits + vocab, count: vocab) // row 0 := last prompt row
        let maxSteps = min(o.maxLength / 2, o.maxLength - (p - 1))
        if o.temperature > 0 {
            return sample(prompt: prompt, options: o, maxSteps: maxSteps, noSpeech: noSpeech)
        }
        if o.beamSize <= 1 {
            return greedy(prompt: prompt, options: o, maxSteps: maxSteps, noSpeech: noSpeech)
        }
        return beam(prompt: prompt, options: o, maxSteps: maxSteps, noSpeech: noSpeech)
    }

    // MARK: - Search strategies

    private func greedy(prompt: [Int], options o: DecodeOptions, maxSteps: Int, noSpeech: Float) -> DecodeResult {
        var toks: [Int] = [], lps: [Float] = []
        var sum: Float = 0
        let p = prompt.count
        for step in 0..<maxSteps {
            let row = logits
            process(row, generated: toks, step: step, options: o)
            logSoftmax(row, count: vocab)
            let best = argmax(row, count: vocab) ?? tokenizer.eot
            sum += row[best]
            lps.append(row[best])
            if best == tokenizer.eot { break }
            toks.append(best)
            if step + 1 >= maxSteps { break }
            model.decode(tokens: [best], slots: [0], positions: [p + step], state: state, logitRows: [0], logits: logits)
        }
        return DecodeResult(tokens: toks, tokenLogprobs: lps, sumLogprob: sum, noSpeechProb: noSpeech)
    }

    /// best_of independent samples at `temperature`; the best by sum of log-probabilities / length^penalty.
    private func sample(prompt: [Int], options o: DecodeOptions, maxSteps: Int, noSpeech: Float) -> DecodeResult {
        let n = max(1, min(o.bestOf, state.slots))
        let p = prompt.count
        state.reorder(source: Array(repeating: 0, count: n), length: p)
        for i in 1..<max(n, 1) { (logits + i * vocab).update(from: logits, count: vocab) }
        var toks = [[Int]](repeating: [], count: n), lps = [[Float]](repeating: [], count: n)
        var sums = [Float](repeating: 0, count: n), done = [Bool](repeating: false, count: n)
        var scratch = [Float](repeating: 0, count: vocab)
        for step in 0..<maxSteps {
            var next: [Int] = [], slots: [Int] = []
            for i in 0..<n where !done[i] {
                let row = logits + i * vocab
                process(row, generated: toks[i], step: step, options: o)
                logSoftmax(row, count: vocab)
                // Sample from softmax(logprob / T).
                var m = -Float.infinity
                for v in 0..<vocab { scratch[v] = row[v] / o.temperature; m = max(m, scratch[v]) }
                var total: Double = 0
                for v in 0..<vocab { let e = Double(Foundation.exp(scratch[v] - m)); scratch[v] = Float(e); total += e }
                var r = Double.random(in: 0..<total, using: &rng)
                var chosen = tokenizer.eot
                for v in 0..<vocab where scratch[v] > 0 { r -= Double(scratch[v]); if r < 0 { chosen = v; break } }
                sums[i] += row[chosen]
                lps[i].append(row[chosen])
                if chosen == tokenizer.eot || step + 1 >= maxSteps { done[i] = true; if chosen != tokenizer.eot { toks[i].append(chosen) }; continue }
                toks[i].append(chosen)
                next.append(chosen); slots.append(i)
            }
            if next.isEmpty { break }
            model.decode(tokens: next, slots: slots, positions: Array(repeating: p + step, count: next.count), state: state,
                         logitRows: Array(0..<next.count), logits: logits + n * 0)
            // Move each row's logits to its slot row (rows are in slot order, so copy backwards).
            for (r, s) in zip(slots.indices, slots).reversed() where r != s { (logits + s * vocab).update(from: logits + r * vocab, count: vocab) }
        }
        let best = (0..<n).max { a, b in
            sums[a] / pow(Float(max(toks[a].count, 1)), o.lengthPenalty) < sums[b] / pow(Float(max(toks[b].count, 1)), o.lengthPenalty)
        } ?? 0
        return DecodeResult(tokens: toks[best], tokenLogprobs: lps[best], sumLogprob: sums[best], noSpeechProb: noSpeech)
    }

    /// Beam search as CTranslate2 runs it: the best 2·beam continuations over all beams
    /// (score + log-probability) are ranked; of the first `beam` of them, one that ends in
    /// <|endoftext|> is registered as a finished hypothesis and its place taken by the next
    /// unfinished runner-up. Search stops once beam × patience hypotheses have finished
    /// (CTranslate2 exits early only without a length penalty, and faster-whisper uses 1)
    /// or at the length limit; the winner maximises score / length^penalty.
    private func beam(prompt: [Int], options o: DecodeOptions, maxSteps: Int, noSpeech: Float) -> DecodeResult {
        let k = min(o.beamSize, state.slots)
        let p = prompt.count
        struct Hyp { var tokens: [Int]; var lps: [Float]; var score: Float }
        var beams = [Hyp(tokens: [], lps: [], score: 0)]
        var finished: [Hyp] = []
        let maxFinished = max(1, Int((Float(k) * o.patience).rounded()))
        for step in 0..<maxSteps {
            var candidates: [(hyp: Hyp, parent: Int, token: Int)] = []
            for (i, b) in beams.enumerated() {
                let row = logits + i * vocab
                process(row, generated: b.tokens, step: step, options: o)
                logSoftmax(row, count: vocab)
                for t in topK(row, count: vocab, k: 2 * k) {
                    var h = b
                    h.score += row[t]; h.lps.append(row[t])
                    if t != tokenizer.eot { h.tokens.append(t) }
                    candidates.append((h, i, t))
                }
            }
            candidates.sort { $0.hyp.score > $1.hyp.score }
            candidates = Array(candidates.prefix(2 * k))
            let lastStep = step + 1 >= maxSteps
            var next: [(hyp: Hyp, parent: Int, token: Int)] = []
            var secondary = k
            for kk in 0..<min(k, candidates.count) {
                var chosen = candidates[kk]
                if chosen.token == tokenizer.eot || lastStep {
                    finished.append(chosen.hyp)
                    while secondary < candidates.count {
                        let c = candidates[secondary]
                        secondary += 1
                        if c.token != tokenizer.eot { chosen = c; break }
                    }
                }
                if chosen.token != tokenizer.eot { next.append(chosen) }
            }
            if lastStep || finished.count >= maxFinished || next.isEmpty { break }
            state.reorder(source: next.map(\.parent), length: p + step)
            beams = next.map(\.hyp)
            model.decode(tokens: next.map(\.token), slots: Array(0..<next.count), positions: Array(repeating: p + step, count: next.count),
                         state: state, logitRows: Array(0..<next.count), logits: logits)
        }
        let pool = finished.isEmpty ? beams : finished
        let best = pool.max { a, b in
            a.score / pow(Float(max(a.tokens.count, 1)), o.lengthPenalty) < b.score / pow(Float(max(b.tokens.count, 1)), o.lengthPenalty)
        }!
        return DecodeResult(tokens: best.tokens, tokenLogprobs: best.lps, sumLogprob: best.score, noSpeechProb: noSpeech)
    }

    // MARK: - Logits processors

    /// Applies the suppress lists and timestamp rules to one row of logits in place.
    func process(_ row: UnsafeMutablePointer<Float>, generated: [Int], step: Int, options o: DecodeOptions) {
        let ninf = -Float.infinity
        for t in o.suppressTokens where t >= 0 && t < vocab { row[t] = ninf }
        if step == 0 && o.suppressBlank {
            for t in model.config.suppressIDsBegin where t < vocab { row[t] = ninf }
        }
        guard !o.withoutTimestamps else { return }
        let tb = tokenizer.timestampBegin, eot = tokenizer.eot, end = vocab - 1
        row[tokenizer.noTimestamps] = ninf
        var checkTimestampProbability = false
        if step == 0 {
            for t in 0..<tb { row[t] = ninf }
            let first = min(tb + o.timestampOffsetIndex, end + 1)
            if first > tb { for t in tb..<first { row[t] = ninf } }
            let maxInitial = first + o.maxInitialTimestampIndex
            if maxInitial + 1 <= end { for t in (maxInitial + 1)...end { row[t] = ninf } }
        } else if let last = generated.last {
            if last >= tb {
                let penultimate = generated.count >= 2 ? generated[generated.count - 2] : last
                if penultimate >= tb {
                    for t in tb...end { row[t] = ninf }
                } else {
                    for t in 0..<eot { row[t] = ninf }
                    for t in tb..<last { row[t] = ninf }
                    checkTimestampProbability = true
                }
            } else {
                checkTimestampProbability = true
                if let lastTs = generated.last(where: { $0 >= tb }) {
                    for t in tb...lastTs { row[t] = ninf }
                }
            }
        }
        if checkTimestampProbability {
            // Compare in log-probabilities of the rows as processed so far.
            let lse = logSumExp(row, count: vocab)
            let tsLse = logSumExp(row + tb, count: vocab - tb) - lse
            let maxText = maxValue(row, count: tb) - lse
            if tsLse > maxText { for t in 0..<tb { row[t] = ninf } }
        }
    }

    // MARK: - Helpers

    private func softmaxAt(_ row: UnsafePointer<Float>, index: Int) -> Float {
        let lse = logSumExp(row, count: vocab)
        return Foundation.exp(row[index] - lse)
    }

    private func logSoftmax(_ row: UnsafeMutablePointer<Float>, count: Int) {
        let lse = logSumExp(row, count: count)
        for i in 0..<count { row[i] -= lse }
    }

    private func topK(_ row: UnsafePointer<Float>, count: Int, k: Int) -> [Int] {
        var best: [(Float, Int)] = []
        for i in 0..<count where row[i] > -Float.infinity {
            if best.count < k {
                best.append((row[i], i)); best.sort { $0.0 > $1.0 }
            } else if row[i] > best[k - 1].0 {
                best[k - 1] = (row[i], i); best.sort { $0.0 > $1.0 }
            }
        }
        return best.map(\.1)
    }
}
