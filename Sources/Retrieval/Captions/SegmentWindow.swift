// What the segmenter and the caption composer need from one window's evidence, read once:
// the frame's MobileNetV2 image embedding (mean of the window's frames, unit length), how
// many people and faces were seen (most in any one frame), whether anyone spoke, how much
// moved, the whole-frame labels, the on-screen text lines and the speech text. Pure: built
// from `Evidence` alone, so the daemon (committed windows) and the CLI (a file's frames)
// feed the same rules.
import Foundation
import SightlineCore

/// One window as the timeline segmenter sees it. Times in ms on the stream's timeline.
public struct SegmentWindow: Sendable, Equatable {
    /// A label with its probability (0...1).
    public struct Label: Sendable, Equatable {
        public var name: String
        public var probability: Double
        public init(name: String, probability: Double) {
            self.name = name
            self.probability = probability
        }
    }

    /// A line of on-screen text with the recogniser's confidence.
    public struct TextLine: Sendable, Equatable {
        public var text: String
        public var confidence: Double
        public init(text: String, confidence: Double) {
            self.text = text
            self.confidence = confidence
        }
    }

    public var startMs: Int64
    public var endMs: Int64
    /// (1280,) mean MobileNetV2 embedding of the window's frames, unit length; nil without labels.
    public var image: [Float]?
    /// People and faces in the frame that showed most; nil when no frame of the window was analysed
    /// for them (the count is unknown, not zero).
    public var people: Int?
    public var faces: Int?
    /// Whether speech evidence came with the window.
    public var speaking: Bool
    /// Changed-pixel fraction of the whole window (0...1); nil without the motion modality.
    public var motion: Double?
    /// Whole-frame labels, each name once with its highest probability in the window.
    public var labels: [Label]
    /// On-screen text lines, in the order first read.
    public var text: [TextLine]
    /// Speech segments' text, in order.
    public var speech: [String]

    /// A window with every field given.
    public init(startMs: Int64, endMs: Int64, image: [Float]? = nil, people: Int? = nil, faces: Int? = nil,
                speaking: Bool = false, motion: Double? = nil, labels: [Label] = [], text: [TextLine] = [],
                speech: [String] = [])
    {
        self.startMs = startMs
        self.endMs = endMs
        self.image = image
        self.people = people
        self.faces = faces
        self.speaking = speaking
        self.motion = motion
        self.labels = labels
        self.text = text
        self.speech = speech
    }

    /// The embedding model whose vectors measure visual change.
    public static let imageModel = "mobilenet-v2"

    /// The summary of a window over [startMs, endMs) with `evidence`.
    public init(startMs: Int64, endMs: Int64, evidence: [Evidence]) {
        self.init(startMs: startMs, endMs: endMs)
        var sum: [Float]? = nil
        var frames = 0
        var peoplePerFrame: [Int64: Int] = [:], facesPerFrame: [Int64: Int] = [:]
        var labelIndex: [String: Int] = [:]
        var analysed = false
        for e in evidence {
            switch e.modality {
            case .image:
                guard let emb = e.embedding, emb.model == Self.imageModel, !emb.vector.isEmpty else { continue }
                analysed = true
                if sum == nil { sum = [Float](repeating: 0, count: emb.vector.count) }
                if sum!.count == emb.vector.count {
                    for i in emb.vector.indices { sum![i] += emb.vector[i] }
                    frames += 1
                }
            case .person: peoplePerFrame[e.startMs, default: 0] += 1
            case .face: facesPerFrame[e.startMs, default: 0] += 1
            case .speech:
                speaking = true
                if let t = e.text?.trimmingCharacters(in: .whitespaces), !t.isEmpty { speech.append(t) }
            case .motion where e.region == nil:
                motion = max(motion ?? 0, e.value ?? 0)
            case .label where e.region == nil:
                guard let name = e.text else { continue }
                let p = e.confidence ?? 0
                if let i = labelIndex[name] { labels[i].probability = max(labels[i].probability, p) } else {
                    labelIndex[name] = labels.count
                    labels.append(Label(name: name, probability: p))
                }
            case .ocr:
                guard let t = e.text, !t.isEmpty else { continue }
                text.append(TextLine(text: t, confidence: e.confidence ?? 0))
            default: continue
            }
        }
        if let s = sum, frames > 0 {
            let norm = s.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            image = norm > 0 ? s.map { $0 / norm } : nil
        }
        // A frame analysed by the labels model was also offered to the detectors when they
        // run; a detection anywhere proves it. Without either, the count is unknown.
        if analysed || !peoplePerFrame.isEmpty { people = peoplePerFrame.values.max() ?? 0 }
        if analysed || !facesPerFrame.isEmpty { faces = facesPerFrame.values.max() ?? 0 }
    }

    /// The summary of a committed window.
    public init(_ record: WindowRecord) {
        self.init(startMs: record.startMs, endMs: record.endMs, evidence: record.evidence)
    }

    /// Cosine distance 1 − a·b of two unit vectors (0 for equal, up to 2); nil when either is
    /// missing or their sizes differ.
    public static func distance(_ a: [Float]?, _ b: [Float]?) -> Double? {
        guard let a, let b, a.count == b.count, !a.isEmpty else { return nil }
        var dot: Float = 0
        for i in a.indices { dot += a[i] * b[i] }
        return 1 - Double(dot)
    }
}
