// Table headers with no key after their bracket(s) are syntax errors with a line and a
// column, not an abort: TOMLKit's toml++ 3.4.0 asserts on them (the configuration fuzz
// found "[[" at the end of a line; "[#", "[=]", "[.a]" and "[&" are the same fault).
import XCTest
@testable import Daemon

final class TOMLHeaderTests: XCTestCase {
    func syntaxError(_ text: String) -> (line: Int, column: Int, message: String)? {
        do {
            _ = try DaemonConfig.parse(text, file: "test.toml")
            return nil
        } catch let ConfigError.syntax(file, line, column, message) {
            XCTAssertEqual(file, "test.toml")
            return (line, column, message)
        } catch {
            XCTFail("\(text.debugDescription): \(error)")
            return nil
        }
    }

    func testHeadersWithoutAKeyAreSyntaxErrorsAtTheirPlace() {
        let cases: [(String, Int, Int, String)] = [
            ("[threads]\nkernel = 1\n[[\n[store]\n", 3, 1, "the end of the line"),
            ("[\n", 1, 1, "the end of the line"),
            ("  [ \t\n", 1, 3, "the end of the line"),
            ("[#comment\n", 1, 1, "'#'"),
            ("[[#comment\n", 1, 1, "'#'"),
            ("[=]\n", 1, 1, "'='"),
            ("[[=]]\n", 1, 1, "'='"),
            ("[.a]\n", 1, 1, "'.'"),
            ("[[.a]]\n", 1, 1, "'.'"),
            ("[&", 1, 1, "'&'"),
            ("[[[a]]]\n", 1, 1, "'['"),
            ("[paths]\nstate_dir = \"/x\"\n\n  [[\t\n", 4, 3, "the end of the line"),
        ]
        for (text, line, column, found) in cases {
            let e = syntaxError(text)
            XCTAssertEqual(e?.line, line, text.debugDescription)
            XCTAssertEqual(e?.column, column, text.debugDescription)
            XCTAssertEqual(e?.message, "a table header needs a name after '[', found \(found)", text.debugDescription)
        }
    }

    /// Brackets inside values, strings and comments are not headers, and good headers pass.
    func testBracketsElsewhereAndGoodHeadersAreLeftToTheParser() {
        let fine = [
            "[access]\nallowed_uids = [\n  1,\n  2,\n]\n",
            "[access]\nallowed_groups = [\n\"[#\",\n'[='\n]\n",
            "[paths]\nstate_dir = \"\"\"\n[#not a header\n[=\n\"\"\"\n",
            "[paths]\nstate_dir = '''\n[[\n'''\n",
            "# [= in a comment\n[ paths ] # a comment\nstate_dir = \"/x\"\n",
            "[\"threads\"]\nkernel = 2\n",
            "['threads']\ndecode = 2\n",
        ]
        for text in fine {
            XCTAssertNil(TOMLReader.malformedTableHeader(in: text), text.debugDescription)
            XCTAssertNoThrow(try DaemonConfig.parse(text, file: "test.toml"), text.debugDescription)
        }
        XCTAssertEqual(try DaemonConfig.parse("[\"threads\"]\nkernel = 2\n", file: "t").threads.kernel, 2)
    }

    func testStreamFilesAreCheckedToo() {
        XCTAssertThrowsError(try StreamConfig.parse("id = \"cam\"\nsource = \"/x.mp4\"\n[[\n", file: "cam.toml")) { error in
            XCTAssertEqual("\(error)", "cam.toml:3:1: TOML syntax error: a table header needs a name after '[', found the end of the line")
        }
    }
}
