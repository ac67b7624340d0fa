// torchvision's ImageNet evaluation transform, reproduced bit for bit:
//   Resize(256)      shorter side to 256, longer side int(256 × long / short), bilinear with
//                    antialias — on a PIL image that is Pillow's ImagingResample
//   CenterCrop(224)  offsets int(round((side - 224) / 2)) (Python rounds half to even)
//   ToTensor         bytes / 255 as float32, (3, 224, 224)
//   Normalize        (x - mean) / std, float32
// The resize is ImageOps' PillowResample with the triangle filter (Pillow's fixed-point
// arithmetic, so exactly Pillow's bytes; the only difference from the reference pipeline is
// in the network's float arithmetic), computed for the 224 × 224 window the crop keeps.
import ImageOps
import Kernels

public enum ImageNetPreprocessing {
    public static let resizeShorterSide = 256
    public static let cropSize = 224
    public static let mean: [Float] = [0.485, 0.456, 0.406] // RGB
    public static let std: [Float] = [0.229, 0.224, 0.225] // RGB
    /// Longest side accepted; larger pictures are refused rather than resampled (the taps per
    /// output pixel grow with the scale factor).
    public static let maxSide = 16_384

    /// The resized picture's size torchvision computes: (width, height).
    public static func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let short = min(width, height), long = max(width, height)
        let newLong = Int(Double(resizeShorterSide * long) / Double(short)) // Python int(): truncation
        return width <= height ? (resizeShorterSide, newLong) : (newLong, resizeShorterSide)
    }

    /// CenterCrop's top-left corner in the resized picture.
    static func cropOrigin(width: Int, height: Int) -> (x: Int, y: Int) {
        func offset(_ side: Int) -> Int { Int((Double(side - cropSize) / 2).rounded(.toNearestOrEven)) }
        return (offset(width), offset(height))
    }

    /// The 224 × 224 centre crop of the resized picture: (224, 224, 3) bytes, as Pillow makes them.
    public static func resizedCrop(_ image: RGBImage, pool: ThreadPool? = nil) throws(ImageError) -> [UInt8] {
        guard image.width <= maxSide, image.height <= maxSide else {
            throw .tooLarge(width: image.width, height: image.height, limit: maxSide)
        }
        let (rw, rh) = resizedSize(width: image.width, height: image.height)
        let (x0, y0) = cropOrigin(width: rw, height: rh)
        return PillowResample.window(of: image, resized: (rw, rh), x0: x0, y0: y0, width: cropSize, height: cropSize,
                                     filter: .bilinear, pool: pool)
    }

    /// ToTensor + Normalize of (224, 224, 3) bytes into `output`: (3, 224, 224) floats.
    public static func normalize(_ crop: [UInt8], into output: UnsafeMutablePointer<Float>) {
        let plane = cropSize * cropSize
        precondition(crop.count == plane * 3, "a 224 x 224 RGB crop")
        for c in 0..<3 {
            let m = mean[c], s = std[c]
            for i in 0..<plane { output[c * plane + i] = (Float(crop[i * 3 + c]) / 255 - m) / s }
        }
    }

    /// The whole transform: (3, 224, 224) floats.
    public static func tensor(_ image: RGBImage) throws(ImageError) -> [Float] {
        let crop = try resizedCrop(image)
        return [Float](unsafeUninitializedCapacity: 3 * cropSize * cropSize) { buf, n in
            normalize(crop, into: buf.baseAddress!)
            n = 3 * cropSize * cropSize
        }
    }
}
