// The legacy PyTorch checkpoint reader on small files written by torch.save
// (Scripts/golden/torch_pickle_fixtures.py → Tests/Fixtures/torch), on hand-made hostile
// pickles, on every truncation of a good file, and on the real model files when installed.
import Foundation
import ModelIO
import TestSupport
import XCTest

final class TorchCheckpointTests: XCTestCase {
    private var temporary: TemporaryDirectory!

    override func setUpWithError() throws { temporary = try TemporaryDirectory(prefix: "torch") }

    override func tearDownWithError() throws { temporary = nil }

    private func write(_ name: String, _ bytes: [UInt8]) throws -> String { try temporary.write(name, bytes) }

    /// The reason of a `.malformed` error from opening `path`, failing the test otherwise.
    private func refusal(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try TorchCheckpointFile(path: path)
            XCTFail("\(path) was accepted", file: file, line: line)
        } catch let ModelLoadError.malformed(p, format, reason) {
            XCTAssertEqual(p, path, file: file, line: line)
            XCTAssertEqual(format, "PyTorch legacy checkpoint", file: file, line: line)
            return reason
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
        return ""
    }

    func testReadsAStateDictWithItsTypesViewsAndNesting() throws {
        let path = Fixtures.path("torch/small.pt")
        let file = try TorchCheckpointFile(path: path)
        XCTAssertEqual(file.names, ["conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                                    "bn.num_batches_tracked", "matrix", "row1", "half", "double", "scalar", "nested.w"])
        XCTAssertEqual(try file.floats("conv.weight", shape: [2, 3, 3, 3]), (0..<54).map { Float($0) / 8 - 3 })
        XCTAssertEqual(try file.floats("conv.bias"), [0.5, -0.25])
        XCTAssertEqual(try file.floats("bn.weight"), [1.5, 2])
        XCTAssertEqual(try file.floats("bn.bias"), [-1, 0.125])
        XCTAssertEqual(try file.floats("bn.running_mean"), [0.25, -0.5])
        XCTAssertEqual(try file.floats("bn.running_var"), [4, 0.0625])
        XCTAssertEqual(file.shape(of: "bn.num_batches_tracked"), [])
        XCTAssertEqual(file.dtype(of: "bn.num_batches_tracked"), .int64)
        XCTAssertThrowsError(try file.floats("bn.num_batches_tracked")) {
            XCTAssertEqual($0 as? ModelLoadError, .unsupportedDType(path: path, name: "bn.num_batches_tracked", dtype: "torch.LongStorage"))
        }
        XCTAssertEqual(try file.floats("matrix", shape: [3, 4]), (0..<12).map(Float.init))
        XCTAssertEqual(try file.floats("row1", shape: [4]), [4, 5, 6, 7]) // element offset 4 into matrix's storage
        XCTAssertEqual(try file.weight("half").elementType, .float16)
        XCTAssertEqual(try file.floats("half"), [1, -2, 0.5, 65504])
        XCTAssertEqual(try file.floats("double"), [0.1, -1e10, 3])
        XCTAssertEqual(try file.floats("scalar", shape: []), [2.5])
        XCTAssertEqual(try file.floats("nested.w", shape: [1, 2]), [1, 2])
        XCTAssertNil(file.shape(of: "nested.note"))
        XCTAssertThrowsError(try file.floats("conv.weight", shape: [2, 3, 3])) {
            XCTAssertEqual($0 as? ModelLoadError, .unexpectedShape(path: path, name: "conv.weight", expected: "[2, 3, 3]", found: [2, 3, 3, 3]))
        }
        XCTAssertThrowsError(try file.floats("features.0.0.weight")) {
            XCTAssertEqual($0 as? ModelLoadError, .missingTensor(path: path, name: "features.0.0.weight"))
        }
    }

    func testGathersStridedTensorsIntoRowMajorOrder() throws {
        // t = arange(6).reshape(2, 3).t(): shape [3, 2], stride [1, 3] (as MTCNN's weights are stored).
        let file = try TorchCheckpointFile(path: Fixtures.path("torch/transposed.pt"))
        XCTAssertEqual(file.tensors["t"]?.strides, [1, 3])
        XCTAssertEqual(try file.floats("t", shape: [3, 2]), [0, 3, 1, 4, 2, 5])
    }

    func testNeverRunsCodeAPickleNames() {
        // The fixture's object reduces to os.system("true"); on Linux it pickles as posix.system.
        let reason = refusal(Fixtures.path("torch/malicious.pt"))
        XCTAssertTrue(reason.contains("refers to posix.system, which this reader does not construct"), reason)
        XCTAssertTrue(reason.hasPrefix("state dict pickle, at byte "), reason)
    }

    func testRefusesTheZipFormatSayingHowToResave() {
        let reason = refusal(Fixtures.path("torch/zipformat.pt"))
        XCTAssertTrue(reason.contains("zip-format torch checkpoint"), reason)
        XCTAssertTrue(reason.contains("_use_new_zipfile_serialization=False"), reason)
    }

    func testEveryTruncationIsAClearError() throws {
        let full = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path("torch/small.pt"))))
        XCTAssertGreaterThan(full.count, 1000)
        for n in 0..<full.count {
            let path = try write("cut.pt", Array(full[0..<n]))
            XCTAssertThrowsError(try TorchCheckpointFile(path: path), "\(n) bytes") { error in
                guard case ModelLoadError.malformed = error else { return XCTFail("\(n) bytes: \(error)") }
            }
        }
        let tail = refusal(try write("tail.pt", Array(full.dropLast(1))))
        XCTAssertTrue(tail.contains("run past the end of the \(full.count - 1)-byte file (truncated?)"), tail)
    }

    func testWrongKindsOfFile() throws {
        XCTAssertTrue(refusal(try write("text.pt", Array("hello".utf8))).contains("does not start with a pickle (first byte 0x68)"))
        XCTAssertTrue(refusal(try write("empty.pt", [])).contains("first byte none"))
        // A plain pickle of the int 5 (protocol 2): a pickle, but not torch.save's magic number.
        XCTAssertTrue(refusal(try write("five.pkl", [0x80, 0x02, 0x4B, 0x05, 0x2E])).contains("wrong magic number"))
        XCTAssertThrowsError(try TorchCheckpointFile(path: temporary.url.path)) { error in
            guard case ModelLoadError.cannotOpen = error else { return XCTFail("\(error)") }
        }
    }

    func testHostilePickles() throws {
        let cases: [(String, [UInt8], String)] = [
            ("global", [0x80, 0x02, 0x63] + Array("os\nsystem\n".utf8) + [0x2E], "refers to os.system, which this reader does not construct"),
            ("stack-global", [0x80, 0x04, 0x8C, 0x08] + Array("builtins".utf8) + [0x8C, 0x04] + Array("eval".utf8) + [0x93, 0x2E],
             "refers to builtins.eval"),
            ("memo", [0x80, 0x02, 0x6A, 0xFF, 0xFF, 0xFF, 0x7F, 0x2E], "memo index 2147483647 read before it was written"),
            ("long-string", [0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F], "needs 2147483647 bytes at byte 7 but the file ends at 7"),
            ("empty-stack", [0x80, 0x02, 0x2E], "pickle pops an empty stack"),
            ("call-non-global", [0x80, 0x02, 0x4B, 0x01, 0x29, 0x52, 0x2E], "calls a int, not a whitelisted global"),
            ("opcode", [0x80, 0x02, 0x69], "unsupported pickle opcode 0x69 'i'"),
            ("protocol", [0x80, 0x09], "pickle protocol 9"),
            ("setitems-odd", [0x80, 0x02, 0x7D, 0x28, 0x4B, 0x01, 0x75, 0x2E], "odd number (1)"),
        ]
        for (name, bytes, message) in cases {
            let reason = refusal(try write(name, bytes))
            XCTAssertTrue(reason.contains(message), "\(name): \(reason)")
            XCTAssertTrue(reason.hasPrefix("magic number pickle, at byte "), "\(name): \(reason)")
        }
    }

    // MARK: - The real files, when Scripts/fetch-models installed them

    func testMobileNetV2Checkpoint() throws {
        let path = Fixtures.modelsDirectory + "/mobilenet-v2/mobilenet_v2-b0353104.pth"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: path), "mobilenet-v2 not installed (Scripts/fetch-models mobilenet-v2)")
        let file = try TorchCheckpointFile(path: path)
        XCTAssertEqual(file.names.count, 314)
        XCTAssertEqual(file.names.first, "features.0.0.weight")
        XCTAssertEqual(file.shape(of: "features.0.0.weight"), [32, 3, 3, 3])
        XCTAssertEqual(file.shape(of: "features.1.conv.0.0.weight"), [32, 1, 3, 3])
        XCTAssertEqual(file.shape(of: "features.18.0.weight"), [1280, 320, 1, 1])
        XCTAssertEqual(file.shape(of: "classifier.1.weight"), [1000, 1280])
        XCTAssertEqual(Array(try file.floats("classifier.1.bias")[0..<3]), [0.04718802496790886, 0.00994938239455223, -0.03339512273669243])
        XCTAssertEqual(Array(try file.floats("features.0.0.weight")[0..<2]), [0.013185339979827404, -0.004321294371038675])
    }

    func testMTCNNCheckpoints() throws {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.modelsDirectory)) ?? []
        let found = dirs.map { Fixtures.modelsDirectory + "/" + $0 }.first { FileManager.default.fileExists(atPath: $0 + "/pnet.pt") }
        guard let dir = found else { throw XCTSkip("no model directory holds facenet-pytorch's pnet.pt") }
        let expected: [(String, String, [Int])] = [
            ("pnet.pt", "conv1.weight", [10, 3, 3, 3]), ("pnet.pt", "conv4_2.weight", [4, 32, 1, 1]),
            ("rnet.pt", "dense4.weight", [128, 576]), ("rnet.pt", "dense5_2.bias", [4]),
            ("onet.pt", "dense5.weight", [256, 1152]), ("onet.pt", "dense6_3.weight", [10, 256]),
        ]
        // conv1.weight is stored transposed (stride [1, 10, 30, 90]); values as torch reads them.
        let pnet = try TorchCheckpointFile(path: dir + "/pnet.pt")
        XCTAssertEqual(pnet.tensors["conv1.weight"]?.strides, [1, 10, 30, 90])
        let conv1 = try pnet.floats("conv1.weight", shape: [10, 3, 3, 3])
        XCTAssertEqual(Array(conv1[0..<3]), [-0.08164715766906738, 0.8359154462814331, 1.246496558189392])
        XCTAssertEqual(Array(conv1[(1 * 27 + 2 * 9)..<(1 * 27 + 2 * 9 + 3)]), [-0.29579049348831177, 1.1879833936691284, 1.2591369152069092])
        for (name, tensor, shape) in expected {
            let file = try TorchCheckpointFile(path: dir + "/" + name)
            XCTAssertEqual(file.shape(of: tensor), shape, "\(name) \(tensor)")
            XCTAssertEqual(try file.floats(tensor).count, shape.reduce(1, *))
        }
    }
}
