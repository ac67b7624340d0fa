// `sightline look` as a user runs it: a real clip with a person, its JSON, the drawn PNG read
// back by FFmpeg, and pictures that are broken or odd (truncated PNG, a text file named .jpg,
// a 1x1 picture, a CMYK JPEG) giving a clear error or a sane answer, never a crash.
import Foundation
import MediaIO
import TestSupport
import XCTest

final class LookCommandTests: XCTestCase {
    private func requireModels() throws {
        for file in ["ssdlite-person/frozen_inference_graph.pb", "mtcnn/onet.pt", "mobilenet-v2/mobilenet_v2-b0353104.pth",
                     "ppocr-v5-mobile/ppocrv5_rec.onnx"] {
            try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.modelsDirectory + "/" + file), "\(file) not installed")
        }
    }

    struct Report: Decodable {
        struct Detection: Decodable { var box: [Double]; var score: Double }
        struct Label: Decodable { var label: String; var score: Double }
        struct Line: Decodable { var text: String; var score: Double; var box: [Double] }
        var width: Int
        var height: Int
        var people: [Detection]
        var faces: [Detection]
        var labels: [Label]
        var text: [Line]
        var motion: Double
    }

    func testAVideoMomentAsJSONAndDrawn() throws {
        try requireModels()
        let dir = try TemporaryDirectory(prefix: "look")
        let png = dir.url.appendingPathComponent("frame.png").path
        let r = try Fixtures.run("sightline", ["look", Fixtures.path("media/carphone.mp4"), "--at", "0:02", "--json", "--draw", png])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try JSONDecoder().decode(Report.self, from: Data(r.stdout.utf8))
        XCTAssertEqual(report.width, 176)
        XCTAssertEqual(report.height, 144)
        XCTAssertEqual(report.people.count, 1)
        XCTAssertEqual(report.faces.count, 1)
        let face = report.faces[0].box, person = report.people[0].box
        XCTAssertTrue(face[0] >= person[0] && face[2] <= person[2], "the face is inside the person: \(face) \(person)")
        XCTAssertGreaterThan(report.motion, 0, "he talks and moves between 1.5 s and 2 s")
        // The drawing is a real PNG of the same size, and the person is still found on it.
        let drawn = try MediaSource.frame(input: png, atMs: 0).frame
        XCTAssertEqual([drawn.width, drawn.height], [176, 144])
        let again = try Fixtures.run("sightline", ["look", png, "--json"])
        XCTAssertEqual(try JSONDecoder().decode(Report.self, from: Data(again.stdout.utf8)).people.count, 1, again.stderr)
    }

    func testBadPicturesGiveClearErrors() throws {
        let dir = try TemporaryDirectory(prefix: "look-bad")
        let good = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("ocr/dtrb_demo_1.ppm")))
        let cases: [(String, Data, String)] = [
            ("cut.ppm", good.prefix(good.count / 3), "no video frame could be decoded"),
            ("text.jpg", Data("hello, not a picture\n".utf8), "no video frame could be decoded"),
            ("empty.png", Data(), "cannot open"),
        ]
        for (name, bytes, message) in cases {
            let path = try dir.write(name, [UInt8](bytes))
            let r = try Fixtures.run("sightline", ["look", path])
            XCTAssertEqual(r.status, 2, "\(name): \(r.stdout) \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(name): \(r.stderr)")
        }
        let late = try Fixtures.run("sightline", ["look", Fixtures.path("media/carphone.mp4"), "--at", "9:00"])
        XCTAssertEqual(late.status, 2)
        XCTAssertTrue(late.stderr.contains("its last frame is at"), late.stderr)
        let badTime = try Fixtures.run("sightline", ["look", Fixtures.path("media/carphone.mp4"), "--at", "soon"])
        XCTAssertEqual(badTime.status, 2)
        XCTAssertTrue(badTime.stderr.contains("--at soon is not a time"), badTime.stderr)
    }

    func testOddButValidPicturesGiveSaneAnswers() throws {
        try requireModels()
        let dir = try TemporaryDirectory(prefix: "look-odd")
        // A 1x1 PPM and a 2x2 CMYK JPEG (Adobe APP14 inverted CMYK, as Photoshop writes it), both made here.
        let one = try dir.write("one.ppm", Array("P6\n1 1\n255\n".utf8) + [200, 10, 10])
        let r = try Fixtures.run("sightline", ["look", one, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try JSONDecoder().decode(Report.self, from: Data(r.stdout.utf8))
        XCTAssertEqual([report.width, report.height], [1, 1])
        XCTAssertEqual(report.people.count + report.faces.count + report.text.count, 0)
        let cmyk = Fixtures.path("vision/cmyk.jpg")
        let c = try Fixtures.run("sightline", ["look", cmyk, "--json"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let cr = try JSONDecoder().decode(Report.self, from: Data(c.stdout.utf8))
        XCTAssertEqual(cr.people.count, 1, "the CMYK copy of a carphone frame still shows the man")
    }
}
