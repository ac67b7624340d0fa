// One stream's part of a fused query: similarities, attention, robust normalisation, the
// fused score and its runs (docs/FUSION.md steps 3-7; FusionRanking.swift has the formulas).
// Runs under the stream's index lock, on one of the query's worker threads.
//
// This is the fast path; StreamScorer+Reference.swift is the same computation as written.
// Both perform the same floating-point operations in the same order wherever a value is
// computed, so they agree bit for bit; what differs is how much is computed and allocated:
//   - buffers of one slot per window live in the stream's `ScorerScratch` (no per-query
//     allocation proportional to the stream; exp(s/τ) is marked valid per signal by a
//     generation stamp instead of being reset);
//   - window centres come from the index (`StreamSignals.centreMs`), exp(−d/λ) from a
//     four-slot cache of the distances seen;
//   - the median and MAD are taken over the attended values only, the zeros counted, and
//     over a histogram of distinct values when there are few (a count signal's a_i depends
//     only on its neighbours' counts, so a people question's 400,000 attended windows hold a
//     few hundred distinct values);
//   - only the best `limit` runs are kept (a stable top-k instead of sorting every run).
import Foundation
import Kernels
import SightlineCore

struct StreamScorer {
    let signals: StreamSignals
    let tables: QueryTables
    let enabled: [Signal]
    let query: MomentQuery

    /// Per signal, what a window got: its value after attention and the row or label behind it.
    struct Contribution {
        var window: Int32
        var z: Float
        /// Text row index (text and full-text signals), label id (labels), count (people, faces).
        var detail: Int32
    }

    /// A run of windows at or above the moment threshold.
    struct Run {
        var first: Int
        var last: Int
        var best: Int
        var score: Double
    }

    /// The stream's best runs as moments-to-be, at most `limit`, best first.
    func candidates(stream: String, limit: Int, scratch: inout ScorerScratch) -> [Candidate] {
        if FusionRanking.forceReference || KernelConfig.forceReference { return referenceCandidates(stream: stream, limit: limit) }
        let n = signals.count
        guard n > 0, limit > 0 else { return [] }
        let lo = query.fromMs.map { signals.firstWindow(endingAfter: $0) } ?? 0
        let hi = query.toMs.map { signals.firstWindow(startingAtOrAfter: $0) } ?? n
        guard lo < hi else { return [] }
        scratch.prepare(windows: n)
        var base = FusionWeights.bias // f of an untouched window
        var contributions: [(Signal, [Contribution])] = []
        let dots = textDots()
        let words = (n + 63) / 64
        for signal in enabled where signal.weight > 0 {
            guard let (median, sigma) = normalisedFast(signal, dots, &scratch) else { continue }
            let w = signal.weight
            base -= w * median / sigma
            var mine = scratch.takeContributions(signal)
            let count = scratch.attended.count
            scratch.fused.withUnsafeMutableBufferPointer { fused in
                scratch.touched.withUnsafeMutableBufferPointer { touched in
                    scratch.attended.index.withUnsafeBufferPointer { index in
                        scratch.attended.value.withUnsafeBufferPointer { value in
                            scratch.attended.detail.withUnsafeBufferPointer { detail in
                                for k in 0..<count {
                                    let i = Int(index[k])
                                    let z = (value[k] - median) / sigma
                                    // The first signal to touch a window starts its sum (at 0, as a cleared buffer would).
                                    if Bits.test(touched, i) { fused[i] += Float(w * z) } else { fused[i] = 0 + Float(w * z); Bits.set(touched, i) }
                                    mine.append(Contribution(window: Int32(i), z: Float(w * z), detail: detail[k]))
                                }
                            }
                        }
                    }
                }
            }
            contributions.append((signal, mine))
        }
        // Runs of windows at or above the threshold (every untouched window sits at `base`,
        // which is below it: the bias is negative and medians are not); then, so that a
        // query still gets up to `limit` ranked answers, weaker runs among the other windows.
        if base >= FusionRanking.momentThreshold { return [] } // only a positive bias could make every window a moment
        // The best `limit` runs, best first; among equal scores the one found first (strong
        // runs in window order, then weak ones), as a stable sort of every run would give.
        var best: [Run] = []
        best.reserveCapacity(limit + 1)
        scratch.fused.withUnsafeBufferPointer { fused in
            scratch.touched.withUnsafeMutableBufferPointer { touched in
                let touched = UnsafeMutableBufferPointer(rebasing: touched[0..<words])
                var strong = 0
                runs(lo..<hi, threshold: FusionRanking.momentThreshold, base: base, fused: fused, touched: touched) { run in
                    strong += 1
                    Self.keep(run, in: &best, limit: limit)
                }
                // Fewer strong runs than the limit: `best` holds them all.
                guard strong < limit, base < FusionRanking.weakMomentThreshold else { return }
                // Between the strong runs, one window clear of each: a strong moment's fringe
                // (its evidence spread by attention) is part of it, not a moment of its own.
                var from = lo
                for r in best.sorted(by: { $0.first < $1.first }) + [Run(first: hi + 1, last: hi, best: hi, score: 0)] {
                    let upTo = min(hi, r.first - 1)
                    if from < upTo {
                        runs(from..<upTo, threshold: FusionRanking.weakMomentThreshold, base: base, fused: fused, touched: touched) { run in
                            Self.keep(run, in: &best, limit: limit)
                        }
                    }
                    from = max(from, r.last + 2)
                }
            }
        }
        let found = best.map { r in
            Candidate(stream: stream, startMs: signals.startMs[r.first], endMs: signals.endMs[r.last], score: r.score,
                      items: items(r.first...r.last, contributions),
                      people: Int(signals.people[r.first...r.last].max() ?? 0))
        }
        for (signal, mine) in contributions { scratch.giveBack(mine, signal) }
        return found
    }

