// Log-mel against faster-whisper's FeatureExtractor on real clips (fixtures from
// Scripts/golden/whisper_golden.py): within 1e-4 max abs, same frame count.
import Foundation
import Kernels
import TestSupport
import XCTest

final class LogMelTests: XCTestCase {
    func testMatchesReferenceOnRealClips() throws {
        let shapes = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("speech/logmel.json")))) as! [String: [String: Int]]
        XCTAssertEqual(shapes.count, 2)
        let lm = LogMelSpectrogram()
        for (clip, shape) in shapes.sorted(by: { $0.key < $1.key }) {
            let samples = try AudioFixture.samples(Fixtures.path("media/speech/\(clip)"))
            XCTAssertEqual(samples.count, shape["samples"], clip)
            let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("speech/logmel-\((clip as NSString).deletingPathExtension).f32")))
            let ref = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } // (80, frames)
            let (mel, frames) = lm.compute(samples)
            XCTAssertEqual(frames, shape["frames"], clip)
            XCTAssertEqual(mel.count, ref.count, clip)
            var maxErr: Float = 0
            for i in 0..<min(mel.count, ref.count) { maxErr = max(maxErr, abs(mel[i] - ref[i])) }
            XCTAssertLessThan(maxErr, 1e-4, "\(clip): max abs error \(maxErr)")
        }
    }

    func testFilterbankIsSlaneyNormalised() {
        let lm = LogMelSpectrogram()
        // First filter: corners f0 = 0, f1, f2 = 2·f1 with f1 = (200/3)·(45.2456/81) ≈ 37.2 Hz.
        // Bin 1 (40 Hz) is on the falling edge: (f2 − 40)/(f2 − f1), times enorm 2/(f2 − f0).
        let f1 = 200.0 / 3 * (45.245640471924965 / 81), f2 = 2 * f1
        XCTAssertEqual(Double(lm.filters[1]), (f2 - 40) / (f2 - f1) * 2 / f2, accuracy: 1e-6)
        XCTAssertEqual(lm.filters[0], 0)
        XCTAssertEqual(LogMelSpectrogram.frameCount(samples: 16_000), 101)
    }

    func testSilenceIsConstantAndShortInputWorks() {
        let (mel, frames) = LogMelSpectrogram().compute([Float](repeating: 0, count: 1_600))
        XCTAssertEqual(frames, 11)
        // log10(1e-10) = -10 everywhere, max - 8 floor does nothing, (−10 + 4) / 4 = −1.5.
        XCTAssertTrue(mel.allSatisfy { $0 == -1.5 })
        let (tiny, n) = LogMelSpectrogram().compute([0.1, -0.2, 0.3])
        XCTAssertEqual(n, 1)
        XCTAssertEqual(tiny.count, 80)
    }
}
