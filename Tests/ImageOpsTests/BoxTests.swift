import ImageOps
import XCTest

final class BoxTests: XCTestCase {
    func testIoUOfOverlappingBoxes() {
        let a = Box(x0: 0, y0: 0, x1: 10, y1: 10)
        let b = Box(x0: 5, y0: 0, x1: 15, y1: 10)
        XCTAssertEqual(a.iou(b), 50 / 150, accuracy: 1e-6)
        XCTAssertEqual(a.iou(Box(x0: 20, y0: 20, x1: 30, y1: 30)), 0)
    }

    func testSuppressionKeepsBestOfEachCluster() {
        let boxes = [Box(x0: 0, y0: 0, x1: 10, y1: 10), Box(x0: 1, y0: 0, x1: 11, y1: 10),
                     Box(x0: 50, y0: 50, x1: 60, y1: 60), Box(x0: 0, y0: 1, x1: 10, y1: 11)]
        let kept = nonMaximumSuppression(boxes: boxes, scores: [0.6, 0.9, 0.5, 0.7], iouThreshold: 0.5)
        XCTAssertEqual(kept, [1, 2])
        XCTAssertEqual(nonMaximumSuppression(boxes: boxes, scores: [0.6, 0.9, 0.5, 0.7], iouThreshold: 0.5, maxCount: 1), [1])
    }

    func testImageRejectsWrongBuffer() {
        XCTAssertThrowsError(try RGBImage(width: 2, height: 2, pixels: [0, 0, 0])) { error in
            XCTAssertEqual(error as? ImageError, .bufferSize(expected: 12, got: 3))
        }
        XCTAssertThrowsError(try RGBImage(width: 0, height: 2, pixels: []))
    }
}
