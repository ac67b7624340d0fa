// `sightline ask INPUT "QUESTION"`: indexes a media file as a stream would (FileIndex, at
// full speed) and answers the question from that index, the way `POST /v1/query` answers
// from the daemon's memory.
import ArgumentParser
import Daemon
import Foundation
import Logging
import ModelIO
import Modalities
import Retrieval
import SightlineCore
import Store

struct AskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Index a video or audio file and find the moments that answer a question about it.",
        discussion: """
        INPUT is a media file. It is read once at full speed through every modality a stream \
        runs by default (speech, people, faces, labels, on-screen text, motion, audio level; \
        pictures at 1 frame a second), with progress on stderr, into a temporary index that \
        is deleted afterwards — or into --index PATH, which keeps it: asking again about the \
        same file (same path, size and modification time) answers at once from that index. \
        The answer is the best moments, best first: a time range in the file and the evidence \
        seen or heard there. The models come from $SIGHTLINE_MODELS or ~/.cache/sightline/models \
        (`sightline models fetch` installs them). Exit code 2: the input, the index or a model \
        could not be read; the message says why.

        Examples:
          sightline ask talk.mp4 "what was said about the budget"
          sightline ask door.mp4 "when did someone come to the door" --limit 3
          sightline ask door.mp4 "delivery" --index ~/door.sightline --json
          sightline ask lecture.mkv "slide about results" --index ~/lectures.sightline
        """
    )

    @Argument(help: "Video or audio file.")
    var input: String

    @Argument(help: "What to look for, in your own words.")
    var question: String

    @Flag(help: "Print the answer as JSON, as POST /v1/query answers: {\"moments\":[{\"stream\",\"start_ms\",\"end_ms\",\"score\",\"evidence\":[{\"modality\",\"text\",\"start_ms\",\"end_ms\",\"box\"}]}]}.")
    var json = false

    @Option(help: "Keep the index in this database file and reuse it when it already holds this file.")
    var index: String?

    @Option(help: "Maximum number of moments (1-1000).")
    var limit = 5

    @Flag(help: "After indexing, print on stderr one JSON line with the time each analysis stage took: {\"stages\":{NAME:{\"wall_s\",\"cpu_s\"}},\"media_s\"} (0 when the index was reused).")
    var timings = false

    @Option(help: "Folder with the downloaded models (default: $SIGHTLINE_MODELS or ~/.cache/sightline/models).")
    var modelsDir: String?

    func validate() throws {
        guard (1...MomentQuery.maxLimit).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000") }
        guard !MomentQuery.words(in: question).isEmpty else {
            throw ValidationError("the question has no word to search for; give at least one letter or digit")
        }
    }

    func run() async throws {
        var logger = Logger(label: "sightline")
        logger.logLevel = .warning
        let temporary: String?
        let storePath: String
        if let index {
            temporary = nil
            storePath = index
        } else {
            let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("sightline-ask-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw CLIFailure(message: "cannot create a temporary index in \(NSTemporaryDirectory()): \(error.localizedDescription)")
            }
            temporary = dir
            storePath = (dir as NSString).appendingPathComponent("index.sqlite")
        }
        defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }

        let store: Store
        do { store = try Store(path: storePath) } catch { throw CLIFailure(message: "\(error)") }
        let models = modelsDir ?? ModelRegistry().root.path
        let encoders = RegistryEncoders(setup: EncoderSetup.defaults(modelsDirectory: models))
        let indexer = FileIndex(encoders: encoders, logger: logger)
        let reporter = ProgressLine.forStandardError()
        let result: FileIndexResult
        do {
            result = try await indexer.index(path: input, into: store) { p in reporter?.report(p) }
        } catch {
            reporter?.finish()
            throw CLIFailure(message: "\(error)")
        }
        reporter?.finish()
        if timings { FileHandle.standardError.write(Data((Self.timingsLine(result) + "\n").utf8)) }
        if result.stageErrors > 0 {
            FileHandle.standardError.write(Data("sightline: warning: \(result.stageErrors) analysis step(s) failed; the answer may miss what they would have found\n".utf8))
        }
        let answer: QueryAnswer
        do {
            answer = try await StoreMemory(store: store, fusion: encoders.fusionRanking(over: store))
                .answer(MomentQuery(text: question, streams: [result.streamId], limit: limit))
        } catch {
            throw CLIFailure(message: "\(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: (try? encoder.encode(answer)) ?? Data(), as: UTF8.self))
            return
        }
        if let line = answer.answer { print(line) }
        print(Self.text(answer.moments, question: question, input: input), terminator: "")
    }

    /// `--timings`: the stages' wall and CPU seconds as one JSON object.
    static func timingsLine(_ r: FileIndexResult) -> String {
        func seconds(_ ms: Double?) -> String { String(format: "%.3f", (ms ?? 0) / 1000) }
        let stages = r.stageMs.keys.sorted().map { name in
            "\"\(name)\":{\"wall_s\":\(seconds(r.stageMs[name])),\"cpu_s\":\(seconds(r.stageCpuMs[name]))}"
        }
        return "{\"stages\":{\(stages.joined(separator: ","))},\"media_s\":\(seconds(Double(r.mediaMs))),\"windows\":\(r.windows)}"
    }

    static func text(_ moments: [Moment], question: String, input: String) -> String {
        if moments.isEmpty { return "nothing in \(input) matches '\(question)'\n" }
        var out = ""
        for m in moments {
            out += String(format: "%@ – %@  score %.3g\n", ProgressLine.clock(m.startMs, tenths: true),
                          ProgressLine.clock(m.endMs, tenths: true), m.score)
            for e in m.evidence {
                let box = e.region.map { r in String(format: "  box %.2f,%.2f–%.2f,%.2f", r.x0, r.y0, r.x1, r.y1) } ?? ""
                out += "    [\(e.modality.rawValue)] \(e.text)\(box)\n"
            }
        }
        return out
    }
}
