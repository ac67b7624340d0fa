import XCTest
@testable import MediaIO

final class FFmpegErrorTextTests: XCTestCase {
    func testEOFHasFFmpegsText() {
        XCTAssertEqual(FFmpeg.errorText(FFmpeg.eof), "End of file")
    }
}
