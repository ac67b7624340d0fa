// Whisper in bf16 (encoder and decoder) against fp32 on the shared speech set (the clips of
// REFERENCES.tsv, whole-file greedy decoding): the word error rate against the references
// may rise by at most 0.5 points, and most clips give fp32's tokens. On a CPU without
// AVX-512 BF16 the bf16 rounding is emulated in fp32 (same numbers as the bf16 kernels up to
// summation order), and `auto` must pick fp32 there.
import Foundation
import Kernels
import TestSupport
import Whisper
import XCTest

final class PrecisionTests: XCTestCase {
    func testAutoPicksBF16OnlyWithAVX512BF16() {
        let hasBF16 = KernelConfig.cpuHasBF16 && KernelConfig.detectedISA == .avx512
        XCTAssertEqual(WhisperPrecision.auto.resolved, hasBF16 ? .bf16 : .fp32)
        XCTAssertEqual(WhisperPrecision.fp32.resolved, .fp32)
        XCTAssertEqual(WhisperPrecision.bf16.resolved, .bf16)
        // Kernels held to AVX2 on an AVX-512 BF16 CPU: bf16 would be emulated, so fp32.
        let isa = KernelConfig.isa
        defer { KernelConfig.isa = isa }
        KernelConfig.isa = .avx2
        XCTAssertEqual(WhisperPrecision.auto.resolved, .fp32)
        XCTAssertEqual(WhisperPrecision.bf16.resolved, .bf16)
    }

    func testBF16KeepsTheWordErrorRateAndMostTokens() throws {
        let dir = URL(fileURLWithPath: Fixtures.modelsDirectory).appendingPathComponent("whisper-base")
        let fp32 = try WhisperTranscriber(directory: dir, beamSlots: 1, precision: .fp32)
        let bf16 = try WhisperTranscriber(directory: dir, beamSlots: 1, precision: .bf16)
        XCTAssertEqual(bf16.model.precision, .bf16)
        var o = TranscriptionOptions.greedy
        o.language = "en"
        var w32 = WordErrors(), w16 = WordErrors(), sameTokens = 0, clips = 0
        for clip in try SpeechReference.clips() {
            let samples = try AudioFixture.samples(clip.path)
            let a = try fp32.transcribe(samples: samples, options: o), b = try bf16.transcribe(samples: samples, options: o)
            w32.add(reference: clip.reference, hypothesis: a.text)
            w16.add(reference: clip.reference, hypothesis: b.text)
            clips += 1
            if a.segments.flatMap(\.tokens) == b.segments.flatMap(\.tokens) { sameTokens += 1 } else { print("\(clip.file): fp32 \"\(a.text)\" bf16 \"\(b.text)\"") }
        }
        print("fp32 WER \(w32.errors)/\(w32.words), bf16 WER \(w16.errors)/\(w16.words); identical tokens on \(sameTokens)/\(clips) clips")
        XCTAssertEqual(clips, 13)
        XCTAssertLessThanOrEqual(w16.rate, w32.rate + 0.005, "bf16 \(w16.errors)/\(w16.words) vs fp32 \(w32.errors)/\(w32.words)")
        XCTAssertGreaterThan(sameTokens * 2, clips, "bf16 gave fp32's tokens on \(sameTokens) of \(clips) clips, not most")
    }
}
