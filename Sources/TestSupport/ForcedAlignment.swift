// An independent reference for word times: pocketsphinx's forced alignments of the LibriVox
// clips (shipped with its test data, in Tests/Fixtures/speech-pauses/alignments), against
// which a transcript's word edges are measured.
import Foundation
import SpokenWords

public struct ForcedAlignment: Sendable {
    /// The clip's words, lowercase, with times in ms; silences dropped and pronunciation
    /// variants ("to(2)") named by their word.
    public let words: [(word: String, startMs: Int64, endMs: Int64)]

    /// The alignment of a clip of the speech set ("pocketsphinx_librivox_0870.wav"); nil for
    /// a clip without one.
    public init?(clip: String) {
        let path = Fixtures.path("speech-pauses/alignments/\((clip as NSString).deletingPathExtension).json")
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let entries = json["w"] as? [[String: Any]] else { return nil }
        words = entries.compactMap { w in
            guard let t = w["t"] as? String, !t.hasPrefix("<"), let b = w["b"] as? Double, let d = w["d"] as? Double else { return nil }
            return (String(t.prefix { $0 != "(" }), Int64((b * 1000).rounded()), Int64(((b + d) * 1000).rounded()))
        }
    }

    /// How far the transcript's word edges are from the alignment's: for the words both have,
    /// in order (longest common subsequence, compared as lowercase letters and apostrophes),
    /// the distance of each start and of each end in ms.
    public func edgeErrors(_ segments: [TranscriptSegment]) -> [Int64] {
        let heard = segments.flatMap(\.words)
        let spoken = heard.map { String($0.word.lowercased().filter { $0.isLetter || $0 == "'" }) }
        let n = spoken.count, m = words.count
        var common = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1) // LCS of the suffixes
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                common[i][j] = spoken[i] == words[j].word ? common[i + 1][j + 1] + 1 : max(common[i + 1][j], common[i][j + 1])
            }
        }
        var errors: [Int64] = [], i = 0, j = 0
        while i < n && j < m {
            if spoken[i] == words[j].word {
                errors += [abs(heard[i].startMs - words[j].startMs), abs(heard[i].endMs - words[j].endMs)]
                i += 1; j += 1
            } else if common[i + 1][j] >= common[i][j + 1] {
                i += 1
            } else {
                j += 1
            }
        }
        return errors
    }
}
