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
    /// Tokens to generate at most, when fewer than `maxLength` allows (TokenLimit).
    var maxTokens: Int?
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
    let logits: UnsafeMutablePointer<Float> // (slots + 2, vocab)
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
    /// rows of it, or for rows that each stand for `repeats` of a window's rows.
    func setEncoderOutput(_ encoded: UnsafePointer<Float>, rows: Int? = nil, repeats: [Int]? = nil) {
        model.prepareCross(encoded: encoded, rows: rows, repeats: repeats, state: state)
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


    /// Runs the prompt on slot 0: logits of its last row in row 0, and the no-speech
    /// probability (from the <|startoftranscript|> row).
    private func prefill(prompt: [Int]) -> Float {
        let sotIndex = prompt.lastIndex(of: tokenizer.sot) ?? 0
        state.reset()
        let p = prompt.count
        model.decode(tokens: prompt, slots: Array(repeating: 0, count: p), positions: Array(0..<p), state: state,
                     logitRows: [sotIndex, p - 1], logits: logits)
        let noSpeech = softmaxAt(logits, index: tokenizer.noSpeech)
        (logits).update(from: logits + vocab, count: vocab) // row 0 := last prompt row
        return noSpeech
    }

    private static func maxSteps(prompt: [Int], options o: DecodeOptions) -> Int {
        min(o.maxLength / 2, o.maxLength - (prompt.count - 1), o.maxTokens ?? .max)
    }

    func generate(prompt: [Int], options o: DecodeOptions) -> DecodeResult {
        let noSpeech = prefill(prompt: prompt)
        let maxSteps = Self.maxSteps(prompt: prompt, options: o)
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

    /// Beam search as CTranslate2 runs it (`BeamSearch`).
    private func beam(prompt: [Int], options o: DecodeOptions, maxSteps: Int, noSpeech: Float) -> DecodeResult {
        var search = BeamSearch(beams: min(o.beamSize, state.slots), promptLength: prompt.count, maxSteps: maxSteps,
                                options: o, noSpeech: noSpeech)
        while let next = search.advance(logits: logits, generator: self) {
            model.decode(tokens: next.tokens, slots: Array(0..<next.tokens.count),
                         positions: Array(repeating: next.position, count: next.tokens.count),
                         state: state, logitRows: Array(0..<next.tokens.count), logits: logits)
        }
        return search.result
    }

    /// Beam searches of several windows at once, one per generator (each its own decoder
    /// state: utterances packed in one encoder window), on the same options but their own
    /// prompts: each step's decoder pass runs for all unfinished searches together
    /// (`WhisperModel.decode(parts:)`). Each result equals `generate(prompt:options:)` for
    /// that generator alone. Needs beam search (beam size > 1, temperature 0); the
    /// generators share one model.
    static func beamTogether(_ generators: [WhisperGenerator], prompts: [[Int]], options o: [DecodeOptions]) -> [DecodeResult] {
        precondition(generators.count == prompts.count && prompts.count == o.count)
        guard let model = generators.first?.model else { return [] }
        var searches = generators.indices.map { i in
            let g = generators[i]
            let noSpeech = g.prefill(prompt: prompts[i])
            return BeamSearch(beams: min(o[i].beamSize, g.state.slots), promptLength: prompts[i].count,
                              maxSteps: maxSteps(prompt: prompts[i], options: o[i]), options: o[i], noSpeech: noSpeech)
        }
        // Logit rows of one pass, in part order; copied to each generator's own rows after.
        let vocab = model.config.vocabularySize
        let passLogits = UnsafeMutablePointer<Float>.allocate(capacity: generators.reduce(0) { $0 + $1.state.slots } * vocab)
        defer { passLogits.deallocate() }
        while true {
            var parts: [WhisperModel.DecoderPart] = [], owners: [Int] = []
            for i in searches.indices {
                guard let next = searches[i].advance(logits: generators[i].logits, generator: generators[i]) else { continue }
                parts.append(.init(state: generators[i].state, tokens: next.tokens, slots: Array(0..<next.tokens.count),
                                   positions: Array(repeating: next.position, count: next.tokens.count)))
                owners.append(i)
            }
            if parts.isEmpty { break }
            let rows = parts.reduce(0) { $0 + $1.tokens.count }
            model.decode(parts: parts, logitRows: Array(0..<rows), logits: passLogits)
            var at = 0
            for (part, owner) in zip(parts, owners) {
                generators[owner].logits.update(from: passLogits + at * vocab, count: part.tokens.count * vocab)
                at += part.tokens.count
            }
        }
        return searches.map(\.result)
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
            let maxInitial = tb + o.maxInitialTimestampIndex
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

    func logSoftmax(_ row: UnsafeMutablePointer<Float>, count: Int) {
        let lse = logSumExp(row, count: count)
        for i in 0..<count { row[i] -= lse }
    }

    func topK(_ row: UnsafePointer<Float>, count: Int, k: Int) -> [Int] {
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

/// Beam search as CTranslate2 runs it, one step at a time: the best 2·beam continuations over
/// all beams (score + log-probability) are ranked; of the first `beam` of them, one that ends
/// in <|endoftext|> is registered as a finished hypothesis and its place taken by the next
/// unfinished runner-up. Search stops once beam × patience hypotheses have finished
/// (CTranslate2 exits early only without a length penalty, and faster-whisper uses 1) or at
/// the length limit; the winner maximises score / length^penalty. Kept apart from the
/// decoder passes so that searches of several windows can share them.
struct BeamSearch {
    struct Hyp { var tokens: [Int]; var lps: [Float]; var score: Float }
    let k: Int, promptLength: Int, maxSteps: Int, maxFinished: Int
    let options: DecodeOptions
    let noSpeech: Float
    private var beams = [Hyp(tokens: [], lps: [], score: 0)]
    private var finished: [Hyp] = []
    private var step = 0
    private var over = false

    init(beams k: Int, promptLength: Int, maxSteps: Int, options: DecodeOptions, noSpeech: Float) {
        self.k = k
        self.promptLength = promptLength
        self.maxSteps = maxSteps
        self.options = options
        self.noSpeech = noSpeech
        maxFinished = max(1, Int((Float(k) * options.patience).rounded()))
    }

    /// Takes this step's logits (row i: beam i's next token), chooses the continuations and
    /// reorders the generator's decoder state to them; returns the tokens the decoder must
    /// run next (row i for slot i, all at `position`), or nil when the search is over.
    mutating func advance(logits: UnsafeMutablePointer<Float>, generator g: WhisperGenerator) -> (tokens: [Int], position: Int)? {
        guard !over, step < maxSteps else { over = true; return nil }
        let eot = g.tokenizer.eot, vocab = g.vocab
        var candidates: [(hyp: Hyp, parent: Int, token: Int)] = []
        for (i, b) in beams.enumerated() {
            let row = logits + i * vocab
            g.process(row, generated: b.tokens, step: step, options: options)
            g.logSoftmax(row, count: vocab)
            for t in g.topK(row, count: vocab, k: 2 * k) {
                var h = b
                h.score += row[t]; h.lps.append(row[t])
                if t != eot { h.tokens.append(t) }
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
            if chosen.token == eot || lastStep {
                finished.append(chosen.hyp)
                while secondary < candidates.count {
                    let c = candidates[secondary]
                    secondary += 1
                    if c.token != eot { chosen = c; break }
                }
            }
            if chosen.token != eot { next.append(chosen) }
        }
        let position = promptLength + step
        step += 1
        if lastStep || finished.count >= maxFinished || next.isEmpty {
            over = true
            return nil
        }
        g.state.reorder(source: next.map(\.parent), length: position)
        beams = next.map(\.hyp)
        return (next.map(\.token), position)
    }

    /// The best hypothesis (of the finished ones, or of the beams if none finished).
    var result: DecodeResult {
        let pool = finished.isEmpty ? beams : finished
        let lp = options.lengthPenalty
        let best = pool.max { a, b in
            a.score / pow(Float(max(a.tokens.count, 1)), lp) < b.score / pow(Float(max(b.tokens.count, 1)), lp)
        }!
        return DecodeResult(tokens: best.tokens, tokenLogprobs: best.lps, sumLogprob: best.score, noSpeechProb: noSpeech)
    }
}
