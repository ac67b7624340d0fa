// Utterance packing, measured and checked on the shared speech set (the clips of
// Tests/Fixtures/media/speech/REFERENCES.tsv and the 92 s lecture), each as one live stream.
// 1. The utterances the live path sends to Whisper (Silero VAD online, 2 s windows) are
//    recorded, then recognised alone and packed several to a 30 s window (taken from
//    different streams in turn, as the packer would); per utterance: same text? word times
//    within 20 ms? and the recogniser time alone vs packed (medians of --runs, interleaved);
//    for the packed utterances that open a clip with a forced alignment (the LibriVox ones),
//    how far their word edges are from it, alone and packed.
// 2. The streams replayed live at once through a PackingRecognizer (each stream on its own
//    thread) against the same streams unpacked: final transcripts and word times per stream,
//    and for the clips with a forced alignment (the LibriVox ones), how far the word edges
//    of each are from it.
// --precision-check: instead, every clip of the set transcribed whole (greedy) with the
// encoder in fp32 and in bf16 (emulated where the CPU lacks AVX-512 BF16): WER against the
// references for each, and how many clips give identical tokens.
// --jitter: instead of packing, how far lone word times move when only the cut (10, 20 or
// 32 ms later) or the precision (the other one) changes: the scale packing's differences compare to.
// --audio a.wav,b.mp4: those files as the streams instead of the speech set (no WER).
// --precision fp32|bf16|auto: Whisper's arithmetic for parts 1 and 2 (fp32 by default).
// Prints a table and, as its last line, one JSON object.
import Foundation
import Kernels
import SpokenWords
import Subtitles
import TestSupport
import Transcription
import VAD
import Whisper


struct Args {
    var threads = 2, runs = 3, gap = WhisperTranscriber.defaultPackGapFrames, latencyMs = 5000
    var model = "whisper-base", live = true, only = "", precisionCheck = false, weightGap = true, deviation = false, deviationOnly = false, words = false, jitter = false, audio = "", precision = WhisperPrecision.fp32
    init() {
        var it = CommandLine.arguments.dropFirst().makeIterator()
        while let a = it.next() {
            let v = it.next() ?? ""
            switch a {
            case "--threads": threads = Int(v) ?? 2
            case "--runs": runs = Int(v) ?? 3
            case "--gap-frames": gap = Int(v) ?? gap
            case "--latency-ms": latencyMs = Int(v) ?? latencyMs
            case "--model": model = v
            case "--live": live = v != "off"
            case "--only": only = v
            case "--precision-check": precisionCheck = v != "off"
            case "--weight-gap": weightGap = v != "off"
            case "--deviation": deviation = v != "off"
            case "--deviation-only": deviationOnly = v != "off"
            case "--words": words = v != "off"
            case "--jitter": jitter = v != "off"
            case "--audio": audio = v
            case "--precision":
                guard let p = WhisperPrecision(rawValue: v) else {
                    FileHandle.standardError.write(Data("--precision takes fp32, bf16 or auto, not \(v)\n".utf8)); exit(2)
                }
                precision = p
            default: FileHandle.standardError.write(Data("unknown argument \(a)\n".utf8)); exit(2)
            }
        }
    }
}

func live(_ samples: [Float], _ t: LiveSpeechTranscriber) throws -> [TranscriptSegment] {
    var out: [TranscriptSegment] = []
    var at = 0
    while at < samples.count {
        let end = min(at + 2000 * 16, samples.count)
        out += try t.feed(Array(samples[at..<end]), startMs: Int64(at / 16))
        at = end
    }
    return out + (try t.flush())
}

/// How far (ms) one word's start or end moved between two transcripts.
func wordTimeDelta(_ x: TranscriptWord, _ y: TranscriptWord) -> Int64 { max(abs(x.startMs - y.startMs), abs(x.endMs - y.endMs)) }

/// Largest word-time difference (ms) between two transcripts with the same words; nil when the words differ.
func wordTimeDelta(_ a: [TranscriptSegment], _ b: [TranscriptSegment]) -> Int64? {
    let wa = a.flatMap(\.words), wb = b.flatMap(\.words)
    guard wa.map(\.word) == wb.map(\.word) else { return nil }
    return zip(wa, wb).map(wordTimeDelta).max() ?? 0
}

