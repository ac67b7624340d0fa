// Reading a question's form from its words, and the words left to search for.
//
//   how many …                                    → how_many
//   … now / currently / at the moment …           → now
//   … sign / written / write / wrote / text / read / screen / display …  → written
//   … say / said / says / saying / talk / mention / tell / told …        → said
//   when …                                        → when
//   anything else                                 → other
// (checked in that order: "what did the sign say" is `written`, "when was the delivery
// said" is `said`.) The content searched for is the question without its form words,
// interrogatives and auxiliaries ("what was said about the delivery" → "delivery"); it may
// be empty ("what did the sign say?": any on-screen text answers it).
import SightlineCore

extension QuestionForm {
    static let nowWords: Set<String> = ["now", "currently", "moment"]
    static let writtenWords: Set<String> = ["sign", "signs", "written", "write", "wrote", "text", "read", "screen", "display", "displayed", "board", "caption"]
    static let saidWords: Set<String> = ["say", "said", "says", "saying", "talk", "talked", "talking", "mention", "mentioned", "tell", "told", "spoken", "speak"]
    /// Words dropped from the content: interrogatives, auxiliaries and form words.
    static let formWords: Set<String> = [
        "when", "what", "who", "where", "which", "how", "many", "much", "did", "does", "do", "was", "were", "is", "are", "am",
        "been", "be", "has", "have", "had", "there", "about", "now", "currently", "right", "at", "the", "moment",
        "say", "said", "says", "saying", "talk", "talked", "talking", "mention", "mentioned", "tell", "told", "spoken",
        "speak", "written", "write", "wrote", "happening", "going", "on", "any", "someone's",
    ]

    /// The form of `question`.
    public init(question: String) {
        let words = MomentQuery.words(in: question)
        let set = Set(words)
        if let i = words.firstIndex(of: "how"), i + 1 < words.count, words[i + 1] == "many" || words[i + 1] == "much" {
            self = .howMany
        } else if !set.isDisjoint(with: Self.nowWords) {
            self = .now
        } else if !set.isDisjoint(with: Self.writtenWords) && (set.contains("what") || !set.isDisjoint(with: Self.saidWords)) {
            self = .written
        } else if !set.isDisjoint(with: Self.saidWords) {
            self = .said
        } else if words.first == "when" || set.contains("when") {
            self = .when
        } else {
            self = .other
        }
    }

    /// What to search for: `question` without its form words (possibly empty); all of it
    /// when it is no question.
    public static func content(of question: String) -> String {
        let form = QuestionForm(question: question)
        guard form != .other else { return question }
        var kept = MomentQuery.words(in: question).filter { !formWords.contains($0) }
        // "the sign", "the screen": the written form's object says where, not what.
        if form == .written { kept = kept.filter { !writtenWords.contains($0) } }
        return kept.joined(separator: " ")
    }
}
