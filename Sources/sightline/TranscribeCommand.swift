import ArgumentParser
import Foundation
import Kernels
import Subtitles
import Transcription
import Whisper

extension SubtitleFormat: ExpressibleByArgument {}
extension WhisperTask: ExpressibleByArgument {}

struct TranscribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Transcribe the speech in a video or audio input to SRT, WebVTT, JSON or text; optionally add captions and on-screen text.",
        discussion: """
        INPUT is anything FFmpeg opens (file, URL). Speech regions are found with Silero VAD \
        first (--no-vad sends all audio to Whisper). Exit code 2: unreadable input, no audio \
        stream, or a missing model (the message says which and how to fix it).

        --tracks adds cue tracks from the picture (frames looked at once a second with the \
        models a stream runs): `captions`, one line per scene segment saying who and what is \
        seen, what is written and said; `text`, each on-screen line while it shows. Tracks \
        are merged in time order: SRT marks the others "[caption: …]" and "[text: …]", \
        WebVTT wraps each cue in <c.TRACK>, JSON lists {"track", "start_ms", "end_ms", "text"} cues.

        Examples:
          sightline transcribe talk.mp4 -o talk.srt
          sightline transcribe interview.mkv --format json --word-timestamps -o -
          sightline transcribe lecture.mp3 --model whisper-tiny.en --beam 1 -o lecture.txt
          sightline transcribe doorbell.mp4 --tracks speech,captions,text -o doorbell.vtt
        """
    )

    @Argument(help: "File path or URL to transcribe.")
    var input: String

    @Option(name: .shortAndLong, help: "Output file, or - for stdout (default).")
    var output: String = "-"

    @Option(help: "srt, vtt, json or txt (default: from the -o extension, else srt).")
    var format: SubtitleFormat?

    @Option(help: "Model name (whisper-base, whisper-tiny.en) or a Whisper directory: CTranslate2 (model.bin) or Hugging Face (model.safetensors, as openai/whisper-* on the Hub).")
    var model: String = "whisper-base"

    @Option(help: "Spoken language code (en, de, ...) or auto.")
    var language: String = "auto"

    @Option(help: "transcribe, or translate (to English; multilingual models).")
    var task: WhisperTask = .transcribe

    @Option(help: "Beam size (1 = greedy).")
    var beam: Int = 5

    @Option(help: "Compute threads (0 = one per core).")
    var threads: Int = 0

    @Option(help: "Whisper's arithmetic: fp32, bf16 (bf16 weights; the encoder also rounds its activations), or auto (bf16 only on CPUs with AVX-512 BF16; elsewhere bf16 is emulated and slower).")
    var precision: String = "auto"

    @Flag(help: "Add per-word times and probabilities (JSON output, finer cue splits).")
    var wordTimestamps = false

    @Flag(help: "Do not gate with voice activity detection; decode all audio.")
    var noVad = false

    @Option(help: "Cue tracks, comma-separated: speech, captions, text (default: speech).")
    var tracks: String = "speech"

    /// The tracks `--tracks` names, in its order, each once.
    func parsedTracks() throws -> [CueTrack] {
        var out: [CueTrack] = []
        for name in tracks.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !name.isEmpty {
            guard let t = CueTrack(rawValue: name) else {
                throw ValidationError("--tracks: '\(name)' is not a track; use speech, captions or text")
            }
            if !out.contains(t) { out.append(t) }
        }
        guard !out.isEmpty else { throw ValidationError("--tracks needs at least one of speech, captions, text") }
        return out
    }

    func validate() throws {
        guard (1...16).contains(beam) else { throw ValidationError("--beam must be 1...16") }
        guard threads >= 0 else { throw ValidationError("--threads must be 0 (auto) or more") }
        guard WhisperPrecision(rawValue: precision) != nil else { throw ValidationError("--precision must be fp32, bf16 or auto") }
        _ = try parsedTracks()
    }

    func run() throws {
        if threads > 0 { try? ThreadPool.configureShared(threads: threads) }
        var job = TranscriptionJob(input: input)
        job.model = model
        job.format = format ?? SubtitleFormat(rawValue: (output as NSString).pathExtension.lowercased()) ?? .srt
        job.vad = !noVad
        job.options.language = language == "auto" ? nil : language
        job.options.task = task
        job.options.beamSize = beam
        job.precision = WhisperPrecision(rawValue: precision) ?? .auto
        job.options.wordTimestamps = wordTimestamps
        let reporter = ProgressLine.forStandardError()
        let chosen = try parsedTracks()
        let text: String
        do {
            // Speech alone is today's output, byte for byte.
            text = chosen == [.speech] ? try job.run(progress: reporter?.report)
                : try TrackedTranscription(job: job, tracks: chosen).run(progress: reporter)
        } catch let error as TranscriptionJobError {
            reporter?.finish()
            throw CLIFailure(message: error.description)
        } catch {
            reporter?.finish()
            throw CLIFailure(message: "\(error)")
        }
        reporter?.finish()
        if output == "-" {
            FileHandle.standardOutput.write(Data(text.utf8))
        } else {
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: output))
            } catch {
                throw CLIFailure(message: "cannot write \(output): \(error.localizedDescription)")
            }
        }
    }
}
