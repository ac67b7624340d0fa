// Checks WebVTTParser against mozilla/vtt.js's own test files (Tests/Fixtures/subtitles): every
// cue object in each `.json` (times, text, settings, regions) and the displayed text of every
// cue in each `-proc.json` rendering.
import Foundation
import Subtitles
import TestSupport
import XCTest

final class WebVTTParserFixtureTests: XCTestCase {
    static let names = [
        "vttjs_cue-times_left-tab",
        "vttjs_cue-times_max-spots-over-sixty",
        "vttjs_cuetext_escape-characters_together",
        "vttjs_cuetext_timestamp_basic",
        "vttjs_cuetext_voice_with-two-subclasses",
        "vttjs_file-layout_many-comments",
        "vttjs_integration_cycle-collector-talk",
        "vttjs_integration_regions",
        "vttjs_integration_spec-example",
    ]

    private func load(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("subtitles/\(name)")))
    }

    private func json(_ name: String) throws -> Any? {
        let path = Fixtures.path("subtitles/\(name)")
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try JSONSerialization.jsonObject(with: try load(name), options: [.fragmentsAllowed])
    }

    func testCueObjectsMatchVttJs() throws {
        var checkedCues = 0
        for name in Self.names {
            guard let expected = try json("\(name).json") as? [String: Any] else { continue }
            let doc = try WebVTTParser.parse(try load("\(name).vtt"))
            XCTAssertEqual(doc.droppedBlockLines, [], name)
            let cues = try XCTUnwrap(expected["cues"] as? [[String: Any]], name)
            XCTAssertEqual(doc.cues.count, cues.count, name)
            for (got, want) in zip(doc.cues, cues) {
                let where_ = "\(name) cue at \(want["startTime"] ?? "?")"
                XCTAssertEqual(got.startMs, ms(want["startTime"]), where_)
                XCTAssertEqual(got.endMs, ms(want["endTime"]), where_)
                XCTAssertEqual(got.text, want["text"] as? String, where_)
                XCTAssertEqual(got.id, want["id"] as? String, where_)
                XCTAssertEqual(got.align, want["align"] as? String, where_)
                XCTAssertEqual(got.lineAlign, want["lineAlign"] as? String, where_)
                XCTAssertEqual(got.positionAlign, want["positionAlign"] as? String, where_)
                XCTAssertEqual(got.vertical, want["vertical"] as? String, where_)
                XCTAssertEqual(got.snapToLines, want["snapToLines"] as? Bool, where_)
                XCTAssertEqual(got.size, (want["size"] as? NSNumber)?.doubleValue, where_)
                XCTAssertEqual(got.line.map { "\($0)" } ?? "auto", (want["line"] as? String) ?? "\(want["line"]!)", where_)
                XCTAssertEqual(got.position.map { "\($0)" } ?? "auto", (want["position"] as? String) ?? "\(want["position"]!)", where_)
                if let region = want["region"] as? [String: Any] {
                    let r = try XCTUnwrap(got.region, where_)
                    assertRegion(r, region, where_)
                } else {
                    XCTAssertNil(got.region, where_)
                }
                checkedCues += 1
            }
            let regions = try XCTUnwrap(expected["regions"] as? [[String: Any]], name)
            XCTAssertEqual(doc.regions.count, regions.count, name)
            for (got, want) in zip(doc.regions, regions) { assertRegion(got, want, name) }
        }
        XCTAssertEqual(checkedCues, 1 + 1 + 1 + 1 + 2 + 15 + 6 + 13)
    }

    func testDisplayedTextMatchesVttJsRendering() throws {
        var checked = 0
        for name in Self.names {
            guard let rendered = try json("\(name)-proc.json") as? [[String: Any]] else { continue }
            let doc = try WebVTTParser.parse(try load("\(name).vtt"))
            XCTAssertEqual(doc.cues.count, rendered.count, name)
            for (cue, node) in zip(doc.cues, rendered) {
                XCTAssertEqual(WebVTTCueText.plainText(cue.text), node["textContent"] as? String, name)
                checked += 1
            }
        }
        XCTAssertEqual(checked, 1 + 1 + 1 + 1 + 2 + 15 + 6 + 13)
    }

    func testLeftTabTimingLine() throws {
        let doc = try WebVTTParser.parse(try load("vttjs_cue-times_left-tab.vtt"))
        XCTAssertEqual(doc.cues.map(\.startMs), [25_000])
        XCTAssertEqual(doc.cues.map(\.endMs), [27_000])
    }

    /// Both files render nothing in vtt.js: a lone BOM and a file without the signature.
    func testFilesWithoutSignatureAreRejected() throws {
        for name in ["vttjs_file-layout_blank-file-with-bom", "vttjs_file-layout_bom-garbage-data"] {
            XCTAssertEqual((try json("\(name)-proc.json") as? [Any])?.count, 0, name)
            XCTAssertThrowsError(try WebVTTParser.parse(try load("\(name).vtt")), name) { error in
                guard case WebVTTParseError.missingSignature = error else {
                    return XCTFail("\(name): unexpected error \(error)")
                }
            }
        }
        XCTAssertEqual(
            "\(WebVTTParseError.missingSignature(firstLine: "garbage"))",
            "not a WebVTT file: the first line must start with \"WEBVTT\" (found \"garbage\"); "
                + "check that the file is WebVTT and not SRT or another format")
    }

    func testMalformedTimingLineIsDroppedAndReported() throws {
        let doc = try WebVTTParser.parse("WEBVTT\n\n00:01.000 --> 00:0x.000\nbad\n\nid\n00:03.000 --> 00:04.000\ngood\n")
        XCTAssertEqual(doc.droppedBlockLines, [3])
        XCTAssertEqual(doc.cues.map(\.text), ["good"])
        XCTAssertEqual(doc.cues.map(\.id), ["id"])
    }

    private func ms(_ seconds: Any?) -> Int64? {
        (seconds as? NSNumber).map { Int64(($0.doubleValue * 1000).rounded()) }
    }

    private func assertRegion(_ got: WebVTTRegion, _ want: [String: Any], _ name: String) {
        XCTAssertEqual(got.width, (want["width"] as? NSNumber)?.doubleValue, name)
        XCTAssertEqual(got.lines, (want["lines"] as? NSNumber)?.intValue, name)
        XCTAssertEqual(got.regionAnchorX, (want["regionAnchorX"] as? NSNumber)?.doubleValue, name)
        XCTAssertEqual(got.regionAnchorY, (want["regionAnchorY"] as? NSNumber)?.doubleValue, name)
        XCTAssertEqual(got.viewportAnchorX, (want["viewportAnchorX"] as? NSNumber)?.doubleValue, name)
        XCTAssertEqual(got.viewportAnchorY, (want["viewportAnchorY"] as? NSNumber)?.doubleValue, name)
        XCTAssertEqual(got.scroll, want["scroll"] as? String, name)
    }
}
