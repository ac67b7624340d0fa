// Formats Int64 milliseconds as subtitle timecodes: "HH:MM:SS,mmm" (SRT) and "HH:MM:SS.mmm"
// (WebVTT). Hours grow past two digits rather than wrapping; negative times clamp to zero.
enum Timecode {
    static func format(_ ms: Int64, fractionSeparator: Character) -> String {
        let t = max(0, ms)
        let hours = t / 3_600_000
        let minutes = t / 60_000 % 60
        let seconds = t / 1_000 % 60
        let millis = t % 1_000
        return pad(hours, 2) + ":" + pad(minutes, 2) + ":" + pad(seconds, 2)
            + String(fractionSeparator) + pad(millis, 3)
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
