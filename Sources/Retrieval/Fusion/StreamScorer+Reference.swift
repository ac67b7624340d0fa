// The plain reference of a stream's fused scoring (docs/FUSION.md, steps 3-7), the formulas
// as written: per signal, fresh (windows,) buffers, attention window by window with its
// exps cached per query, the median and MAD by quickselect over every window of the stream
// (zeros included), and a full sort of the runs. `StreamScorer.candidates` computes the same
// faster; `FusionRanking.forceReference` (or `KernelConfig.forceReference`) selects this
// path, the feature dump for fitting uses it, and the tests compare the two.
import Foundation
import Kernels
import SightlineCore

extension StreamScorer {
    /// The stream's best runs as moments-to-be, at most `limit`, best first: the formulas as
    /// written, one pass per step over every window.
    func referenceCandidates(stream: String, limit: Int) -> [Candidate] {
        let n = signals.count
        guard n > 0 else { return [] }
        let lo = query.fromMs.map { signals.firstWindow(endingAfter: $0) } ?? 0
        let hi = query.toMs.map { signals.firstWindow(startingAtOrAfter: $0) } ?? n
        guard lo < hi else { return [] }
        var fused = [Float](repeating: 0, count: n)          // (windows,) Σ_m w_m·(a_i,m − median)/σ for touched windows
        var touched = [Bool](repeating: false, count: n)     // (windows,) windows with some a_i,m > 0
        var base = FusionWeights.bias                        // f of an untouched window
        var contributions: [(Signal, [Contribution])] = []  // per signal, by window index
        var similarity = [Float](repeating: 0, count: n)     // (windows,) s_j, scratch per signal
        var present = [Bool](repeating: false, count: n)     // (windows,) whether s_j exists
        var detail = [Int32](repeating: -1, count: n)        // (windows,) the row / label behind s_j
        let dots = textDots()
        for signal in enabled where signal.weight > 0 {
            guard let (values, median, sigma) = normalised(signal, dots, &similarity, &present, &detail) else { continue }
            let w = signal.weight
            base -= w * median / sigma
            var mine: [Contribution] = []
            mine.reserveCapacity(values.count)
            for (i, a, source) in values {
                let z = (a - median) / sigma
                fused[i] += Float(w * z)
                touched[i] = true
                mine.append(Contribution(window: Int32(i), z: Float(w * z), detail: detail[source]))
            }
            contributions.append((signal, mine))
        }
        // Runs of windows at or above the threshold (every untouched window sits at `base`,
        // which is below it: the bias is negative and medians are not); then, so that a
        // query still gets up to `limit` ranked answers, weaker runs among the other windows.
        if base >= FusionRanking.momentThreshold { return [] } // only a positive bias could make every window a moment
        var runs = self.runs(lo..<hi, threshold: FusionRanking.momentThreshold) { i in touched[i] ? base + Double(fused[i]) : nil }
        if runs.count < limit, base < FusionRanking.weakMomentThreshold {
            // Between the strong runs, one window clear of each: a strong moment's fringe
            // (its evidence spread by attention) is part of it, not a moment of its own.
            var from = lo
            for r in runs.sorted(by: { $0.first < $1.first }) + [(first: hi + 1, last: hi, best: hi, score: 0)] {
                let upTo = min(hi, r.first - 1)
                if from < upTo {
                    runs += self.runs(from..<upTo, threshold: FusionRanking.weakMomentThreshold) { i in
                        touched[i] ? base + Double(fused[i]) : nil
                    }
                }
                from = max(from, r.last + 2)
            }
        }
        runs.sort { $0.score > $1.score }
        return runs.prefix(limit).map { r in
            Candidate(stream: stream, startMs: signals.startMs[r.first], endMs: signals.endMs[r.last], score: r.score,
                      items: items(r.first...r.last, contributions),
                      people: Int(signals.people[r.first...r.last].max() ?? 0))
        }
    }

    /// Runs of windows whose score (nil: not a candidate) is at least `threshold`, where
    /// consecutive windows are at most one window length apart and one window below the
    /// threshold inside a run is bridged; each scored by its best window.
    func runs(_ range: Range<Int>, threshold: Double, score: (Int) -> Double?) -> [(first: Int, last: Int, best: Int, score: Double)] {
        var runs: [(first: Int, last: Int, best: Int, score: Double)] = []
        var i = range.lowerBound
        let hi = range.upperBound
        while i < hi {
            guard let f0 = score(i), f0 >= threshold else { i += 1; continue }
            var run = (first: i, last: i, best: i, score: f0)
            var j = i + 1
            while j < hi {
                // In Double: stored times may sit anywhere in Int64.
                let length = max(0, Double(signals.endMs[run.last]) - Double(signals.startMs[run.last]))
                guard Double(signals.startMs[j]) - Double(signals.endMs[run.last]) <= length else { break }
                if let f = score(j), f >= threshold {
                    run.last = j
                    if f > run.score { run.score = f; run.best = j }
                    j += 1
                } else if j + 1 < hi, let f = score(j + 1), f >= threshold,
                          Double(signals.startMs[j + 1]) - Double(signals.endMs[run.last]) <= 2 * length
                {
                    j += 1 // one window below the threshold inside a run
                } else {
                    break
                }
            }
            runs.append(run)
            i = run.last + 1
        }
        return runs
    }