    /// Runs of windows in `range` at or above `threshold` (the reference's `runs`, a window
    /// scoring base + fused[i] where touched and nothing elsewhere), in window order, found
    /// from the touched bit set.
    func runs(_ range: Range<Int>, threshold: Double, base: Double, fused: UnsafeBufferPointer<Float>,
              touched: UnsafeMutableBufferPointer<UInt64>, _ found: (Run) -> Void)
    {
        let hi = range.upperBound
        signals.startMs.withUnsafeBufferPointer { startMs in
            signals.endMs.withUnsafeBufferPointer { endMs in
                @inline(__always) func passes(_ j: Int) -> Bool { Bits.test(touched, j) && base + Double(fused[j]) >= threshold }
                var i = range.lowerBound
                while let next = Bits.next(touched, from: i, below: hi) {
                    i = next
                    guard passes(i) else { i += 1; continue }
                    var run = Run(first: i, last: i, best: i, score: base + Double(fused[i]))
                    var j = i + 1
                    while j < hi {
                        // In Double: stored times may sit anywhere in Int64.
                        let length = max(0, Double(endMs[run.last]) - Double(startMs[run.last]))
                        guard Double(startMs[j]) - Double(endMs[run.last]) <= length else { break }
                        if passes(j) {
                            run.last = j
                            let f = base + Double(fused[j])
                            if f > run.score { run.score = f; run.best = j }
                            j += 1
                        } else if j + 1 < hi, passes(j + 1), Double(startMs[j + 1]) - Double(endMs[run.last]) <= 2 * length {
                            j += 1 // one window below the threshold inside a run
                        } else {
                            break
                        }
                    }
                    found(run)
                    i = run.last + 1
                }
            }
        }
    }

    /// Inserts `run` (later than every run in `best`) into the best-first list of at most
    /// `limit`: after every run scoring at least as high, as a stable sort would place it.
    static func keep(_ run: Run, in best: inout [Run], limit: Int) {
        if best.count == limit, let last = best.last, !(run.score > last.score) { return }
        var at = best.count
        while at > 0, run.score > best[at - 1].score { at -= 1 }
        best.insert(run, at: at)
        if best.count > limit { best.removeLast() }
    }

    // MARK: - Similarities

    /// (text rows,) the query's int8 dot product with every text row, for all text signals
    /// at once; empty when no text signal is enabled or there is no query vector.
    func textDots() -> [Int32] {
        guard !tables.presence, signals.dim > 0, signals.dim == tables.codes.count,
              enabled.contains(where: { $0.textKind != nil }), signals.textCount > 0 else { return [] }
        var dots = [Int32](repeating: 0, count: signals.textCount)
        tables.codes.withUnsafeBufferPointer { q in
            signals.textCodes.withUnsafeBufferPointer { rows in
                dots.withUnsafeMutableBufferPointer { out in
                    Int8Dot.dots(query: q.baseAddress!, rows: rows.baseAddress!, count: signals.textCount, dim: signals.dim,
                                 into: out.baseAddress!)
                }
            }
        }
        return dots
    }

    // MARK: - Attention and normalisation (fast path)

    /// One signal: attends (`scratch.attended`: a_i > 0 in window order, with the detail of
    /// the neighbour contributing most) and returns the robust centre and scale against the
    /// stream's history; nil when no a_i > 0.
    func normalisedFast(_ signal: Signal, _ dots: [Int32], _ scratch: inout ScorerScratch) -> (median: Double, sigma: Double)? {
        scratch.attended.removeAll()
        attendFast(signal, dots, &scratch)
        let count = scratch.attended.count
        guard count > 0 else { return nil }
        let zeros = max(signals.count, Self.minimumHistory) - count
        let (median, mad) = scratch.attended.value.withUnsafeBufferPointer { values in
            Self.robustFast(UnsafeBufferPointer(rebasing: values[0..<count]), zeros: zeros, work: &scratch.work)
        }
        return (median, max(1.4826 * mad, signal.minimumScale))
    }

