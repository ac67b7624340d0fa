// A restricted unpickler: the subset of Python's pickle machine (protocols 2-5) that PyTorch
// state dicts use, and nothing that can run code. Python's own unpickler imports any module a
// file names and calls it; this one never imports or calls anything. A GLOBAL resolves only to
// a name the caller whitelists, and REDUCE / NEWOBJ hand the whitelisted name and its
// arguments back to the caller (`PickleResolver`), which builds plain values (an ordered dict,
// a tensor record). Any other global is an error naming it.
//
// Values are kept as `PickleValue`; lists and dicts are reference types because pickle fills
// them after they are memoised (EMPTY_DICT, BINPUT, ..., SETITEMS). Every read is
// bounds-checked, every count overflow-checked, and the stack, memo and containers are
// capped, so a truncated or hostile file gives an error instead of a trap or a huge
// allocation.

/// A value built by the restricted unpickler.
public indirect enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    /// A LONG1 / LONG4 integer too wide for Int: little-endian two's-complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A whitelisted global ("module.name"), e.g. a class passed as a value.
    case global(String)
    /// Whatever the resolver made of a call or a persistent id.
    case object(any Sendable)

    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case let .global(name): name
        case let .object(o): "\(type(of: o))"
        }
    }
}

/// A pickled list, filled in place by APPEND / APPENDS.
public final class PickleList: @unchecked Sendable { // only mutated while one unpickler runs
    public internal(set) var items: [PickleValue] = []
}

/// A pickled dict in insertion order (an OrderedDict and a dict alike), filled in place by
/// SETITEM / SETITEMS. Keys are kept as values; lookups by string key are what callers need.
public final class PickleDict: @unchecked Sendable { // only mutated while one unpickler runs
    public internal(set) var entries: [(key: PickleValue, value: PickleValue)] = []

    public subscript(key: String) -> PickleValue? {
        for e in entries { if case let .string(k) = e.key, k == key { return e.value } }
        return nil
    }
}

/// What the unpickler may construct: the caller's whitelist and constructors.
protocol PickleResolver {
    /// True when GLOBAL / STACK_GLOBAL may name `module.name`.
    func allows(global: String) -> Bool
    /// REDUCE (`callable(*args)`) and NEWOBJ (`cls.__new__(cls, *args)`) of a whitelisted name.
    mutating func call(_ callable: String, _ args: [PickleValue]) throws(PickleError) -> PickleValue
    /// BUILD (`obj.__setstate__(state)`); return the updated object.
    mutating func build(_ object: PickleValue, state: PickleValue) throws(PickleError) -> PickleValue
    /// BINPERSID: what a persistent id stands for.
    mutating func persistent(_ id: PickleValue) throws(PickleError) -> PickleValue
}

/// Why unpickling failed; the checkpoint reader adds the file and byte offset.
struct PickleError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Runs one pickle (up to its STOP) from `bytes[start...]`.
struct Unpickler {
    static let maxStack = 1 << 20
    static let maxMemo = 1 << 22
    static let maxContainer = 1 << 24

    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int
    /// Where the opcode being run started (for error messages).
    private(set) var opcodeOffset: Int

    private var stack: [PickleValue] = []
    private var marks: [Int] = [] // stack heights at MARK
    private var memo: [Int: PickleValue] = [:]

    init(bytes: UnsafeRawBufferPointer, start: Int) {
        self.bytes = bytes
        offset = start
        opcodeOffset = start
    }

