// Loads speech fixtures as 16 kHz mono Float32 exactly as faster-whisper's decode_audio
// does (s16 samples / 32768): PCM WAV is parsed directly; other containers (FLAC, MP3) are
// decoded to s16le by the ffmpeg CLI, which the setup script installs.
import Foundation

public enum AudioFixture {
    public enum LoadError: Error, CustomStringConvertible {
        case unreadable(String), notPCM16Mono16k(String), ffmpegFailed(String, Int32)
        public var description: String {
            switch self {
            case let .unreadable(p): return "cannot read audio fixture \(p)"
            case let .notPCM16Mono16k(p): return "\(p) is not 16-bit PCM mono 16 kHz WAV"
            case let .ffmpegFailed(p, rc): return "ffmpeg could not decode \(p) (exit \(rc)); is ffmpeg installed (Scripts/setup)?"
            }
        }
    }

    public static func samples(_ path: String) throws -> [Float] {
        if path.hasSuffix(".wav") { return try wav(path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "s16le", "-ac", "1", "-ar", "16000", "-"]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw LoadError.ffmpegFailed(path, p.terminationStatus) }
        return pcm16(data)
    }

    static func wav(_ path: String) throws -> [Float] {
        guard let d = FileManager.default.contents(atPath: path), d.count > 12 else { throw LoadError.unreadable(path) }
        let b = [UInt8](d)
        func u32(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 }
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        var o = 12
        var ok = false
        while o + 8 <= b.count {
            let id = String(decoding: b[o..<(o + 4)], as: UTF8.self), size = u32(o + 4)
            if id == "fmt " {
                ok = u16(o + 8) == 1 && u16(o + 10) == 1 && u32(o + 12) == 16_000 && u16(o + 22) == 16
            } else if id == "data" {
                guard ok else { throw LoadError.notPCM16Mono16k(path) }
                return pcm16(d.subdata(in: (o + 8)..<min(o + 8 + size, b.count)))
            }
            o += 8 + size + (size & 1)
        }
        throw LoadError.notPCM16Mono16k(path)
    }

    static func pcm16(_ data: Data) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<(raw.count / 2)).map { Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self))) / 32768 }
        }
    }
}
