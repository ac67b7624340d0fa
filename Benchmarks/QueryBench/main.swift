// Query latency over a large generated store (`Benchmarks/run query`).
//
// Builds (once, cached in Benchmarks/.work/) a store of N windows (default 1,000,000) over
// 10 streams of 2 s windows: every window has audio-level and motion measurements, 35 %
// carry a speech segment of 6-14 words drawn from a Zipf(1.0) vocabulary of 20,000 words,
// 10 % the label "motion". Then times `Store.moments` (the code behind POST /v1/query)
// for 1,000 queries — 1-3 words sampled from the same distribution, a third of them with a
// stream filter, a third with a 6 h time range — and reports p50/p95/p99/max. Side by side,
// on the same store and queries, the naive alternative: a LIKE '%word%' scan of all
// evidence text ranked by occurrences (what you'd write without the FTS5 index);
// ratio = LIKE / FTS5 medians.
import Foundation
import MediaIO
import Retrieval
import SightlineCore
import Store
import TestSupport

/// Pronounceable pseudo-words, so FTS tokenisation sees realistic tokens.
func vocabulary(_ n: Int, _ rng: inout SplitMix64) -> [String] {
    let syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "de", "pa", "go", "li", "ber", "son", "tan", "mor", "el", "an", "is", "or"]
    var words = Set<String>()
    while words.count < n {
        let k = Int.random(in: 1...4, using: &rng)
        words.insert((0..<k).map { _ in syllables.randomElement(using: &rng)! }.joined())
    }
    return Array(words).sorted()
}

/// Zipf sampler by inverse CDF over precomputed cumulative weights.
struct Zipf {
    let cdf: [Double]
    init(n: Int, s: Double) {
        var acc = 0.0
        var c: [Double] = []
        for k in 1...n { acc += 1 / pow(Double(k), s); c.append(acc) }
        cdf = c.map { $0 / acc }
    }
    func sample(_ rng: inout SplitMix64) -> Int {
        let u = Double.random(in: 0..<1, using: &rng)
        var lo = 0, hi = cdf.count - 1
        while lo < hi { let mid = (lo + hi) / 2; if cdf[mid] < u { lo = mid + 1 } else { hi = mid } }
        return lo
    }
}

let windows = Int(BenchArguments.option("--windows", "1000000"))!
let queries = Int(BenchArguments.option("--queries", "1000"))!
let likeQueries = Int(BenchArguments.option("--like-queries", "20"))!
let work = BenchArguments.option("--work", "Benchmarks/.work")
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
let path = "\(work)/query-\(windows).sqlite"

var rng = SplitMix64(seed: 42)
let vocab = vocabulary(20_000, &rng)
let zipf = Zipf(n: vocab.count, s: 1.0)
let streams = (0..<10).map { "cam-\($0)" }
let t0: Int64 = 1_760_000_000_000

if !FileManager.default.fileExists(atPath: path) {
    let started = Date()
    let store = try Store(path: path + ".part")
    var batch: [WindowRecord] = []
    batch.reserveCapacity(10_000)
    for i in 0..<windows {
        let stream = streams[i % streams.count]
        let start = t0 + Int64(i / streams.count) * 2000
        var ev = [Evidence(modality: .audioLevel, startMs: start, endMs: start + 2000, value: Double.random(in: -70 ... -10, using: &rng))]
        let motion = Double.random(in: 0..<1, using: &rng) < 0.10
        ev.append(Evidence(modality: .motion, startMs: start, endMs: start + 2000, text: motion ? "motion" : nil,
                           value: motion ? 0.2 : 0.001))
        if Double.random(in: 0..<1, using: &rng) < 0.35 {
            let n = Int.random(in: 6...14, using: &rng)
            let text = (0..<n).map { _ in vocab[zipf.sample(&rng)] }.joined(separator: " ")
            ev.append(Evidence(modality: .speech, startMs: start + 100, endMs: start + 1900, text: text))
        }
        batch.append(WindowRecord(streamId: stream, startMs: start, endMs: start + 2000, frameCount: 2, audioSamples: 32_000, evidence: ev))
        if batch.count == 10_000 {
            try store.append(contentsOf: batch, committedMs: start)
            batch.removeAll(keepingCapacity: true)
        }
    }
    if !batch.isEmpty { try store.append(contentsOf: batch, committedMs: t0) }
    try FileManager.default.moveItem(atPath: path + ".part", toPath: path)
    for s in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + ".part" + s) }
    print(String(format: "generated %d windows in %.0f s", windows, Date().timeIntervalSince(started)))
}

