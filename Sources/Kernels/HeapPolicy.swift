// How the C heap hands memory back to the system. The encoders allocate their activations
// per call (tens of MB for a page of text or a 720p frame) and free them a moment later.
// By default glibc gives the top of the heap back as soon as a little of it is free, and
// serves blocks above a threshold it adjusts as it goes from fresh mappings, so the next
// call's tensors fault their pages back in, zeroed by the kernel: a third of PP-OCR's page
// faults and about 5 % of its time at one thread. Kernel users keep up to 512 MB of freed
// heap for the next call instead (an arena, as onnxruntime's and TensorFlow's allocators
// keep theirs): the peak is what it was, the resident size stays near it between calls.
//
// And one malloc arena. glibc gives threads arenas of their own (up to 8 per core) whose
// heaps are mappings of at most 64 MB; a frame's tensors of tens of MB from the encoders'
// threads opened a new heap and gave it back again and again (169 heaps in a minute of
// indexing 720p), each one faulted in anew. In the one main heap they are reused: indexing
// 4 min of 720p with every modality took 0.95× the wall time, 0.96× the CPU (0.57× the
// system time) and 0.83× the peak RSS (medians of 4 pairs), with about 30 % fewer page
// faults. The encoders allocate per call, not per operation, so threads seldom wait for the
// heap's lock; and a daemon's reconnects, which decode on new threads, leave no arenas behind.
import CKernels
import Foundation

public enum HeapPolicy {
    /// Freed memory at the top of the heap up to this much is kept.
    static let keptBytes: Int32 = 512 << 20
    /// Blocks below this come from the heap and are reused; larger ones (weights, whole-file
    /// audio) are mapped and unmapped. glibc's largest threshold on 64-bit systems.
    static let mappedFromBytes: Int32 = 32 << 20
    /// Malloc arenas.
    static let arenas: Int32 = 1

    /// Applies the policy once per process, leaving alone what the user set through glibc's
    /// own variables. The executable applies it first thing (a thread keeps the arena it
    /// first allocated from), the first thread pool in any other program.
    public static let applied: Bool = {
        let env = ProcessInfo.processInfo.environment
        guard env["GLIBC_TUNABLES"] == nil else { return false }
        return sl_heap_keep_freed(env["MALLOC_TRIM_THRESHOLD_"] == nil ? keptBytes : 0,
                                  env["MALLOC_MMAP_THRESHOLD_"] == nil ? mappedFromBytes : 0,
                                  env["MALLOC_ARENA_MAX"] == nil ? arenas : 0) == 1
    }()
}