    /// Runs opcodes until STOP and returns the object on top of the stack; `offset` is then
    /// just past the STOP.
    mutating func load<R: PickleResolver>(_ resolver: inout R) throws(PickleError) -> PickleValue {
        stack.removeAll(keepingCapacity: true)
        marks.removeAll()
        memo.removeAll()
        while true {
            opcodeOffset = offset
            let op = try u8()
            switch op {
            case 0x80: // PROTO
                let p = try u8()
                guard p >= 2 && p <= 5 else { throw PickleError("pickle protocol \(p); protocols 2 to 5 are supported") }
            case 0x95: // FRAME (a length hint only)
                _ = try take(8)
            case 0x2E: // STOP
                return try pop()
            case 0x28: // MARK
                marks.append(stack.count)
            case 0x30: // POP
                _ = try pop()
            case 0x31: // POP_MARK
                _ = try popMark()
            case 0x32: // DUP
                try push(try top())

            // MARK: constants
            case 0x4E: try push(.none) // NONE
            case 0x88: try push(.bool(true)) // NEWTRUE
            case 0x89: try push(.bool(false)) // NEWFALSE
            case 0x4A: try push(.int(Int(Int32(bitPattern: try le32())))) // BININT
            case 0x4B: try push(.int(Int(try u8()))) // BININT1
            case 0x4D: try push(.int(Int(try le16()))) // BININT2
            case 0x8A: try push(try long(count: Int(try u8()))) // LONG1
            case 0x8B: // LONG4
                let n = Int(Int32(bitPattern: try le32()))
                guard n >= 0 else { throw PickleError("LONG4 with negative length \(n)") }
                try push(try long(count: n))
            case 0x47: // BINFLOAT (big-endian double)
                let raw = try take(8)
                var bits: UInt64 = 0
                for b in raw { bits = bits << 8 | UInt64(b) }
                try push(.float(Double(bitPattern: bits)))
            case 0x58: try push(.string(try text(count: Int(try le32())))) // BINUNICODE
            case 0x8C: try push(.string(try text(count: Int(try u8())))) // SHORT_BINUNICODE
            case 0x8D: try push(.string(try text(count: try length64()))) // BINUNICODE8
            case 0x54: // BINSTRING (Python 2 str, read as text)
                let n = Int(Int32(bitPattern: try le32()))
                guard n >= 0 else { throw PickleError("BINSTRING with negative length \(n)") }
                try push(.string(try text(count: n)))
            case 0x55: try push(.string(try text(count: Int(try u8())))) // SHORT_BINSTRING
            case 0x42: try push(.bytes(Array(try take(Int(try le32()))))) // BINBYTES
            case 0x43: try push(.bytes(Array(try take(Int(try u8()))))) // SHORT_BINBYTES
            case 0x8E: try push(.bytes(Array(try take(try length64())))) // BINBYTES8

            // MARK: containers
            case 0x29: try push(.tuple([])) // EMPTY_TUPLE
            case 0x74: try push(.tuple(try popMark())) // TUPLE
            case 0x85: try push(.tuple([try pop()])) // TUPLE1
            case 0x86: // TUPLE2
                let b = try pop(), a = try pop()
                try push(.tuple([a, b]))
            case 0x87: // TUPLE3
                let c = try pop(), b = try pop(), a = try pop()
                try push(.tuple([a, b, c]))
            case 0x5D: try push(.list(PickleList())) // EMPTY_LIST
            case 0x6C: // LIST
                let l = PickleList()
                l.items = try popMark()
                try push(.list(l))
            case 0x61: // APPEND
                let v = try pop()
                try append([v])
            case 0x65: // APPENDS
                let items = try popMark() // before `append` reads the stack: it sees a copy of self
                try append(items)
            case 0x7D: try push(.dict(PickleDict())) // EMPTY_DICT
            case 0x64: // DICT
                let d = PickleDict()
                let items = try popMark()
                try setItems(d, items)
                try push(.dict(d))
            case 0x73: // SETITEM
                let v = try pop(), k = try pop()
                try setItems(try dictOnTop(), [k, v])
            case 0x75: // SETITEMS
                let items = try popMark()
                try setItems(try dictOnTop(), items)

            // MARK: memo
            case 0x71: try memoize(at: Int(try u8())) // BINPUT
            case 0x72: try memoize(at: Int(try le32())) // LONG_BINPUT
            case 0x94: try memoize(at: memo.count) // MEMOIZE
            case 0x68: try push(try recall(Int(try u8()))) // BINGET
            case 0x6A: try push(try recall(Int(try le32()))) // LONG_BINGET

            // MARK: globals, calls, persistent ids
            case 0x63: // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                try push(try global(module, name, resolver))
            case 0x93: // STACK_GLOBAL
                guard case let .string(name) = try pop(), case let .string(module) = try pop() else {
                    throw PickleError("STACK_GLOBAL needs two strings")
                }
                try push(try global(module, name, resolver))
            case 0x52: // REDUCE
                let args = try pop(), callable = try pop()
                try push(try call(callable, args, &resolver))
            case 0x81: // NEWOBJ
                let args = try pop(), cls = try pop()
                try push(try call(cls, args, &resolver))
            case 0x62: // BUILD
                let state = try pop(), object = try pop()
                try push(try resolver.build(object, state: state))
            case 0x51: // BINPERSID
                try push(try resolver.persistent(try pop()))

            default:
                let printable = (0x20..<0x7F).contains(op) ? " '\(Character(Unicode.Scalar(op)))'" : ""
                throw PickleError("unsupported pickle opcode 0x\(String(op, radix: 16))\(printable) (this reader handles the subset PyTorch state dicts use)")
            }
        }
    }

    // MARK: - Stack

    private mutating func push(_ v: PickleValue) throws(PickleError) {
        guard stack.count < Self.maxStack else { throw PickleError("pickle stack deeper than \(Self.maxStack)") }
        stack.append(v)
    }

    private mutating func pop() throws(PickleError) -> PickleValue {
        guard let v = stack.popLast() else { throw PickleError("pickle pops an empty stack") }
        if let m = marks.last, stack.count < m { throw PickleError("pickle pops below its MARK") }
        return v
    }

    private func top() throws(PickleError) -> PickleValue {
        guard let v = stack.last else { throw PickleError("pickle reads an empty stack") }
        return v
    }

