// Runtime CPU feature detection for the ISA dispatch in Kernels (KernelConfig). On x86-64
// it asks cpuid through the compiler's builtins (which also check that the OS saves the
// vector state); elsewhere (aarch64) only the portable scalar path exists.
#include "CKernels.h"

int sl_cpu_features(void) {
    int f = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= SL_CPU_AVX2_FMA;
    if ((f & SL_CPU_AVX2_FMA) && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq")) {
        f |= SL_CPU_AVX512;
        if (__builtin_cpu_supports("avx512bf16")) f |= SL_CPU_AVX512BF16;
    }
#endif
    return f;
}

static _Thread_local int tl_pool_depth = 0;
int sl_pool_depth(void) { return tl_pool_depth; }
void sl_pool_set_depth(int depth) { tl_pool_depth = depth; }

// MARK: - Heap policy

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int sl_heap_keep_freed(int trim_bytes, int mmap_bytes, int arenas) {
#if defined(__GLIBC__)
    int ok = 1;
    if (trim_bytes > 0) ok &= mallopt(M_TRIM_THRESHOLD, trim_bytes) == 1;
    if (mmap_bytes > 0) ok &= mallopt(M_MMAP_THRESHOLD, mmap_bytes) == 1;
    if (arenas > 0) ok &= mallopt(M_ARENA_MAX, arenas) == 1;
    return ok;
#else
    (void)trim_bytes;
    (void)mmap_bytes;
    (void)arenas;
    return 0;
#endif
}
