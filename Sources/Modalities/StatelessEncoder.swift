// The prepared form of an encoder that loads no model: each stream gets a fresh instance.
import SightlineCore

/// Makes a new encoder per stream with `make`; loads nothing.
public struct StatelessEncoder: PreparedEncoder {
    let make: @Sendable () -> any WindowEncoder

    /// An encoder family with no shared state.
    public init(_ make: @escaping @Sendable () -> any WindowEncoder) { self.make = make }

    public var modelsLoaded: [String] { [] }

    public func makeEncoder(streamId: String) throws -> (any WindowEncoder)? { make() }
}
