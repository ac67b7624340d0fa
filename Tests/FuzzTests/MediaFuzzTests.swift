// Media fuzzing: real clips of every container the fixtures hold (MP4/H.264, MPEG-1 PS,
// MPEG-TS, Matroska/FFV1, M4A/AAC, WAV), mutated by a seeded generator — bit flips,
// truncations, zeroed and repeated runs, container header fields set to extremes (MP4
// box fields, frame sizes up to 65535x65535 in sample entries and track headers, MPEG-1
// sequence headers, WAV format fields), zero-length files and hand-made pictures that
// claim huge sizes — then probed and decoded window by window in-process, each case
// under a deadline. Every case must end in windows or a MediaError: a trap ends the test
// process, a case past its deadline is a hang. A sample goes through `sightline probe`
// and `sightline transcribe` (exit 0 or 2 with a one-line message, never a signal).
import Foundation
import MediaIO
import TestSupport
import XCTest

/// One mutated input: its bytes and how it was made (for failure messages).
struct MediaCase {
    var name: String
    var ext: String
    var bytes: [UInt8]
    var what: String
}

enum MediaCorpus {
    /// The real clips mutated (small ones, so a case decodes in milliseconds).
    static let seeds = ["carphone.mp4", "vfr.mp4", "grid-speech.mpg", "pts-jump.ts", "odd-size.mkv", "audio-only.m4a",
                        "speech/deepspeech_LDC93S1.wav", "truncated.mp4"]

    /// MP4 boxes whose fields hold sizes, counts, offsets and time scales.
    static let mp4Boxes = ["mvhd", "tkhd", "mdhd", "hdlr", "stsd", "avc1", "avcC", "mp4a", "esds", "stts", "ctts",
                           "stss", "stsc", "stsz", "stco", "co64", "elst", "moov", "trak", "mdat"]

    static func offsets(of tag: String, in d: [UInt8]) -> [Int] {
        let t = Array(tag.utf8)
        guard d.count >= t.count else { return [] }
        return (0...(d.count - t.count)).filter { i in d[i] == t[0] && d[i + 1] == t[1] && d[i + 2] == t[2] && d[i + 3] == t[3] }
    }

