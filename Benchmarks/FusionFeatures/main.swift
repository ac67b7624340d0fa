// Dumps the fused ranking's per-window features with relevance labels, for Scripts/fit-fusion.
//
//   FusionFeaturesBench --store DEVSET.sqlite --queries Tests/Fixtures/devset/queries.json [--clips Tests/Fixtures/devset] [--models DIR] > features.jsonl
//
// The store is the dev set's clips indexed with every modality on (`sightline ask CLIP …
// --index DEVSET.sqlite` for each clip, or FileIndex); a clip's stream is the id FileIndex
// gives its file (`FileIndex.streamId`). For every query of queries.json (version 1: id,
// clip, kind, text, ranges in ms), every window of the query's clip is one JSON line:
//   {"query": id, "kind": kind, "stream": clip, "start_ms": s, "end_ms": e, "relevant": 0|1, "features": {signal: z}}
// A window is relevant when it overlaps a true range by at least half its length.
import Daemon
import Foundation
import Retrieval
import SightlineCore
import Store
import TextEmbedder

struct Vectorizer: TextVectorizer {
    let model: String
    let embedder: TextEmbedder
    func vectors(_ texts: [String]) throws -> [[Float]] { texts.isEmpty ? [] : embedder.embed(texts) }
}

struct QueryFile: Decodable {
    struct Query: Decodable {
        var id: String
        var clip: String
        var kind: String
        var text: String
        var ranges: [[Int64]]
    }
    struct Clip: Decodable { var file: String }
    var version: Int
    var clips: [String: Clip]
    var queries: [Query]
}

struct Line: Encodable {
    var query: String
    var kind: String
    var stream: String
    var start_ms: Int64
    var end_ms: Int64
    var relevant: Int
    var features: [String: Double]
}

let args = CommandLine.arguments
func option(_ name: String) -> String? {
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    return nil
}
guard let storePath = option("--store"), let queriesPath = option("--queries") else {
    FileHandle.standardError.write(Data("usage: FusionFeaturesBench --store PATH --queries queries.json [--models DIR] [--model-name NAME]\n".utf8))
    exit(2)
}
let models = option("--models") ?? ProcessInfo.processInfo.environment["SIGHTLINE_MODELS"] ?? (NSHomeDirectory() + "/.cache/sightline/models")
let modelName = option("--model-name") ?? "minilm-l6-v2"
let file = try JSONDecoder().decode(QueryFile.self, from: Data(contentsOf: URL(fileURLWithPath: queriesPath)))
guard file.version == 1 else { FileHandle.standardError.write(Data("queries.json version \(file.version) is not 1\n".utf8)); exit(2) }
let clipsDir = option("--clips") ?? ((queriesPath as NSString).deletingLastPathComponent)
var streamOf: [String: String] = [:]
for (name, clip) in file.clips {
    streamOf[name] = try FileIndex.streamId(path: (clipsDir as NSString).appendingPathComponent(clip.file))
}
let store = try Store(path: storePath)
let vectorizer = Vectorizer(model: modelName, embedder: try TextEmbedder(directory: URL(fileURLWithPath: models).appendingPathComponent("minilm-l6-v2")))
let fusion = FusionRanking(index: WindowIndex(store: store, model: modelName), vectorizer: vectorizer)
let encoder = JSONEncoder()
encoder.outputFormatting = [.sortedKeys]
var lines = 0, relevant = 0
for q in file.queries {
    guard let stream = streamOf[q.clip] else { continue }
    for w in try fusion.features(MomentQuery(text: q.text, streams: [stream])) {
        let half = (w.endMs - w.startMs) / 2
        let hit = q.ranges.contains { r in r.count == 2 && min(r[1], w.endMs) - max(r[0], w.startMs) >= max(half, 1) }
        let line = Line(query: q.id, kind: q.kind, stream: w.stream, start_ms: w.startMs, end_ms: w.endMs,
                        relevant: hit ? 1 : 0, features: w.values)
        print(String(decoding: try encoder.encode(line), as: UTF8.self))
        lines += 1
        relevant += hit ? 1 : 0
    }
}
FileHandle.standardError.write(Data("\(file.queries.count) queries, \(lines) windows, \(relevant) relevant\n".utf8))
