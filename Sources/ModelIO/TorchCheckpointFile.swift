// Reader for PyTorch checkpoints in the legacy (non-zip) format, as written by
// `torch.save(obj, f, _use_new_zipfile_serialization=False)` and by every torch before 1.6:
// torchvision's `mobilenet_v2-b0353104.pth` and facenet-pytorch's MTCNN `pnet/rnet/onet.pt`.
// The file is five pickles back to back, then raw storage bytes:
//   1. the magic number 0x1950a86a20f9469cfc6c (a LONG1 integer)
//   2. the protocol version, 1001
//   3. sys info: {"protocol_version": 1001, "little_endian": True, "type_sizes": {...}}
//   4. the object: here a state dict, an OrderedDict name → tensor, each tensor pickled as
//      torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
//      backward_hooks), its storage a persistent id
//      ('storage', torch.FloatStorage, key, location, numel[, view_metadata])
//   5. the storage keys, a list of str, in the order their data follows
//   then per key: numel as a little-endian int64, then numel × element size raw bytes.
// Only the globals a state dict needs are constructed (`TorchResolver.allowed`); anything else
// — a pickled module, a function, `os.system` — is an error naming it, never executed.
// Nested dicts flatten to dotted names ({"model": {"w": t}} → "model.w"); non-tensor values
// are ignored. Tensors are views (offset, strides) into their storage; strided ones are
// gathered into row-major order when read.
// The newer zip format (`archive/data.pkl` + `archive/data/N`) is recognised and refused with
// a message saying how to re-save; no file the project uses is in it.
import Kernels

public final class TorchCheckpointFile: TensorFile, @unchecked Sendable { // immutable after init
    /// Element types of torch storages.
    public enum ScalarType: String, Sendable, CaseIterable {
        case float32 = "FloatStorage", float64 = "DoubleStorage", float16 = "HalfStorage", bfloat16 = "BFloat16Storage"
        case int64 = "LongStorage", int32 = "IntStorage", int16 = "ShortStorage", int8 = "CharStorage"
        case uint8 = "ByteStorage", bool = "BoolStorage"

        public var size: Int {
            switch self {
            case .float64, .int64: 8
            case .float32, .int32: 4
            case .float16, .bfloat16, .int16: 2
            case .int8, .uint8, .bool: 1
            }
        }
    }

    public struct TensorInfo: Sendable, Equatable {
        public let dtype: ScalarType
        public let shape: [Int]
        /// Element strides when the tensor is not stored in row-major order, else nil.
        public let strides: [Int]?
        /// Bytes of the file from the tensor's first element to its last.
        public let range: Range<Int>
    }

    public let path: String
    /// Tensors by flattened name.
    public let tensors: [String: TensorInfo]
    /// Tensor names in the order the state dict lists them.
    public let names: [String]
    private let file: MappedFile

