// `TextVectorizer` over the text-embedding enricher's all-MiniLM-L6-v2: queries, label
// names and count facts are embedded by the very model (and the very weights in memory)
// that embedded the stored speech and on-screen text, so their cosines are meaningful.
import Foundation
import SightlineCore
import TextEmbedder

/// all-MiniLM-L6-v2 sentence vectors (384, unit length) for retrieval.
public struct MiniLMVectorizer: TextVectorizer {
    let shared: SharedModel<TextEmbedder>
    /// The name the enricher stores with its vectors.
    public let model: String

    /// A vectorizer over `model` (the enricher's shared instance), named `name`.
    public init(model: SharedModel<TextEmbedder>, name: String) {
        self.shared = model
        self.model = name
    }

    /// Loads its own copy from a model directory (tests and tools without an enricher).
    public init(directory: URL, name: String = "minilm-l6-v2") throws {
        self.init(model: SharedModel(try TextEmbedder(directory: directory)), name: name)
    }

    public func vectors(_ texts: [String]) throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        return shared.run { $0.embed(texts) }
    }
}
