// What the face detector reports, and why it can fail.
import ImageOps
import ModelIO

/// One detected face, in pixels of the analysed picture (x to the right, y down).
public struct Face: Sendable, Equatable {
    /// A point in pixels of the analysed picture.
    public struct Point: Sendable, Equatable, Codable {
        public var x: Float
        public var y: Float
        public init(x: Float, y: Float) { self.x = x; self.y = y }
    }

    /// The face box after O-Net's regression. As in facenet-pytorch it is not clipped, so
    /// a face at the edge may have a box reaching past the picture.
    public var box: Box
    /// O-Net's face probability (softmax), above the last stage's threshold.
    public var score: Float
    /// Five landmarks: left eye, right eye, nose, left and right mouth corner (as seen in
    /// the picture: "left" is the smaller x).
    public var landmarks: [Point]

    public init(box: Box, score: Float, landmarks: [Point]) {
        self.box = box
        self.score = score
        self.landmarks = landmarks
    }
}

/// Why faces could not be detected.
public enum FaceDetectorError: Error, CustomStringConvertible {
    /// The picture cannot be analysed (a side above FaceDetector.maxSide).
    case image(ImageError)
    /// A network file is missing or does not hold the expected tensors.
    case model(ModelLoadError)
    /// Options out of range (named with the allowed range).
    case invalidOptions(String)
    /// A kernel rejected its arguments (a bug, not bad input).
    case kernel(String)

    public var description: String {
        switch self {
        case let .image(e): return "face detector: \(e)"
        case let .model(e): return "face detector model: \(e)"
        case let .invalidOptions(m): return "face detector options out of range: \(m)"
        case let .kernel(m): return "face detector: \(m)"
        }
    }
}
