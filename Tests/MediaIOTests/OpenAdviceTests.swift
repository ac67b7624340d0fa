// What an open failure tells the user to do follows the server's answer: a camera that
// refuses the password says so, instead of the advice for a missing file.
import XCTest
@testable import MediaIO

final class OpenAdviceTests: XCTestCase {
    /// FFmpeg's FFERRTAG(0xF8, '4', '0', 'N') codes for HTTP and RTSP answers 401, 403, 404.
    static let unauthorized: Int32 = -0x3130_34F8
    static let forbidden: Int32 = -0x3330_34F8
    static let notFound: Int32 = -0x3430_34F8

    func testServerAnswersGetTheirOwnAdvice() {
        let refused = MediaError.cannotOpen(input: "rtsp://cam/1", FFmpegFailure(function: "avformat_open_input", code: Self.unauthorized,
                                                                                 message: "Server returned 401 Unauthorized (authorization failed)"))
        XCTAssertEqual(refused.description, "cannot open 'rtsp://cam/1': Server returned 401 Unauthorized (authorization failed) "
            + "(avformat_open_input returned -825242872). The server refused the user name or password: check the credentials "
            + "in the source URL (scheme://user:password@host/path).")
        XCTAssertEqual(MediaError.openAdvice(code: Self.forbidden), MediaError.openAdvice(code: Self.unauthorized))
        XCTAssertEqual(MediaError.openAdvice(code: Self.notFound), "The server has no such path: check the path in the source URL.")
        XCTAssertEqual(MediaError.openAdvice(code: -2),
                       "Check that the path or URL exists and is an audio or video file or stream FFmpeg can read.")
    }
}
