// FileIndex with the model-free encoders (motion, audio level) on real clips and scripted
// readers: windows and progress, reuse of a complete index, typed failures, and the
// `pace` key of stream files.
import Foundation
import Logging
import XCTest
@testable import Daemon
@testable import MediaIO
import Modalities
import SightlineCore
@testable import Store
import Synchronization
import TestSupport

final class FileIndexTests: XCTestCase {
    func testIndexesEveryWindowWithProgressAndReusesACompleteIndex() async throws {
        let dir = try TemporaryDirectory(prefix: "fileindex")
        // A copy, so that its modification time is this test's own.
        let clip = dir.path("carphone.mp4")
        try FileManager.default.copyItem(atPath: Fixtures.path("media/carphone.mp4"), toPath: clip)
        let store = try Store(path: dir.path("index.sqlite"))
        let seen = Mutex<[FileIndexProgress]>([])
        let index = FileIndex(encoders: RegistryEncoders.modelFree())
        let first = try await index.index(path: clip, into: store) { p in seen.withLock { $0.append(p) } }
        XCTAssertFalse(first.reused)
        // 4.004 s of video in 2 s windows: [0, 2), [2, 4) and the last, cut at the end: [4, 4.004).
        XCTAssertEqual(first.windows, 3)
        XCTAssertEqual(first.stageErrors, 0)
        XCTAssertEqual(try store.windowCount(stream: first.streamId), 3)
        let progress = seen.withLock { $0 }
        XCTAssertEqual(progress.map(\.windows), [1, 2, 3])
        XCTAssertEqual(progress.map(\.doneMs), [2000, 4000, 4004])
        XCTAssertEqual(progress.first?.totalMs, 4004)
        XCTAssertTrue(first.streamId.hasPrefix("file-"))
        XCTAssertEqual(first.streamId.count, 21)
        XCTAssertEqual(try FileIndex.existing(path: clip, in: store), first.streamId)

        let again = try await index.index(path: clip, into: store)
        XCTAssertTrue(again.reused)
        XCTAssertEqual(again.streamId, first.streamId)
        XCTAssertEqual(try store.windowCount(stream: first.streamId), 3)

        // A new modification time is another version of the file: a new id, indexed again.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: clip)
        XCTAssertNil(try FileIndex.existing(path: clip, in: store))
        let changed = try await index.index(path: clip, into: store)
        XCTAssertFalse(changed.reused)
        XCTAssertNotEqual(changed.streamId, first.streamId)
    }

    func testFailuresAreTypedAndAnInterruptedIndexIsNeverReused() async throws {
        let dir = try TemporaryDirectory(prefix: "fileindex")
        let store = try Store(path: dir.path("index.sqlite"))
        let index = FileIndex(encoders: RegistryEncoders.modelFree())
        do {
            _ = try await index.index(path: dir.path("missing.mp4"), into: store)
            XCTFail("a missing file was indexed")
        } catch let e as FileIndexError {
            XCTAssertEqual(e, .notAFile(path: dir.path("missing.mp4")))
        }
        do {
            _ = try await index.index(path: Fixtures.path("media/not-media.mp4"), into: store)
            XCTFail("a text file was indexed")
        } catch let e as FileIndexError {
            guard case .unreadableMedia = e else { return XCTFail("\(e)") }
            XCTAssertTrue(e.description.contains("not-media.mp4"), e.description)
        }

        // The reader breaks after two windows: the error says so, and the two windows stored
        // do not count as an index of the file.
        let clip = dir.path("clip.mp4")
        try FileManager.default.copyItem(atPath: Fixtures.path("media/carphone.mp4"), toPath: clip)
        let broken = FileIndex(encoders: RegistryEncoders.modelFree(),
                               readers: OneReader(windows: [makeWindow(0), makeWindow(1)], failAtEnd: MediaError.readFailed(
                                   input: clip, FFmpegFailure(function: "av_read_frame", code: -5, message: "I/O error"))))
        do {
            _ = try await broken.index(path: clip, into: store)
            XCTFail("a broken read was not reported")
        } catch let e as FileIndexError {
            guard case let .readFailed(_, windows, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(windows, 2)
        }
        let id = try FileIndex.streamId(path: clip)
        XCTAssertEqual(try store.windowCount(stream: id), 2)
        XCTAssertNil(try FileIndex.existing(path: clip, in: store))
        let whole = try await index.index(path: clip, into: store)
        XCTAssertFalse(whole.reused)
        XCTAssertEqual(whole.streamId, id + ".2")
        XCTAssertEqual(whole.windows, 3)
    }

    func testPaceKey() throws {
        let fast = try StreamConfig.parse("id = \"a\"\nsource = \"x.mp4\"\npace = \"fast\"\n", file: "s.toml")
        XCTAssertEqual(fast.pace, .fast)
        XCTAssertFalse(fast.realtime)
        XCTAssertFalse(fast.loop)
        XCTAssertFalse(fast.gatesVision)
        XCTAssertTrue(fast.readsFileOnce, "a file read once: its speech is read ahead")
        let realtime = try StreamConfig.parse("id = \"a\"\nsource = \"x.mp4\"\npace = \"realtime\"\n", file: "s.toml")
        XCTAssertTrue(realtime.realtime)
        XCTAssertFalse(realtime.readsFileOnce)
        // Not paced, yet not a file read once: a network source, a device, a looped file.
        for other in ["source = \"rtsp://cam/1\"\n", "source = \"/dev/video0\"\n", "source = \"x.mp4\"\nloop = true\n"] {
            let c = try StreamConfig.parse("id = \"a\"\n" + other, file: "s.toml")
            XCTAssertEqual(c.pace, .fast)
            XCTAssertFalse(c.readsFileOnce, other)
        }
        for bad in ["pace = \"slow\"\n", "pace = \"fast\"\nloop = true\n", "realtime = true\npace = \"fast\"\n"] {
            XCTAssertThrowsError(try StreamConfig.parse("id = \"a\"\nsource = \"x.mp4\"\n" + bad, file: "s.toml")) { error in
                XCTAssertTrue("\(error)".contains("pace"), "\(error)")
            }
        }
    }
}

/// Hands out one scripted reader (a file source, not live).
struct OneReader: WindowReaderFactory {
    let windows: [MediaWindow]
    let failAtEnd: Error?
    func open(_ stream: StreamConfig, decodeThreads: Int) async throws -> any WindowReader {
        ScriptedReader(isLive: false, windows: windows, failAtEnd: failAtEnd)
    }
}
