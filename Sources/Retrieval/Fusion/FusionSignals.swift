// The signals fused per window, their constants, and the query-side tables: the query's
// cosine to every label name and to every count fact, cached per vectorizer (label names
// and facts are embedded once; a query then costs one model call for its own text).
import Foundation
import SightlineCore
import Synchronization

/// One per-window signal of the fused score.
enum Signal: Int, CaseIterable, Sendable {
    case speech, ocr, caption, label, people, faces, motion, fullText

    /// The modality its evidence items carry.
    var modality: Modality {
        switch self {
        case .speech: .speech
        case .ocr: .ocr
        case .caption: .caption
        case .label: .label
        case .people: .person
        case .faces: .face
        case .motion: .motion
        case .fullText: .speech
        }
    }

    /// w_m (FusionWeights.swift), clamped at 0: a signal may only add evidence, so a window
    /// none of whose signals rises above its floor keeps the bias.
    var weight: Double {
        let w: Double = switch self {
        case .speech: FusionWeights.speech
        case .ocr: FusionWeights.ocr
        case .caption: FusionWeights.caption
        case .label: FusionWeights.label
        case .people: FusionWeights.people
        case .faces: FusionWeights.faces
        case .motion: FusionWeights.motion
        case .fullText: FusionWeights.fullText
        }
        return max(0, w)
    }

    /// s₀: cosine below which a window's similarity is no evidence (MiniLM puts unrelated
    /// short texts at 0-0.25). The value a window carries is max(0, s − s₀); s₀/τ is also
    /// the logit of the attention's "nothing here" slot. 0 for full text (an IDF sum).
    var floor: Double {
        switch self {
        case .speech: 0.25
        case .ocr, .caption: 0.3
        case .label: 0.25
        case .people, .faces: 0.3
        case .motion: 0.35
        case .fullText: 0
        }
    }

    /// λ_m in ms: how fast attention to a neighbour decays with its distance. With the
    /// reach of 3λ, 1 s for speech and captions and 0.7 s for pictures reach the adjacent
    /// 2 s window only: a strong signal carries over to it (a detection missed in a frame,
    /// a sentence across a window edge), a weak one mostly does not (at 2 s a neighbour's
    /// logit drops by 2 or 2.9, about a cosine step of 0.2-0.3 at τ = 0.1).
    var lambdaMs: Double {
        switch self {
        case .speech, .caption: 1000
        case .ocr, .label, .people, .faces, .motion: 700
        case .fullText: 0
        }
    }

    /// Smallest scale of the robust z-score, in the signal's units: without it a signal
    /// that is 0 in most windows (MAD 0) would divide by zero.
    var minimumScale: Double { self == .fullText ? 1 : 0.05 }

    /// Whether it is a per-row text vector signal, and which kind.
    var textKind: TextKind? {
        switch self {
        case .speech: .speech
        case .ocr: .ocr
        case .caption: .caption
        default: nil
        }
    }

    /// The signals a modality filter keeps (empty: all).
    static func enabled(_ modalities: [Modality]) -> [Signal] {
        guard !modalities.isEmpty else { return allCases }
        let set = Set(modalities)
        return allCases.filter { s in
            s == .fullText ? !set.isDisjoint(with: [.speech, .ocr, .caption]) : set.contains(s.modality)
        }
    }
}

/// Attention temperature τ (cosine units): softmax(s/τ − |Δt|/λ) over a window's neighbours.
let attentionTemperature = 0.1
/// Neighbours further than this many λ get no attention (weight < e⁻³).
let attentionReach = 3.0
/// Motion counts as "something moving" from this changed fraction (the motion encoder's summary threshold).
let motionThreshold: Float = 0.02

/// Count facts: what a count of people or faces means in words.
enum Facts {
    /// Index c (1…5) is the fact for c people (5: five or more).
    static let people = ["", "a person", "two people", "three people", "four people", "a crowd of people"]
    static let faces = ["", "a face", "two faces", "three faces", "several faces"]
    static let motion = "something moving"

    static func people(_ count: Int) -> String {
        switch count {
        case ..<1: "nobody"
        case 1: "a person"
        default: "\(count) people"
        }
    }
}

/// Label-name and fact vectors of one vectorizer, embedded once.
final class QueryVocabulary: Sendable {
    let vectorizer: any TextVectorizer
    /// Text → vector (label names and facts alike: the same text has the same vector).
    private let cache = Mutex<[String: [Float]]>([:])

    init(vectorizer: any TextVectorizer) { self.vectorizer = vectorizer }

    /// The vectors of `names`, embedding the ones not seen before in one call.
    func vectors(_ names: [String]) throws -> [[Float]] {
        let missing = cache.withLock { c in Array(Set(names.filter { c[$0] == nil })).sorted() }
        if !missing.isEmpty {
            let made = try vectorizer.vectors(missing)
            cache.withLock { c in for (n, v) in zip(missing, made) { c[n] = v } }
        }
        return cache.withLock { c in names.map { c[$0] ?? [] } }
    }
}

/// One query's side of every similarity.
struct QueryTables: Sendable {
    /// (dim,) the query vector, and its int8 codes with their scale.
    var vector: [Float]
    var codes: [Int8]
    var scale: Float
    /// (label ids,) the label names and the query's cosine to each.
    var labelNames: [String]
    var labelSim: [Float]
    /// (6,) / (5,) cosine to the people / face count facts (index 0 unused).
    var peopleSim: [Float]
    var faceSim: [Float]
    var motionSim: Float
    /// Every text row counts as this similarity (no content to compare: "what did the sign say?").
    var presence: Bool
    /// Full-text IDF score per evidence id.
    var fullText: [Int64: Double]

    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return 0 }
        var s: Float = 0
        for i in a.indices { s += a[i] * b[i] }
        return s
    }

    static func quantize(_ v: [Float]) -> (codes: [Int8], scale: Float) {
        let largest = v.reduce(Float(0)) { max($0, abs($1)) }
        let scale = largest > 0 ? largest / 127 : 1
        return (v.map { Int8(clamping: Int(($0 / scale).rounded())) }, scale)
    }
}