    // MARK: - Reference normalisation

    /// One signal over the stream: its similarities (`similarity`, `present` and the row or
    /// label behind each, `detail`: scratch of one slot per window), attended (sparse a_i > 0),
    /// and the robust centre and scale of those against the stream's history; nil when no
    /// window has the signal.
    func normalised(_ signal: Signal, _ dots: [Int32], _ similarity: inout [Float], _ present: inout [Bool],
                    _ detail: inout [Int32]) -> (values: [(index: Int, value: Double, source: Int)], median: Double, sigma: Double)?
    {
        similarity.withUnsafeMutableBufferPointer { sp in
            present.withUnsafeMutableBufferPointer { pp in
                detail.withUnsafeMutableBufferPointer { dp in
                    pp.update(repeating: false)
                    dp.update(repeating: -1)
                    fill(signal, dots, sp, pp, dp)
                }
            }
        }
        let values = attend(signal, similarity, present)
        guard !values.isEmpty else { return nil }
        let (median, mad) = Self.robust(values.map(\.value), zeros: max(signals.count, Self.minimumHistory) - values.count)
        return (values, median, max(1.4826 * mad, signal.minimumScale))
    }

    // MARK: - Reference similarities

    /// s_j for every window that has the signal (`present` must be all false and `detail`
    /// all −1 on entry; windows without the signal are left so).
    func fill(_ signal: Signal, _ dots: [Int32], _ s: UnsafeMutableBufferPointer<Float>, _ present: UnsafeMutableBufferPointer<Bool>,
              _ detail: UnsafeMutableBufferPointer<Int32>)
    {
        let n = signals.count
        switch signal {
        case .speech, .ocr, .caption:
            let kind = signal.textKind!.rawValue
            guard tables.presence || dots.count == signals.textCount else { return }
            let qs = tables.scale
            for k in 0..<signals.textCount where signals.textKind[k] == kind {
                let sim = tables.presence ? Float(signal.floor + 0.5) : Float(dots[k]) * qs * signals.textScale[k]
                spread(sim, row: k, s, present, detail)
            }
        case .fullText:
            guard !tables.fullText.isEmpty else { return }
            for k in 0..<signals.textCount {
                guard let score = tables.fullText[signals.textEvidence[k]] else { continue }
                spread(Float(score), row: k, s, present, detail)
            }
        case .label:
            let sims = tables.labelSim
            for i in 0..<n {
                let a = Int(signals.labelOffset[i]), b = Int(signals.labelOffset[i + 1])
                guard a < b else { continue }
                var sum: Float = 0, best: Float = -.infinity, bestId: Int32 = -1
                for k in a..<b {
                    let id = Int(signals.labelId[k])
                    let term = Float(signals.labelWeight[k]) * (1 / 255) * (id < sims.count ? sims[id] : 0)
                    sum += term
                    if term > best { best = term; bestId = Int32(id) }
                }
                s[i] = sum
                present[i] = true
                detail[i] = bestId
            }
        case .people, .faces:
            let counts = signal == .people ? signals.people : signals.faces
            let sims = signal == .people ? tables.peopleSim : tables.faceSim
            for i in 0..<n where counts[i] > 0 {
                s[i] = sims[min(Int(counts[i]), sims.count - 1)]
                present[i] = true
                detail[i] = Int32(counts[i])
            }
        case .motion:
            let least = UInt8((motionThreshold * 255).rounded(.up))
            for i in 0..<n where signals.motion[i] >= least {
                s[i] = tables.motionSim
                present[i] = true
                detail[i] = 0
            }
        }
    }

    /// A text row's similarity, given to the windows its span overlaps — where it was said
    /// or seen, not the later window speech is committed with after its pause — or to its
    /// own window when its span overlaps none.
    func spread(_ sim: Float, row k: Int, _ s: UnsafeMutableBufferPointer<Float>, _ present: UnsafeMutableBufferPointer<Bool>,
                _ detail: UnsafeMutableBufferPointer<Int32>)
    {
        let start = signals.textStart[k], end = signals.textEnd[k]
        var first = signals.firstWindow(endingAfter: start), last = first
        while last < signals.count, signals.startMs[last] < end || (last == first && signals.startMs[last] <= start) { last += 1 }
        if first == last { first = Int(signals.textWindow[k]); last = first + 1 }
        for i in first..<last {
            if !present[i] || sim > s[i] { s[i] = sim; detail[i] = Int32(k) }
            present[i] = true
        }
    }

