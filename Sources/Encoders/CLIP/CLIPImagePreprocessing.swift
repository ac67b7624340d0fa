// CLIP's picture preprocessing as OpenAI's CLIP and transformers' CLIPImageProcessor (Pillow
// backend) run it, reproduced bit for bit up to the float normalisation:
//   resize     shorter side to `shortestEdge`, longer side int(edge × long / short), Pillow's
//              bicubic (a = -0.5) with the filter widened by the scale factor when shrinking
//   crop       a `cropSize` square at ((w - crop) // 2, (h - crop) // 2)
//   normalise  (bytes / 255 - mean) / std per channel, into (3, crop, crop) floats
// The resize is ImageOps' PillowResample (Pillow's fixed-point arithmetic, so exactly
// Pillow's bytes), computed for the crop window only.
import ImageOps

public enum CLIPImagePreprocessing {
    /// Longest side accepted; the taps per output pixel grow with the scale factor.
    public static let maxSide = 16_384

    /// The resized picture's (width, height).
    public static func resizedSize(width: Int, height: Int, shortestEdge: Int) -> (width: Int, height: Int) {
        let short = min(width, height), long = max(width, height)
        let newLong = Int(Double(shortestEdge * long) / Double(short)) // Python int(): truncation
        return width <= height ? (shortestEdge, newLong) : (newLong, shortestEdge)
    }

    /// The centre crop of the resized picture: (crop, crop, 3) bytes, as Pillow makes them.
    public static func resizedCrop(_ image: RGBImage, settings: CLIPImageSettings) throws(CLIPError) -> [UInt8] {
        guard image.width <= maxSide, image.height <= maxSide else {
            throw .image("\(image.width)x\(image.height) is larger than \(maxSide) pixels on a side")
        }
        let crop = settings.cropSize
        let (rw, rh) = resizedSize(width: image.width, height: image.height, shortestEdge: settings.shortestEdge)
        let x0 = (rw - crop) / 2, y0 = (rh - crop) / 2 // both sides >= crop (the config checks edge >= crop)
        return PillowResample.window(of: image, resized: (rw, rh), x0: x0, y0: y0, width: crop, height: crop, filter: .bicubic)
    }

    /// (crop, crop, 3) bytes → (3, crop, crop) normalised floats in `output`.
    public static func normalize(_ crop: [UInt8], settings: CLIPImageSettings, into output: UnsafeMutablePointer<Float>) {
        let plane = settings.cropSize * settings.cropSize
        precondition(crop.count == plane * 3, "CLIPImagePreprocessing.normalize: \(crop.count) bytes for a \(settings.cropSize)² crop")
        for c in 0..<3 {
            let m = settings.mean[c], s = settings.std[c]
            for i in 0..<plane { output[c * plane + i] = (Float(crop[i * 3 + c]) / 255 - m) / s }
        }
    }
}