    /// A mutation that knows the container: header fields set to extremes.
    static func structural(_ d: [UInt8], ext: String, _ m: inout Mutator) -> (bytes: [UInt8], what: String)? {
        var d = d
        guard d.count > 64 else { return nil }
        switch ext {
        case "mp4", "m4a":
            if m.chance(0.3) {
                // Frame size in the visual sample entry (u16 at +28/+30 from 'avc1') and the
                // track header (16.16 fixed at +80/+84 from 'tkhd').
                let w = m.pick([0, 1, 0x7FFF, 0xFFFF] as [UInt16]), h = m.pick([0, 1, 0x7FFF, 0xFFFF] as [UInt16])
                for at in offsets(of: "avc1", in: d) { m.setBigEndian16(&d, at: at + 28, w); m.setBigEndian16(&d, at: at + 30, h) }
                for at in offsets(of: "tkhd", in: d) {
                    m.setBigEndian32(&d, at: at + 80, UInt32(w) << 16); m.setBigEndian32(&d, at: at + 84, UInt32(h) << 16)
                }
                return (d, "frame size \(w)x\(h) in avc1 and tkhd")
            }
            let box = m.pick(mp4Boxes)
            guard let at = offsets(of: box, in: d).first else { return nil }
            let field = m.int(-1..<10)
            let value = m.pick(Mutator.interesting32)
            m.setBigEndian32(&d, at: at + 4 * field, value)
            return (d, "'\(box)' field \(field) set to \(value)")
        case "mpg":
            // MPEG-1 sequence header 00 00 01 B3: 12-bit width, 12-bit height, aspect, rate.
            let headers = (0..<(d.count - 8)).filter { d[$0] == 0 && d[$0 + 1] == 0 && d[$0 + 2] == 1 && d[$0 + 3] == 0xB3 }
            guard !headers.isEmpty else { return nil }
            // Not 4095x4095 in both: FFmpeg's MPEG-1 decoder then conceals 16.7-megapixel
            // frames at about 230 ms of CPU each (the ffmpeg CLI alike), a slow case, not a fault.
            let size = m.pick([(2048, 2048), (0, 0), (1, 0xFFF), (0xFFF, 1)])
            for at in headers {
                d[at + 4] = UInt8(size.0 >> 4)
                d[at + 5] = UInt8((size.0 & 0xF) << 4 | size.1 >> 8)
                d[at + 6] = UInt8(size.1 & 0xFF)
                if m.chance(0.5) { d[at + 7] = m.pick([0x00, 0xFF, 0x1F]) }
            }
            return (d, "sequence headers say \(size.0)x\(size.1)")
        case "wav":
            // 'fmt ' chunk: format, channels, sample rate, byte rate, block align, bits.
            guard let at = offsets(of: "fmt ", in: d).first else { return nil }
            let fields = [(8, 2), (10, 2), (12, 4), (16, 4), (20, 2), (22, 2)]
            let (offset, width) = m.pick(fields)
            let value = m.pick(Mutator.interesting32)
            var le = d
            for k in 0..<width where at + offset + k < le.count { le[at + offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
            return (le, "'fmt ' byte \(offset) set to \(value)")
        case "mkv":
            // EBML PixelWidth (B0) / PixelHeight (BA) with a 2-byte value: 65535.
            var hits = 0
            for i in 0..<(d.count - 4) where (d[i] == 0xB0 || d[i] == 0xBA) && d[i + 1] == 0x82 {
                d[i + 2] = 0xFF; d[i + 3] = 0xFF; hits += 1
            }
            return hits > 0 ? (d, "\(hits) Matroska pixel sizes set to 65535") : nil
        default:
            return nil
        }
    }

    /// Pictures that are nearly all header: sizes a decoder must refuse or cope with.
    static func hugePictures() -> [MediaCase] {
        var cases: [MediaCase] = []
        for (w, h) in [(65_535, 65_535), (16_384, 16_384), (1, 100_000), (0, 0)] {
            let y4m = Array("YUV4MPEG2 W\(w) H\(h) F25:1 Ip A1:1 C420jpeg\nFRAME\n".utf8) + [UInt8](repeating: 0x80, count: 4096)
            cases.append(MediaCase(name: "y4m-\(w)x\(h)", ext: "y4m", bytes: y4m, what: "y4m header \(w)x\(h)"))
            // BITMAPFILEHEADER (size, reserved, data offset) + BITMAPINFOHEADER (40 bytes) + 16 bytes of pixels.
            let header: [[UInt8]] = [Array("BM".utf8), le32(54 + 16), le32(0), le32(54), le32(40), le32(UInt32(w)), le32(UInt32(h)),
                                     [1, 0, 24, 0], le32(0), le32(16), le32(0), le32(0), le32(0), le32(0)]
            let bmp = Array(header.joined()) + [UInt8](repeating: 0xAB, count: 16)
            cases.append(MediaCase(name: "bmp-\(w)x\(h)", ext: "bmp", bytes: bmp, what: "BMP header \(w)x\(h)"))
        }
        cases.append(MediaCase(name: "zero", ext: "mp4", bytes: [], what: "zero-length"))
        return cases
    }

    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }

    /// `count` mutated inputs from `seed`: every fixed case, then mutations of the clips.
    static func cases(count: Int, seed: UInt64) -> [MediaCase] {
        var m = Mutator(seed: seed)
        let originals = seeds.map { name in
            (name: name, ext: (name as NSString).pathExtension, bytes: [UInt8](FileManager.default.contents(atPath: Fixtures.path("media/\(name)")) ?? Data()))
        }
        var cases = hugePictures()
        while cases.count < count {
            let o = m.pick(originals)
            var bytes = o.bytes, what: [String] = []
            // One to three mutations stacked; a structural one first when the container has one.
            if m.chance(0.35), let s = structural(bytes, ext: o.ext, &m) { bytes = s.bytes; what.append(s.what) }
            for _ in 0..<m.int(what.isEmpty ? 1...3 : 0...2) {
                let r = m.mutate(bytes)
                bytes = r.bytes
                what.append(r.what)
            }
            cases.append(MediaCase(name: "\(cases.count)-\((o.name as NSString).lastPathComponent)", ext: o.ext, bytes: bytes,
                                   what: "\(o.name): " + what.joined(separator: ", ")))
        }
        return cases
    }
}

/// What one decode of a case came to.
struct DecodeOutcome: Sendable {
    var opened = false
    var windows = 0
    var error: String?
    /// Something a decodable input must never produce (a window that ends before it starts).
    var anomaly: String?
}

final class MediaFuzzTests: XCTestCase {
    static let seed: UInt64 = 0x5167_4C49_4E45_0001
    static let caseCount = 1_000
    /// Windows decoded per case at most (6 s of media: most of each clip).
    static let windowsPerCase = 3
    static let perCaseDeadline: TimeInterval = 30

