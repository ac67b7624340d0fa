// The safetensors reader on files built byte by byte in the test: F32 / F16 / BF16 values,
// metadata, and every kind of malformed file giving an error that names the problem.
import Foundation
import ModelIO
import XCTest

final class SafeTensorsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes header JSON + data with the 8-byte little-endian length prefix.
    private func write(_ name: String, header: String, data: [UInt8], headerLength: UInt64? = nil) throws -> String {
        let json = Array(header.utf8)
        let n = headerLength ?? UInt64(json.count)
        var bytes = (0..<8).map { UInt8((n >> (8 * UInt64($0))) & 0xFF) }
        bytes += json + data
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func le32(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in (0..<4).map { UInt8((v.bitPattern >> (8 * UInt32($0))) & 0xFF) } }
    }

    func testReadsF32F16AndBF16() throws {
        // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800, smallest subnormal 0x0001 = 2^-24.
        // BF16: 1.0 = 0x3F80, -0.15625 = 0xBE20.
        let data = le32([1.5, -2.25, 3, 0.125, 1e-3, -7]) + [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38, 0x01, 0x00]
            + [0x80, 0x3F, 0x20, 0xBE]
        let path = try write("ok.safetensors", header: """
            {"__metadata__":{"format":"pt"},
             "w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},
             "h":{"dtype":"F16","shape":[4],"data_offsets":[24,32]},
             "b":{"dtype":"BF16","shape":[2],"data_offsets":[32,36]}}
            """, data: data)
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(Set(file.tensors.keys), ["w", "h", "b"])
        XCTAssertEqual(try file.floats("w", shape: [2, 3]), [1.5, -2.25, 3, 0.125, 1e-3, -7])
        XCTAssertEqual(try file.floats("h", shape: [4]), [1, -2, 0.5, 0x1p-24])
        XCTAssertEqual(try file.floats("b", shape: [2]), [1, -0.15625])
    }

    func testMissingTensorAndWrongShape() throws {
        let path = try write("a.safetensors", header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: le32([1, 2]))
        let file = try SafeTensorsFile(path: path)
        XCTAssertThrowsError(try file.floats("conv1.weight", shape: [2])) {
            XCTAssertEqual($0 as? ModelLoadError, .missingTensor(path: path, name: "conv1.weight"))
        }
        XCTAssertThrowsError(try file.floats("w", shape: [1, 2])) {
            XCTAssertEqual($0 as? ModelLoadError, .unexpectedShape(path: path, name: "w", expected: "[1, 2]", found: [2]))
            XCTAssertEqual("\($0)", "tensor \"w\" in \(path) has shape [2], expected [1, 2]; the file does not match its config")
        }
    }

    func testUnsupportedDType() throws {
        let path = try write("i.safetensors", header: #"{"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8))
        XCTAssertThrowsError(try SafeTensorsFile(path: path).floats("i", shape: [1])) {
            XCTAssertEqual($0 as? ModelLoadError, .unsupportedDType(path: path, name: "i", dtype: "I64"))
        }
    }

    func testMalformedFiles() throws {
        let cases: [(String, String, [UInt8], UInt64?, String)] = [
            ("short", "", [], nil, "shorter than the 8-byte header length"),
            ("huge-header", "{}", [], 1 << 40, "does not fit"),
            ("not-json", "{nope", [], nil, "header is not JSON"),
            ("array", "[1]", [], nil, "header is not a JSON object"),
            ("no-offsets", #"{"w":{"dtype":"F32","shape":[1]}}"#, le32([1]), nil, "lacks dtype, shape or data_offsets"),
            ("past-end", #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, le32([1]), nil, "outside the 4-byte data section"),
            ("size", #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, le32([1, 2]), nil, "has 8 bytes for shape [3] of F32"),
        ]
        for (name, header, data, length, message) in cases {
            let path: String
            if name == "short" {
                path = directory.appendingPathComponent(name).path
                try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
            } else {
                path = try write(name, header: header, data: data, headerLength: length)
            }
            XCTAssertThrowsError(try SafeTensorsFile(path: path), name) { error in
                guard case ModelLoadError.malformed(let p, "safetensors", let reason) = error else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(p, path)
                XCTAssertTrue(reason.contains(message), "\(name): \(reason)")
                XCTAssertTrue("\(error)".hasSuffix("delete it and fetch the model again (`sightline models fetch`)"), "\(error)")
            }
        }
    }

    func testMissingFile() {
        XCTAssertThrowsError(try SafeTensorsFile(path: "/nonexistent/x.safetensors")) { error in
            guard case ModelLoadError.cannotOpen(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/x.safetensors")
        }
    }

    func testShardedCheckpointReadsEachTensorFromItsShard() throws {
        _ = try write("model-00001-of-00002.safetensors", header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: le32([1, 2]))
        _ = try write("model-00002-of-00002.safetensors", header: #"{"b":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}"#, data: [0x80, 0x3F])
        let index = directory.appendingPathComponent(SafeTensorsCheckpoint.indexFile)
        try Data(#"{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#.utf8).write(to: index)
        XCTAssertTrue(SafeTensorsCheckpoint.exists(in: directory))
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        XCTAssertEqual(checkpoint.shape(of: "a"), [2])
        XCTAssertEqual(try checkpoint.floats("a", shape: [2]), [1, 2])
        XCTAssertEqual(try checkpoint.weight("b", shape: [1]).elementType, .bfloat16)
        XCTAssertEqual(try checkpoint.floats("b"), [1])
        XCTAssertThrowsError(try checkpoint.floats("c")) {
            XCTAssertEqual($0 as? ModelLoadError, .missingTensor(path: directory.path, name: "c"))
        }
        // An index that places a tensor in a shard which does not hold it.
        try Data(#"{"weight_map":{"b":"model-00001-of-00002.safetensors"}}"#.utf8).write(to: index)
        XCTAssertThrowsError(try SafeTensorsCheckpoint(directory: directory)) { error in
            guard case ModelLoadError.malformed(_, "safetensors index", let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("does not hold \"b\""), reason)
        }
    }

    func testCheckpointDirectoryWithoutWeights() {
        XCTAssertFalse(SafeTensorsCheckpoint.exists(in: directory))
        XCTAssertThrowsError(try SafeTensorsCheckpoint(directory: directory)) { error in
            guard case ModelLoadError.invalidModelDirectory(_, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("neither model.safetensors nor model.safetensors.index.json"), reason)
        }
    }
}