    /// a_i > 0 near the windows whose similarity passes the floor, appended to
    /// `scratch.attended`: the same windows, neighbourhoods, order of sums and operations as
    /// `attend`, but a window's similarity is computed only when it is a candidate for passing
    /// the floor or a neighbour of one that does (text rows are spread eagerly: a window's
    /// value is the largest of the rows overlapping it).
    func attendFast(_ signal: Signal, _ dots: [Int32], _ scratch: inout ScorerScratch) {
        let n = signals.count
        scratch.reserve(windows: n) // writes below go through pointers
        let generation = scratch.nextGeneration()
        var out = scratch.attended
        scratch.attended = AttendedValues() // hand the arrays over without a copy
        defer { scratch.attended = out }
        var strong = scratch.strong
        scratch.strong = []
        strong.removeAll(keepingCapacity: true)
        defer { scratch.strong = strong }
        let floor = signal.floor
        scratch.value.withUnsafeMutableBufferPointer { value in
            scratch.detail.withUnsafeMutableBufferPointer { detail in
                scratch.stamp.withUnsafeMutableBufferPointer { stamp in
                    scratch.expS.withUnsafeMutableBufferPointer { expS in
                        scratch.expStamp.withUnsafeMutableBufferPointer { expStamp in
                            scratch.marks.withUnsafeMutableBufferPointer { marks in
                                signals.centreMs.withUnsafeBufferPointer { centre in
                                    let cache = WindowCache(value: value.baseAddress!, detail: detail.baseAddress!, stamp: stamp.baseAddress!,
                                                            expS: expS.baseAddress!, expStamp: expStamp.baseAddress!, generation: generation)
                                    let words = (n + 63) / 64
                                    let marks = UnsafeMutableBufferPointer(rebasing: marks[0..<words])
                                    switch signal {
                                    case .speech, .ocr, .caption, .fullText:
                                        marks.update(repeating: 0)
                                        spreadRows(signal, dots, cache, marks)
                                        let source = EagerSource()
                                        Bits.forEach(marks) { j in
                                            if cache.look(j, source), Double(cache.value[j]) > floor { strong.append(Int32(j)) }
                                        }
                                        if signal == .fullText {
                                            out.write { w in for j in strong { w.append(Int(j), Double(cache.value[Int(j)]), cache.detail[Int(j)]) } }
                                            return
                                        }
                                        attendWindows(signal, source, cache, strong, centre, &out)
                                    case .people, .faces:
                                        let counts = signal == .people ? signals.people : signals.faces
                                        let sims = signal == .people ? tables.peopleSim : tables.faceSim
                                        guard !sims.isEmpty else { return }
                                        // Which counts pass the floor (a count's similarity is its fact's).
                                        var passes = [Bool](repeating: false, count: 256)
                                        for c in 1..<256 { passes[c] = Double(sims[min(c, sims.count - 1)]) > floor }
                                        guard passes.contains(true) else { return }
                                        counts.withUnsafeBufferPointer { counts in
                                            sims.withUnsafeBufferPointer { sims in
                                                passes.withUnsafeBufferPointer { passes in
                                                    for j in 0..<n where passes[Int(counts[j])] { strong.append(Int32(j)) }
                                                }
                                                let source = CountSource(counts: counts.baseAddress!, sims: sims)
                                                attendWindows(signal, source, cache, strong, centre, &out)
                                            }
                                        }
                                    case .motion:
                                        guard Double(tables.motionSim) > floor else { return }
                                        let least = UInt8((motionThreshold * 255).rounded(.up))
                                        signals.motion.withUnsafeBufferPointer { motion in
                                            for j in 0..<n where motion[j] >= least { strong.append(Int32(j)) }
                                            let source = MotionSource(motion: motion.baseAddress!, least: least, sim: tables.motionSim)
                                            attendWindows(signal, source, cache, strong, centre, &out)
                                        }
                                    case .label:
                                        labelCandidates(marks)
                                        signals.labelOffset.withUnsafeBufferPointer { offset in
                                            signals.labelId.withUnsafeBufferPointer { ids in
                                                signals.labelWeight.withUnsafeBufferPointer { weights in
                                                    tables.labelSim.withUnsafeBufferPointer { sims in
                                                        let source = LabelSource(offset: offset.baseAddress!, ids: ids.baseAddress!,
                                                                                 weights: weights.baseAddress!, sims: sims)
                                                        Bits.forEach(marks) { j in
                                                            if cache.look(j, source), Double(cache.value[j]) > floor { strong.append(Int32(j)) }
                                                        }
                                                        attendWindows(signal, source, cache, strong, centre, &out)
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Text rows of the signal's kind (or with an exact-word score), spread to the windows
    /// they overlap as `spread` does (a window keeps its largest row); marks the windows a row
    /// above the floor reaches.
    func spreadRows(_ signal: Signal, _ dots: [Int32], _ cache: WindowCache, _ marks: UnsafeMutableBufferPointer<UInt64>) {
        let floor = signal.floor
        func spread(_ sim: Float, row k: Int) {
            // The windows the row's span overlaps, or its own window when it overlaps none.
            let start = signals.textStart[k], end = signals.textEnd[k]
            var first = firstWindow(endingAfter: start, near: Int(signals.textWindow[k])), last = first
            while last < signals.count, signals.startMs[last] < end || (last == first && signals.startMs[last] <= start) { last += 1 }
            if first == last { first = Int(signals.textWindow[k]); last = first + 1 }
            let above = Double(sim) > floor
            for i in first..<last {
                if cache.stamp[i] != cache.generation || sim > cache.value[i] { cache.value[i] = sim; cache.detail[i] = Int32(k) }
                cache.stamp[i] = cache.generation
                if above { Bits.set(marks, i) }
            }
        }
        switch signal {
        case .fullText:
            guard !tables.fullText.isEmpty else { return }
            for k in 0..<signals.textCount {
                guard let score = tables.fullText[signals.textEvidence[k]] else { continue }
                spread(Float(score), row: k)
            }
        default:
            guard let kind = signal.textKind?.rawValue, tables.presence || dots.count == signals.textCount else { return }
            let qs = tables.scale
            signals.textKind.withUnsafeBufferPointer { kinds in
                for k in 0..<signals.textCount where kinds[k] == kind {
                    let sim = tables.presence ? Float(signal.floor + 0.5) : Float(dots[k]) * qs * signals.textScale[k]
                    spread(sim, row: k)
                }
            }
        }
    }

    /// `signals.firstWindow(endingAfter:)`, searched from the row's own window (a row starts in
    /// or a few windows before it) when the windows' ends are in order — the one answer a
    /// binary search can give then — else by that binary search itself.
    @inline(__always)
    func firstWindow(endingAfter ms: Int64, near hint: Int) -> Int {
        let n = signals.count
        guard signals.endsOrdered, hint >= 0, hint < n else { return signals.firstWindow(endingAfter: ms) }
        var i = hint
        if signals.endMs[i] > ms {
            var steps = 0
            while i > 0, signals.endMs[i - 1] > ms {
                i -= 1
                steps += 1
                if steps > 8 { return signals.firstWindow(endingAfter: ms) }
            }
            return i
        }
        return signals.firstWindow(endingAfter: ms)
    }

    /// Marks every window holding a label whose similarity could lift it above the floor.
    /// A window's label similarity is Σ wᵢ·simᵢ with Σ wᵢ ≤ `labelMassMax`, so one whose
    /// labels are all at or below floor / labelMassMax stays at or below the floor (the margin
    /// covers the Float sum's rounding, a few units in the 7th digit).
    func labelCandidates(_ marks: UnsafeMutableBufferPointer<UInt64>) {
        marks.update(repeating: 0)
        guard signals.labelMassMax > 0 else { return }
        let least = Signal.label.floor / (signals.labelMassMax * (1 + 1e-4))
        for (id, sim) in tables.labelSim.enumerated() where Double(sim) > least && id < signals.labelWindows.count {
            for j in signals.labelWindows[id] { Bits.set(marks, Int(j)) }
        }
    }

    /// The attention of `attend` from the windows in `strong` (ascending), reading
    /// similarities through `cache` (computed by `source` on first use).
    private func attendWindows<S: SimilaritySource>(_ signal: Signal, _ values: S, _ cache: WindowCache, _ strong: [Int32],
                                                    _ centre: UnsafeBufferPointer<Double>, _ out: inout AttendedValues)
    {
        let n = signals.count
        let floor = signal.floor
        let tau = attentionTemperature, lambda = signal.lambdaMs, reach = attentionReach * signal.lambdaMs
        let nullWeight = exp(floor / tau)
        out.write { out in
            // Every mutable state of the loop lives in this closure: state captured from
            // outside it would be checked for exclusive access at run time on every use.
            var decays = DecayCache(lambda: lambda)
            var done = -1 // windows up to here already computed
            for j32 in strong {
                let j = Int(j32)
                let cj = centre[j]
                var first = j
                while first > 0, cj - centre[first - 1] <= reach { first -= 1 }
                var i = max(first, done + 1)
                while i < n, centre[i] - cj <= reach {
                    let ci = centre[i]
                    // Softmax over the null slot and i's neighbours k with |t_i − t_k| ≤ reach.
                    var k = i
                    while k > 0, ci - centre[k - 1] <= reach { k -= 1 }
                    var num = 0.0, den = nullWeight
                    var source = i, strongest = 0.0 // the neighbour contributing most: its evidence is shown
                    while k < n, centre[k] - ci <= reach {
                        if cache.look(k, values) {
                            // exp(s/τ − d/λ) = exp(s/τ)·exp(−d/λ)
                            let d = abs(centre[k] - ci)
                            let w = cache.expOfValue(k, tau) * decays.value(d)
                            den += w
                            let part = w * max(0, Double(cache.value[k]) - floor)
                            num += part
                            if part > strongest { strongest = part; source = k }
                        }
                        k += 1
                    }
                    if num > 0 { out.append(i, num / den, cache.detail[source]) }
                    done = i
                    i += 1
                }
            }
        }
    }

    /// Median and MAD of `positives` (all > 0) together with `zeros` zeros, as `robust`
    /// computes them, without materialising the zeros: the zeros sort first, and for the MAD
    /// their deviation is the median itself. Over a histogram when the values take at most
    /// `histogramLevels` distinct values, else by quickselect in `work`.
    static func robustFast(_ positives: UnsafeBufferPointer<Double>, zeros: Int, work: inout [Double]) -> (median: Double, mad: Double) {
        let zeros = max(0, zeros)
        let total = positives.count + zeros
        guard total > 0 else { return (0, 0) }
        // More than half the windows at 0: median 0 and (those windows deviating by 0) MAD 0.
        if zeros * 2 > total { return (0, 0) }
        if var levels = Histogram(positives, capacity: histogramLevels) {
            let median = levels.middle(extra: 0, count: zeros)
            levels.deviations(from: median)
            return (median, levels.middle(extra: median, count: zeros))
        }
        if work.count < positives.count { work = [Double](repeating: 0, count: positives.count) }
        return work.withUnsafeMutableBufferPointer { w in
            let v = UnsafeMutableBufferPointer(rebasing: w[0..<positives.count])
            _ = v.update(fromContentsOf: positives)
            let median = middle(v, extra: 0, count: zeros)
            for i in v.indices { v[i] = abs(v[i] - median) }
            return (median, middle(v, extra: median, count: zeros))
        }
    }

    /// Distinct values beyond which the median falls back from a histogram to quickselect.
    static let histogramLevels = 1024

    /// The median of `values` ∪ {`extra` × `count`} (reordering `values`). The extra copies
    /// sit, in sorted order, right after the values below `extra`.
    static func middle(_ values: UnsafeMutableBufferPointer<Double>, extra: Double, count: Int) -> Double {
        var below = 0
        for v in values where v < extra { below += 1 }
        let c = values.count + count
        func kth(_ k: Int) -> Double {
            if k < below { return selectFast(values, k) }
            if k < below + count { return extra }
            return selectFast(values, k - count)
        }
        let upper = kth(c / 2)
        guard c % 2 == 0 else { return upper }
        return (kth(c / 2 - 1) + upper) / 2
    }

    /// The k-th smallest of `values`, reordering them (Hoare quickselect, median-of-three pivot).
    static func selectFast(_ v: UnsafeMutableBufferPointer<Double>, _ k: Int) -> Double {
        var lo = 0, hi = v.count - 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if v[mid] < v[lo] { v.swapAt(mid, lo) }
            if v[hi] < v[lo] { v.swapAt(hi, lo) }
            if v[hi] < v[mid] { v.swapAt(hi, mid) }
            let pivot = v[mid]
            var i = lo, j = hi
            while i <= j {
                while v[i] < pivot { i += 1 }
                while v[j] > pivot { j -= 1 }
                if i <= j { v.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { break }
        }
        return v[k]
    }

    // MARK: - Evidence

    /// A run's evidence: per signal (strongest first), its best windows' rows, label or count.
    func items(_ run: ClosedRange<Int>, _ contributions: [(Signal, [Contribution])]) -> [PendingItem] {
        var perSignal: [(z: Float, items: [PendingItem])] = []
        for (signal, byWindow) in contributions {
            var inRun: [Contribution] = []
            var lo = 0, hi = byWindow.count
            while lo < hi { let mid = (lo + hi) / 2; if Int(byWindow[mid].window) < run.lowerBound { lo = mid + 1 } else { hi = mid } }
            while lo < byWindow.count, Int(byWindow[lo].window) <= run.upperBound {
                let c = byWindow[lo]
                if c.z > 0, c.detail >= 0 { inRun.append(c) }
                lo += 1
            }
            inRun.sort { (a: Contribution, b: Contribution) -> Bool in a.z > b.z }
            guard let top = inRun.first else { continue }
            var items: [PendingItem] = []
            switch signal {
            case .speech, .ocr, .caption, .fullText:
                var rows: [Int32] = []
                for c in inRun where !rows.contains(c.detail) && rows.count < FusionRanking.itemsPerSignal { rows.append(c.detail) }
                items = rows.map { PendingItem(evidenceId: signals.textEvidence[Int($0)], direct: nil) }
            case .label:
                let names = tableName(Int(top.detail))
                items = [PendingItem(evidenceId: nil, direct: Moment.Item(modality: .label, text: names,
                                                                          startMs: signals.startMs[Int(top.window)], endMs: signals.endMs[Int(top.window)]))]
            case .people, .faces:
                let count = Int(top.detail)
                let text = signal == .people ? Facts.people(count) : (count == 1 ? "a face" : "\(count) faces")
                items = [PendingItem(evidenceId: nil, direct: Moment.Item(modality: signal.modality, text: text,
                                                                          startMs: signals.startMs[Int(top.window)], endMs: signals.endMs[Int(top.window)]))]
            case .motion:
                items = [PendingItem(evidenceId: nil, direct: Moment.Item(modality: .motion, text: "motion",
                                                                          startMs: signals.startMs[Int(top.window)], endMs: signals.endMs[Int(top.window)]))]
            }
            perSignal.append((top.z, items))
        }
        // The strongest signal's items lead: when they are text rows, the moment is where they were said or seen.
        var ordered = perSignal.sorted { $0.z > $1.z }
        if !ordered.isEmpty { for k in ordered[0].items.indices { ordered[0].items[k].leading = true } }
        return ordered.flatMap(\.items)
    }

    func tableName(_ id: Int) -> String { labelNames.indices.contains(id) ? labelNames[id] : "label" }

    var labelNames: [String] { tables.labelNames }
}

// MARK: - Scratch

/// One signal's attended windows: a_i > 0 in window order, with the row / label / count of
/// the neighbour that contributed most. Sized for one entry per window (a window is attended
/// at most once), so entries are written through pointers without growth checks.
struct AttendedValues {
    private(set) var index: [Int32] = []   // (capacity,) the first `count` are set
    private(set) var value: [Double] = []  // (capacity,)
    private(set) var detail: [Int32] = []  // (capacity,)
    private(set) var count = 0

    /// Room for `n` entries.
    mutating func reserve(_ n: Int) {
        guard index.count < n else { return }
        let size = n + n / 8
        index = [Int32](repeating: 0, count: size)
        value = [Double](repeating: 0, count: size)
        detail = [Int32](repeating: 0, count: size)
        count = 0
    }

    mutating func removeAll() { count = 0 }

    /// Appends through `body`'s writer (at most `reserve`d entries in all).
    mutating func write<R>(_ body: (inout Writer) -> R) -> R {
        let start = count
        return index.withUnsafeMutableBufferPointer { i in
            value.withUnsafeMutableBufferPointer { v in
                detail.withUnsafeMutableBufferPointer { d in
                    var writer = Writer(index: i, value: v, detail: d, count: start)
                    let r = body(&writer)
                    count = writer.count
                    return r
                }
            }
        }
    }

    struct Writer {
        let index: UnsafeMutableBufferPointer<Int32>
        let value: UnsafeMutableBufferPointer<Double>
        let detail: UnsafeMutableBufferPointer<Int32>
        var count: Int

        @inline(__always)
        mutating func append(_ i: Int, _ a: Double, _ d: Int32) {
            index[count] = Int32(i)
            value[count] = a
            detail[count] = d
            count += 1
        }
    }
}

/// A stream's reusable buffers for `StreamScorer.candidates`, grown with the stream and
/// kept beside its signals (`WindowIndex.StreamEntry`), so a query allocates and clears
/// nothing of the stream's size but bit sets. About 30 bytes per window plus the attended
/// values of the busiest signal.
struct ScorerScratch {
    var fused: [Float] = []       // (windows,) Σ_m Float(w_m·z_i,m), valid where `touched` is set
    var touched: [UInt64] = []    // (windows / 64,) bit set of windows with some a_i,m > 0
    var value: [Float] = []       // (windows,) s_j of the signal being scored, valid where stamp == generation
    var detail: [Int32] = []      // (windows,) the row / label / count behind s_j; `WindowCache.absent` without the signal
    var stamp: [UInt32] = []      // (windows,)
    var expS: [Double] = []       // (windows,) exp(s_j/τ), valid where expStamp == generation
    var expStamp: [UInt32] = []   // (windows,)
    var marks: [UInt64] = []      // (windows / 64,) candidate windows of the signal being scored
    var generation: UInt32 = 0
    var strong: [Int32] = []      // windows whose similarity passes the floor, ascending
    var attended = AttendedValues()
    var work: [Double] = []       // (attended,) selection scratch
    /// Per signal, the contribution list of the last query (kept for its capacity).
    private var spare: [[StreamScorer.Contribution]] = Array(repeating: [], count: Signal.allCases.count)

    /// Sizes the buffers for at least `n` windows and clears the touched set.
    mutating func prepare(windows n: Int) {
        if !reserve(windows: n) {
            touched.withUnsafeMutableBufferPointer { UnsafeMutableBufferPointer(rebasing: $0[0..<(n + 63) / 64]).update(repeating: 0) }
        }
    }

    /// Sizes the buffers for at least `n` windows (with room for a live stream to grow);
    /// true when they were allocated anew (all clear).
    @discardableResult
    mutating func reserve(windows n: Int) -> Bool {
        guard value.count < n else { return false }
        let size = n + n / 8
        fused = [Float](repeating: 0, count: size)
        touched = [UInt64](repeating: 0, count: (size + 63) / 64)
        value = [Float](repeating: 0, count: size)
        detail = [Int32](repeating: WindowCache.absent, count: size)
        stamp = [UInt32](repeating: 0, count: size)
        expS = [Double](repeating: 0, count: size)
        expStamp = [UInt32](repeating: 0, count: size)
        marks = [UInt64](repeating: 0, count: (size + 63) / 64)
        attended.reserve(size)
        generation = 0
        return true
    }

    /// A generation no stamp holds yet (every stamp is cleared when the counter wraps).
    mutating func nextGeneration() -> UInt32 {
        if generation == .max {
            stamp.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            expStamp.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            generation = 0
        }
        generation += 1
        return generation
    }

    mutating func takeContributions(_ signal: Signal) -> [StreamScorer.Contribution] {
        var list = spare[signal.rawValue]
        spare[signal.rawValue] = []
        list.removeAll(keepingCapacity: true)
        list.reserveCapacity(attended.count)
        return list
    }

    mutating func giveBack(_ list: [StreamScorer.Contribution], _ signal: Signal) { spare[signal.rawValue] = list }
}

/// One signal's similarities in the scratch, computed per window on first use.
struct WindowCache {
    /// `detail` of a window without the signal.
    static let absent = Int32.min
    let value: UnsafeMutablePointer<Float>
    let detail: UnsafeMutablePointer<Int32>
    let stamp: UnsafeMutablePointer<UInt32>
    let expS: UnsafeMutablePointer<Double>
    let expStamp: UnsafeMutablePointer<UInt32>
    let generation: UInt32

    /// Whether window k has the signal (its similarity then in value[k], detail[k]).
    @inline(__always)
    func look<S: SimilaritySource>(_ k: Int, _ source: S) -> Bool {
        if stamp[k] != generation {
            let (v, d) = source.similarity(k)
            value[k] = v
            detail[k] = d
            stamp[k] = generation
        }
        return detail[k] != Self.absent
    }

    /// exp(s_k/τ) of a window that has the signal.
    @inline(__always)
    func expOfValue(_ k: Int, _ tau: Double) -> Double {
        if expStamp[k] != generation {
            expS[k] = exp(Double(value[k]) / tau)
            expStamp[k] = generation
        }
        return expS[k]
    }
}

/// A signal's similarity of one window, (s, detail) or (0, `WindowCache.absent`): the
/// formulas of `fill` for one window.
protocol SimilaritySource {
    func similarity(_ k: Int) -> (Float, Int32)
}

/// Text rows are spread before the attention: a window they did not reach has no value.
struct EagerSource: SimilaritySource {
    @inline(__always) func similarity(_ k: Int) -> (Float, Int32) { (0, WindowCache.absent) }
}

/// People or faces: the query's similarity to the count's fact.
struct CountSource: SimilaritySource {
    let counts: UnsafePointer<UInt8>        // (windows,)
    let sims: UnsafeBufferPointer<Float>    // (facts,)
    @inline(__always) func similarity(_ k: Int) -> (Float, Int32) {
        let c = counts[k]
        guard c > 0 else { return (0, WindowCache.absent) }
        return (sims[min(Int(c), sims.count - 1)], Int32(c))
    }
}

/// Motion: the query's similarity to "something moving" from the threshold on.
struct MotionSource: SimilaritySource {
    let motion: UnsafePointer<UInt8>        // (windows,)
    let least: UInt8
    let sim: Float
    @inline(__always) func similarity(_ k: Int) -> (Float, Int32) { motion[k] >= least ? (sim, 0) : (0, WindowCache.absent) }
}

/// Labels: Σ wᵢ·(q·e(nameᵢ)) in the order stored, with the label of the largest term.
struct LabelSource: SimilaritySource {
    let offset: UnsafePointer<Int32>        // (windows + 1,)
    let ids: UnsafePointer<UInt16>          // (labels,)
    let weights: UnsafePointer<UInt8>       // (labels,)
    let sims: UnsafeBufferPointer<Float>    // (label ids,)
    @inline(__always) func similarity(_ i: Int) -> (Float, Int32) {
        let a = Int(offset[i]), b = Int(offset[i + 1])
        guard a < b else { return (0, WindowCache.absent) }
        var sum: Float = 0, best: Float = -.infinity, bestId: Int32 = -1
        for k in a..<b {
            let id = Int(ids[k])
            let term = Float(weights[k]) * (1 / 255) * (id < sims.count ? sims[id] : 0)
            sum += term
            if term > best { best = term; bestId = Int32(id) }
        }
        return (sum, bestId)
    }
}

/// exp(−d/λ) of the last four distances seen (a stream's windows sit at a few: 0, one
/// stride, two); a miss computes it as `attend` does.
struct DecayCache {
    let lambda: Double
    var distance: (Double, Double, Double, Double) = (0, .nan, .nan, .nan)
    var decay: (Double, Double, Double, Double) = (1, 0, 0, 0)
    var next = 1

    init(lambda: Double) { self.lambda = lambda }

    @inline(__always)
    mutating func value(_ d: Double) -> Double {
        if d == distance.0 { return decay.0 }
        if d == distance.1 { return decay.1 }
        if d == distance.2 { return decay.2 }
        if d == distance.3 { return decay.3 }
        let v = exp(-d / lambda)
        switch next {
        case 0: distance.0 = d; decay.0 = v
        case 1: distance.1 = d; decay.1 = v
        case 2: distance.2 = d; decay.2 = v
        default: distance.3 = d; decay.3 = v
        }
        next = (next + 1) & 3
        return v
    }
}

/// Bit sets over windows, 64 to a word.
enum Bits {
    @inline(__always) static func set(_ w: UnsafeMutableBufferPointer<UInt64>, _ i: Int) { w[i >> 6] |= 1 << UInt64(i & 63) }
    @inline(__always) static func test(_ w: UnsafeMutableBufferPointer<UInt64>, _ i: Int) -> Bool { w[i >> 6] & (1 << UInt64(i & 63)) != 0 }

    /// Calls `body` with every set bit, ascending.
    @inline(__always)
    static func forEach(_ w: UnsafeMutableBufferPointer<UInt64>, _ body: (Int) -> Void) {
        for k in w.indices {
            var x = w[k]
            while x != 0 {
                body(k << 6 | x.trailingZeroBitCount)
                x &= x - 1
            }
        }
    }

    /// The first set bit in [from, below), nil when none.
    @inline(__always)
    static func next(_ w: UnsafeMutableBufferPointer<UInt64>, from: Int, below: Int) -> Int? {
        guard from < below else { return nil }
        var k = from >> 6
        var x = w[k] & (~0 << UInt64(from & 63))
        while true {
            if x != 0 {
                let i = k << 6 | x.trailingZeroBitCount
                return i < below ? i : nil
            }
            k += 1
            guard k << 6 < below else { return nil }
            x = w[k]
        }
    }
}

/// Distinct values with their counts (open addressing on the value's bits), for medians of
/// values that take few levels. Nil when there are more than `capacity` distinct values.
struct Histogram {
    /// (levels,) distinct values, sorted ascending after init, and how often each occurs.
    private(set) var values: [Double] = []
    private(set) var counts: [Int] = []

    init?(_ data: UnsafeBufferPointer<Double>, capacity: Int) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        let mask = size - 1
        var keys = [UInt64](repeating: 0, count: size)
        var slots = [Int32](repeating: -1, count: size) // index into values / counts
        var levels: [Double] = []
        var tally: [Int] = []
        let ok = keys.withUnsafeMutableBufferPointer { keys in
            slots.withUnsafeMutableBufferPointer { slots in
                var lastBits: UInt64 = 0, lastLevel = -1 // runs of one value are common
                for v in data {
                    let bits = v.bitPattern
                    if lastLevel >= 0, bits == lastBits { tally[lastLevel] += 1; continue }
                    var h = Int(truncatingIfNeeded: (bits &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
                    while true {
                        let slot = Int(slots[h])
                        if slot < 0 {
                            guard levels.count < capacity else { return false }
                            keys[h] = bits
                            slots[h] = Int32(levels.count)
                            lastLevel = levels.count
                            levels.append(v)
                            tally.append(1)
                            break
                        }
                        if keys[h] == bits { tally[slot] += 1; lastLevel = slot; break }
                        h = (h + 1) & mask
                    }
                    lastBits = bits
                }
                return true
            }
        }
        guard ok else { return nil }
        let order = levels.indices.sorted { levels[$0] < levels[$1] }
        values = order.map { levels[$0] }
        counts = order.map { tally[$0] }
    }

    /// Replaces every value v by |v − centre| (counts kept), sorted again.
    mutating func deviations(from centre: Double) {
        let d = values.map { abs($0 - centre) }
        let order = d.indices.sorted { d[$0] < d[$1] }
        values = order.map { d[$0] }
        counts = order.map { counts[$0] }
    }

    /// The median of the values ∪ {`extra` × `count`}.
    func middle(extra: Double, count: Int) -> Double {
        let c = counts.reduce(0, +) + count
        func kth(_ k: Int) -> Double {
            var seen = 0
            var placed = false
            for (v, n) in zip(values, counts) {
                if !placed, extra <= v {
                    // The extra copies sort before the first value not below them.
                    if k < seen + count { return extra }
                    seen += count
                    placed = true
                }
                if k < seen + n { return v }
                seen += n
            }
            return extra // k falls in the extra copies after every value
        }
        let upper = kth(c / 2)
        guard c % 2 == 0 else { return upper }
        return (kth(c / 2 - 1) + upper) / 2
    }
}
