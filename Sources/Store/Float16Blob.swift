// Packs embedding vectors as little-endian IEEE fp16 BLOBs, and back. (dim,) f32 ↔ 2·dim bytes.
import Foundation

public enum Float16Blob {
    /// (dim,) Float → 2·dim bytes, little-endian binary16, round-to-nearest-even.
    public static func encode(_ vector: [Float]) -> Data {
        var data = Data(count: vector.count * 2)
        data.withUnsafeMutableBytes { raw in
            for (i, v) in vector.enumerated() {
                let bits = Float16(v).bitPattern.littleEndian
                raw.storeBytes(of: bits, toByteOffset: i * 2, as: UInt16.self)
            }
        }
        return data
    }

    /// 2·dim bytes → (dim,) Float. A trailing odd byte is a corrupt blob and returns nil.
    public static func decode(_ data: Data) -> [Float]? {
        guard data.count % 2 == 0 else { return nil }
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 2)).map { i in
                Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))))
            }
        }
    }
}
