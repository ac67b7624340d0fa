// Reads 16-bit PCM WAV fixtures into Float samples (x / 32768, as torchaudio, soundfile and
// FFmpeg's s16 → flt conversion do), so model tests need no decoder. Mono only; anything else
// is a fixture mistake and fails the test with the file named.
import Foundation

public struct WAVFile {
    public let sampleRate: Int
    public let samples: [Float]  // (frames) mono, ±1

    public enum Failure: Error, CustomStringConvertible {
        case unreadable(String, String)
        case unsupported(String, String)
        public var description: String {
            switch self {
            case .unreadable(let path, let why): "cannot read WAV fixture \(path): \(why)"
            case .unsupported(let path, let why): "WAV fixture \(path) is not 16-bit PCM mono: \(why)"
            }
        }
    }

    public init(path: String) throws {
        let data: [UInt8]
        do { data = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw Failure.unreadable(path, "\(error)")
        }
        func u32(_ o: Int) -> Int { Int(data[o]) | Int(data[o + 1]) << 8 | Int(data[o + 2]) << 16 | Int(data[o + 3]) << 24 }
        func u16(_ o: Int) -> Int { Int(data[o]) | Int(data[o + 1]) << 8 }
        guard data.count >= 12, data[0..<4].elementsEqual("RIFF".utf8), data[8..<12].elementsEqual("WAVE".utf8) else {
            throw Failure.unsupported(path, "no RIFF/WAVE header")
        }
        var offset = 12
        var rate = 0
        var pcm: ArraySlice<UInt8>?
        while offset + 8 <= data.count {
            let id = String(decoding: data[offset..<offset + 4], as: UTF8.self)
            let size = u32(offset + 4)
            let body = offset + 8
            guard body + size <= data.count else { throw Failure.unsupported(path, "chunk \(id) runs past the end") }
            if id == "fmt " {
                guard u16(body) == 1, u16(body + 2) == 1, u16(body + 14) == 16 else {
                    throw Failure.unsupported(path, "format \(u16(body)), \(u16(body + 2)) channels, \(u16(body + 14)) bits")
                }
                rate = u32(body + 4)
            } else if id == "data" {
                pcm = data[body..<body + size]
            }
            offset = body + size + (size & 1)
        }
        guard rate > 0, let pcm else { throw Failure.unsupported(path, "missing fmt or data chunk") }
        let bytes = Array(pcm)
        sampleRate = rate
        samples = (0..<bytes.count / 2).map { i in
            Float(Int16(bitPattern: UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8)) / 32768
        }
    }
}