    static let format = "PyTorch legacy checkpoint"
    static let magic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19] // 0x1950a86a20f9469cfc6c, little-endian
    static let protocolVersion = 1001
    static let maxNesting = 8

    public init(path: String) throws(ModelLoadError) {
        self.path = path
        let file = try MappedFile(path: path)
        self.file = file
        let bytes = file.bytes
        func malformed(_ reason: String) -> ModelLoadError { .malformed(path: path, format: Self.format, reason: reason) }

        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            throw malformed("it is a zip-format torch checkpoint, which this reader does not read; re-save it with torch.save(torch.load(f), f2, _use_new_zipfile_serialization=False)")
        }
        guard bytes.first == 0x80 else {
            throw malformed("it does not start with a pickle (first byte \(bytes.first.map { "0x" + String($0, radix: 16) } ?? "none"))")
        }

        var resolver = TorchResolver()
        var unpickler = Unpickler(bytes: bytes, start: 0)
        func next(_ what: String) throws(ModelLoadError) -> PickleValue {
            do {
                return try unpickler.load(&resolver)
            } catch {
                throw malformed("\(what) pickle, at byte \(unpickler.opcodeOffset): \(error.message)")
            }
        }
        guard case let .bigInt(m) = try next("magic number"), m == Self.magic else {
            throw malformed("wrong magic number: not a legacy torch.save file")
        }
        guard case let .int(version) = try next("protocol version"), version == Self.protocolVersion else {
            throw malformed("protocol version is not \(Self.protocolVersion)")
        }
        guard case let .dict(sysInfo) = try next("sys info") else { throw malformed("sys info is not a dict") }
        if case let .bool(little)? = sysInfo["little_endian"], !little {
            throw malformed("it was saved on a big-endian machine")
        }
        let object = try next("state dict")
        guard case let .list(keyList) = try next("storage keys") else { throw malformed("the storage key list is not a list") }

        // The storages' data, in key-list order, each preceded by its element count.
        var storageRanges: [String: Range<Int>] = [:]
        var offset = unpickler.offset
        for case let key in keyList.items {
            guard case let .string(key) = key else { throw malformed("a storage key is a \(key.kind), not a str") }
            guard let storage = resolver.storages[key] else { throw malformed("storage \(key) has data but no tensor refers to it") }
            guard bytes.count - offset >= 8 else { throw malformed("storage \(key): the file ends at byte \(bytes.count) before its size (truncated?)") }
            let count = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
            offset += 8
            guard count == Int64(storage.count) else {
                throw malformed("storage \(key) holds \(count) elements, its persistent id says \(storage.count)")
            }
            let (size, o1) = storage.count.multipliedReportingOverflow(by: storage.type.size)
            guard !o1, size <= bytes.count - offset else {
                throw malformed("storage \(key): \(storage.count) × \(storage.type.size) bytes from byte \(offset) run past the end of the \(bytes.count)-byte file (truncated?)")
            }
            storageRanges[key] = offset..<(offset + size)
            offset += size
        }

        var tensors: [String: TensorInfo] = [:]
        var names: [String] = []
        func add(_ name: String, _ t: TorchTensorRecord) throws(ModelLoadError) {
            guard let storage = storageRanges[t.storageKey], let declared = resolver.storages[t.storageKey] else {
                throw malformed("tensor \"\(name)\" uses storage \(t.storageKey), whose data is not in the file")
            }
            guard declared.type == t.type else { throw malformed("tensor \"\(name)\" reads storage \(t.storageKey) as two types") }
            var count = 1
            for d in t.shape {
                let (c, o) = count.multipliedReportingOverflow(by: d)
                guard d >= 0, !o else { throw malformed("tensor \"\(name)\" has shape \(t.shape)") }
                count = c
            }
            // Any non-negative strides (facenet-pytorch's MTCNN weights are stored transposed,
            // stride [1, 10, 30, 90] for shape [10, 3, 3, 3]) as long as the last element
            // addressed lies inside the storage; strided tensors are gathered when read.
            var last = t.offset, contiguous = true, expected = 1
            for (d, s) in zip(t.shape, t.stride).reversed() where count > 0 {
                guard s >= 0 else { throw malformed("tensor \"\(name)\" has a negative stride (stride \(t.stride))") }
                let (span, o1) = (d - 1).multipliedReportingOverflow(by: s)
                let (sum, o2) = last.addingReportingOverflow(span)
                guard !o1, !o2 else { throw malformed("tensor \"\(name)\" has stride \(t.stride) for shape \(t.shape)") }
                last = sum
                if d != 1 && s != expected { contiguous = false }
                expected *= d // no overflow: a suffix product of a non-zero count
            }
            guard t.offset >= 0, count == 0 || last < declared.count else {
                throw malformed("tensor \"\(name)\" (shape \(t.shape), stride \(t.stride), from element \(t.offset)) overruns its \(declared.count)-element storage")
            }
            let size = t.type.size
            let start = storage.lowerBound + t.offset * size
            tensors[name] = TensorInfo(dtype: t.type, shape: t.shape, strides: contiguous ? nil : t.stride,
                                       range: start..<(count == 0 ? start : storage.lowerBound + (last + 1) * size))
            names.append(name)
        }
        func walk(_ dict: PickleDict, prefix: String, depth: Int) throws(ModelLoadError) {
            guard depth <= Self.maxNesting else { throw malformed("dicts nested deeper than \(Self.maxNesting)") }
            for (k, v) in dict.entries {
                guard case let .string(key) = k else { continue }
                let name = prefix.isEmpty ? key : prefix + "." + key
                switch v {
                case let .object(t as TorchTensorRecord): try add(name, t)
                case let .dict(inner): try walk(inner, prefix: name, depth: depth + 1)
                default: continue // numbers, strings, None: not tensors
                }
            }
        }
        guard case let .dict(root) = object else {
            throw malformed("the saved object is a \(object.kind), not a state dict")
        }
        try walk(root, prefix: "", depth: 0)
        self.tensors = tensors
        self.names = names
    }

    public func shape(of name: String) -> [Int]? { tensors[name]?.shape }

    public func dtype(of name: String) -> ScalarType? { tensors[name]?.dtype }

    /// A floating-point tensor (float64 narrowed to float32; fp16 / bf16 kept as bits).
    public func weight(_ name: String, shape expected: [Int]? = nil) throws(ModelLoadError) -> WeightTensor {
        guard let info = tensors[name] else { throw .missingTensor(path: path, name: name) }
        if let expected, info.shape != expected {
            throw .unexpectedShape(path: path, name: name, expected: "\(expected)", found: info.shape)
        }
        defer { file.release(info.range) } // copied out: drop the file pages from the resident set
        let span = UnsafeRawBufferPointer(rebasing: file.bytes[info.range])
        guard let strides = info.strides else { return try decode(name, info, span) }
        let gathered = Self.gather(span, shape: info.shape, strides: strides, elementSize: info.dtype.size)
        let result: Result<WeightTensor, ModelLoadError> = gathered.withUnsafeBytes { raw in
            do throws(ModelLoadError) { return .success(try decode(name, info, raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Row-major copy of a strided view whose first element is at `span`'s start.
    static func gather(_ span: UnsafeRawBufferPointer, shape: [Int], strides: [Int], elementSize: Int) -> [UInt8] {
        let count = shape.reduce(1, *)
        var out = [UInt8](repeating: 0, count: count * elementSize)
        var index = [Int](repeating: 0, count: shape.count) // odometer over the row-major output
        var source = 0 // element offset of `index` in the view
        out.withUnsafeMutableBytes { dst in
            for i in 0..<count {
                (dst.baseAddress! + i * elementSize).copyMemory(from: span.baseAddress! + source * elementSize, byteCount: elementSize)
                var axis = shape.count - 1
                while axis >= 0 {
                    index[axis] += 1
                    source += strides[axis]
                    if index[axis] < shape[axis] { break }
                    source -= strides[axis] * shape[axis]
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
        return out
    }

    private func decode(_ name: String, _ info: TensorInfo, _ raw: UnsafeRawBufferPointer) throws(ModelLoadError) -> WeightTensor {
        switch info.dtype {
        case .float32: return try Self.decodeWeight(name: name, path: path, shape: info.shape, dtype: .float32, bytes: raw)
        case .float16: return try Self.decodeWeight(name: name, path: path, shape: info.shape, dtype: .float16, bytes: raw)
        case .bfloat16: return try Self.decodeWeight(name: name, path: path, shape: info.shape, dtype: .bfloat16, bytes: raw)
        case .float64:
            let values = (0..<(raw.count / 8)).map { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) }
            do { return try WeightTensor(shape: info.shape, storage: .float32(values)) } catch {
                throw .unexpectedShape(path: path, name: name, expected: "\(values.count) elements", found: info.shape)
            }
        default:
            throw .unsupportedDType(path: path, name: name, dtype: "torch.\(info.dtype.rawValue)")
        }
    }
}

// MARK: - What the unpickler may build

/// A tensor as `_rebuild_tensor_v2` describes it: a view into a storage.
struct TorchTensorRecord: Sendable {
    let storageKey: String
    let type: TorchCheckpointFile.ScalarType
    let offset: Int // elements
    let shape: [Int]
    let stride: [Int]
}

/// A storage as its persistent id declares it.
struct TorchStorageRecord: Sendable {
    let key: String
    let type: TorchCheckpointFile.ScalarType
    let count: Int // elements
    /// Pre-1.0 files may pickle a view of a root storage: (view key, offset, size).
    let viewOffset: Int
}

/// The whitelist: OrderedDict, the tensor rebuild functions and the storage classes.
struct TorchResolver: PickleResolver {
    static let orderedDict = "collections.OrderedDict"
    static let rebuildV2 = "torch._utils._rebuild_tensor_v2"
    static let rebuildV1 = "torch._utils._rebuild_tensor"
    static let rebuildParameter = "torch._utils._rebuild_parameter"
    static let allowed: Set<String> = Set([orderedDict, rebuildV2, rebuildV1, rebuildParameter]
                                          + TorchCheckpointFile.ScalarType.allCases.map { "torch.\($0.rawValue)" })

    /// Root storages by key.
    var storages: [String: TorchStorageRecord] = [:]

    func allows(global: String) -> Bool { Self.allowed.contains(global) }

    mutating func call(_ callable: String, _ args: [PickleValue]) throws(PickleError) -> PickleValue {
        switch callable {
        case Self.orderedDict:
            guard args.isEmpty else { throw PickleError("OrderedDict is called with \(args.count) arguments; only OrderedDict() is supported") }
            return .dict(PickleDict())
        case Self.rebuildV2, Self.rebuildV1:
            // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
            guard args.count >= 4, case let .object(s as TorchStorageRecord) = args[0], case let .int(offset) = args[1] else {
                throw PickleError("\(callable) needs (storage, offset, size, stride, ...)")
            }
            let shape = try Self.ints(args[2], "size"), stride = try Self.ints(args[3], "stride")
            guard shape.count == stride.count else { throw PickleError("tensor size \(shape) and stride \(stride) differ in rank") }
            let (o, overflow) = offset.addingReportingOverflow(s.viewOffset)
            guard !overflow else { throw PickleError("tensor offset \(offset) overflows") }
            return .object(TorchTensorRecord(storageKey: s.key, type: s.type, offset: o, shape: shape, stride: stride))
        case Self.rebuildParameter:
            // (data, requires_grad, backward_hooks): a Parameter is its tensor here.
            guard let data = args.first, case .object(is TorchTensorRecord) = data else { throw PickleError("_rebuild_parameter needs a tensor") }
            return data
        default:
            throw PickleError("the pickle calls \(callable), which is not a function (only OrderedDict and the tensor rebuilds are)")
        }
    }

    func build(_ object: PickleValue, state: PickleValue) throws(PickleError) -> PickleValue {
        // OrderedDict.__reduce__ sets instance attributes such as a state dict's `_metadata`
        // (per-module version numbers): not tensors, so they are dropped.
        guard case .dict = object else { throw PickleError("BUILD on a \(object.kind); only state-dict attributes are supported") }
        return object
    }

    mutating func persistent(_ id: PickleValue) throws(PickleError) -> PickleValue {
        guard case let .tuple(t) = id, t.count >= 5, case .string("storage") = t[0] else {
            throw PickleError("persistent id \(id.kind) is not ('storage', type, key, location, numel)")
        }
        guard case let .global(typeName) = t[1], typeName.hasPrefix("torch."),
              let type = TorchCheckpointFile.ScalarType(rawValue: String(typeName.dropFirst("torch.".count))) else {
            throw PickleError("storage type \(t[1].kind) is not a torch storage class")
        }
        guard case let .string(key) = t[2], case let .int(count) = t[4], count >= 0 else {
            throw PickleError("storage persistent id lacks a str key or a non-negative element count")
        }
        if let existing = storages[key] {
            guard existing.type == type, existing.count == count else { throw PickleError("storage \(key) is declared twice differently") }
        } else {
            storages[key] = TorchStorageRecord(key: key, type: type, count: count, viewOffset: 0)
        }
        var record = storages[key] ?? TorchStorageRecord(key: key, type: type, count: count, viewOffset: 0)
        if t.count >= 6, case let .tuple(view) = t[5] {
            // (view_key, offset, view_size): a slice of the root storage, in elements.
            guard view.count == 3, case let .int(viewOffset) = view[1], case let .int(viewSize) = view[2],
                  viewOffset >= 0, viewSize >= 0, viewOffset <= count, viewSize <= count - viewOffset else {
                throw PickleError("storage view \(view.map(\.kind)) does not fit storage \(key) of \(count) elements")
            }
            record = TorchStorageRecord(key: key, type: type, count: count, viewOffset: viewOffset)
        }
        return .object(record)
    }

    private static func ints(_ v: PickleValue, _ what: String) throws(PickleError) -> [Int] {
        guard case let .tuple(items) = v else { throw PickleError("tensor \(what) is a \(v.kind), not a tuple") }
        var out: [Int] = []
        for i in items {
            guard case let .int(n) = i else { throw PickleError("tensor \(what) holds a \(i.kind)") }
            out.append(n)
        }
        return out
    }
}
