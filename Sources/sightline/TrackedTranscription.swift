// `transcribe --tracks`: the glue between the layers that do the work. Speech comes from the
// transcription job (Transcription), the picture evidence of the file's frames at 1 a second
// from the picture modalities (Modalities.FileFrameScan), captions and on-screen text cues
// from the timeline segmenter and caption composer (Retrieval.FileTracks), and the merged file
// from the subtitle renderers (Subtitles.CueTracks).
import Foundation
import ModelIO
import Modalities
import Retrieval
import SightlineCore
import Subtitles
import Transcription

struct TrackedTranscription {
    var job: TranscriptionJob
    var tracks: [CueTrack]

    /// The rendered file. Speech is transcribed when its track is asked for, and for the
    /// captions' "says" part (then an input without audio just has no speech).
    func run(progress: ProgressLine?) throws -> String {
        var transcript: Transcript? = nil
        if tracks.contains(.speech) {
            transcript = try job.transcript(progress: progress?.report)
        } else if tracks.contains(.captions) {
            do { transcript = try job.transcript(progress: progress?.report) } catch {
                progress?.finish()
                FileHandle.standardError.write(Data("captions without speech: \(error.description)\n".utf8))
            }
        }
        var cues: [TrackCue] = []
        if let transcript, tracks.contains(.speech) {
            do { cues += try CueTracks.speechCues(transcript, rules: job.rules) } catch {
                throw TranscriptionJobError.rendering(error.description)
            }
        }
        if tracks.contains(.captions) || tracks.contains(.text) {
            let look = try PictureLook(setup: EncoderSetup.defaults(modelsDirectory: job.registry.root.path))
            let records = try FileFrameScan.windows(input: job.input, look: look) { done, total in
                progress?.reportFrames(doneMs: done, totalMs: total)
            }
            let speech = (transcript?.segments ?? []).map { TimedText(startMs: $0.startMs, endMs: $0.endMs, text: $0.text) }
            let windows = FileTracks.windows(records, speech: speech)
            if tracks.contains(.captions) {
                cues += FileTracks.captions(windows).map { TrackCue(track: .captions, startMs: $0.startMs, endMs: $0.endMs, text: $0.text, rules: job.rules) }
            }
            if tracks.contains(.text) {
                cues += FileTracks.text(windows).map { TrackCue(track: .text, startMs: $0.startMs, endMs: $0.endMs, text: $0.text, rules: job.rules) }
            }
        }
        return CueTracks.render(cues, tracks: tracks, format: job.format, language: transcript?.language, model: transcript?.model)
    }
}
