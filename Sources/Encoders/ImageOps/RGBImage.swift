// The picture every vision encoder takes: 8-bit RGB, interleaved, row-major, with no row
// padding. MediaIO's rgb8 frames and decoded image files both arrive in this layout, so an
// encoder never depends on where the picture came from. Each model's own pre-processing
// (its resize rule, mean and scale) lives with the model; what several share lives here.

/// An 8-bit RGB picture: `pixels[(y * width + x) * 3 + c]`, c = 0 red, 1 green, 2 blue.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// (height, width, 3) interleaved RGB bytes.
    public let pixels: [UInt8]

    /// Fails when the buffer does not hold exactly width × height × 3 bytes or a side is not positive.
    public init(width: Int, height: Int, pixels: [UInt8]) throws(ImageError) {
        guard width > 0, height > 0 else { throw .invalidSize(width: width, height: height) }
        let (count, overflow) = width.multipliedReportingOverflow(by: height * 3)
        guard !overflow, height <= Int.max / 3, pixels.count == count else {
            throw .bufferSize(expected: overflow ? -1 : count, got: pixels.count)
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The colour at (x, y) as three bytes; x and y must be inside the image.
    @inlinable
    public func pixel(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

/// Why a picture cannot be used.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSize(width: Int, height: Int)
    case bufferSize(expected: Int, got: Int)
    /// A side is larger than the encoder accepts; decoding would need unbounded memory.
    case tooLarge(width: Int, height: Int, limit: Int)

    public var description: String {
        switch self {
        case let .invalidSize(w, h): return "image size \(w)x\(h) is not usable (both sides must be at least 1 pixel)"
        case let .bufferSize(expected, got):
            return "image buffer holds \(got) bytes, expected \(expected) (width × height × 3 RGB bytes)"
        case let .tooLarge(w, h, limit): return "image \(w)x\(h) is larger than \(limit) pixels on a side; scale it down first"
        }
    }
}
