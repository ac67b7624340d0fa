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
        abstract: "Transcribe the speech in a video or audio input to SRT, WebVTT, JSON or text.",
        discussion: """
        INPUT is anything FFmpeg opens (file, URL). Speech regions are found with Silero VAD \
        first (--no-vad sends all audio to Whisper). Exit code 2: unreadable input, no audio \
        stream, or a missing model (the message says which and how to fix it).

        Examples:
          sightline transcribe talk.mp4 -o talk.srt
          sightline transcribe interview.mkv --format json --word-timestamps -o -
          sightline transcribe lecture.mp3 --model whisper-tiny.en --beam 1 -o lecture.txt
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

    @Option(help: "Encoder arithmetic: fp32, bf16, or auto (bf16 only on CPUs with AVX-512 BF16; elsewhere bf16 is emulated and slower).")
    var precision: String = "auto"

    @Flag(help: "Add per-word times and probabilities (JSON output, finer cue splits).")
    var wordTimestamps = false

    @Flag(help: "Do not gate with voice activity detection; decode all audio.")
    var noVad = false

    func validate() throws {
        guard (1...16).contains(beam) else { throw ValidationError("--beam must be 1...16") }
        guard threads >= 0 else { throw ValidationError("--threads must be 0 (auto) or more") }
        guard WhisperPrecision(rawValue: precision) != nil else { throw ValidationError("--precision must be fp32, bf16 or auto") }
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
        let text: String
        do {
            text = try job.run(progress: reporter?.report)
        } catch {
            reporter?.finish()
            throw CLIFailure(message: error.description)
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
