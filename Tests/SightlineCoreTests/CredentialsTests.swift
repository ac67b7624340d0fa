// Credentials.redact: the one function that hides camera passwords wherever text leaves
// the daemon.
import SightlineCore
import XCTest

final class CredentialsTests: XCTestCase {
    func testUserInformationOfEveryURLIsHidden() {
        XCTAssertEqual(Credentials.redact("rtsp://admin:s3cret@cam.local:554/stream1"), "rtsp://***@cam.local:554/stream1")
        XCTAssertEqual(Credentials.redact("cannot open 'rtsp://u:p@10.0.0.2/a': 401 Unauthorized; also http://x:y@h/b"),
                       "cannot open 'rtsp://***@10.0.0.2/a': 401 Unauthorized; also http://***@h/b")
        // A password with an unescaped '/' or '@' is hidden whole.
        XCTAssertEqual(Credentials.redact("rtsp://admin:pa/ss@w@cam/x"), "rtsp://***@cam/x")
        XCTAssertEqual(Credentials.redact("\"rtsp://user:pw@h\""), "\"rtsp://***@h\"")
    }

    func testTextWithoutCredentialsIsUnchanged() {
        for text in ["rtsp://cam.local/stream1", "/var/lib/sightline/clip.mp4", "no url at all", "http://h/p?q=1 and more", ""] {
            XCTAssertEqual(Credentials.redact(text), text)
        }
    }
}
