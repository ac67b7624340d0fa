// `[models] clip` takes "none" (the default) or a model directory path, unlike the keys of
// fetched models, which take only their names.
import Modalities
import SightlineCore
import XCTest
@testable import Daemon

final class CLIPConfigTests: XCTestCase {
    func testClipIsNoneByDefaultOrADirectory() throws {
        XCTAssertEqual(DaemonConfig().models["clip"], .name("none"))
        let c = try DaemonConfig.parse("[models]\nclip = \"/srv/models/clip-vit-base-patch32\"\n", file: "a.toml")
        XCTAssertEqual(c.models["clip"], .name("/srv/models/clip-vit-base-patch32"))
        XCTAssertThrowsError(try DaemonConfig.parse("[models]\nclip = \"clip-vit-b32\"\n", file: "b.toml")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("models.clip") || text.contains("clip"), text)
            XCTAssertTrue(text.contains("nor a model directory path"), text)
        }
        XCTAssertThrowsError(try DaemonConfig.parse("[models]\nlabels = \"/srv/models/mobilenet\"\n", file: "c.toml"))
    }
}
