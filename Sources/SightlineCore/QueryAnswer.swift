// The answer to `POST /v1/query`: the moments, the question's form read from its words, and
// one line answering it in that form.

/// What kind of answer a question asks for, read from its words (Retrieval's `QuestionForm`
/// parsing, docs/FUSION.md "Question forms").
public enum QuestionForm: String, Sendable, Codable, CaseIterable {
    /// "when did someone come to the door?": the best moments' times.
    case when
    /// "what was said about the delivery?": the speech (or caption) snippets.
    case said
    /// "what did the sign say?": the on-screen text.
    case written
    /// "how many people were there at ten?": the count at that time.
    case howMany = "how_many"
    /// "what is happening now?": the latest caption, or the latest evidence.
    case now
    /// Anything else: moments only.
    case other
}

/// Moments with a one-line answer.
public struct QueryAnswer: Sendable, Equatable, Codable {
    /// The best moments, best first.
    public var moments: [Moment]
    /// The form the question was read as.
    public var form: QuestionForm
    /// One line answering the question in its form; nil for `other` or when nothing answers it.
    public var answer: String?

    public init(moments: [Moment], form: QuestionForm, answer: String?) {
        self.moments = moments
        self.form = form
        self.answer = answer
    }
}
