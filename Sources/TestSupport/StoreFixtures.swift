// Window records with known text, for store and ranking tests.
import SpokenWords
import SightlineCore

/// A 2 s window of `stream` at `start` with one speech segment saying `text` (its first word
/// timed) and an audio level.
public func speechWindow(_ stream: String, _ start: Int64, _ text: String) -> WindowRecord {
    WindowRecord(streamId: stream, startMs: start, endMs: start + 2000, frameCount: 2, audioSamples: 32000,
                 evidence: [Evidence(modality: .speech, startMs: start + 100, endMs: start + 1900, text: text,
                                     words: [TranscriptWord(startMs: start + 100, endMs: start + 400,
                                                            word: text.split(separator: " ").first.map(String.init) ?? "")]),
                            Evidence(modality: .audioLevel, startMs: start, endMs: start + 2000, value: -23.5)])
}
