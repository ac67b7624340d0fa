// The `ocr` modality: text on screen (PP-OCRv5 mobile: detection, orientation, recognition)
// on sampled frames. Each line is one piece of evidence with its text, the recogniser's
// confidence and its box. A line still on screen in the next analysed frame (same text,
// overlapping box) is marked as continuing, and the store extends the stored row instead
// of adding one, so a caption or a sign shown for a minute is one row with its time span.
import Foundation
import ImageOps
import OCR
import SightlineCore
import Synchronization

/// Text lines of each analysed frame, with the lines of the frame before to join sightings.
final class ScreenTextAnalyser: FrameAnalyser {
    /// Lines whose recogniser confidence is below this are mostly misreadings of texture.
    static let minConfidence: Float = 0.5
    /// Boxes of one line in consecutive frames overlap at least this much (the line may shift
    /// a little as the camera moves or the text scrolls).
    static let sameLineIoU = 0.3

    let reader: SharedModel<TextReader>
    /// (text, box) of the lines of the previous analysed frame; one stream's frames arrive in order.
    private let previous = Mutex<[(text: String, region: Region)]>([])

    init(reader: SharedModel<TextReader>) { self.reader = reader }

    func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence] {
        let lines = try reader.run { try $0.read(image) }.filter {
            $0.score >= Self.minConfidence && !$0.text.trimmingCharacters(in: .whitespaces).isEmpty
        }
        let seen = lines.map { (text: $0.text, region: Region($0.box, width: image.width, height: image.height)) }
        let before = previous.withLock { p in
            defer { p = seen }
            return p
        }
        return zip(lines, seen).map { line, now in
            let continues = before.contains { $0.text == now.text && $0.region.iou(now.region) >= Self.sameLineIoU }
            return Evidence(modality: .ocr, startMs: span.startMs, endMs: span.endMs, text: line.text,
                            confidence: Double(line.score), region: now.region, continues: continues)
        }
    }
}

extension EncoderDescriptor {
    /// At most this many frames a second are read for text unless the stream says otherwise.
    public static let ocrFps = 0.5

    /// `ocr`: text on screen, with boxes (PP-OCRv5 mobile).
    public static let ocr = picture(
        name: "ocr", summary: "text on screen, with boxes; a line shown for a while is one row (PP-OCRv5 mobile)", fps: ocrFps,
        setting: ModelSetting(key: "ocr", kind: .choice(["ppocr-v5-mobile", "none"]), defaultValue: .name("ppocr-v5-mobile"),
                              help: "On-screen text reader: \"ppocr-v5-mobile\" or \"none\"."),
        requiredFiles: [TextReader.files.det, TextReader.files.cls, TextReader.files.rec, TextReader.files.keys],
        load: { try TextReader(directory: $0.path) },
        analyser: { ScreenTextAnalyser(reader: $0) })
}