/// `--words`: the words of two transcripts with the same words whose times differ by more than 20 ms.
func printMovedWords(_ a: [TranscriptSegment], _ b: [TranscriptSegment], label: String, first: String, second: String) {
    for (x, y) in zip(a.flatMap(\.words), b.flatMap(\.words)) where wordTimeDelta(x, y) > 20 {
        print("    \(label)\(x.word): \(first) \(x.startMs)-\(x.endMs) ms, \(second) \(y.startMs)-\(y.endMs) ms")
    }
}

func median(_ v: [Double]) -> Double { let s = v.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
func meanMs(_ v: [Int64]) -> Double { v.isEmpty ? 0 : Double(v.reduce(0, +)) / Double(v.count) }

let args = Args()
try ThreadPool.configureShared(threads: args.threads)
let modelDirectory = URL(fileURLWithPath: Fixtures.modelsDirectory).appendingPathComponent(args.model)
let whisper = try WhisperTranscriber(directory: modelDirectory, precision: args.precision.resolved)
let vad = try SileroVADWeights(modelsDirectory: Fixtures.modelsDirectory)
let recognizer = WhisperRecognizer(transcriber: whisper, options: .live)
recognizer.packGapFrames = args.gap
recognizer.packWeightGap = args.weightGap

var inputs: [(name: String, samples: [Float], reference: String)] = []
if !args.audio.isEmpty {
    // Other streams' audio instead of the speech set (no references: WER is not counted).
    for path in args.audio.split(separator: ",").map(String.init) {
        do {
            inputs.append((URL(fileURLWithPath: path).lastPathComponent, try AudioFixture.samples(path), ""))
        } catch {
            FileHandle.standardError.write(Data("--audio: \(error); give audio files ffmpeg can decode, separated by commas\n".utf8))
            exit(2)
        }
    }
} else {
    let lecture = try PauseCase.named("lecture")
    if args.only.isEmpty || args.only.contains("lecture") { inputs.append(("lecture", try lecture.samples(), lecture.reference)) }
    for clip in try SpeechReference.clips() {
        if !args.only.isEmpty && !args.only.split(separator: ",").contains(where: { clip.file.hasPrefix($0) }) { continue }
        inputs.append((clip.file, try AudioFixture.samples(clip.path), clip.reference))
    }
}

if args.precisionCheck {
    let bf16 = try WhisperTranscriber(directory: modelDirectory,
                                      beamSlots: 1, precision: .bf16)
    var o = TranscriptionOptions.greedy
    o.language = "en"
    var w32 = WordErrors(), w16 = WordErrors(), sameTokens = 0
    for input in inputs {
        let a = try whisper.transcribe(samples: input.samples, options: o)
        let b = try bf16.transcribe(samples: input.samples, options: o)
        w32.add(reference: input.reference, hypothesis: a.text)
        w16.add(reference: input.reference, hypothesis: b.text)
        let same = a.segments.flatMap(\.tokens) == b.segments.flatMap(\.tokens)
        if same { sameTokens += 1 } else { print("  \(input.name): fp32 \"\(a.text)\" | bf16 \"\(b.text)\"") }
    }
    print("precision: fp32 WER \(w32.errors)/\(w32.words), bf16 WER \(w16.errors)/\(w16.words) (\(bf16.model.precision), emulated \(!KernelConfig.cpuHasBF16)); identical tokens on \(sameTokens)/\(inputs.count) clips")
    let json: [String: Any] = ["benchmark": "precision", "model": args.model, "wer_fp32": w32.rate, "wer_bf16": w16.rate,
                               "errors_fp32": w32.errors, "errors_bf16": w16.errors, "words": w32.words,
                               "same_tokens": sameTokens, "clips": inputs.count, "emulated": !KernelConfig.cpuHasBF16]
    print(String(data: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), encoding: .utf8)!)
    exit(0)
}

