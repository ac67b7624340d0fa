// Events encode their payload as a nested object (not JSON inside a string) and decode
// back to the same typed value; the store's payload column round-trips the same way.
import Foundation
import SightlineCore
import XCTest

final class EventTests: XCTestCase {
    func testMatchEventRoundTripsWithNestedPayload() throws {
        let e = Event(id: 7, streamId: "door", atMs: 1_700_000_000_000, subscriptionId: 3,
                      payload: .match(QueryMatch(query: "parcel", stream: "door", startMs: 2000, endMs: 4000,
                                                 score: 2.5, evidence: ["a parcel at the door"])))
        let json = try EventCoding.encode(e)
        XCTAssertEqual(json, #"{"at_ms":1700000000000,"id":7,"kind":"match","payload":{"end_ms":4000,"evidence":["a parcel at the door"],"#
            + #""query":"parcel","score":2.5,"start_ms":2000,"stream":"door"},"stream":"door","subscription_id":3}"#)
        XCTAssertEqual(try JSONDecoder().decode(Event.self, from: Data(json.utf8)), e)
    }

    func testStateChangePayloadRoundTripsThroughItsColumnForm() throws {
        let payload = EventPayload.streamState(StreamStateChange(state: .reconnecting, error: "connection refused"))
        let column = try EventCoding.encodePayload(payload)
        XCTAssertEqual(column, #"{"error":"connection refused","state":"reconnecting"}"#)
        XCTAssertEqual(try EventCoding.decodePayload(kind: .streamState, json: column), payload)
        XCTAssertThrowsError(try EventCoding.decodePayload(kind: .match, json: column), "a state payload is not a match")
    }

    func testUnknownKindIsADecodingError() {
        let json = #"{"at_ms":1,"kind":"teleport","payload":{}}"#
        XCTAssertThrowsError(try JSONDecoder().decode(Event.self, from: Data(json.utf8)))
    }

    func testQueryWordsAreWhatTheIndexSees() {
        XCTAssertEqual(MomentQuery.words(in: "Delivery VAN! at 10:30, café"), ["delivery", "van", "at", "10", "30", "café"])
        XCTAssertEqual(MomentQuery.words(in: " ?! "), [])
    }
}
