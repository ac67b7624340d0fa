// Gives each stream the encoders its `[modalities]` table turns on, from the encoder
// registry. Models are prepared once per daemon and shared: those of the streams configured
// at start-up load before READY=1 (so a missing model fails start-up, with the fetch
// command in the message); a modality first used by a stream added on SIGHUP loads then.
import Foundation
import Kernels
import Logging
import Modalities
import SightlineCore
import Synchronization

/// Builds one stream's encoders from its configuration (models are shared; per-stream state is not).
public protocol EncoderFactory: Sendable {
    /// Models loaded so far, reported by /v1/health.
    var modelsLoaded: [String] { get }
    func makeEncoders(for stream: StreamConfig) throws -> [any WindowEncoder]
}

/// The registry's encoders, prepared on first use and kept.
public final class RegistryEncoders: EncoderFactory, Sendable {
    public let registry: EncoderRegistry
    let setup: EncoderSetup
    private let prepared = Mutex<[String: any PreparedEncoder]>([:])

    /// Encoders of `registry` loading their models per `setup`; nothing is loaded yet.
    public init(registry: EncoderRegistry = .standard, setup: EncoderSetup) {
        self.registry = registry
        self.setup = setup
    }

    /// The model-free encoders (audio level, motion): what tests and a daemon without models use.
    public static func modelFree() -> RegistryEncoders {
        RegistryEncoders(registry: EncoderRegistry([.audioLevel, .motion]), setup: EncoderSetup(modelsDirectory: "", models: [:]))
    }

    /// Sizes the kernel pool from `threads.kernel` (before any model touches it), then
    /// prepares every modality an enabled stream of `configuration` uses.
    public static func load(configuration: Configuration, registry: EncoderRegistry = .standard,
                            logger: Logger) throws -> RegistryEncoders
    {
        let daemon = configuration.daemon
        if daemon.threads.kernel > 0 { try ThreadPool.configureShared(threads: daemon.threads.kernel) }
        let started = Date()
        let encoders = RegistryEncoders(registry: registry, setup: daemon.encoderSetup)
        let used = Set(configuration.streams.filter(\.enabled).flatMap(\.encoders))
        for d in registry.descriptors where used.contains(d.name) { _ = try encoders.prepare(d) }
        logger.info("models loaded", metadata: ["models": "\(encoders.modelsLoaded.joined(separator: ","))",
                                                "models.dir": "\(daemon.paths.modelsDir)",
                                                "load.ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
        return encoders
    }

    public var modelsLoaded: [String] {
        let p = prepared.withLock { $0 }
        var seen = Set<String>()
        return registry.descriptors.compactMap { p[$0.name] }.flatMap(\.modelsLoaded).filter { seen.insert($0).inserted }
    }

    /// The prepared form of `d`, loading its models the first time. Loads run outside the
    /// lock (they take seconds); two racing first uses both load and one result is kept.
    func prepare(_ d: EncoderDescriptor) throws -> any PreparedEncoder {
        if let p = prepared.withLock({ $0[d.name] }) { return p }
        let fresh = try d.prepare(setup)
        return prepared.withLock { cache in
            if let p = cache[d.name] { return p }
            cache[d.name] = fresh
            return fresh
        }
    }

    public func makeEncoders(for stream: StreamConfig) throws -> [any WindowEncoder] {
        try registry.descriptors.filter { stream.encoders.contains($0.name) }.compactMap { d in
            try prepare(d).makeEncoder(streamId: stream.id)
        }
    }
}
