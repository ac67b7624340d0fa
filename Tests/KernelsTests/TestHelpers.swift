// Shared helpers for the kernel tests: a seeded generator (reproducible failures), random
// buffers, a per-ISA loop that restores the process-wide switches, and a tolerance check
// that reports the worst element.
import Kernels
import XCTest

/// SplitMix64: tiny, seeded, identical on every platform.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    mutating func float(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
    mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] { (0..<n).map { _ in float(lo, hi) } }
}

/// Runs `body` once per ISA path this CPU supports, with the optimised (non-reference) path.
func forEachISA(_ body: (KernelConfig.ISA) throws -> Void) rethrows {
    let saved = KernelConfig.isa
    KernelConfig.forceReference = false
    defer { KernelConfig.isa = saved }
    for isa in KernelConfig.availableISAs {
        KernelConfig.isa = isa
        try body(isa)
    }
}

/// Runs `body` with the reference path forced.
func withReference<R>(_ body: () throws -> R) rethrows -> R {
    KernelConfig.forceReference = true
    defer { KernelConfig.forceReference = false }
    return try body()
}

/// Asserts |a - e| <= abs + rel * |e| elementwise, reporting the worst element.
func assertClose(_ actual: [Float], _ expected: [Float], abs: Float, rel: Float, _ what: @autoclosure () -> String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what()): count", file: file, line: line)
    var worst = -1
    var worstExcess: Float = 0
    for i in 0..<min(actual.count, expected.count) {
        let err = Swift.abs(actual[i] - expected[i])
        let tol = abs + rel * Swift.abs(expected[i])
        if !(err <= tol) && (worst < 0 || err - tol > worstExcess || err.isNaN) {
            worst = i
            worstExcess = err - tol
        }
    }
    if worst >= 0 {
        XCTFail("\(what()): element \(worst) is \(actual[worst]), expected \(expected[worst]) (abs \(abs), rel \(rel))",
                file: file, line: line)
    }
}
