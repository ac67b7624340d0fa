// Text embeddings of what was said and what was written on screen, added as each window is
// stored (all-MiniLM-L6-v2, 384 dimensions, unit length, stored as fp16). One model call per
// window embeds every new speech segment and OCR line together. Labels, "person" and "face"
// are not embedded: they are single dictionary words whose meaning the full-text index
// already has. A text line that continues one already stored is not embedded again (the
// store extends the stored row, which keeps its embedding).
import Foundation
import SightlineCore
import TextEmbedder

/// Adds a text embedding to every speech and on-screen-text evidence without one.
public struct TextEmbeddingEnricher: EvidenceEnricher {
    public let name = "text_embedding"
    /// The modalities whose text is embedded.
    public static let embedded: Set<Modality> = [.speech, .ocr, .caption]

    let model: SharedModel<TextEmbedder>
    /// The model's name, stored with each vector (vectors compare only within one model).
    let modelName: String

    public func enrich(_ evidence: [Evidence], streamId: String) async throws -> [Evidence] {
        let picked = evidence.indices.filter {
            let e = evidence[$0]
            return Self.embedded.contains(e.modality) && e.embedding == nil && !e.continues
                && !(e.text ?? "").trimmingCharacters(in: .whitespaces).isEmpty
        }
        guard !picked.isEmpty else { return evidence }
        let vectors = model.run { $0.embed(picked.map { evidence[$0].text ?? "" }) }
        var out = evidence
        for (i, v) in zip(picked, vectors) { out[i].embedding = Embedding(model: modelName, vector: v) }
        return out
    }
}

extension EnricherDescriptor {
    /// `text_embedding`: sentence embeddings of speech and on-screen text (all-MiniLM-L6-v2).
    public static let textEmbedding = EnricherDescriptor(
        name: "text_embedding", summary: "sentence embeddings of what is said and written on screen (all-MiniLM-L6-v2)",
        modelSettings: [
            ModelSetting(key: "text_embedding", kind: .choice(["minilm-l6-v2", "none"]), defaultValue: .name("minilm-l6-v2"),
                         help: "Text embedder for speech and on-screen text: \"minilm-l6-v2\" or \"none\"."),
        ],
        prepare: { setup in
            guard let (name, embedder) = try ModelLoading.load("text_embedding", setup: setup,
                                                                       requiredFiles: ["config.json", "vocab.txt"], { dir in
                try TextEmbedder(directory: dir)
            }) else { return nil }
            return TextEmbeddingEnricher(model: SharedModel(embedder), modelName: name)
        })
}

extension TextEmbeddingEnricher {
    /// The query side of the same model: a `TextVectorizer` over the enricher's loaded
    /// weights (one copy in memory, shared under the model's lock).
    public var vectorizer: MiniLMVectorizer { MiniLMVectorizer(model: self.model, name: modelName) }
}
