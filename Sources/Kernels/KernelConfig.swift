// Process-wide kernel switches: which instruction-set path the optimised kernels take and a
// switch that forces every kernel onto its plain reference implementation (ggml's use_ref).
// Tests flip these to exercise every path the CPU can run; products leave them alone.
import CKernels
import Foundation
import Synchronization

public enum KernelConfig {
    /// Instruction-set paths, fastest last. Raw values match CKernels' SL_ISA_*.
    public enum ISA: Int, Sendable, CaseIterable, Comparable, CustomStringConvertible {
        case scalar = 0
        case avx2 = 1
        case avx512 = 2

        public static func < (a: ISA, b: ISA) -> Bool { a.rawValue < b.rawValue }
        public var description: String {
            switch self {
            case .scalar: return "scalar"
            case .avx2: return "avx2"
            case .avx512: return "avx512"
            }
        }
    }

    private static let features = Int(sl_cpu_features())

    /// The best path this CPU supports (AVX2 needs FMA too; AVX-512 needs F/BW/VL/DQ).
    public static let detectedISA: ISA = {
        if features & Int(SL_CPU_AVX512) != 0 { return .avx512 }
        if features & Int(SL_CPU_AVX2_FMA) != 0 { return .avx2 }
        return .scalar
    }()

    /// Whether the CPU has AVX-512 BF16 (vdpbf16ps), used for bf16-stored weights.
    public static let cpuHasBF16: Bool = features & Int(SL_CPU_AVX512BF16) != 0

    /// Every path this machine can run, slowest first (tests loop over these).
    public static var availableISAs: [ISA] { ISA.allCases.filter { $0 <= detectedISA } }

    /// The path named by `SIGHTLINE_KERNEL_ISA` (scalar, avx2 or avx512), clamped to what the
    /// CPU supports: the way to run, and time, a slower path on a faster CPU without a rebuild.
    /// Unset or unrecognised: the detected path.
    public static let environmentISA: ISA? = {
        guard let raw = getenv("SIGHTLINE_KERNEL_ISA").map({ String(cString: $0).lowercased() }),
              let isa = ISA.allCases.first(where: { $0.description == raw }) else { return nil }
        return min(isa, detectedISA)
    }()

    private static let isaStorage = Atomic<Int>(-1)
    private static let referenceStorage = Atomic<Bool>(false)

    /// The path optimised kernels take. Defaults to `environmentISA`, else `detectedISA`; a
    /// request above what the CPU supports is clamped to `detectedISA` (it would fault otherwise).
    public static var isa: ISA {
        get {
            let raw = isaStorage.load(ordering: .relaxed)
            return raw < 0 ? environmentISA ?? detectedISA : ISA(rawValue: raw) ?? detectedISA
        }
        set { isaStorage.store(min(newValue, detectedISA).rawValue, ordering: .relaxed) }
    }

    /// When true every kernel runs its plain reference implementation.
    public static var forceReference: Bool {
        get { referenceStorage.load(ordering: .relaxed) }
        set { referenceStorage.store(newValue, ordering: .relaxed) }
    }

    /// bf16 weights take the AVX-512 BF16 kernels only on the AVX-512 path of a CPU with BF16.
    public static var bf16Kernels: Bool { cpuHasBF16 && isa == .avx512 }
}
