// A WebVTT file parser following the WHATWG WebVTT parsing rules as mozilla/vtt.js implements
// them (the fixtures under Tests/Fixtures/subtitles are vtt.js's own tests):
// - optional UTF-8 BOM; first line "WEBVTT" alone or followed by space/tab; else an error;
// - header lines up to the first blank line, where vtt.js's "Region: k=v ..." lines define
//   regions (WHATWG "REGION" blocks with "k:v" lines are accepted too);
// - blocks separated by blank lines: "NOTE" and "STYLE" blocks are skipped; a cue block is an
//   optional identifier line, a timing line "start --> end [settings]" and payload lines; a
//   payload line containing "-->" starts a new cue;
// - timestamps "[h+:]mm:ss.ttt" (a first field of more than two digits or above 59 is hours);
// - cue settings vertical, line, position, size, align, region with vtt.js defaults.
// Blocks whose timing line does not parse are dropped (as browsers do) and recorded.
public enum WebVTTParser {
    public static func parse(_ bytes: some Sequence<UInt8>) throws(WebVTTParseError) -> WebVTTDocument {
        try parse(String(decoding: Array(bytes), as: UTF8.self))
    }

    public static func parse(_ source: String) throws(WebVTTParseError) -> WebVTTDocument {
        var text = Substring(source)
        if text.unicodeScalars.first == "\u{FEFF}" { text = Substring(text.unicodeScalars.dropFirst()) }
        let lines = text.split(omittingEmptySubsequences: false) {
            $0 == "\n" || $0 == "\r" || $0 == "\r\n"
        }.map(String.init)
        guard let first = lines.first, isSignature(first) else {
            throw .missingSignature(firstLine: lines.first ?? "")
        }
        var document = WebVTTDocument()
        var index = 1
        // Header: up to the first blank line (or a line that is already a timing line).
        while index < lines.count, !lines[index].isEmpty, !lines[index].contains("-->") {
            let line = lines[index]
            if line.hasPrefix("Region:") {
                let settings = line.dropFirst("Region:".count)
                if let region = region(settings.split(whereSeparator: isWhitespace), separator: "=") {
                    document.regions.append(region)
                }
            }
            index += 1
        }
        // Blocks.
        while index < lines.count {
            while index < lines.count, lines[index].isEmpty { index += 1 }
            guard index < lines.count else { break }
            let blockStart = index
            var block: [String] = []
            while index < lines.count, !lines[index].isEmpty {
                block.append(lines[index])
                index += 1
            }
            parseBlock(block, firstLine: blockStart + 1, into: &document)
        }
        return document
    }

    // MARK: - Blocks

    private static func parseBlock(_ block: [String], firstLine: Int, into document: inout WebVTTDocument) {
        guard let head = block.first else { return }
        if startsBlockKeyword(head, "NOTE") || startsBlockKeyword(head, "STYLE") { return }
        if head == "REGION" {
            let settings = block.dropFirst().flatMap { $0.split(whereSeparator: isWhitespace) }
            if let region = region(settings, separator: ":") { document.regions.append(region) }
            return
        }
        var i = 0
        var id = ""
        if !head.contains("-->") {
            guard block.count > 1, block[1].contains("-->") else {
                document.droppedBlockLines.append(firstLine)
                return
            }
            id = head
            i = 1
        }
        guard var cue = timing(block[i], regions: document.regions) else {
            document.droppedBlockLines.append(firstLine + i)
            return
        }
        cue.id = id
        var payload: [String] = []
        var j = i + 1
        while j < block.count, !block[j].contains("-->") {
            payload.append(block[j])
            j += 1
        }
        cue.text = payload.joined(separator: "\n")
        document.cues.append(cue)
        if j < block.count {  // a "-->" line inside the payload begins the next cue
            parseBlock(Array(block[j...]), firstLine: firstLine + j, into: &document)
        }
    }

    private static func isSignature(_ line: String) -> Bool {
        guard line.hasPrefix("WEBVTT") else { return false }
        let rest = line.dropFirst(6)
        return rest.isEmpty || rest.first == " " || rest.first == "\t"
    }

    private static func startsBlockKeyword(_ line: String, _ keyword: String) -> Bool {
        guard line.hasPrefix(keyword) else { return false }
        let rest = line.dropFirst(keyword.count)
        return rest.isEmpty || rest.first == " " || rest.first == "\t"
    }

    private static func isWhitespace(_ c: Character) -> Bool {
        c == " " || c == "\t" || c == "\u{0C}"
    }

    // MARK: - Timing line and settings

    private static func timing(_ line: String, regions: [WebVTTRegion]) -> WebVTTCue? {
        var scanner = Scanner(Array(line.unicodeScalars))
        scanner.skipWhitespace()
        guard let start = scanner.timestamp() else { return nil }
        scanner.skipWhitespace()
        guard scanner.consume("-->") else { return nil }
        scanner.skipWhitespace()
        guard let end = scanner.timestamp() else { return nil }
        // The end must be followed by whitespace or the end of the line.
        if let c = scanner.peek, c != " ", c != "\t", c != "\u{0C}" { return nil }
        var cue = WebVTTCue(startMs: start, endMs: end, text: "")
        applySettings(scanner.rest.split(whereSeparator: isWhitespace), to: &cue, regions: regions)
        return cue
    }

