// The bundled speech clips with their reference transcripts
// (Tests/Fixtures/media/speech/REFERENCES.tsv: file, source, transcript per line).
import Foundation

public struct SpeechReference: Sendable {
    /// File name under media/speech.
    public var file: String
    public var reference: String

    /// Path of the clip.
    public var path: String { Fixtures.path("media/speech/\(file)") }

    /// Every audio clip (WAV or FLAC) the table lists, in its order.
    public static func clips() throws -> [SpeechReference] {
        let table = try String(contentsOfFile: Fixtures.path("media/speech/REFERENCES.tsv"), encoding: .utf8)
        return table.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            let f = line.split(separator: "\t", maxSplits: 2).map(String.init)
            guard f.count == 3, f[0].hasSuffix(".wav") || f[0].hasSuffix(".flac") else { return nil }
            return SpeechReference(file: f[0], reference: f[2])
        }
    }
}
