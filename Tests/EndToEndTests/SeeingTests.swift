// Seeing end to end, with real models: a camera clip with a person in view, replayed in real
// time by `sightline serve` with the picture modalities on, answers "person" and "face"
// queries with boxes, its timeline holds the people count, the labels and one image
// embedding per labelled frame, and the standing query on "person" raises events.
import Foundation
import Server
import TestSupport
import XCTest

final class SeeingTests: XCTestCase {
    func testACameraWithAPersonAnswersPersonWithBoxes() throws {
        for file in ["ssdlite-person/frozen_inference_graph.pb", "mtcnn/onet.pt", "mobilenet-v2/mobilenet_v2-b0353104.pth"] {
            try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.modelsDirectory + "/" + file), "\(file) not installed")
        }
        let daemon = try DaemonProcess(vision: true)
        try daemon.addStream("car", """
            id = "car"
            source = "\(Fixtures.path("media/carphone.mp4"))"
            realtime = true
            loop = true
            [modalities]
            speech = false
            audio_level = false
            ocr = false
            [[queries]]
            text = "person"
            """)
        try daemon.start()

        func moments(_ text: String) throws -> [[String: Any]] {
            let reply = try daemon.client.call("POST", "/v1/query", json: ["text": text, "streams": ["car"]])
            return (try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])?["moments"] as? [[String: Any]] ?? []
        }
        // A moment's evidence may start with the fused count fact ("a person", no box) before
        // the detector's rows are in: wait for a detector row with its box.
        var evidence: [[String: Any]] = []
        try E2E.waitUntil("a 'person' moment with a box\n\(daemon.log)", seconds: 60) {
            evidence = try moments("person").flatMap { ($0["evidence"] as? [[String: Any]]) ?? [] }
            return evidence.contains { ($0["modality"] as? String) == "person" && $0["box"] is [Double] }
        }
        let person = try XCTUnwrap(evidence.first { ($0["modality"] as? String) == "person" && $0["box"] is [Double] }, "\(evidence)")
        let box = try XCTUnwrap(person["box"] as? [Double], "\(person)")
        XCTAssertEqual(box.count, 4)
        XCTAssertTrue(box[0] < 0.2 && box[2] > 0.8, "the man fills the frame's width: \(box)")
        XCTAssertFalse(try moments("face").isEmpty, "his face is found too")

        let timeline = try daemon.client.call("GET", "/v1/streams/car/timeline?limit=20")
        let windows = (try JSONSerialization.jsonObject(with: Data(timeline.body)) as? [String: Any])?["windows"] as? [[String: Any]] ?? []
        let items = windows.flatMap { ($0["evidence"] as? [[String: Any]]) ?? [] }
        let counts = items.filter { ($0["modality"] as? String) == "person" }.compactMap { $0["value"] as? Double }
        XCTAssertFalse(counts.isEmpty)
        XCTAssertTrue(counts.allSatisfy { $0 == 1 }, "one person in every frame: \(counts)")
        XCTAssertTrue(items.contains { ($0["modality"] as? String) == "label" && $0["text"] is String }, "labels stored")
        XCTAssertTrue(items.contains { ($0["modality"] as? String) == "image" }, "image embeddings stored")

        // The standing query's occurrence begins once 2 of 3 windows showed a person.
        var events = ""
        try E2E.waitUntil("an occurrence of 'person'\n\(daemon.log)", seconds: 30) {
            events = try daemon.client.call("GET", "/v1/events?format=json&limit=20").text
            return events.contains("\"kind\":\"occurrence_start\"")
        }
        XCTAssertTrue(events.contains("\"query\":\"person\""), events)
        daemon.terminate()
    }
}
