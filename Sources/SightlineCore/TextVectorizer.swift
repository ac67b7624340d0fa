// The seam between text and the one vector space retrieval compares in: all-MiniLM-L6-v2
// sentence embeddings (384 dimensions, unit length). Speech and on-screen text are stored
// with such vectors (`Evidence.embedding`); ranking embeds the query, label names and
// count facts ("two people") with the same model, so every similarity is a cosine in one
// space. The core holds only the protocol: the model lives in Modalities, and the daemon
// injects it into Retrieval.

/// Turns text into unit vectors of one embedding model.
public protocol TextVectorizer: Sendable {
    /// The model's name; vectors are comparable only with vectors of the same model.
    var model: String { get }
    /// One unit-length vector per text, in order; all of the same dimension. Any string is
    /// valid input (an empty one embeds to the model's vector of no words).
    func vectors(_ texts: [String]) throws -> [[Float]]
}
