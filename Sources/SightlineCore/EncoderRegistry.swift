// The encoder registry: every modality a stream can turn on, by the name used in the
// `[modalities]` table of Streams/*.toml, with the models it reads from the `[models]` table
// of sightline.toml. Adding a modality is one adapter folder and one entry in the standard
// registry; configuration validation, `sightline config check` and the daemon's start-up all
// read this list, so nothing else changes.

/// The value of one `[models]` setting: a model name (or "none") or an on/off switch.
public enum ModelSettingValue: Sendable, Equatable, CustomStringConvertible {
    case name(String)
    case flag(Bool)

    /// As written in TOML: a quoted name or true/false.
    public var description: String {
        switch self {
        case let .name(s): return "\"\(s)\""
        case let .flag(b): return "\(b)"
        }
    }
}

/// One key of the `[models]` table that an encoder reads.
public struct ModelSetting: Sendable, Equatable {
    /// The values the key takes.
    public enum Kind: Sendable, Equatable {
        /// One of these model names ("none" among them where the encoder can run without a model).
        case choice([String])
        /// One of these names, or the path of a model directory (any value with a "/"): for
        /// models no package carries, which the user supplies.
        case choiceOrDirectory([String])
        /// true or false.
        case flag
    }

    /// The key in `[models]`.
    public var key: String
    /// What it accepts.
    public var kind: Kind
    /// Its value when the key is absent.
    public var defaultValue: ModelSettingValue
    /// One line for the shipped config and `config check`.
    public var help: String

    /// A `[models]` key.
    public init(key: String, kind: Kind, defaultValue: ModelSettingValue, help: String) {
        self.key = key
        self.kind = kind
        self.defaultValue = defaultValue
        self.help = help
    }
}

/// What preparing an encoder needs: where the models are and the `[models]` values.
public struct EncoderSetup: Sendable {
    /// The directory `sightline models fetch` fills.
    public var modelsDirectory: String
    /// Every `[models]` key of the registry, defaults filled in.
    public var models: [String: ModelSettingValue]
    /// `[speech] pack_latency`: how long an ended utterance may wait for other streams'
    /// utterances to share its recogniser window while the recogniser is free (0: not at all,
    /// only utterances queued behind a running one share a window); nil: never packed.
    public var speechPackLatencyMs: Int? = 0
    /// `[speech] precision`: "fp32", "bf16" or "auto" (bf16 where the CPU has AVX-512 BF16).
    public var speechPrecision = "auto"

    /// The setup for `modelsDirectory` with `models`.
    public init(modelsDirectory: String, models: [String: ModelSettingValue]) {
        self.modelsDirectory = modelsDirectory
        self.models = models
    }

    /// The model name set for `key` ("none" when absent or not a name).
    public func modelName(_ key: String) -> String {
        if case let .name(s)? = models[key] { return s }
        return "none"
    }

    /// The switch set for `key` (false when absent or not a switch).
    public func flag(_ key: String) -> Bool {
        if case let .flag(b)? = models[key] { return b }
        return false
    }
}

/// An encoder whose models are loaded (once per daemon), ready to make per-stream encoders.
public protocol PreparedEncoder: Sendable {
    /// Model names loaded, for `/v1/health`.
    var modelsLoaded: [String] { get }
    /// A new encoder for one stream (its own state over the shared models), or nil when the
    /// `[models]` settings turned this modality off (a model set to "none").
    func makeEncoder(streamId: String) throws -> (any WindowEncoder)?
}

/// A modality a stream can turn on.
public struct EncoderDescriptor: Sendable {
    /// The key in a stream's `[modalities]` table; also the encoder's name in logs and metrics.
    public var name: String
    /// One line for the shipped files and `config check`.
    public var summary: String
    /// What it reads from each window; decides what MediaIO decodes for a stream.
    public var input: EncoderInput
    /// Whether a stream file without the key turns it on.
    public var enabledByDefault: Bool
    /// The `[models]` keys it reads.
    public var modelSettings: [ModelSetting]
    /// Loads its models (at start-up, before the daemon reports ready).
    public var prepare: @Sendable (EncoderSetup) throws -> any PreparedEncoder

    /// A registry entry.
    public init(name: String, summary: String, input: EncoderInput, enabledByDefault: Bool,
                modelSettings: [ModelSetting] = [], prepare: @escaping @Sendable (EncoderSetup) throws -> any PreparedEncoder)
    {
        self.name = name
        self.summary = summary
        self.input = input
        self.enabledByDefault = enabledByDefault
        self.modelSettings = modelSettings
        self.prepare = prepare
    }
}

/// An enricher every stream runs when its `[models]` settings turn it on (a text embedder
/// over what the encoders said). Enrichers have no `[modalities]` key: what they add
/// follows from the evidence there is.
public struct EnricherDescriptor: Sendable {
    /// Name in logs and metrics.
    public var name: String
    /// One line for `config check`.
    public var summary: String
    /// The `[models]` keys it reads.
    public var modelSettings: [ModelSetting]
    /// Loads its models (at start-up); nil when the `[models]` settings turned it off.
    public var prepare: @Sendable (EncoderSetup) throws -> (any EvidenceEnricher)?

    /// A registry entry.
    public init(name: String, summary: String, modelSettings: [ModelSetting] = [],
                prepare: @escaping @Sendable (EncoderSetup) throws -> (any EvidenceEnricher)?)
    {
        self.name = name
        self.summary = summary
        self.modelSettings = modelSettings
        self.prepare = prepare
    }
}

/// The modalities known to this build, in the order their evidence is produced, and the
/// enrichers that run after them.
public struct EncoderRegistry: Sendable {
    /// Every entry, in order.
    public let descriptors: [EncoderDescriptor]
    /// Every enricher, in the order they run.
    public let enrichers: [EnricherDescriptor]

    /// A registry of `descriptors` and `enrichers`; names must be unique (a programmer error otherwise).
    public init(_ descriptors: [EncoderDescriptor], enrichers: [EnricherDescriptor] = []) {
        precondition(Set(descriptors.map(\.name)).count == descriptors.count, "encoder names must be unique")
        self.descriptors = descriptors
        self.enrichers = enrichers
    }

    /// The names a stream's `[modalities]` table accepts.
    public var names: [String] { descriptors.map(\.name) }

    /// The entry called `name`.
    public func descriptor(named name: String) -> EncoderDescriptor? { descriptors.first { $0.name == name } }

    /// Every `[models]` key any entry reads, first mention first.
    public var modelSettings: [ModelSetting] {
        var seen = Set<String>()
        return (descriptors.flatMap(\.modelSettings) + enrichers.flatMap(\.modelSettings)).filter { seen.insert($0.key).inserted }
    }

    /// The registry with `extra` entries appended.
    public func adding(_ extra: [EncoderDescriptor]) -> EncoderRegistry { EncoderRegistry(descriptors + extra, enrichers: enrichers) }
}
