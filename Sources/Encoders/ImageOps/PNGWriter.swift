// Writes an RGBImage as a PNG file: 8-bit RGB, no interlace, filter 0 on every row, and the
// image data in stored (uncompressed) deflate blocks, so no compressor is needed. Files are
// about the size of the raw pixels; this is for pictures a person looks at (boxes drawn on a
// frame), not for archiving.

extension RGBImage {
    /// The PNG encoding of the picture.
    public func pngData() -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header += PNG.bigEndian(UInt32(width)) + PNG.bigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0] // bit depth 8, colour type 2 (RGB), deflate, filter method 0, no interlace
        PNG.chunk("IHDR", header, into: &out)
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (width * 3 + 1))
        for y in 0..<height {
            raw.append(0) // filter type 0: the row as it is
            raw += pixels[(y * width * 3)..<((y + 1) * width * 3)]
        }
        PNG.chunk("IDAT", PNG.storedZlib(raw), into: &out)
        PNG.chunk("IEND", [], into: &out)
        return out
    }

    /// The picture with each box's outline drawn `thickness` pixels wide in `colour`; boxes
    /// are in pixels and may reach past the picture (they are clipped).
    public func drawing(_ boxes: [(box: Box, colour: (UInt8, UInt8, UInt8))], thickness: Int = 2) -> RGBImage {
        var p = pixels
        func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let i = (y * width + x) * 3
            p[i] = c.0; p[i + 1] = c.1; p[i + 2] = c.2
        }
        for (box, colour) in boxes where box.x0.isFinite && box.y0.isFinite && box.x1.isFinite && box.y1.isFinite {
            // Clamped as floats first: a box far outside the picture must not overflow Int.
            func clamp(_ v: Float, _ limit: Int) -> Int { Int(min(max(v.rounded(), -1), Float(limit))) }
            let x0 = clamp(box.x0, width), x1 = clamp(box.x1, width), y0 = clamp(box.y0, height), y1 = clamp(box.y1, height)
            guard x1 >= x0, y1 >= y0 else { continue }
            for t in 0..<thickness {
                for x in x0...x1 { set(x, y0 + t, colour); set(x, y1 - t, colour) }
                for y in y0...y1 { set(x0 + t, y, colour); set(x1 - t, y, colour) }
            }
        }
        // Every write above is inside the picture and keeps the byte count.
        return (try? RGBImage(width: width, height: height, pixels: p)) ?? self
    }
}

enum PNG {
    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    /// length, type, data, CRC-32 of type and data.
    static func chunk(_ type: String, _ data: [UInt8], into out: inout [UInt8]) {
        let typed = Array(type.utf8) + data
        out += bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
    }

    /// A zlib stream of stored deflate blocks (at most 65535 bytes each) with its Adler-32.
    static func storedZlib(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65_535, data.count - offset)
            let last: UInt8 = offset + n == data.count ? 1 : 0
            out += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return out + bigEndian(b << 16 | a)
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