    private static func applySettings(_ settings: [Substring], to cue: inout WebVTTCue, regions: [WebVTTRegion]) {
        var positionAlign: String?
        for setting in settings {
            guard let colon = setting.firstIndex(of: ":") else { continue }
            let name = setting[..<colon]
            let value = setting[setting.index(after: colon)...]
            guard !name.isEmpty, !value.isEmpty else { continue }
            switch name {
            case "region":
                if let r = regions.last(where: { $0.id == value }) { cue.region = r }
            case "vertical":
                if value == "rl" || value == "lr" { cue.vertical = String(value) }
            case "line":
                let parts = value.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
                let position = parts[0]
                if position.hasSuffix("%") {
                    guard let p = percentage(position) else { continue }
                    cue.line = p
                    cue.snapToLines = false
                } else {
                    guard let n = Int(position) else { continue }
                    cue.line = Double(n)
                    cue.snapToLines = true
                }
                if parts.count == 2 {
                    switch parts[1] {
                    case "start": cue.lineAlign = "start"
                    case "center", "middle": cue.lineAlign = "middle"
                    case "end": cue.lineAlign = "end"
                    default: break
                    }
                }
            case "position":
                let parts = value.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
                guard let p = percentage(parts[0]) else { continue }
                cue.position = p
                if parts.count == 2 {
                    switch parts[1] {
                    case "line-left", "start": positionAlign = "start"
                    case "center", "middle": positionAlign = "middle"
                    case "line-right", "end": positionAlign = "end"
                    default: break
                    }
                }
            case "size":
                if let p = percentage(value) { cue.size = p }
            case "align":
                switch value {
                case "start", "end", "left", "right", "middle": cue.align = String(value)
                case "center": cue.align = "middle"
                default: break
                }
            default:
                break
            }
        }
        cue.positionAlign = positionAlign ?? {
            switch cue.align {
            case "start", "left": "start"
            case "end", "right": "end"
            default: "middle"
            }
        }()
    }

    /// "12.5%" → 12.5 (0...100), else nil.
    private static func percentage(_ s: Substring) -> Double? {
        guard s.hasSuffix("%"), let v = Double(s.dropLast()), v >= 0, v <= 100,
            s.dropLast().allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") })
        else { return nil }
        return v
    }

    private static func percentagePair(_ s: Substring) -> (Double, Double)? {
        let parts = s.split(separator: ",")
        guard parts.count == 2, let x = percentage(parts[0]), let y = percentage(parts[1]) else { return nil }
        return (x, y)
    }

    private static func region(_ settings: [Substring], separator: Character) -> WebVTTRegion? {
        var region = WebVTTRegion()
        for setting in settings {
            guard let sep = setting.firstIndex(of: separator) else { continue }
            let name = setting[..<sep]
            let value = setting[setting.index(after: sep)...]
            switch name {
            case "id": region.id = String(value)
            case "width": if let p = percentage(value) { region.width = p }
            case "lines": if let n = Int(value), n >= 0 { region.lines = n }
            case "regionanchor":
                if let (x, y) = percentagePair(value) { (region.regionAnchorX, region.regionAnchorY) = (x, y) }
            case "viewportanchor":
                if let (x, y) = percentagePair(value) { (region.viewportAnchorX, region.viewportAnchorY) = (x, y) }
            case "scroll": if value == "up" { region.scroll = "up" }
            default: break
            }
        }
        return region.id.isEmpty ? nil : region
    }

    // MARK: - Scanner

    private struct Scanner {
        let scalars: [Unicode.Scalar]
        var position = 0

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var peek: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }
        var rest: Substring {
            var s = ""
            s.unicodeScalars.append(contentsOf: scalars[position...])
            return Substring(s)
        }

        mutating func skipWhitespace() {
            while let c = peek, c == " " || c == "\t" || c == "\u{0C}" { position += 1 }
        }

        mutating func consume(_ literal: String) -> Bool {
            let lit = Array(literal.unicodeScalars)
            guard position + lit.count <= scalars.count,
                Array(scalars[position..<position + lit.count]) == lit
            else { return false }
            position += lit.count
            return true
        }

        mutating func digits() -> (value: Int64, count: Int)? {
            var value: Int64 = 0
            var count = 0
            while let c = peek, c.value >= 48 && c.value <= 57 {
                guard value < Int64.max / 100 else { return nil }
                value = value * 10 + Int64(c.value - 48)
                count += 1
                position += 1
            }
            return count > 0 ? (value, count) : nil
        }

        /// WHATWG "collect a WebVTT timestamp", in milliseconds.
        mutating func timestamp() -> Int64? {
            guard let first = digits() else { return nil }
            let firstIsHours = first.count != 2 || first.value > 59
            guard consume(":"), let second = digits(), second.count == 2 else { return nil }
            var hours: Int64 = 0
            var minutes = first.value
            var seconds = second.value
            if firstIsHours || peek == ":" {
                guard consume(":"), let third = digits(), third.count == 2 else { return nil }
                hours = first.value
                minutes = second.value
                seconds = third.value
            }
            guard consume("."), let fraction = digits(), fraction.count == 3 else { return nil }
            guard minutes <= 59, seconds <= 59 else { return nil }
            return ((hours * 60 + minutes) * 60 + seconds) * 1000 + fraction.value
        }
    }
}
