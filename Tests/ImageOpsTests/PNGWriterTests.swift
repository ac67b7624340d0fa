// The PNG writer's bytes, checked field by field against the PNG specification (signature,
// IHDR, CRC-32 and Adler-32 of known inputs), and box drawing clipped to the picture.
@testable import ImageOps
import XCTest

final class PNGWriterTests: XCTestCase {
    func testChecksumsOfKnownInputs() {
        XCTAssertEqual(PNG.crc32(Array("IEND".utf8)), 0xAE42_6082) // every PNG's last four bytes
        XCTAssertEqual(PNG.crc32(Array("123456789".utf8)), 0xCBF4_3926) // the CRC-32 check value
        XCTAssertEqual(Array(PNG.storedZlib(Array("Wikipedia".utf8)).suffix(4)), [0x11, 0xE6, 0x03, 0x98]) // Adler-32 0x11E60398
    }

    func testATwoByOnePictureByteForByte() throws {
        let image = try RGBImage(width: 2, height: 1, pixels: [255, 0, 0, 0, 0, 255])
        let png = image.pngData()
        XCTAssertEqual(Array(png[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(Array(png[8..<16]), [0, 0, 0, 13] + Array("IHDR".utf8))
        XCTAssertEqual(Array(png[16..<29]), [0, 0, 0, 2, 0, 0, 0, 1, 8, 2, 0, 0, 0])
        // IDAT: zlib header, one final stored block of 7 bytes (filter byte + 6 pixel bytes).
        let idat = Array(png[33...]) // after the signature (8) and IHDR (4 + 4 + 13 + 4)
        XCTAssertEqual(Array(idat[0..<8]), [0, 0, 0, 18] + Array("IDAT".utf8))
        XCTAssertEqual(Array(idat[8..<15]), [0x78, 0x01, 1, 7, 0, 0xF8, 0xFF])
        XCTAssertEqual(Array(idat[15..<22]), [0, 255, 0, 0, 0, 0, 255])
        XCTAssertEqual(Array(png.suffix(12)), [0, 0, 0, 0] + Array("IEND".utf8) + [0xAE, 0x42, 0x60, 0x82])
    }

    func testLargeDataSpansSeveralStoredBlocks() {
        let data = [UInt8](repeating: 7, count: 70_000)
        let z = PNG.storedZlib(data)
        XCTAssertEqual(z.count, 2 + 5 + 65_535 + 5 + 4_465 + 4)
        XCTAssertEqual(z[2], 0, "first block is not the last")
        XCTAssertEqual(z[2 + 5 + 65_535], 1, "second block is the last")
    }

    func testBoxesAreDrawnAndClipped() throws {
        let image = try RGBImage(width: 10, height: 10, pixels: [UInt8](repeating: 0, count: 300))
        let drawn = image.drawing([(Box(x0: 2, y0: 2, x1: 7, y1: 7), (0, 255, 0)), (Box(x0: -50, y0: 5, x1: 1e30, y1: 40), (255, 0, 0))],
                                  thickness: 1)
        XCTAssertEqual(drawn.pixel(x: 2, y: 2).g, 255)
        XCTAssertEqual(drawn.pixel(x: 7, y: 4).g, 255)
        XCTAssertEqual(drawn.pixel(x: 4, y: 4).g, 0, "inside stays")
        XCTAssertEqual(drawn.pixel(x: 0, y: 5).r, 255, "a box past the edges is drawn where it is inside")
        XCTAssertEqual(drawn.pixels.count, 300)
    }
}
