// MediaIO's side of `Benchmarks/run ingest`: decodes FILE the way the pipeline does
// (every frame decoded, 1 fps sampled and scaled to 224x224 RGB, or keyframes only) and
// prints one JSON line with counts, wall time, and resident memory samples.
//
//   IngestBench FILE --threads T [--keyframes] [--full-decode] [--rss-every N]
// --full-decode turns off MediaOptions.skipUnsampledFrames (decode every frame, as ffmpeg's
// fps filter needs to).
import Foundation
import MediaIO

func residentMB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}

let args = Array(CommandLine.arguments.dropFirst())
guard let file = args.first else {
    FileHandle.standardError.write(Data("usage: IngestBench FILE --threads T [--keyframes] [--full-decode] [--rss-every N]\n".utf8))
    exit(2)
}
@MainActor func option(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}
var options = MediaOptions()
options.decodeThreads = Int(option("--threads") ?? "0") ?? 0
options.frameSize = FrameSize(width: 224, height: 224)
options.decodeAudio = args.contains("--audio")
if args.contains("--keyframes") { options.sampling = .keyframesOnly }
options.skipUnsampledFrames = !args.contains("--full-decode")
let rssEvery = Int(option("--rss-every") ?? "0") ?? 0

let started = Date()
do {
    let source = try MediaSource(input: file, options: options)
    var windows = 0, frames = 0
    var rss: [Double] = []
    while let w = try source.nextWindow() {
        windows += 1
        frames += w.frames.count
        if rssEvery > 0 && windows % rssEvery == 0 { rss.append((residentMB() * 10).rounded() / 10) }
    }
    let seconds = Date().timeIntervalSince(started)
    let s = source.stats
    print("{\"windows\":\(windows),\"frames\":\(frames),\"decoded\":\(s.videoFramesDecoded),\"packets_skipped\":\(s.videoPacketsSkipped),\"seconds\":\(seconds),\"rss_mb\":\(rss)}")
} catch {
    FileHandle.standardError.write(Data("IngestBench: \(error)\n".utf8))
    exit(2)
}
