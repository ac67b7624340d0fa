// Gives each stream the encoders its `[modalities]` table turns on, from the encoder
// registry. Models are prepared once per daemon and shared: those of the streams configured
// at start-up load before READY=1 (so a missing model fails start-up, with the fetch
// command in the message); a modality first used by a stream added on SIGHUP loads then.
import Foundation
import Kernels
import Logging
import MediaIO
import Modalities
import Retrieval
import SightlineCore
import Store
import Synchronization

/// Builds one stream's encoders from its configuration (models are shared; per-stream state is not).
public protocol EncoderFactory: Sendable {
    /// Models loaded so far, reported by /v1/health.
    var modelsLoaded: [String] { get }
    func makeEncoders(for stream: StreamConfig) throws -> [any WindowEncoder]
    /// The enrichers every stream runs after its encoders (shared; they keep no per-stream state).
    func makeEnrichers() throws -> [any EvidenceEnricher]
}

extension EncoderFactory {
    public func makeEnrichers() throws -> [any EvidenceEnricher] { [] }

    /// Fused ranking over `store`, comparing queries with the stored text vectors through the
    /// text-embedding enricher's model (the same weights in memory); nil when no text model
    /// is loaded, and queries are full-text only. The daemon, `sightline ask` and the
    /// development-set evaluation all rank through this.
    public func fusionRanking(over store: Store) -> FusionRanking? {
        guard let vectorizer = (try? makeEnrichers())?.lazy.compactMap({ ($0 as? TextEmbeddingEnricher)?.vectorizer }).first
        else { return nil }
        return FusionRanking(index: WindowIndex(store: store, model: vectorizer.model), vectorizer: vectorizer)
    }
}

/// The registry's encoders, prepared on first use and kept.
public final class RegistryEncoders: EncoderFactory, Sendable {
    public let registry: EncoderRegistry
    let setup: EncoderSetup
    private let prepared = Mutex<[String: any PreparedEncoder]>([:])
    /// The enrichers, once loaded (with the names of their models), nil before.
    private let enrichers = Mutex<(list: [any EvidenceEnricher], models: [String])?>(nil)

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
        if !used.isEmpty { _ = try encoders.makeEnrichers() }
        logger.info("models loaded", metadata: ["models": "\(encoders.modelsLoaded.joined(separator: ","))",
                                                "models.dir": "\(daemon.paths.modelsDir)",
                                                "load.ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
        return encoders
    }

    public var modelsLoaded: [String] {
        let p = prepared.withLock { $0 }
        var seen = Set<String>()
        let enricherModels = enrichers.withLock { $0?.models } ?? []
        return (registry.descriptors.compactMap { p[$0.name] }.flatMap(\.modelsLoaded) + enricherModels)
            .filter { seen.insert($0).inserted }
    }

    /// The registry's enrichers that `[models]` turns on, loaded the first time.
    public func makeEnrichers() throws -> [any EvidenceEnricher] {
        if let ready = enrichers.withLock({ $0 }) { return ready.list }
        var list: [any EvidenceEnricher] = [], models: [String] = []
        for d in registry.enrichers {
            guard let e = try d.prepare(setup) else { continue }
            list.append(e)
            models += d.modelSettings.map { setup.modelName($0.key) }.filter { $0 != "none" }
        }
        return enrichers.withLock { current in
            if let current { return current.list }
            current = (list, models)
            return list
        }
    }

    /// Live speech's recogniser calls so far (PreparedSpeech.packing); nil before speech is prepared.
    public var speechPacking: (calls: Int, utterances: Int, packed: Int, callSeconds: Double, longestCallSeconds: Double)? {
        guard let p = (prepared.withLock { $0[EncoderDescriptor.speech.name] } as? PreparedSpeech)?.packing else { return nil }
        return (p.batches, p.utterances, p.shared, p.callSeconds, p.longestCallSeconds)
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
        let made: [(name: String, encoder: any WindowEncoder)] = try registry.descriptors.filter { stream.encoders.contains($0.name) }
            .compactMap { d in
                let prepared = try prepare(d)
                let made: (any WindowEncoder)?
                if let speech = prepared as? PreparedSpeech {
                    // A file read once at full speed: the speech can be read ahead and decoded the file way.
                    made = try (stream.readsFileOnce ? speech.makeFileEncoder(path: stream.source) : nil)
                        ?? speech.makeEncoder(streamId: stream.id, lowLatency: stream.speechLowLatency)
                } else {
                    made = try prepared.makeEncoder(streamId: stream.id)
                }
                return made.map { (d.name, $0) }
            }
        // Faces are searched where the stream's person detector saw people (FacesModality).
        let linked = FrameEncoder.facesWithinPeople(made.map(\.encoder))
        return zip(made.map(\.name), linked).map { name, made in
            var encoder = made
            if stream.gatesVision, let picture = encoder as? FrameEncoder {
                encoder = picture.gated(by: MotionGate(keepAliveMs: stream.visionKeepAliveMs))
            }
            guard let rate = stream.frameRates[name], var video = encoder.input.video else { return encoder }
            video.maxFps = rate
            return FrameRateOverride(encoder: encoder, input: EncoderInput(audio: encoder.input.audio, video: video))
        }
    }
}

/// An encoder reading frames at the rate its stream's `[rates]` table sets instead of its own.
struct FrameRateOverride: FrameSkipping {
    let encoder: any WindowEncoder
    let input: EncoderInput
    var name: String { encoder.name }
    func encode(_ window: MediaWindow) async throws -> [Evidence] { try await encoder.encode(window) }
    var framesSkipped: Int { (encoder as? any FrameSkipping)?.framesSkipped ?? 0 }
}