let store = try Store(path: path)
let total = try store.windowCount()
let ranking = TextRanking(store: store)
let span = Int64(windows / streams.count) * 2000
var qs: [MomentQuery] = []
for i in 0..<queries {
    let k = Int.random(in: 1...3, using: &rng)
    let text = (0..<k).map { _ in vocab[zipf.sample(&rng)] }.joined(separator: " ")
    var q = MomentQuery(text: text, limit: 10)
    if i % 3 == 1 { q.streams = [streams.randomElement(using: &rng)!] }
    if i % 3 == 2 {
        let from = t0 + Int64.random(in: 0..<max(1, span - 21_600_000), using: &rng)
        q.fromMs = from
        q.toMs = from + 21_600_000
    }
    qs.append(q)
}
// Warm the page cache as a long-running daemon would have it.
for q in qs.prefix(50) { _ = try ranking.moments(q) }

var fts: [Double] = []
var hits = 0
var timed: [(Double, MomentQuery)] = []
for q in qs {
    let t = ContinuousClock.now
    let m = try ranking.moments(q)
    let d = ContinuousClock.now - t
    fts.append(d.seconds * 1000)
    timed.append((fts.last!, q))
    hits += m.count
}
fts.sort()
for (ms, q) in timed.sorted(by: { $0.0 > $1.0 }).prefix(5) {
    print(String(format: "slow: %6.1f ms  '%@' streams=%@ range=%@", ms, q.text, q.streams.joined(separator: ","),
                 q.fromMs.map { _ in "6h" } ?? "-"))
}

var like: [Double] = []
var ftsSame: [Double] = []
for q in qs.prefix(likeQueries) {
    let word = FTSQuery.tokens(q.text)[0]
    var t = ContinuousClock.now
    _ = try store.likeScan(word: word, limit: 10)
    var d = ContinuousClock.now - t
    like.append(d.seconds * 1000)
    t = ContinuousClock.now
    _ = try ranking.moments(MomentQuery(text: word, limit: 10))
    d = ContinuousClock.now - t
    ftsSame.append(d.seconds * 1000)
}
like.sort()
ftsSame.sort()

print("store: \(total) windows, \(store.diskBytes() / 1_048_576) MiB; \(queries) queries, \(hits) moments returned")
print(String(format: "%-34@ %9@ %9@ %9@ %9@", "POST /v1/query (Store.moments)" as NSString, "p50 ms" as NSString, "p95 ms" as NSString, "p99 ms" as NSString, "max ms" as NSString))
print(String(format: "%-34@ %9.2f %9.2f %9.2f %9.2f", "FTS5, 1000 mixed queries" as NSString, BenchArguments.percentile(fts, 0.5), BenchArguments.percentile(fts, 0.95), BenchArguments.percentile(fts, 0.99), fts.last!))
print(String(format: "%-34@ %9.2f %9@ %9@ %9.2f", "LIKE scan, \(likeQueries) one-word queries" as NSString, BenchArguments.percentile(like, 0.5), "" as NSString, "" as NSString, like.last!))
print(String(format: "%-34@ %9.2f %9@ %9@ %9.2f", "FTS5, the same \(likeQueries) queries" as NSString, BenchArguments.percentile(ftsSame, 0.5), "" as NSString, "" as NSString, ftsSame.last!))
let ratio = BenchArguments.percentile(like, 0.5) / BenchArguments.percentile(ftsSame, 0.5)
print(String(format: "median ratio LIKE / FTS5 = %.1f; goal p99 <= 50 ms: %@", ratio, BenchArguments.percentile(fts, 0.99) <= 50 ? "met" : "NOT met"))
let json: [String: Any] = ["benchmark": "query", "windows": total, "queries": queries,
                           "p50_ms": BenchArguments.percentile(fts, 0.5), "p95_ms": BenchArguments.percentile(fts, 0.95), "p99_ms": BenchArguments.percentile(fts, 0.99),
                           "max_ms": fts.last!, "like_p50_ms": BenchArguments.percentile(like, 0.5), "fts_same_p50_ms": BenchArguments.percentile(ftsSame, 0.5),
                           "ratio_like_over_fts": ratio, "goal_p99_ms": 50]
print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
