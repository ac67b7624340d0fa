// Sightline's side of `Benchmarks/run speech`: loads a Whisper model once, decodes the
// input audio with MediaIO (untimed), then transcribes it --runs times (VAD gate + Whisper
// when --vad on) and prints one JSON object: per-run wall seconds, peak RSS, text.
// Driven by Benchmarks/speech.py, which runs faster-whisper on the same input alternately.
// --path file: the whole file path instead (FileTranscriber, as `sightline transcribe` runs
// it: VAD gate, segments put back on the media timeline, speech without text decoded again),
// with --words on (words aligned, as every SRT/WebVTT output is) or off.
// --precision fp32|bf16|auto: the encoder's linear layers in bf16 (emulated in fp32 on a CPU
// without AVX-512 BF16, so slower there).
import Foundation
import Kernels
import MediaIO
import Transcription
import VAD
import Whisper
import ModelIO

struct Args {
    var model = "whisper-base", input = "", threads = 2, beam = 5, runs = 3, vad = false, file = false, words = false
    var precision = WhisperPrecision.fp32
    init() {
        var it = CommandLine.arguments.dropFirst().makeIterator()
        while let a = it.next() {
            let v = it.next() ?? ""
            switch a {
            case "--model": model = v
            case "--input": input = v
            case "--threads": threads = Int(v) ?? 2
            case "--beam": beam = Int(v) ?? 5
            case "--runs": runs = Int(v) ?? 3
            case "--vad": vad = v == "on"
            case "--path": file = v == "file"
            case "--words": words = v == "on"
            case "--precision":
                guard let p = WhisperPrecision(rawValue: v) else { FileHandle.standardError.write(Data("bad precision \(v)\n".utf8)); exit(2) }
                precision = p
            default: FileHandle.standardError.write(Data("unknown argument \(a)\n".utf8)); exit(2)
            }
        }
    }
}

func peakRSSBytes() -> Int {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return u.ru_maxrss * 1024
}

let args = Args()
do {
    try ThreadPool.configureShared(threads: args.threads)
    var mo = MediaOptions()
    mo.decodeVideo = false
    let src = try MediaSource(input: args.input, options: mo)
    var samples: [Float] = []
    while let w = try src.nextWindow() { samples += w.audio }
    let loadStart = Date()
    let whisper = try WhisperTranscriber(model: args.model, beamSlots: max(args.beam, 5), precision: args.precision)
    let gate = args.vad ? SpeechGate(weights: try SileroVADWeights(modelsDirectory: ModelRegistry().root.path)) : nil
    let loadSeconds = Date().timeIntervalSince(loadStart)
    var options = TranscriptionOptions()
    options.beamSize = args.beam
    options.wordTimestamps = args.words
    // Without the gate, Silero still tightens aligned word times (as TranscriptionJob does).
    let edges = args.file && !args.vad && args.words ? try SileroVADWeights(modelsDirectory: ModelRegistry().root.path) : nil
    let file = FileTranscriber(recognizer: WhisperRecognizer(transcriber: whisper, options: options), gate: gate, edgeWeights: edges)
    var times: [Double] = []
    var text = ""
    for _ in 0..<args.runs {
        let t0 = Date()
        if args.file {
            text = try file.transcribe(samples: samples).segments.map(\.text).joined()
            times.append(Date().timeIntervalSince(t0))
            continue
        }
        let speech = try gate.map { try $0.gate(samples).samples } ?? samples
        let result = speech.isEmpty ? nil : try whisper.transcribe(samples: speech, options: options)
        times.append(Date().timeIntervalSince(t0))
        text = result?.text ?? ""
    }
    let out: [String: Any] = [
        "impl": "sightline", "precision": whisper.model.precision.rawValue,
        "emulated_bf16": whisper.model.precision == .bf16 && !KernelConfig.cpuHasBF16, "model": args.model, "threads": args.threads, "beam": args.beam, "vad": args.vad,
        "path": args.file ? "file" : "whisper", "words": args.words,
        "audio_seconds": Double(samples.count) / 16_000, "load_seconds": loadSeconds, "run_seconds": times,
        "peak_rss_bytes": peakRSSBytes(), "text": text,
    ]
    print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]), as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("SpeechBench: \(error)\n".utf8))
    exit(2)
}
