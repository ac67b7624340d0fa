import ArgumentParser
import Daemon
import Foundation
import ImageOps
import MediaIO
import Modalities
import ModelIO
import SightlineCore

struct LookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "look",
        abstract: "Show what Sightline sees in a picture: people, faces, labels, text on screen, motion.",
        discussion: """
        INPUT is an image (PNG, JPEG, TIFF, ...) or anything `sightline transcribe` reads; for a \
        video, --at picks the moment (the first sampled frame at or after it; frames are sampled \
        4 times a second). The models are those a stream runs (people: SSDLite MobileNetV2, \
        faces: MTCNN, labels: MobileNetV2 ImageNet, text: PP-OCRv5 mobile), from \
        $SIGHTLINE_MODELS or ~/.cache/sightline/models; `sightline models fetch` installs them. \
        Boxes are [x0, y0, x1, y1] in pixels of the picture. Motion compares the picture with a \
        frame half a second earlier (0 for an image). Exit code 2: the input or a model could \
        not be read; the message says why.

        Examples:
          sightline look photo.jpg
          sightline look camera.mp4 --at 12.5 --json
          sightline look camera.mp4 --at 1:05 --draw frame.png
        """
    )

    @Argument(help: "Image or video file, URL or device.")
    var input: String

    @Option(help: "Moment to look at in a video: seconds (12.5) or [hh:]mm:ss (1:05).")
    var at: String = "0"

    @Flag(help: "Print one JSON object: {\"people\":[{\"box\",\"score\"}],\"faces\":[...],\"labels\":[{\"label\",\"score\"}],\"text\":[{\"text\",\"score\",\"box\"}],\"motion\":n}.")
    var json = false

    @Option(help: "Also write the picture with the boxes drawn (people green, faces yellow, text red) as a PNG file.")
    var draw: String?

    func run() throws {
        guard let atMs = Units.parseMediaTime(at) else {
            throw CLIFailure(message: "--at \(at) is not a time; write seconds (12.5) or [hh:]mm:ss (1:05)")
        }
        let picked: (frame: VideoFrame, earlier: VideoFrame?)
        do { picked = try MediaSource.frame(input: input, atMs: atMs) } catch { throw CLIFailure(message: "\(error)") }
        let report: PictureReport
        let picture: RGBImage
        do {
            picture = try RGBImage(width: picked.frame.width, height: picked.frame.height, pixels: picked.frame.rgb)
            let look = try PictureLook(setup: EncoderSetup.defaults(modelsDirectory: ModelRegistry().root.path))
            report = try look.report(picked.frame, earlier: picked.earlier)
        } catch {
            throw CLIFailure(message: "\(error)")
        }
        if let draw {
            do { try Data(report.drawn(on: picture).pngData()).write(to: URL(fileURLWithPath: draw)) } catch {
                throw CLIFailure(message: "cannot write \(draw): \(error.localizedDescription)")
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: (try? encoder.encode(report)) ?? Data(), as: UTF8.self))
        } else {
            print(report.text(source: input))
        }
    }
}