// 1. Unpacked live run, recording the utterances.
var unpacked: [[TranscriptSegment]] = []
var perStream: [[RecognitionRequest]] = []
for input in inputs {
    let rec = RequestRecorder(recognizer)
    unpacked.append(try live(input.samples, LiveSpeechTranscriber(vad: vad, recognizer: rec)))
    perStream.append(rec.requests)
}
// Round-robin over streams: the order utterances of simultaneous speakers arrive in.
var order: [(stream: Int, index: Int)] = []
for k in 0..<(perStream.map(\.count).max() ?? 0) {
    for s in perStream.indices where k < perStream[s].count { order.append((s, k)) }
}
let requests = order.map { perStream[$0.stream][$0.index] }
if args.deviationOnly {
    // Encoder rows only, no decoding: pairs of utterances, and each utterance packed alone (a check: 0).
    for (gap, weight) in [(args.gap, true), (args.gap, false)] {
        var line = "gap \(gap) weight \(weight):"
        for i in stride(from: 0, to: min(requests.count, 8) - 1, by: 2) {
            let d = try whisper.packedEncoderDeviation([requests[i].samples, requests[i + 1].samples], gapFrames: gap, weightGap: weight)
            line += d.map { String(format: " %.2f/%.3f/%.3f", $0.own, $0.ownRMS, $0.padRMS) }.joined()
        }
        print(line)
    }
    exit(0)
}
if args.jitter {
    // How far lone word times move when nothing but the cut or the precision changes: each
    // utterance alone as recorded, against the same utterance cut 10, 20 or 32 ms later
    // (one mel frame, one encoder frame, one VAD chunk; times shifted back), and in the other precision.
    let reference = try requests.map { try recognizer.recognize($0.samples, prompt: $0.prompt, progress: nil) }
    // The other precision than the one --precision chose.
    let other: WhisperPrecision = args.precision.resolved == .bf16 ? .fp32 : .bf16
    let otherRecognizer = WhisperRecognizer(transcriber: try WhisperTranscriber(directory: modelDirectory, precision: other), options: .live)
    for (label, cutMs, r) in [("cut 10 ms later", 10, recognizer), ("cut 20 ms later", 20, recognizer),
                              ("cut 32 ms later", 32, recognizer), (other.rawValue, 0, otherRecognizer)] {
        var same = 0, within = 0, deltas: [Int64] = []
        for (req, ref) in zip(requests, reference) {
            var out = try r.recognize(Array(req.samples.dropFirst(cutMs * 16)), prompt: req.prompt, progress: nil)
            for s in out.segments.indices {
                out.segments[s].words = out.segments[s].words.map { w in
                    var w = w
                    w.startMs += Int64(cutMs); w.endMs += Int64(cutMs)
                    return w
                }
            }
            guard let d = wordTimeDelta(ref.segments, out.segments) else { continue }
            same += 1
            if d <= 20 { within += 1 }
            deltas.append(d)
        }
        print("jitter, \(label): same words \(same)/\(requests.count), word times within 20 ms on \(within)/\(same), largest differences \(deltas.sorted().suffix(5)) ms")
    }
    exit(0)
}
var alone: [RecognizedSpeech] = [], packed: [RecognizedSpeech] = []
var aloneTimes: [Double] = [], packedTimes: [Double] = []
for _ in 0..<args.runs {
    var t0 = Date()
    var each: [Double] = []
    alone = try requests.map { r in
        let t = Date()
        defer { each.append(Date().timeIntervalSince(t)) }
        return try recognizer.recognize(r.samples, prompt: r.prompt, progress: nil)
    }
    if !args.audio.isEmpty {
        let typical = median(each)
        for (i, t) in each.enumerated() where t > 3 * typical {
            print(String(format: "  slow alone: %@#%d (%d ms) %.2f s (median %.2f s): \"%@\"", "\(inputs[order[i].stream].name)", order[i].index,
                         requests[i].samples.count / 16, t, typical, alone[i].segments.map(\.text).joined()))
        }
    }
    aloneTimes.append(Date().timeIntervalSince(t0))
    t0 = Date()
    packed = try recognizer.recognize(batch: requests)
    packedTimes.append(Date().timeIntervalSince(t0))
}
// The windows the recogniser packs: consecutive requests that fit one.
var groups: [[Int]] = []
do {
    var group: [Int] = []
    for i in requests.indices {
        if !group.isEmpty && !recognizer.fitOneWindow(sampleCounts: (group + [i]).map { requests[$0].samples.count }) { groups.append(group); group = [] }
        group.append(i)
    }
    if !group.isEmpty { groups.append(group) }
}
let windows = groups.count
// --deviation: how far each packed utterance's encoder rows are from its lone ones.
var deviation = [(own: Float, ownRMS: Float, decoderRows: Float, padRMS: Float)](repeating: (0, 0, 0, 0), count: requests.count)
if args.deviation {
    for g in groups where g.count > 1 {
        let d = try whisper.packedEncoderDeviation(g.map { requests[$0].samples }, gapFrames: args.gap, weightGap: args.weightGap)
        for (k, i) in g.enumerated() { deviation[i] = d[k] }
    }
}
var sameText = 0, maxDelta: Int64 = 0, differing: [String] = []
var changed = WordErrors() // packed against lone transcripts, as PackingTests counts
for (i, (a, p)) in zip(alone, packed).enumerated() {
    let ta = a.segments.map(\.text).joined(), tp = p.segments.map(\.text).joined()
    changed.add(reference: ta, hypothesis: tp)
    let name = "\(inputs[order[i].stream].name)#\(order[i].index)"
    let dev = args.deviation ? String(format: " encoder |Δ| own %.3f (rel. RMS %.4f), decoder rows %.3f (padding rel. RMS %.4f)",
                                      deviation[i].own, deviation[i].ownRMS, deviation[i].decoderRows, deviation[i].padRMS) : ""
    if ta == tp {
        sameText += 1
        let delta = wordTimeDelta(a.segments, p.segments) ?? 0
        maxDelta = max(maxDelta, delta)
        print("  same: \(name) (\(requests[i].samples.count / 16) ms) word-time Δ \(delta) ms\(dev)")
        if args.words { printMovedWords(a.segments, p.segments, label: "", first: "alone", second: "packed") }
    } else {
        print("  DIFF: \(name) (\(requests[i].samples.count / 16) ms)\(dev)")
        differing.append("\(name): alone \"\(ta)\" | packed \"\(tp)\"")
    }
}
// Against the forced alignments: the utterances that open a clip that has one (Whisper's own
// word times, before the live path tightens them to the voice detector's speech).
var edgesAlone: [Int64] = [], edgesShared: [Int64] = []
for (i, (a, p)) in zip(alone, packed).enumerated() {
    let input = inputs[order[i].stream], samples = requests[i].samples
    guard input.samples.starts(with: samples), let truth = ForcedAlignment(clip: input.name),
          groups.contains(where: { $0.count > 1 && $0.contains(i) }) else { continue }
    edgesAlone += truth.edgeErrors(a.segments)
    edgesShared += truth.edgeErrors(p.segments)
}
print("utterances \(requests.count) in \(windows) packed windows (gap \(args.gap) frames); same text \(sameText)/\(requests.count), max word-time difference \(maxDelta) ms; words changed against lone \(changed.errors)/\(changed.words)")
for d in differing { print("  differs: \(d)") }
if !edgesAlone.isEmpty {
    print(String(format: "word edges of packed utterances against the forced alignments: alone mean %.1f ms, max %d; packed mean %.1f ms, max %d (%d edges)",
                 meanMs(edgesAlone), edgesAlone.max() ?? 0, meanMs(edgesShared), edgesShared.max() ?? 0, edgesAlone.count))
}
print(String(format: "recogniser: alone %.2f s, packed %.2f s (median of %d), packed/alone %.3f",
             median(aloneTimes), median(packedTimes), args.runs, median(packedTimes) / median(aloneTimes)))

