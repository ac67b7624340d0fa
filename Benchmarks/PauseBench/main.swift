// Speech with pauses, measured: runs the speech-pauses cases (Tests/Fixtures/speech-pauses)
// through the file path (`sightline transcribe` as library code) and through the live path
// (LiveSpeechTranscriber fed 2 s windows, as the daemon feeds it), and prints per case the
// timing problems of every cue and segment, sentences lost, and the word error rate of
// each path on the same audio.
//   PauseBench file [--case NAME] [--model M] [--beam N] [--vad on|off] [--words on|off] [--format srt|vtt|json]
//   PauseBench live [--case NAME] [--model M] [--clips on] [--show on]
//     [--prompt CHARS] [--join-sentences on|off] [--join-gap MS] [--max-joined MS]
//     (--clips on: also the bundled speech clips, as the live WER test does; the others set
//     LiveSpeechOptions)
import SpokenWords
import Foundation
import Kernels
import ModelIO
import Subtitles
import TestSupport
import Transcription
import VAD
import Whisper

var args = Array(CommandLine.arguments.dropFirst())
let mode = args.isEmpty ? "file" : args.removeFirst()
var opt: [String: String] = [:]
while args.count >= 2 { opt[args.removeFirst()] = args.removeFirst() }
let model = opt["--model"] ?? "whisper-base"
try ThreadPool.configureShared(threads: Int(opt["--threads"] ?? "2") ?? 2)
let cases = try PauseCase.all().filter { c in opt["--case"].map { c.name.hasPrefix($0) } ?? true }

@MainActor func liveOptions() -> TranscriptionOptions {
    var o = TranscriptionOptions.live
    o.conditionOnPreviousText = opt["--condition"] == "on"  // the daemon's: off
    return o
}

switch mode {
case "file":
    let formats = (opt["--format"] ?? "srt,vtt,json").split(separator: ",").map(String.init)
    var total = 0
    var worstStart: Int64 = 0, worstEnd: Int64 = 0, worstInSpeech: Int64 = 0
    var wer = WordErrors()
    var seconds = 0.0
    for c in cases {
        let path = NSTemporaryDirectory() + "pausebench-\(getpid()).wav"
        try c.writeWAV(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for f in formats {
            var job = TranscriptionJob(input: path)
            job.model = model
            job.format = SubtitleFormat(rawValue: f)!
            job.vad = opt["--vad"] != "off"
            job.options.beamSize = Int(opt["--beam"] ?? "5") ?? 5
            job.options.wordTimestamps = opt["--words"] == "on"
            let t0 = Date()
            let out = try job.run()
            seconds += Date().timeIntervalSince(t0)
            let spans = f == "json" ? try TimedText.segments(ofJSON: out) : TimedText.cues(of: out)
            let problems = c.problems(spans, minDurationMs: f == "json" ? 0 : 700)
            let errors = c.edgeErrors(spans)
            // Cue ends may be stretched to the 0.7 s minimum; JSON segment ends are exact.
            worstStart = max(worstStart, errors.startsAtSilence.map { abs($0) }.max() ?? 0)
            if f == "json" { worstEnd = max(worstEnd, errors.endsAtSilence.map { abs($0) }.max() ?? 0) }
            worstInSpeech = max(worstInSpeech, errors.inSpeech.map { abs($0) }.max() ?? 0)
            total += problems.count
            if f == formats.last { wer.add(reference: c.reference, hypothesis: spans.map(\.text).joined(separator: " ")) }
            print("\(c.name) \(f): \(spans.count) spans, \(problems.count) problems")
            for p in problems.prefix(6) { print("   \(p)") }
            if opt["--show"] == "on" { print(out) }
        }
    }
    print("largest error next to silence: starts \(worstStart) ms, JSON segment ends \(worstEnd) ms; inside continuous speech \(worstInSpeech) ms")
    print("TOTAL problems \(total); WER \(wer.errors)/\(wer.words) = \(String(format: "%.2f", wer.rate * 100)) %; \(String(format: "%.1f", seconds)) s")
case "live":
    let whisper = try WhisperTranscriber(model: model)
    let vad = try SileroVADWeights(modelsDirectory: ModelRegistry().root.path)
    var liveWER = WordErrors(), fileWER = WordErrors()
    var liveSeconds = 0.0, fileSeconds = 0.0
    var inputs: [(name: String, samples: [Float], reference: String, pauseCase: PauseCase?)] = try cases.map {
        ($0.name, try $0.samples(), $0.reference, $0)
    }
    if opt["--clips"] == "on" {
        for clip in try SpeechReference.clips() {
            inputs.append((clip.file, try AudioFixture.samples(clip.path), clip.reference, nil))
        }
    }
    for (name, samples, reference, pauseCase) in inputs {
        let recognizer = WhisperRecognizer(transcriber: whisper, options: liveOptions())
        var liveOpts = LiveSpeechOptions()
        if let v = opt["--prompt"].flatMap({ Int($0) }) { liveOpts.promptCharacters = v }
        if let v = opt["--max-joined"].flatMap({ Int($0) }) { liveOpts.maxJoinedMs = v }
        if let v = opt["--join-gap"].flatMap({ Int($0) }) { liveOpts.maxJoinGapMs = v }
        if let v = opt["--join-sentences"] { liveOpts.joinAfterSentenceEnd = v == "on" }
        let live = LiveSpeechTranscriber(vad: vad, recognizer: recognizer, options: liveOpts)
        var segments: [TranscriptSegment] = []
        let t0 = Date()
        var at = 0
        while at < samples.count {
            let end = min(at + 32_000, samples.count)
            segments += try live.feed(Array(samples[at..<end]), startMs: Int64(at / 16))
            at = end
        }
        segments += try live.flush()
        liveSeconds += Date().timeIntervalSince(t0)
        let t1 = Date()
        var fileOptions = liveOptions()
        fileOptions.conditionOnPreviousText = true
        let file = try FileTranscriber(recognizer: WhisperRecognizer(transcriber: whisper, options: fileOptions),
                                       gate: SpeechGate(weights: vad)).transcribe(samples: samples)
        fileSeconds += Date().timeIntervalSince(t1)
        let liveText = segments.map(\.text).joined(separator: " ")
        let fileText = file.segments.map(\.text).joined(separator: " ")
        var l = WordErrors(), f = WordErrors()
        l.add(reference: reference, hypothesis: liveText)
        f.add(reference: reference, hypothesis: fileText)
        liveWER.add(reference: reference, hypothesis: liveText)
        fileWER.add(reference: reference, hypothesis: fileText)
        print("\(name): live \(l.errors)/\(l.words), file \(f.errors)/\(f.words)")
        let problems = pauseCase?.problems(segments.map { TimedText(startMs: $0.startMs, endMs: $0.endMs, text: $0.text) }) ?? []
        for p in problems.prefix(4) { print("   live: \(p)") }
        if opt["--show"] == "on" { print("   live: \(liveText)\n   file: \(fileText)") }
    }
    print(String(format: "TOTAL live WER %d/%d = %.2f %%, file WER %d/%d = %.2f %%; live %.1f s, file %.1f s",
                 liveWER.errors, liveWER.words, liveWER.rate * 100, fileWER.errors, fileWER.words, fileWER.rate * 100,
                 liveSeconds, fileSeconds))
default:
    print("usage: PauseBench file|live [--case NAME] ...")
}
