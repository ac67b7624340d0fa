// JSON (.json) output, with keys in this exact order (written by hand because JSONEncoder
// cannot order keys other than alphabetically):
// {"language":..,"model":..,"segments":[{"start_ms":..,"end_ms":..,"text":..,
//   "words":[{"start_ms":..,"end_ms":..,"word":..,"probability":..}]}]}
// `words` is always present (empty without word timestamps). A last key
// "unrecognized":[{"start_ms":..,"end_ms":..,"reason":..}] lists speech regions that gave no
// text; it is written only when there is one, so ordinary output keeps its shape. Probabilities are rounded to
// 4 decimals (a word with none recorded has no "probability" key); a non-finite probability (never produced by a sane model) is written as 0.
// The output decodes back into an equal `Transcript` with JSONDecoder (up to that rounding).
public enum JSONTranscriptRenderer {
    public static func render(_ transcript: Transcript) -> String {
        var out = "{\"language\":" + quoted(transcript.language)
        out += ",\"model\":" + quoted(transcript.model)
        out += ",\"segments\":["
        for (i, segment) in transcript.segments.enumerated() {
            if i > 0 { out += "," }
            out += "\n{\"start_ms\":\(segment.startMs),\"end_ms\":\(segment.endMs)"
            out += ",\"text\":" + quoted(segment.text) + ",\"words\":["
            for (j, word) in segment.words.enumerated() {
                if j > 0 { out += "," }
                out += "{\"start_ms\":\(word.startMs),\"end_ms\":\(word.endMs)"
                out += ",\"word\":" + quoted(word.word)
                if let p = word.probability { out += ",\"probability\":" + number(p) }
                out += "}"
            }
            out += "]}"
        }
        out += transcript.segments.isEmpty ? "]" : "\n]"
        if !transcript.unrecognized.isEmpty {
            out += ",\"unrecognized\":["
            for (i, u) in transcript.unrecognized.enumerated() {
                if i > 0 { out += "," }
                out += "\n{\"start_ms\":\(u.startMs),\"end_ms\":\(u.endMs),\"reason\":" + quoted(u.reason) + "}"
            }
            out += "\n]"
        }
        return out + "}\n"
    }

    static func number(_ p: Double) -> String {
        guard p.isFinite else { return "0" }
        let rounded = (p * 10_000).rounded() / 10_000
        return rounded == rounded.rounded() ? String(Int64(rounded)) : "\(rounded)"
    }

    /// A JSON string literal (RFC 8259): quotes, backslashes and control characters escaped.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
