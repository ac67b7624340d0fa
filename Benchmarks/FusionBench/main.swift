// Fused query latency over 1,000,000 windows in memory (`Benchmarks/run query`, after the
// full-text benchmark).
//
// Builds a `WindowIndex` of N windows (default 1,000,000) over 10 streams of 2 s windows
// with the realistic mix: labels (3 of 100 names, probabilities summing below 1) and a
// people count on every window, motion on 10 %, speech on 25 % and on-screen text on 8 %.
// Speech and text vectors are real all-MiniLM-L6-v2 vectors of 256 template sentences
// (with fp16-sized noise, so no two rows are equal); label names and count facts are
// embedded by the model at the first query. Then times `FusionRanking.answer` (the code
// behind POST /v1/query, including the query's own embedding) for 1,000 queries — template
// sentences, paraphrases, label and people questions, a third with a stream filter, a third
// with a 6 h time range — and reports p50/p95/p99/max and the index's size. Each query runs
// twice, side by side: through the fast stream scorer and through its plain reference
// (`FusionRanking.forceReference`), alternating which goes first; the two answers must agree
// (exit status 1 otherwise), and the wall and CPU times (all threads; CPU time is what other
// processes on the cores disturb least) are reported for both with their ratio.
// `--fast-only` skips the reference. The full-text signal reads the SQLite store and is
// measured by the full-text benchmark before this one (an empty store here). Run it on the
// two cores the daemon gets.
import Foundation
import MediaIO
import Retrieval
import SightlineCore
import Store
import TestSupport
import TextEmbedder

struct Vectorizer: TextVectorizer {
    let model = "minilm-l6-v2"
    let embedder: TextEmbedder
    func vectors(_ texts: [String]) throws -> [[Float]] { texts.isEmpty ? [] : embedder.embed(texts) }
}

func residentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let parts = s.split(separator: " ")
    return parts.count > 1 ? (Int(parts[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

let windows = Int(BenchArguments.option("--windows", "1000000"))!
let queries = Int(BenchArguments.option("--queries", "1000"))!
let work = BenchArguments.option("--work", "Benchmarks/.work")
let models = BenchArguments.option("--models", ProcessInfo.processInfo.environment["SIGHTLINE_MODELS"]
    ?? (NSHomeDirectory() + "/.cache/sightline/models"))
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)

let embedder = try TextEmbedder(directory: URL(fileURLWithPath: models).appendingPathComponent("minilm-l6-v2"))
let vectorizer = Vectorizer(embedder: embedder)
var rng = SplitMix64(seed: 7)

let subjects = ["the courier", "my neighbour", "the postman", "a child", "the driver", "our dog", "the manager", "a stranger",
                "the delivery van", "the cat", "a cyclist", "the plumber", "the teacher", "my sister", "the police", "a tourist"]
let predicates = ["left a parcel at the door", "is waiting outside", "rang the bell twice", "parked on the pavement",
                  "asked about the rent", "dropped the keys", "is walking in the garden", "fixed the broken pipe",
                  "took the wrong bus", "is shouting in the street", "brought fresh bread", "lost a phone",
                  "painted the fence", "opened the gate", "called for help", "ran across the road"]
let sentences = subjects.flatMap { s in predicates.map { "\(s) \($0)" } }
let signs = ["OPEN", "CLOSED", "NO PARKING", "EXIT", "FRESH BREAD", "SALE 50%", "PRIVATE PROPERTY", "BUS STOP",
             "PHARMACY", "DELIVERIES AT REAR", "CASH ONLY", "WET FLOOR", "PUSH", "PULL", "TAXI", "HOTEL"]
let labelNames = ["street", "car", "dog", "cat", "bicycle", "bus", "truck", "door", "window", "tree", "bench", "fence",
                  "umbrella", "backpack", "traffic light", "stop sign", "parking meter", "bird", "horse", "sheep",
                  "cow", "bottle", "cup", "chair", "couch", "potted plant", "bed", "dining table", "tv", "laptop",
                  "phone", "book", "clock", "vase", "scissors", "teddy bear", "kitchen", "garden", "patio", "garage",
                  "mailbox", "envelope", "carton", "crate", "shopping cart", "van", "pickup", "minivan", "ambulance",
                  "fire engine", "police van", "motor scooter", "tricycle", "stroller", "wheelchair", "lawn mower",
                  "snowplow", "sliding door", "turnstile", "doormat", "bannister", "picket fence", "brick wall",
                  "street lamp", "manhole cover", "grille", "awning", "shop front", "bakery", "restaurant",
                  "library", "church", "barn", "greenhouse", "boathouse", "palace", "monastery", "prison",
                  "cinema", "parking lot", "crosswalk", "sidewalk", "alley", "plaza", "fountain", "pier",
                  "lakeside", "seashore", "valley", "volcano", "cliff", "coral reef", "sandbar", "geyser",
                  "rapeseed", "daisy", "mushroom", "corn", "hay", "banana"]
let started = Date()
let sentenceVectors = try vectorizer.vectors(sentences)
let signVectors = try vectorizer.vectors(signs)
print(String(format: "embedded %d template sentences and %d signs in %.1f s", sentences.count, signs.count, Date().timeIntervalSince(started)))

func jittered(_ v: [Float], _ rng: inout SplitMix64) -> Data {
    var out = v.map { $0 + Float.random(in: -0.002...0.002, using: &rng) }
    let norm = (out.reduce(0) { $0 + $1 * $1 }).squareRoot()
    out = out.map { $0 / norm }
    return Float16Blob.encode(out)
}

let streams = (0..<10).map { "cam-\($0)" }
let t0: Int64 = 1_760_000_000_000
let perStream = windows / streams.count
let rssBefore = residentBytes()
let store = try Store(path: "\(work)/fusion-empty.sqlite")
let index = WindowIndex(store: store, model: vectorizer.model)
let buildStart = Date()
var evidenceId: Int64 = 0
for (s, stream) in streams.enumerated() {
    index.load(stream: stream) { emit in
        for i in 0..<perStream {
            let start = t0 + Int64(i) * 2000, end = start + 2000
            let wid = Int64(s * perStream + i + 1)
            func row(_ e: StoredEvidence) { emit(WindowSignalRow(windowId: wid, windowStartMs: start, windowEndMs: end, evidence: e)) }
            var left = 0.9
            for _ in 0..<3 {
                let p = Double.random(in: 0.05...left * 0.6, using: &rng)
                left -= p
                evidenceId += 1
                row(StoredEvidence(id: evidenceId, modality: .label, startMs: start, endMs: end,
                                   text: labelNames[Int.random(in: 0..<labelNames.count, using: &rng)], confidence: p))
            }
            let people = Int.random(in: 0..<10, using: &rng) < 6 ? 0 : Int.random(in: 1...4, using: &rng)
            for _ in 0..<people {
                evidenceId += 1
                row(StoredEvidence(id: evidenceId, modality: .person, startMs: start, endMs: end, text: "person",
                                   confidence: 0.8, value: Double(people)))
            }
            if Int.random(in: 0..<10, using: &rng) == 0 {
                evidenceId += 1
                row(StoredEvidence(id: evidenceId, modality: .motion, startMs: start, endMs: end, text: "motion", value: 0.1))
            }
            if Int.random(in: 0..<4, using: &rng) == 0 {
                let k = Int.random(in: 0..<sentences.count, using: &rng)
                evidenceId += 1
                row(StoredEvidence(id: evidenceId, modality: .speech, startMs: start + 100, endMs: end - 100, text: sentences[k],
                                   embeddingModel: vectorizer.model, embedding: jittered(sentenceVectors[k], &rng)))
            }
            if Int.random(in: 0..<25, using: &rng) < 2 {
                let k = Int.random(in: 0..<signs.count, using: &rng)
                evidenceId += 1
                row(StoredEvidence(id: evidenceId, modality: .ocr, startMs: start, endMs: end, text: signs[k], confidence: 0.9,
                                   embeddingModel: vectorizer.model, embedding: jittered(signVectors[k], &rng)))
            }
        }
    }
}
let buildSeconds = Date().timeIntervalSince(buildStart)
let rssAfter = residentBytes()
let fusion = FusionRanking(index: index, vectorizer: vectorizer)

let questions = [
    "the courier left a parcel at the door", "someone delivered a package", "what was said about the rent?",
    "when did the postman ring the bell?", "a dog in the garden", "a person", "two people", "how many people were there?",
    "what did the sign say?", "what did the sign say about bread?", "a van parked outside", "someone shouting",
    "a cat", "when did a cyclist pass?", "the plumber fixed the pipe", "what is happening now?", "a crowd of people",
    "a bus", "people near the fence", "fresh bread",
]
var qs: [MomentQuery] = []
let span = Int64(perStream) * 2000
for i in 0..<queries {
    var q = MomentQuery(text: questions[Int.random(in: 0..<questions.count, using: &rng)], limit: 10)
    if i % 3 == 1 { q.streams = [streams.randomElement(using: &rng)!] }
    if i % 3 == 2 {
        let from = t0 + Int64.random(in: 0..<max(1, span - 21_600_000), using: &rng)
        q.fromMs = from
        q.toMs = from + 21_600_000
    }
    qs.append(q)
}
// The first query embeds the label names and facts (once per daemon).
let warm = Date()
_ = try fusion.answer(MomentQuery(text: "warm up"))
let warmSeconds = Date().timeIntervalSince(warm)

// Side by side, query by query: the fast scorer and the plain reference
// (`FusionRanking.forceReference`), alternating which goes first. Every answer of the two
// must agree (moments' streams, times, evidence; scores to 1e-6 relative).
func milliseconds(_ d: Duration) -> Double { d.seconds * 1000 }
/// CPU time of the whole process (every thread) in ms: unlike wall time, barely affected by
/// other processes sharing the cores.
func cpuMilliseconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000 + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000
}
nonisolated(unsafe) var cpuTimes: (fast: [Double], reference: [Double]) = ([], [])
func timed(reference: Bool, _ q: MomentQuery) throws -> (QueryAnswer, Double) {
    FusionRanking.forceReference = reference
    defer { FusionRanking.forceReference = false }
    let c = cpuMilliseconds()
    let t = ContinuousClock.now
    let a = try fusion.answer(q)
    let wall = milliseconds(ContinuousClock.now - t)
    if reference { cpuTimes.reference.append(cpuMilliseconds() - c) } else { cpuTimes.fast.append(cpuMilliseconds() - c) }
    return (a, wall)
}
func same(_ a: QueryAnswer, _ b: QueryAnswer) -> Bool {
    guard a.answer == b.answer, a.moments.count == b.moments.count else { return false }
    return zip(a.moments, b.moments).allSatisfy { x, y in
        x.stream == y.stream && x.startMs == y.startMs && x.endMs == y.endMs
            && abs(x.score - y.score) <= 1e-6 * max(1, abs(y.score))
            && x.evidence.map { "\($0.modality) \($0.text) \($0.startMs)" } == y.evidence.map { "\($0.modality) \($0.text) \($0.startMs)" }
    }
}
let compare = !CommandLine.arguments.contains("--fast-only")
var times: [Double] = []
var referenceTimes: [Double] = []
var byQuestion: [String: (fast: [Double], reference: [Double])] = [:]
var moments = 0
var mismatches = 0
let loadBefore = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
for (k, q) in qs.enumerated() {
    var fast: (QueryAnswer, Double)
    if compare {
        var reference: (QueryAnswer, Double)
        if k % 2 == 0 {
            fast = try timed(reference: false, q)
            reference = try timed(reference: true, q)
        } else {
            reference = try timed(reference: true, q)
            fast = try timed(reference: false, q)
        }
        referenceTimes.append(reference.1)
        byQuestion[q.text, default: ([], [])].reference.append(reference.1)
        if !same(fast.0, reference.0) {
            mismatches += 1
            if mismatches <= 3 { print("MISMATCH for \(q): fast \(fast.0.moments.map { ($0.startMs, $0.score) }) reference \(reference.0.moments.map { ($0.startMs, $0.score) })") }
        }
    } else {
        fast = try timed(reference: false, q)
    }
    times.append(fast.1)
    byQuestion[q.text, default: ([], [])].fast.append(fast.1)
    moments += fast.0.moments.count
}
let loadAfter = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
var embedTimes: [Double] = []
for q in qs.prefix(100) {
    let t = ContinuousClock.now
    _ = try vectorizer.vectors([q.text])
    let d = ContinuousClock.now - t
    embedTimes.append(milliseconds(d))
}
times.sort()
referenceTimes.sort()
embedTimes.sort()
let mib = { (b: Int) in Double(b) / 1_048_576 }
print(String(format: "index: %d windows, %d streams, built in %.1f s; index %.0f MiB counted, RSS +%.0f MiB; label names and facts embedded in %.1f s",
             windows, streams.count, buildSeconds, mib(index.bytes), mib(rssAfter - rssBefore), warmSeconds))
print("load average (1, 5, 15 min) before: \(loadBefore); after: \(loadAfter)")
func row(_ name: String, _ t: [Double]) {
    print(String(format: "%-44@ %9.2f %9.2f %9.2f %9.2f", name as NSString, BenchArguments.percentile(t, 0.5), BenchArguments.percentile(t, 0.95), BenchArguments.percentile(t, 0.99), t.last!))
}
print(String(format: "%-44@ %9@ %9@ %9@ %9@", "POST /v1/query (FusionRanking.answer)" as NSString, "p50 ms" as NSString, "p95 ms" as NSString, "p99 ms" as NSString, "max ms" as NSString))
row("fused, \(queries) mixed queries", times)
if compare {
    row("  reference scorer, the same queries", referenceTimes)
    print(String(format: "ratio reference / fast: p50 %.1fx, p99 %.1fx; answers differing: %d of %d",
                 BenchArguments.percentile(referenceTimes, 0.5) / BenchArguments.percentile(times, 0.5), BenchArguments.percentile(referenceTimes, 0.99) / BenchArguments.percentile(times, 0.99),
                 mismatches, queries))
}
row("of which: query embedding (100)", embedTimes)
let cpuFast = cpuTimes.fast.sorted(), cpuReference = cpuTimes.reference.sorted()
row("CPU time (all threads), fast", cpuFast)
if compare {
    row("CPU time (all threads), reference", cpuReference)
    print(String(format: "CPU ratio reference / fast: median %.1fx, p99 %.1fx", BenchArguments.percentile(cpuReference, 0.5) / BenchArguments.percentile(cpuFast, 0.5),
                 BenchArguments.percentile(cpuReference, 0.99) / BenchArguments.percentile(cpuFast, 0.99)))
}
print("per question (median ms, fast / reference):")
for (text, t) in byQuestion.sorted(by: { $0.key < $1.key }) {
    let f = t.fast.sorted(), r = t.reference.sorted()
    print(String(format: "  %-42@ %7.2f %@", "\"\(text)\"" as NSString, BenchArguments.percentile(f, 0.5),
                 r.isEmpty ? "" : String(format: "/ %7.2f", BenchArguments.percentile(r, 0.5))))
}
print(String(format: "%d moments returned; goal p99 <= 50 ms: %@", moments, BenchArguments.percentile(times, 0.99) <= 50 ? "met" : "NOT met"))
var json: [String: Any] = ["benchmark": "query-fused", "windows": windows, "queries": queries,
                           "p50_ms": BenchArguments.percentile(times, 0.5), "p95_ms": BenchArguments.percentile(times, 0.95), "p99_ms": BenchArguments.percentile(times, 0.99),
                           "max_ms": times.last!, "embed_p50_ms": BenchArguments.percentile(embedTimes, 0.5),
                           "index_mib": mib(index.bytes), "rss_delta_mib": mib(rssAfter - rssBefore), "goal_p99_ms": 50,
                           "load_before": loadBefore, "load_after": loadAfter, "cpu_p50_ms": BenchArguments.percentile(cpuFast, 0.5)]
if compare {
    json["reference_p50_ms"] = BenchArguments.percentile(referenceTimes, 0.5)
    json["reference_p99_ms"] = BenchArguments.percentile(referenceTimes, 0.99)
    json["mismatches"] = mismatches
    json["reference_cpu_p50_ms"] = BenchArguments.percentile(cpuReference, 0.5)
}
print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
if mismatches > 0 { exit(1) }