    // MARK: - Attention

    /// a_i > 0 for the windows near a window whose similarity passes the floor.
    func attend(_ signal: Signal, _ s: [Float], _ present: [Bool]) -> [(index: Int, value: Double, source: Int)] {
        let n = signals.count
        let floor = signal.floor
        if signal == .fullText {
            return (0..<n).compactMap { present[$0] && s[$0] > 0 ? ($0, Double(s[$0]), $0) : nil }
        }
        let tau = attentionTemperature, lambda = signal.lambdaMs, reach = attentionReach * signal.lambdaMs
        var out: [(index: Int, value: Double, source: Int)] = []
        var done = -1 // windows up to here already computed
        let nullWeight = exp(floor / tau)
        // exp(−d/λ) for the last distances seen (a stream's windows sit at a few: 0, one
        // stride, two), and exp(s/τ) per window, computed once on first use.
        var decays: [(distance: Double, decay: Double)] = [(0, 1)]
        let cache = UnsafeMutableBufferPointer<Double>.allocate(capacity: n) // (windows,)
        cache.initialize(repeating: .nan)
        defer { cache.deallocate() }
        for j in 0..<n where present[j] && Double(s[j]) > floor {
            let cj = centre(j)
            var first = j
            while first > 0, cj - centre(first - 1) <= reach { first -= 1 }
            var i = max(first, done + 1)
            while i < n, centre(i) - cj <= reach {
                let ci = centre(i)
                // Softmax over the null slot and i's neighbours k with |t_i − t_k| ≤ reach.
                var k = i
                while k > 0, ci - centre(k - 1) <= reach { k -= 1 }
                var num = 0.0, den = nullWeight
                var source = i, strongest = 0.0 // the neighbour contributing most: its evidence is shown
                while k < n, centre(k) - ci <= reach {
                    if present[k] {
                        // exp(s/τ − d/λ) = exp(s/τ)·exp(−d/λ)
                        let d = abs(centre(k) - ci)
                        var decay = 0.0
                        if let hit = decays.first(where: { $0.distance == d }) { decay = hit.decay } else {
                            decay = exp(-d / lambda)
                            if decays.count >= 4 { decays.removeFirst() }
                            decays.append((d, decay))
                        }
                        if cache[k].isNaN { cache[k] = exp(Double(s[k]) / tau) }
                        let w = cache[k] * decay
                        den += w
                        let part = w * max(0, Double(s[k]) - floor)
                        num += part
                        if part > strongest { strongest = part; source = k }
                    }
                    k += 1
                }
                if num > 0 { out.append((i, num / den, source)) }
                done = i
                i += 1
            }
        }
        return out
    }

    /// The window's centre in ms (as a Double: no overflow at any Int64 time).
    @inline(__always)
    func centre(_ i: Int) -> Double { Double(signals.startMs[i]) / 2 + Double(signals.endMs[i]) / 2 }

    // MARK: - Normalisation

    /// A stream with fewer windows is normalised as if the rest of this many were empty: in a
    /// young stream one event (spread over three windows) would otherwise be its median.
    static let minimumHistory = 100

    /// Median and median absolute deviation of `positives` together with `zeros` zeros.
    static func robust(_ positives: [Double], zeros: Int) -> (median: Double, mad: Double) {
        let total = positives.count + max(0, zeros)
        guard total > 0 else { return (0, 0) }
        // More than half the windows at 0: median 0 and (those windows deviating by 0) MAD 0.
        if zeros * 2 > total { return (0, 0) }
        var all = positives + [Double](repeating: 0, count: max(0, zeros))
        let median = middle(&all)
        for i in all.indices { all[i] = abs(all[i] - median) }
        return (median, middle(&all))
    }

    /// The median of `values` (reordering them): quickselect, linear on average, where a
    /// sort of a busy stream's million values would dominate the query.
    static func middle(_ values: inout [Double]) -> Double {
        let c = values.count
        guard c > 0 else { return 0 }
        let upper = select(&values, c / 2)
        guard c % 2 == 0 else { return upper }
        // The lower middle is the largest value left of the upper one after the select.
        var lower = -Double.infinity
        for i in 0..<(c / 2) { lower = max(lower, values[i]) }
        return (lower + upper) / 2
    }

    /// The k-th smallest of `values`, leaving smaller ones before index k (the same quickselect as the fast path).
    static func select(_ values: inout [Double], _ k: Int) -> Double {
        values.withUnsafeMutableBufferPointer { selectFast($0, k) }
    }
}