    /// Decodes up to `windowsPerCase` windows of `path` (probing it first with `probe`), on its
    /// own thread with a deadline.
    static func decode(_ path: String, probe: Bool, sourceSize: Bool) -> (outcome: DecodeOutcome, finished: Bool) {
        final class Box: @unchecked Sendable { var outcome = DecodeOutcome(); var source: MediaSource? }
        let box = Box()
        let lock = NSLock()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            var options = MediaOptions()
            options.sampling = .fps(1)
            options.decodeThreads = 1
            // Some cases keep the source size, so a lying header reaches the scaler.
            options.frameSize = sourceSize ? nil : FrameSize(width: 64, height: 48)
            var outcome = DecodeOutcome()
            do {
                if probe { _ = try MediaSource.probe(input: path, options: options) }
                let source = try MediaSource(input: path, options: options)
                lock.withLock { box.source = source }
                outcome.opened = true
                while outcome.windows < windowsPerCase, let w = try source.nextWindow() {
                    if w.endMs <= w.startMs { outcome.anomaly = "window \(w.index) spans \(w.startMs)...\(w.endMs)" }
                    outcome.windows += 1
                }
            } catch {
                outcome.error = "\(error)"
            }
            lock.withLock { box.outcome = outcome; box.source = nil }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        if done.wait(timeout: .now() + perCaseDeadline) == .timedOut {
            lock.withLock { box.source?.cancel() }
            return (DecodeOutcome(), false)
        }
        return (lock.withLock { box.outcome }, true)
    }

    func testThousandMutatedFilesDecodeOrFailWithAnError() throws {
        let tmp = try TemporaryDirectory(prefix: "media-fuzz")
        let cases = MediaCorpus.cases(count: Self.caseCount, seed: Self.seed)
        XCTAssertGreaterThanOrEqual(cases.count, 1_000)
        var opened = 0, windows = 0, errors = 0, hangs: [String] = []
        let started = Date()
        for (i, c) in cases.enumerated() {
            let path = try tmp.write("case.\(c.ext)", c.bytes)
            let (outcome, finished) = Self.decode(path, probe: i % 4 == 1, sourceSize: i % 4 == 0)
            guard finished else {
                hangs.append("case \(i) (\(c.what))")
                continue
            }
            if outcome.opened { opened += 1 }
            XCTAssertNil(outcome.anomaly, "case \(i) (\(c.what))")
            windows += outcome.windows
            if let e = outcome.error {
                errors += 1
                XCTAssertFalse(e.isEmpty, "case \(i): empty error text")
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print("media fuzz: \(cases.count) cases (seed \(Self.seed)), \(opened) opened, \(windows) windows, \(errors) typed errors, "
              + "\(hangs.count) hangs, \(String(format: "%.1f", seconds)) s")
        XCTAssertEqual(hangs, [], "cases past the \(Self.perCaseDeadline) s deadline")
        // The mutations leave many files decodable and break many: both paths were exercised.
        XCTAssertGreaterThan(opened, cases.count / 4)
        XCTAssertGreaterThan(errors, 50)
    }

    /// A sample through the binaries users run: exit 0, or 2 with one line naming the input.
    func testSampleThroughProbeAndTranscribe() throws {
        let tmp = try TemporaryDirectory(prefix: "media-fuzz-cli")
        let cases = MediaCorpus.cases(count: 1_000, seed: Self.seed ^ 0xC11)
        var m = Mutator(seed: Self.seed ^ 0xC12)
        var probed = 0, transcribed = 0, codes: [Int32: Int] = [:]
        for i in 0..<40 {
            let c = i < MediaCorpus.hugePictures().count ? cases[i] : m.pick(cases)
            let path = try tmp.write("probe-\(i).\(c.ext)", c.bytes)
            let r = try Fixtures.run("sightline", ["probe", "--windows", "--json", path])
            codes[r.status, default: 0] += 1
            probed += 1
            XCTAssertTrue(r.status == 0 || r.status == 2, "probe \(c.what): exit \(r.status)\n\(r.stderr)")
            if r.status == 2 { XCTAssertTrue(r.stderr.hasPrefix("sightline: "), "probe \(c.what): \(r.stderr)") }
            if r.status == 0 { XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)), "probe \(c.what): \(r.stdout)") }
        }
        // transcribe loads Whisper (tiny.en: about a second) per run, so fewer of these, all with audio.
        let audio = cases.filter { ["wav", "m4a", "mpg"].contains($0.ext) }
        let model = Fixtures.modelsDirectory + "/whisper-tiny.en"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: model), "Scripts/fetch-models puts whisper-tiny.en in \(model)")
        for i in 0..<6 {
            let c = audio[(i * 37) % audio.count]
            let path = try tmp.write("talk-\(i).\(c.ext)", c.bytes)
            let r = try Fixtures.run("sightline", ["transcribe", path, "-o", "-", "--format", "json", "--model", model, "--beam", "1",
                                                   "--threads", "1"])
            codes[r.status, default: 0] += 1
            transcribed += 1
            XCTAssertTrue(r.status == 0 || r.status == 2, "transcribe \(c.what): exit \(r.status)\n\(r.stderr)")
            if r.status == 2 { XCTAssertTrue(r.stderr.contains("sightline: "), "transcribe \(c.what): \(r.stderr)") }
        }
        print("media fuzz through the binary: \(probed) probe and \(transcribed) transcribe runs, exit codes \(codes)")
    }
}