    private mutating func popMark() throws(PickleError) -> [PickleValue] {
        guard let m = marks.popLast() else { throw PickleError("pickle has no MARK to pop to") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private func dictOnTop() throws(PickleError) -> PickleDict {
        guard case let .dict(d) = try top() else { throw PickleError("SETITEM(S) on a \(try top().kind), not a dict") }
        return d
    }

    private func append(_ items: [PickleValue]) throws(PickleError) {
        guard case let .list(l) = try top() else { throw PickleError("APPEND(S) on a \(try top().kind), not a list") }
        guard l.items.count + items.count <= Self.maxContainer else { throw PickleError("list longer than \(Self.maxContainer)") }
        l.items += items
    }

    private func setItems(_ d: PickleDict, _ items: [PickleValue]) throws(PickleError) {
        guard items.count % 2 == 0 else { throw PickleError("SETITEMS with an odd number (\(items.count)) of keys and values") }
        guard d.entries.count + items.count / 2 <= Self.maxContainer else { throw PickleError("dict larger than \(Self.maxContainer)") }
        var i = 0
        while i < items.count {
            let key = items[i], value = items[i + 1]
            if case let .string(k) = key, let at = d.entries.firstIndex(where: { if case let .string(e) = $0.key { e == k } else { false } }) {
                d.entries[at].value = value // a repeated key replaces, as in Python
            } else {
                d.entries.append((key, value))
            }
            i += 2
        }
    }

    private mutating func memoize(at index: Int) throws(PickleError) {
        guard index >= 0, index < Self.maxMemo else { throw PickleError("memo index \(index) out of range") }
        memo[index] = try top()
    }

    private func recall(_ index: Int) throws(PickleError) -> PickleValue {
        guard let v = memo[index] else { throw PickleError("memo index \(index) read before it was written") }
        return v
    }

    private func global<R: PickleResolver>(_ module: String, _ name: String, _ resolver: R) throws(PickleError) -> PickleValue {
        let full = "\(module).\(name)"
        guard resolver.allows(global: full) else {
            throw PickleError("the pickle refers to \(full), which this reader does not construct (it never imports or runs code named by a file)")
        }
        return .global(full)
    }

    private func call<R: PickleResolver>(_ callable: PickleValue, _ args: PickleValue, _ resolver: inout R) throws(PickleError) -> PickleValue {
        guard case let .global(name) = callable else { throw PickleError("the pickle calls a \(callable.kind), not a whitelisted global") }
        guard case let .tuple(list) = args else { throw PickleError("\(name) is called with a \(args.kind) instead of an argument tuple") }
        return try resolver.call(name, list)
    }

    // MARK: - Bytes

    private mutating func take(_ n: Int) throws(PickleError) -> UnsafeRawBufferPointer.SubSequence {
        guard n >= 0, n <= bytes.count - offset else {
            throw PickleError("needs \(n) bytes at byte \(offset) but the file ends at \(bytes.count) (truncated?)")
        }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    private mutating func u8() throws(PickleError) -> UInt8 { try take(1).first ?? 0 }

    private mutating func le16() throws(PickleError) -> UInt16 {
        let b = try take(2)
        return UInt16(b[b.startIndex]) | UInt16(b[b.startIndex + 1]) << 8
    }

    private mutating func le32() throws(PickleError) -> UInt32 {
        var v: UInt32 = 0
        for (i, b) in try take(4).enumerated() { v |= UInt32(b) << (8 * UInt32(i)) }
        return v
    }

    private mutating func length64() throws(PickleError) -> Int {
        var v: UInt64 = 0
        for (i, b) in try take(8).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        guard v <= UInt64(bytes.count) else { throw PickleError("length \(v) is larger than the file") }
        return Int(v)
    }

    private mutating func text(count: Int) throws(PickleError) -> String {
        String(decoding: try take(count), as: UTF8.self)
    }

    /// A newline-terminated line (GLOBAL's module and name).
    private mutating func line() throws(PickleError) -> String {
        guard let end = bytes[offset...].prefix(256).firstIndex(of: 0x0A) else {
            throw PickleError("GLOBAL name at byte \(offset) is not newline-terminated within 256 bytes")
        }
        let s = String(decoding: bytes[offset..<end], as: UTF8.self)
        offset = end + 1
        return s
    }

    /// LONG1 / LONG4: little-endian two's complement of `count` bytes.
    private mutating func long(count: Int) throws(PickleError) -> PickleValue {
        let raw = Array(try take(count))
        guard !raw.isEmpty else { return .int(0) }
        guard raw.count <= 8 else { return .bigInt(raw) }
        var v: UInt64 = 0
        for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        let signBit = UInt64(1) << (8 * UInt64(raw.count) - 1)
        if raw.count < 8, v & signBit != 0 { v |= ~((signBit << 1) &- 1) } // sign-extend
        return .int(Int(Int64(bitPattern: v)))
    }
}