if !args.live { exit(0) }
// 2. Every stream live at once through the packer.
let packer = PackingRecognizer(recognizer, latencyMs: args.latencyMs)
for _ in inputs { packer.addStream() }
final class Results: @unchecked Sendable {
    let lock = NSLock()
    var segments: [[TranscriptSegment]]
    init(_ n: Int) { segments = Array(repeating: [], count: n) }
}
func replay(_ streams: [[Float]], vad: SileroVADWeights, packer: PackingRecognizer) -> [[TranscriptSegment]] {
    let results = Results(streams.count)
    // A thread per stream (GCD's concurrentPerform would run only one per core at a time).
    let done = DispatchGroup()
    for i in streams.indices {
        done.enter()
        Thread {
            let segments = (try? live(streams[i], LiveSpeechTranscriber(vad: vad, recognizer: packer))) ?? []
            packer.removeStream()
            results.lock.withLock { results.segments[i] = segments }
            done.leave()
        }.start()
    }
    done.wait()
    return results.segments
}
let t0 = Date()
let packedLive = replay(inputs.map(\.samples), vad: vad, packer: packer)
let liveSeconds = Date().timeIntervalSince(t0)
var werUnpacked = WordErrors(), werPacked = WordErrors()
var streamsSame = 0, liveMaxDelta: Int64 = 0
for (i, input) in inputs.enumerated() {
    let u = unpacked[i].map(\.text).joined(separator: " "), p = packedLive[i].map(\.text).joined(separator: " ")
    werUnpacked.add(reference: input.reference, hypothesis: u)
    werPacked.add(reference: input.reference, hypothesis: p)
    if u == p {
        streamsSame += 1
        liveMaxDelta = max(liveMaxDelta, wordTimeDelta(unpacked[i], packedLive[i]) ?? 0)
        if args.words { printMovedWords(unpacked[i], packedLive[i], label: input.name + " ", first: "unpacked", second: "packed") }
    } else {
        print("  stream \(input.name): unpacked \"\(u)\" | packed \"\(p)\"")
    }
}
// Against an independent reference for word times: the forced alignments of the clips that
// have one, unpacked and packed.
var edgesUnpacked: [Int64] = [], edgesPacked: [Int64] = []
for (i, input) in inputs.enumerated() {
    guard let truth = ForcedAlignment(clip: input.name) else { continue }
    let u = truth.edgeErrors(unpacked[i]), p = truth.edgeErrors(packedLive[i])
    edgesUnpacked += u
    edgesPacked += p
    print(String(format: "  %@ against its forced alignment: unpacked %d edges, mean %.0f ms, max %d; packed %d edges, mean %.0f ms, max %d",
                 input.name, u.count, meanMs(u), u.max() ?? 0, p.count, meanMs(p), p.max() ?? 0))
}
if !edgesUnpacked.isEmpty {
    print(String(format: "word edges against the forced alignments: unpacked mean %.1f ms (%d edges), packed mean %.1f ms (%d edges)",
                 meanMs(edgesUnpacked), edgesUnpacked.count, meanMs(edgesPacked), edgesPacked.count))
}
let c = packer.counts
print("live: \(inputs.count) streams at once, \(c.utterances) utterances in \(c.batches) batches (\(c.shared) shared); same transcript \(streamsSame)/\(inputs.count), max word-time difference \(liveMaxDelta) ms; WER unpacked \(werUnpacked.errors)/\(werUnpacked.words), packed \(werPacked.errors)/\(werPacked.words); \(String(format: "%.1f", liveSeconds)) s")
let json: [String: Any] = [
    "benchmark": "pack", "model": args.model, "threads": args.threads, "gap_frames": args.gap, "runs": args.runs,
    "utterances": requests.count, "packed_windows": windows, "same_text": sameText, "max_word_delta_ms": maxDelta,
    "words_changed": changed.errors, "words_alone": changed.words,
    "alone_s": median(aloneTimes), "packed_s": median(packedTimes), "packed_over_alone": median(packedTimes) / median(aloneTimes),
    "live_streams": inputs.count, "live_same": streamsSame, "live_max_word_delta_ms": liveMaxDelta,
    "live_batches": c.batches, "live_shared": c.shared,
    "wer_unpacked": werUnpacked.rate, "wer_packed": werPacked.rate,
    "alignment_edges_part1": edgesAlone.count, "alignment_mean_ms_alone": meanMs(edgesAlone), "alignment_mean_ms_shared": meanMs(edgesShared),
    "alignment_edges_unpacked": edgesUnpacked.count, "alignment_mean_ms_unpacked": meanMs(edgesUnpacked),
    "alignment_edges_packed": edgesPacked.count, "alignment_mean_ms_packed": meanMs(edgesPacked),
]
print(String(data: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), encoding: .utf8)!)
