// Packed-panel GEMM driver (BLIS loop order) and its register-blocked micro-kernels.
//
//   jc (NC columns) -> pc (KC depth) -> [pack B block unless prepacked]
//     -> ic (MC rows) -> [pack A block into MR-row panels] -> ir (MR) -> jr (NR) -> kernel
//
// The A micro-panel (MR x KC) stays in L1 while the kernel sweeps the B block (KC x NC,
// sized for L2). Weights (Linear layers) are packed once at load into NR-wide panels that
// span all of K, so the hot loop never repacks them. Micro-kernels:
//   AVX-512  MR=12, NR=32 (24 zmm accumulators), plus bf16 weights: widened in registers
//            (exact fp32 activations) or vdpbf16ps on bf16-rounded activations;
//   AVX2     MR=6,  NR=16 (12 ymm accumulators);
//   scalar   MR=4,  NR=16 (plain C the compiler vectorises for the baseline / aarch64).
// Each kernel is specialised per row count (1...MR) so skinny decoder GEMMs (M = 1...8) do no
// padded work; for 1-3 rows the depth loop is split over extra accumulators to hide the FMA
// latency. No allocation in the loops: packing scratch is thread-local and grows once.
#include "CKernels.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2")))
#define T512BF __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,avx2")))
#define T256 __attribute__((target("avx2,fma")))
#endif

#define INLINE static inline __attribute__((always_inline))

// Blocking, tuned on Zen 4 (1 MiB L2) against the encoder shapes (Benchmarks/README.md):
// prepacked weights stream well from L2/L3, so a deep KC (fewer passes over C) wins;
// packing raw B needs a block that stays cache-resident, so it uses a smaller one.
enum {
    KC_PACKED = 2048, NC_PACKED = 4096, // weights packed at load
    KC_RAW = 1024, NC_RAW = 1024,       // B packed per call (scratch KC_RAW * NC_RAW floats)
    MC_ROWS = 96,                       // rows of A packed per block (multiple of every MR)
    SMALL_M = 8,                        // rows up to which unpacked B is read in place
    SMALL_PACKED_M = 48                 // rows up to which packed weights are read strip by strip
};

int sl_gemm_mr(int isa) { return isa == SL_ISA_AVX512 ? 12 : isa == SL_ISA_AVX2 ? 6 : 4; }
int sl_gemm_nr(int isa) { return isa == SL_ISA_AVX512 ? 32 : 16; }

// MARK: - Thread-local scratch

// Per-thread buffers hang off a pthread key whose destructor frees them when the thread
// exits, so threads that come and go (a stream's decode thread, Swift's thread pool) do
// not leak their scratch. The lookup is once per GEMM block / kernel call, never per tile.
typedef struct { float *p[4]; size_t n[4]; } tl_buffers;
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

static void tl_destroy(void *v) {
    tl_buffers *b = (tl_buffers *)v;
    for (int i = 0; i < 4; i++) free(b->p[i]);
    free(b);
}

static void tl_make_key(void) { (void)pthread_key_create(&tl_key, tl_destroy); }

float *sl_thread_scratch(int slot, size_t floats) {
    if (slot < 0 || slot > 3) return NULL;
    pthread_once(&tl_once, tl_make_key);
    tl_buffers *b = (tl_buffers *)pthread_getspecific(tl_key);
    if (!b) {
        b = (tl_buffers *)calloc(1, sizeof *b);
        if (!b) return NULL;
        if (pthread_setspecific(tl_key, b) != 0) { free(b); return NULL; }
    }
    if (floats <= b->n[slot] && b->p[slot]) return b->p[slot];
    free(b->p[slot]);
    void *p = NULL;
    size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) p = NULL;
    b->p[slot] = (float *)p;
    b->n[slot] = p ? floats : 0;
    return b->p[slot];
}

// Returns the GEMM's packing scratch of at least `floats`, reusing the previous buffer.
static float *scratch(size_t floats) { return sl_thread_scratch(0, floats); }

// MARK: - Packing

size_t sl_packed_b_floats(int isa, int k, int n) {
    int nr = sl_gemm_nr(isa);
    size_t panels = (size_t)((n + nr - 1) / nr);
    return panels * (size_t)k * (size_t)nr;
}

// Packs B rows [p0, p0+kc) and columns [j0, j0+nc) into NR-wide panels of kc x NR,
// panel stride kc*NR, zero-padding the last panel's missing columns.
static void pack_b_block(int nr, int kc, int nc, const float *b, long ldb, int transB,
                         int p0, int j0, float *out) {
    for (int jp = 0; jp < nc; jp += nr) {
        int w = nc - jp < nr ? nc - jp : nr;
        float *dst = out + (size_t)(jp / nr) * (size_t)kc * nr;
        if (transB) {
            // Depth outer, columns inner: contiguous writes, and the w source rows each
            // advance one float per step, so their cache lines stay in L1 across 16 steps.
            const float *src = b + (long)(j0 + jp) * ldb + p0;
            for (int p = 0; p < kc; p++) {
                float *d = dst + (size_t)p * nr;
                int j = 0;
                for (; j < w; j++) d[j] = src[(long)j * ldb + p];
                for (; j < nr; j++) d[j] = 0;
            }
        } else {
            for (int p = 0; p < kc; p++) {
                const float *src = b + (long)(p0 + p) * ldb + j0 + jp;
                float *d = dst + (size_t)p * nr;
                int j = 0;
                for (; j < w; j++) d[j] = src[j];
                for (; j < nr; j++) d[j] = 0;
            }
        }
    }
}

void sl_pack_b_f32(int isa, int k, int n, const float *b, long ldb, int transB, float *packed) {
    int nr = sl_gemm_nr(isa);
    // One panel at a time so each spans all of K (panel stride k*NR).
    for (int j = 0; j < n; j += nr) {
        int w = n - j < nr ? n - j : nr;
        pack_b_block(nr, k, w, b, ldb, transB, 0, j, packed + (size_t)(j / nr) * (size_t)k * nr);
    }
}

// fp32 → bf16 bits, round to nearest even (NaN stays a quiet NaN).
static inline uint16_t f32_to_bf16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

size_t sl_packed_b_bf16_elems(int k, int n) {
    size_t panels = (size_t)((n + 31) / 32);
    size_t pairs = (size_t)((k + 1) / 2);
    return panels * pairs * 64;
}

void sl_pack_b_bf16(int k, int n, const uint16_t *b, long ldb, int transB, uint16_t *packed) {
    size_t pairs = (size_t)((k + 1) / 2);
    memset(packed, 0, sizeof(uint16_t) * sl_packed_b_bf16_elems(k, n));
    for (int j = 0; j < n; j++) {
        uint16_t *panel = packed + (size_t)(j / 32) * pairs * 64;
        int col = j % 32;
        for (int p = 0; p < k; p++) {
            uint16_t v = transB ? b[(long)j * ldb + p] : b[(long)p * ldb + j];
            panel[(size_t)(p / 2) * 64 + col * 2 + (p & 1)] = v;
        }
    }
}

void sl_pack_b_bf16_f32(int k, int n, const float *b, long ldb, int transB, uint16_t *packed) {
    size_t pairs = (size_t)((k + 1) / 2);
    if (k & 1) memset(packed, 0, sizeof(uint16_t) * sl_packed_b_bf16_elems(k, n));
    else if (n % 32) memset(packed + (size_t)(n / 32) * pairs * 64, 0, sizeof(uint16_t) * pairs * 64);
    for (int j = 0; j < n; j++) {
        uint16_t *panel = packed + (size_t)(j / 32) * pairs * 64 + (j % 32) * 2;
        if (transB) {
            const float *row = b + (long)j * ldb;
            for (int p = 0; p < k; p++) panel[(size_t)(p / 2) * 64 + (p & 1)] = f32_to_bf16_bits(row[p]);
        } else {
            for (int p = 0; p < k; p++) panel[(size_t)(p / 2) * 64 + (p & 1)] = f32_to_bf16_bits(b[(long)p * ldb + j]);
        }
    }
}

// Packs A rows [i0, i0+mc), depth [p0, p0+kc) into MR-row panels laid out (kcPad, MR),
// panel stride kcPad*MR; rows beyond mc and depth beyond kc are zero.
static void pack_a(int mr, int mc, int kc, int kcPad, const float *a, long lda, int transA,
                   int i0, int p0, float *out) {
    for (int ip = 0; ip < mc; ip += mr) {
        int h = mc - ip < mr ? mc - ip : mr;
        float *dst = out + (size_t)(ip / mr) * (size_t)kcPad * mr;
        if (h < mr || kcPad > kc) memset(dst, 0, sizeof(float) * (size_t)kcPad * mr);
        if (transA) {
            for (int p = 0; p < kc; p++) {
                const float *src = a + (long)(p0 + p) * lda + i0 + ip;
                for (int i = 0; i < h; i++) dst[(size_t)p * mr + i] = src[i];
            }
        } else {
            // Depth outer, rows inner (contiguous writes; see pack_b_block).
            const float *src = a + (long)(i0 + ip) * lda + p0;
            for (int p = 0; p < kc; p++) {
                float *d = dst + (size_t)p * mr;
                for (int i = 0; i < h; i++) d[i] = src[(long)i * lda + p];
            }
        }
    }
}

#if defined(__x86_64__)
// Packs A for the vdpbf16ps kernel: (kcPad/2, MR) pairs of bf16 as uint32 (lo = even k).
static void pack_a_bf16pairs(int mr, int mc, int kc, int kcPad, const float *a, long lda,
                             int transA, int i0, int p0, uint32_t *out) {
    int pairs = kcPad / 2;
    for (int ip = 0; ip < mc; ip += mr) {
        int h = mc - ip < mr ? mc - ip : mr;
        uint32_t *dst = out + (size_t)(ip / mr) * (size_t)pairs * mr;
        if (transA || h < mr || 2 * pairs > ((kc + 1) & ~1)) memset(dst, 0, sizeof(uint32_t) * (size_t)pairs * mr);
        for (int i = 0; i < h; i++) {
            if (!transA) {
                // A row's depth pairs, each written once (a row of attention weights is
                // thousands long: read-modify-write per element would cost more than the product).
                const float *src = a + (long)(i0 + ip + i) * lda + p0;
                int p = 0;
                for (; p + 1 < kc; p += 2) {
                    dst[(size_t)(p / 2) * mr + i] = (uint32_t)f32_to_bf16_bits(src[p]) | (uint32_t)f32_to_bf16_bits(src[p + 1]) << 16;
                }
                if (p < kc) dst[(size_t)(p / 2) * mr + i] = (uint32_t)f32_to_bf16_bits(src[p]);
                continue;
            }
            for (int p = 0; p < kc; p++) {
                float v = a[(long)(p0 + p) * lda + i0 + ip + i];
                dst[(size_t)(p / 2) * mr + i] |= (uint32_t)f32_to_bf16_bits(v) << ((p & 1) * 16);
            }
        }
    }
}
#endif

// MARK: - Kernels

// `as` is the A panel's row stride: MR, or the row count when a lone short panel is packed
// compactly (decoder steps), which keeps it small and dense in L1.
typedef void (*kern_f32)(int kc, const float *a, int as, const float *b, float *c, long ldc,
                         float alpha, float beta, int nr);
typedef void (*kern_bf16)(int kcPad, const void *a, const uint16_t *b, float *c, long ldc,
                          float alpha, float beta, int nr);

// Stores an accumulator tile (mr x nr valid of a MR x NR tile) as C = alpha*T + beta*C.
INLINE void store_tile(int mr, int NRc, const float *t, float *c, long ldc, float alpha,
                       float beta, int nr) {
    for (int i = 0; i < mr; i++) {
        float *row = c + (long)i * ldc;
        const float *tr = t + i * NRc;
        if (beta == 0) for (int j = 0; j < nr; j++) row[j] = alpha * tr[j];
        else for (int j = 0; j < nr; j++) row[j] = alpha * tr[j] + beta * row[j];
    }
}

// Scalar: MR=4, NR=16. Plain loops over a small tile; clang vectorises the j loop.
INLINE void kscalar_body(const int mr, int kc, const float *a, int as, const float *b, float *c,
                         long ldc, float alpha, float beta, int nr) {
    float acc[4][16];
    for (int i = 0; i < 4; i++) for (int j = 0; j < 16; j++) acc[i][j] = 0;
    for (int p = 0; p < kc; p++) {
        const float *bp = b + p * 16;
        const float *ap = a + p * as;
        for (int i = 0; i < mr; i++) {
            float av = ap[i];
            for (int j = 0; j < 16; j++) acc[i][j] += av * bp[j];
        }
    }
    store_tile(mr, 16, &acc[0][0], c, ldc, alpha, beta, nr);
}
#define KSCALAR(R) static void kscalar_##R(int kc, const float *a, int as, const float *b, float *c, \
    long ldc, float alpha, float beta, int nr) { kscalar_body(R, kc, a, as, b, c, ldc, alpha, beta, nr); }
KSCALAR(1) KSCALAR(2) KSCALAR(3) KSCALAR(4)
static const kern_f32 kscalar[5] = {NULL, kscalar_1, kscalar_2, kscalar_3, kscalar_4};

#if defined(__x86_64__)
// AVX2: MR=6, NR=16 (two ymm per row). U independent accumulator sets over the depth when
// there are too few rows to cover the FMA latency on their own.
INLINE T256 void k256_body(const int mr, int kc, const float *a, int as, const float *b, float *c,
                           long ldc, float alpha, float beta, int nr) {
    enum { U = 2 };
    const int u = mr <= 2 ? 2 : 1;
    __m256 acc[U][6][2];
    for (int s = 0; s < U; s++) for (int i = 0; i < 6; i++) {
        acc[s][i][0] = _mm256_setzero_ps(); acc[s][i][1] = _mm256_setzero_ps();
    }
    int p = 0;
    if (u == 2) {
        for (; p + 1 < kc; p += 2) {
            for (int s = 0; s < 2; s++) {
                __m256 b0 = _mm256_loadu_ps(b + (p + s) * 16), b1 = _mm256_loadu_ps(b + (p + s) * 16 + 8);
                for (int i = 0; i < mr; i++) {
                    __m256 av = _mm256_broadcast_ss(a + (p + s) * as + i);
                    acc[s][i][0] = _mm256_fmadd_ps(av, b0, acc[s][i][0]);
                    acc[s][i][1] = _mm256_fmadd_ps(av, b1, acc[s][i][1]);
                }
            }
        }
    }
    for (; p < kc; p++) {
        __m256 b0 = _mm256_loadu_ps(b + p * 16), b1 = _mm256_loadu_ps(b + p * 16 + 8);
        for (int i = 0; i < mr; i++) {
            __m256 av = _mm256_broadcast_ss(a + p * as + i);
            acc[0][i][0] = _mm256_fmadd_ps(av, b0, acc[0][i][0]);
            acc[0][i][1] = _mm256_fmadd_ps(av, b1, acc[0][i][1]);
        }
    }
    if (u == 2) for (int i = 0; i < mr; i++) {
        acc[0][i][0] = _mm256_add_ps(acc[0][i][0], acc[1][i][0]);
        acc[0][i][1] = _mm256_add_ps(acc[0][i][1], acc[1][i][1]);
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (nr == 16) {
        for (int i = 0; i < mr; i++) {
            float *row = c + (long)i * ldc;
            __m256 r0 = _mm256_mul_ps(va, acc[0][i][0]), r1 = _mm256_mul_ps(va, acc[0][i][1]);
            if (beta != 0) {
                r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), r0);
                r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), r1);
            }
            _mm256_storeu_ps(row, r0); _mm256_storeu_ps(row + 8, r1);
        }
    } else {
        float t[6 * 16];
        for (int i = 0; i < mr; i++) {
            _mm256_storeu_ps(t + i * 16, acc[0][i][0]); _mm256_storeu_ps(t + i * 16 + 8, acc[0][i][1]);
        }
        store_tile(mr, 16, t, c, ldc, alpha, beta, nr);
    }
}
#define K256(R) T256 static void k256_##R(int kc, const float *a, int as, const float *b, float *c, \
    long ldc, float alpha, float beta, int nr) { k256_body(R, kc, a, as, b, c, ldc, alpha, beta, nr); }
K256(1) K256(2) K256(3) K256(4) K256(5) K256(6)
static const kern_f32 k256[7] = {NULL, k256_1, k256_2, k256_3, k256_4, k256_5, k256_6};

// AVX2 counterpart of the 1-2 row kernel below: two adjacent full panels (32 columns, four
// ymm per row) share each broadcast of A.
INLINE T256 void k256w32_body(const int mr, int kc, const float *a, int as, const float *b0,
                              const float *b1, float *c, long ldc, float alpha, float beta) {
    // 16 ymm registers: one row keeps two accumulator sets over the depth (8 + 4 weights),
    // two rows one set each (8 + 4 weights + broadcast).
    const int u = mr == 1 ? 2 : 1;
    __m256 acc[2][2][4];
    for (int s = 0; s < 2; s++) for (int i = 0; i < 2; i++) for (int v = 0; v < 4; v++) acc[s][i][v] = _mm256_setzero_ps();
    int p = 0;
    for (; p + u - 1 < kc; p += u) {
        for (int s = 0; s < u; s++) {
            const float *x0 = b0 + (size_t)(p + s) * 16, *x1 = b1 + (size_t)(p + s) * 16;
            __m256 w0 = _mm256_loadu_ps(x0), w1 = _mm256_loadu_ps(x0 + 8);
            __m256 w2 = _mm256_loadu_ps(x1), w3 = _mm256_loadu_ps(x1 + 8);
            for (int i = 0; i < mr; i++) {
                __m256 av = _mm256_broadcast_ss(a + (p + s) * as + i);
                acc[s][i][0] = _mm256_fmadd_ps(av, w0, acc[s][i][0]);
                acc[s][i][1] = _mm256_fmadd_ps(av, w1, acc[s][i][1]);
                acc[s][i][2] = _mm256_fmadd_ps(av, w2, acc[s][i][2]);
                acc[s][i][3] = _mm256_fmadd_ps(av, w3, acc[s][i][3]);
            }
        }
    }
    for (; p < kc; p++) {
        const float *x0 = b0 + (size_t)p * 16, *x1 = b1 + (size_t)p * 16;
        __m256 w0 = _mm256_loadu_ps(x0), w1 = _mm256_loadu_ps(x0 + 8);
        __m256 w2 = _mm256_loadu_ps(x1), w3 = _mm256_loadu_ps(x1 + 8);
        for (int i = 0; i < mr; i++) {
            __m256 av = _mm256_broadcast_ss(a + p * as + i);
            acc[0][i][0] = _mm256_fmadd_ps(av, w0, acc[0][i][0]);
            acc[0][i][1] = _mm256_fmadd_ps(av, w1, acc[0][i][1]);
            acc[0][i][2] = _mm256_fmadd_ps(av, w2, acc[0][i][2]);
            acc[0][i][3] = _mm256_fmadd_ps(av, w3, acc[0][i][3]);
        }
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int i = 0; i < mr; i++) {
        float *row = c + (long)i * ldc;
        for (int v = 0; v < 4; v++) {
            __m256 sum = u == 2 ? _mm256_add_ps(acc[0][i][v], acc[1][i][v]) : acc[0][i][v];
            __m256 r = _mm256_mul_ps(va, sum);
            if (beta != 0) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + v * 8), r);
            _mm256_storeu_ps(row + v * 8, r);
        }
    }
}
T256 static void k256w32_1(int kc, const float *a, int as, const float *b0, const float *b1, float *c, long ldc,
                           float alpha, float beta) { k256w32_body(1, kc, a, as, b0, b1, c, ldc, alpha, beta); }
T256 static void k256w32_2(int kc, const float *a, int as, const float *b0, const float *b1, float *c, long ldc,
                           float alpha, float beta) { k256w32_body(2, kc, a, as, b0, b1, c, ldc, alpha, beta); }

// AVX-512: MR=12, NR=32 (two zmm per row), masked stores for ragged column edges.
INLINE T512 void k512_store(const int mr, __m512 (*acc)[2], float *c, long ldc, float alpha,
                            float beta, int nr) {
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < mr; i++) {
        float *row = c + (long)i * ldc;
        __m512 r0 = _mm512_mul_ps(va, acc[i][0]), r1 = _mm512_mul_ps(va, acc[i][1]);
        if (beta != 0) {
            r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), r0);
            r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), r1);
        }
        _mm512_mask_storeu_ps(row, m0, r0);
        _mm512_mask_storeu_ps(row + 16, m1, r1);
    }
}

INLINE T512 void k512_body(const int mr, int kc, const float *a, int as, const float *b, float *c,
                           long ldc, float alpha, float beta, int nr) {
    enum { U = 4 };
    const int u = mr == 1 ? 4 : mr <= 3 ? 2 : 1;
    __m512 acc[U][12][2];
    for (int s = 0; s < U; s++) for (int i = 0; i < 12; i++) {
        acc[s][i][0] = _mm512_setzero_ps(); acc[s][i][1] = _mm512_setzero_ps();
    }
    int p = 0;
    if (u > 1) {
        for (; p + u - 1 < kc; p += u) {
            for (int s = 0; s < u; s++) {
                __m512 b0 = _mm512_loadu_ps(b + (p + s) * 32), b1 = _mm512_loadu_ps(b + (p + s) * 32 + 16);
                for (int i = 0; i < mr; i++) {
                    __m512 av = _mm512_set1_ps(a[(p + s) * as + i]);
                    acc[s][i][0] = _mm512_fmadd_ps(av, b0, acc[s][i][0]);
                    acc[s][i][1] = _mm512_fmadd_ps(av, b1, acc[s][i][1]);
                }
            }
        }
    }
    for (; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(b + p * 32), b1 = _mm512_loadu_ps(b + p * 32 + 16);
        for (int i = 0; i < mr; i++) {
            __m512 av = _mm512_set1_ps(a[p * as + i]);
            acc[0][i][0] = _mm512_fmadd_ps(av, b0, acc[0][i][0]);
            acc[0][i][1] = _mm512_fmadd_ps(av, b1, acc[0][i][1]);
        }
    }
    for (int s = 1; s < u; s++) for (int i = 0; i < mr; i++) {
        acc[0][i][0] = _mm512_add_ps(acc[0][i][0], acc[s][i][0]);
        acc[0][i][1] = _mm512_add_ps(acc[0][i][1], acc[s][i][1]);
    }
    k512_store(mr, acc[0], c, ldc, alpha, beta, nr);
}
#define K512(R) T512 static void k512_##R(int kc, const float *a, int as, const float *b, float *c, \
    long ldc, float alpha, float beta, int nr) { k512_body(R, kc, a, as, b, c, ldc, alpha, beta, nr); }
K512(1) K512(2) K512(3) K512(4) K512(5) K512(6) K512(7) K512(8) K512(9) K512(10) K512(11) K512(12)
static const kern_f32 k512[13] = {NULL, k512_1, k512_2, k512_3, k512_4, k512_5, k512_6,
                                  k512_7, k512_8, k512_9, k512_10, k512_11, k512_12};

// One or two rows against two adjacent full panels (64 columns) at once: a decoder step
// (M = 1...2) is bound by loads, and sharing each broadcast of A over four weight vectors
// instead of two cuts the loads per FMA from 1.5 to 1.25 (M=1) or 1.0 to 0.75 (M=2).
INLINE T512 void k512w64_body(const int mr, int kc, const float *a, int as, const float *b0,
                              const float *b1, float *c, long ldc, float alpha, float beta) {
    __m512 acc[2][2][4];
    for (int s = 0; s < 2; s++) for (int i = 0; i < 2; i++) for (int v = 0; v < 4; v++) acc[s][i][v] = _mm512_setzero_ps();
    int p = 0;
    for (; p + 1 < kc; p += 2) {
        for (int s = 0; s < 2; s++) {
            const float *x0 = b0 + (size_t)(p + s) * 32, *x1 = b1 + (size_t)(p + s) * 32;
            __m512 w0 = _mm512_loadu_ps(x0), w1 = _mm512_loadu_ps(x0 + 16);
            __m512 w2 = _mm512_loadu_ps(x1), w3 = _mm512_loadu_ps(x1 + 16);
            for (int i = 0; i < mr; i++) {
                __m512 av = _mm512_set1_ps(a[(p + s) * as + i]);
                acc[s][i][0] = _mm512_fmadd_ps(av, w0, acc[s][i][0]);
                acc[s][i][1] = _mm512_fmadd_ps(av, w1, acc[s][i][1]);
                acc[s][i][2] = _mm512_fmadd_ps(av, w2, acc[s][i][2]);
                acc[s][i][3] = _mm512_fmadd_ps(av, w3, acc[s][i][3]);
            }
        }
    }
    for (; p < kc; p++) {
        const float *x0 = b0 + (size_t)p * 32, *x1 = b1 + (size_t)p * 32;
        __m512 w0 = _mm512_loadu_ps(x0), w1 = _mm512_loadu_ps(x0 + 16);
        __m512 w2 = _mm512_loadu_ps(x1), w3 = _mm512_loadu_ps(x1 + 16);
        for (int i = 0; i < mr; i++) {
            __m512 av = _mm512_set1_ps(a[p * as + i]);
            acc[0][i][0] = _mm512_fmadd_ps(av, w0, acc[0][i][0]);
            acc[0][i][1] = _mm512_fmadd_ps(av, w1, acc[0][i][1]);
            acc[0][i][2] = _mm512_fmadd_ps(av, w2, acc[0][i][2]);
            acc[0][i][3] = _mm512_fmadd_ps(av, w3, acc[0][i][3]);
        }
    }
    __m512 lo[2][2], hi[2][2];
    for (int i = 0; i < mr; i++) {
        lo[i][0] = _mm512_add_ps(acc[0][i][0], acc[1][i][0]);
        lo[i][1] = _mm512_add_ps(acc[0][i][1], acc[1][i][1]);
        hi[i][0] = _mm512_add_ps(acc[0][i][2], acc[1][i][2]);
        hi[i][1] = _mm512_add_ps(acc[0][i][3], acc[1][i][3]);
    }
    k512_store(mr, lo, c, ldc, alpha, beta, 32);
    k512_store(mr, hi, c + 32, ldc, alpha, beta, 32);
}
T512 static void k512w64_1(int kc, const float *a, int as, const float *b0, const float *b1, float *c, long ldc,
                           float alpha, float beta) { k512w64_body(1, kc, a, as, b0, b1, c, ldc, alpha, beta); }
T512 static void k512w64_2(int kc, const float *a, int as, const float *b0, const float *b1, float *c, long ldc,
                           float alpha, float beta) { k512w64_body(2, kc, a, as, b0, b1, c, ldc, alpha, beta); }

// bf16 weights, fp32 activations: each 32-bit lane of a weight vector holds (k even, k odd)
// of one column; shifting / masking widens them to exact fp32 in registers.
INLINE T512 void k512w_body(const int mr, int kcPad, const void *av, const uint16_t *b, float *c,
                            long ldc, float alpha, float beta, int nr) {
    const float *a = (const float *)av;
    const int u = mr <= 2 ? 2 : 1;
    __m512 acc[2][12][2];
    for (int s = 0; s < 2; s++) for (int i = 0; i < 12; i++) {
        acc[s][i][0] = _mm512_setzero_ps(); acc[s][i][1] = _mm512_setzero_ps();
    }
    const __m512i hiMask = _mm512_set1_epi32((int)0xffff0000u);
    int pairs = kcPad / 2;
    for (int q0 = 0; q0 < pairs; q0 += u) for (int s = 0; s < u; s++) {
        const int q = q0 + s;
        if (q >= pairs) break;
        __m512i x0 = _mm512_loadu_si512((const void *)(b + (size_t)q * 64));
        __m512i x1 = _mm512_loadu_si512((const void *)(b + (size_t)q * 64 + 32));
        __m512 e0 = _mm512_castsi512_ps(_mm512_slli_epi32(x0, 16));
        __m512 o0 = _mm512_castsi512_ps(_mm512_and_si512(x0, hiMask));
        __m512 e1 = _mm512_castsi512_ps(_mm512_slli_epi32(x1, 16));
        __m512 o1 = _mm512_castsi512_ps(_mm512_and_si512(x1, hiMask));
        const float *ap = a + (size_t)q * 2 * 12;
        for (int i = 0; i < mr; i++) {
            __m512 ae = _mm512_set1_ps(ap[i]), ao = _mm512_set1_ps(ap[12 + i]);
            acc[s][i][0] = _mm512_fmadd_ps(ae, e0, acc[s][i][0]);
            acc[s][i][1] = _mm512_fmadd_ps(ae, e1, acc[s][i][1]);
            acc[s][i][0] = _mm512_fmadd_ps(ao, o0, acc[s][i][0]);
            acc[s][i][1] = _mm512_fmadd_ps(ao, o1, acc[s][i][1]);
        }
    }
    if (u == 2) for (int i = 0; i < mr; i++) {
        acc[0][i][0] = _mm512_add_ps(acc[0][i][0], acc[1][i][0]);
        acc[0][i][1] = _mm512_add_ps(acc[0][i][1], acc[1][i][1]);
    }
    k512_store(mr, acc[0], c, ldc, alpha, beta, nr);
}
#define K512W(R) T512 static void k512w_##R(int kcPad, const void *a, const uint16_t *b, float *c, \
    long ldc, float alpha, float beta, int nr) { k512w_body(R, kcPad, a, b, c, ldc, alpha, beta, nr); }
K512W(1) K512W(2) K512W(3) K512W(4) K512W(5) K512W(6) K512W(7) K512W(8) K512W(9) K512W(10) K512W(11) K512W(12)
static const kern_bf16 k512w[13] = {NULL, k512w_1, k512w_2, k512w_3, k512w_4, k512w_5, k512w_6,
                                    k512w_7, k512w_8, k512w_9, k512w_10, k512w_11, k512w_12};

// bf16 weights and bf16-rounded activations: vdpbf16ps does two multiply-adds per fp32 lane.
INLINE T512BF void k512d_body(const int mr, int kcPad, const void *av, const uint16_t *b,
                              float *c, long ldc, float alpha, float beta, int nr) {
    const uint32_t *a = (const uint32_t *)av;
    const int u = mr <= 2 ? 2 : 1;
    __m512 acc[2][12][2];
    for (int s = 0; s < 2; s++) for (int i = 0; i < 12; i++) {
        acc[s][i][0] = _mm512_setzero_ps(); acc[s][i][1] = _mm512_setzero_ps();
    }
    int pairs = kcPad / 2;
    for (int q0 = 0; q0 < pairs; q0 += u) for (int s = 0; s < u; s++) {
        const int q = q0 + s;
        if (q >= pairs) break;
        __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(b + (size_t)q * 64));
        __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(b + (size_t)q * 64 + 32));
        const uint32_t *ap = a + (size_t)q * 12;
        for (int i = 0; i < mr; i++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32((int)ap[i]);
            acc[s][i][0] = _mm512_dpbf16_ps(acc[s][i][0], x, b0);
            acc[s][i][1] = _mm512_dpbf16_ps(acc[s][i][1], x, b1);
        }
    }
    if (u == 2) for (int i = 0; i < mr; i++) {
        acc[0][i][0] = _mm512_add_ps(acc[0][i][0], acc[1][i][0]);
        acc[0][i][1] = _mm512_add_ps(acc[0][i][1], acc[1][i][1]);
    }
    k512_store(mr, acc[0], c, ldc, alpha, beta, nr);
}
#define K512D(R) T512BF static void k512d_##R(int kcPad, const void *a, const uint16_t *b, float *c, \
    long ldc, float alpha, float beta, int nr) { k512d_body(R, kcPad, a, b, c, ldc, alpha, beta, nr); }
K512D(1) K512D(2) K512D(3) K512D(4) K512D(5) K512D(6) K512D(7) K512D(8) K512D(9) K512D(10) K512D(11) K512D(12)
static const kern_bf16 k512d[13] = {NULL, k512d_1, k512d_2, k512d_3, k512d_4, k512d_5, k512d_6,
                                    k512d_7, k512d_8, k512d_9, k512d_10, k512d_11, k512d_12};
#endif

// MARK: - Direct small-M path

// For a handful of rows and an unpacked B (attention over a KV cache, decoder steps),
// packing B would cost as much as the product, so these loops read B in place. 16
// independent partial sums let the compiler vectorise the dot products without
// reassociating. Compiled per ISA like the pointwise kernels.
// An ISA's register-blocked kernel for op(B) = B (below), or NULL for the portable loop.
typedef void (*small_m_nn_fn)(const float *a, long lda, const float *b, long ldb, float *c, long ldc, int rows,
                              int k, int n0, int n1, float alpha, float beta);
INLINE void small_m_body(const sl_gemm_args *g, int m0, int m1, int n0, int n1, small_m_nn_fn nn) {
    const int k = g->k, rows = m1 - m0;
    const float alpha = g->alpha, beta = g->beta;
    // A rows m0..<m1, contiguous with stride lda (copied out when A is stored transposed).
    const float *a = g->a + (long)m0 * g->lda;
    long lda = g->lda;
    if (g->transA) {
        float *tmp = sl_thread_scratch(2, (size_t)rows * (size_t)k);
        if (!tmp) return;
        for (int i = 0; i < rows; i++)
            for (int p = 0; p < k; p++) tmp[(size_t)i * k + p] = g->a[(long)p * g->lda + m0 + i];
        a = tmp;
        lda = k;
    }
    float *c = g->c + (long)m0 * g->ldc;
    if (g->transB) {
        // Each B row (a column of op(B)) is read once and dotted with every A row (in L1).
        for (int j = n0; j < n1; j++) {
            const float *brow = g->b + (long)j * g->ldb;
            for (int i = 0; i < rows; i++) {
                const float *arow = a + (long)i * lda;
                float acc[16] = {0};
                int p = 0;
                for (; p + 16 <= k; p += 16)
                    for (int l = 0; l < 16; l++) acc[l] += arow[p + l] * brow[p + l];
                float sum = 0;
                for (int l = 0; l < 16; l++) sum += acc[l];
                for (; p < k; p++) sum += arow[p] * brow[p];
                float *cij = c + (long)i * g->ldc + j;
                *cij = beta == 0 ? alpha * sum : alpha * sum + beta * *cij;
            }
        }
    } else {
        if (nn) { nn(a, lda, g->b, g->ldb, c, g->ldc, rows, k, n0, n1, alpha, beta); return; }
        // Column chunks keep the C rows in L1 while every B row streams past once.
        enum { CHUNK = 256 };
        for (int jb = n0; jb < n1; jb += CHUNK) {
            int je = n1 - jb < CHUNK ? n1 : jb + CHUNK;
            for (int i = 0; i < rows; i++) {
                float *crow = c + (long)i * g->ldc;
                if (beta == 0) for (int j = jb; j < je; j++) crow[j] = 0;
                else if (beta != 1) for (int j = jb; j < je; j++) crow[j] *= beta;
            }
            for (int p = 0; p < k; p++) {
                const float *brow = g->b + (long)p * g->ldb;
                for (int i = 0; i < rows; i++) {
                    const float av = alpha * a[(long)i * lda + p];
                    float *crow = c + (long)i * g->ldc;
                    for (int j = jb; j < je; j++) crow[j] += av * brow[j];
                }
            }
        }
    }
}

static void small_m_base(const sl_gemm_args *g, int m0, int m1, int n0, int n1) { small_m_body(g, m0, m1, n0, n1, NULL); }
#if defined(__x86_64__)
// C = alpha A B + beta C with op(B) = B, register-blocked: a tile of up to 6 rows by W
// vectors of columns lives in registers for the whole K loop, so each B row segment is
// loaded once per tile and C is read and written once, instead of a C load and store per
// (row, k) as in the portable loop above (which made cross-attention over 1500 encoder
// frames store-bound). The arithmetic is the portable loop's, term for term: C scaled by
// beta first, then one fused multiply-add of (alpha a_ip) b_pj per p in order, so results
// are bit-identical to it.
#define SMALL_M_TILE_ROWS 6
INLINE T512 void nn512_tile(const int R, const int W, __mmask16 last, const float *a, long lda, const float *b,
                            long ldb, float *c, long ldc, int k, float alpha, float beta) {
    __m512 acc[SMALL_M_TILE_ROWS][4];
    for (int i = 0; i < R; i++) for (int t = 0; t < W; t++) {
        const __mmask16 mk = t == W - 1 ? last : (__mmask16)0xFFFF;
        if (beta == 0) acc[i][t] = _mm512_setzero_ps();
        else {
            acc[i][t] = _mm512_maskz_loadu_ps(mk, c + (long)i * ldc + 16 * t);
            if (beta != 1) acc[i][t] = _mm512_mul_ps(acc[i][t], _mm512_set1_ps(beta));
        }
    }
    for (int p = 0; p < k; p++) {
        const float *bp = b + (long)p * ldb;
        __m512 bv[4];
        for (int t = 0; t < W; t++) bv[t] = _mm512_maskz_loadu_ps(t == W - 1 ? last : (__mmask16)0xFFFF, bp + 16 * t);
        for (int i = 0; i < R; i++) {
            const __m512 av = _mm512_set1_ps(alpha * a[(long)i * lda + p]);
            for (int t = 0; t < W; t++) acc[i][t] = _mm512_fmadd_ps(av, bv[t], acc[i][t]);
        }
    }
    for (int i = 0; i < R; i++) for (int t = 0; t < W; t++)
        _mm512_mask_storeu_ps(c + (long)i * ldc + 16 * t, t == W - 1 ? last : (__mmask16)0xFFFF, acc[i][t]);
}
#define NN512_R(R) T512 static void nn512_r##R(int w, int lastCols, const float *a, long lda, const float *b, \
    long ldb, float *c, long ldc, int k, float alpha, float beta) { \
    const __mmask16 last = (__mmask16)((1u << lastCols) - 1); \
    switch (w) { \
    case 1: nn512_tile(R, 1, last, a, lda, b, ldb, c, ldc, k, alpha, beta); break; \
    case 2: nn512_tile(R, 2, last, a, lda, b, ldb, c, ldc, k, alpha, beta); break; \
    case 3: nn512_tile(R, 3, last, a, lda, b, ldb, c, ldc, k, alpha, beta); break; \
    default: nn512_tile(R, 4, last, a, lda, b, ldb, c, ldc, k, alpha, beta); break; } }
NN512_R(1) NN512_R(2) NN512_R(3) NN512_R(4) NN512_R(5) NN512_R(6)
// A tile of R rows (the table index) by w vectors, the last with lastCols columns.
typedef void (*nn_tile_fn)(int w, int lastCols, const float *a, long lda, const float *b, long ldb, float *c,
                           long ldc, int k, float alpha, float beta);
static const nn_tile_fn nn512[7] = {NULL, nn512_r1, nn512_r2, nn512_r3, nn512_r4, nn512_r5, nn512_r6};

// Covers rows x [n0, n1) with tiles of up to 6 rows by maxW vectors of `lanes` columns.
INLINE void small_m_nn_tiles(const nn_tile_fn *tiles, const int lanes, const int maxW, const float *a, long lda,
                             const float *b, long ldb, float *c, long ldc, int rows, int k, int n0, int n1,
                             float alpha, float beta) {
    const int block = lanes * maxW;
    for (int i0 = 0; i0 < rows; i0 += SMALL_M_TILE_ROWS) {
        const int r = rows - i0 < SMALL_M_TILE_ROWS ? rows - i0 : SMALL_M_TILE_ROWS;
        for (int j = n0; j < n1; j += block) {
            const int cols = n1 - j < block ? n1 - j : block;
            const int w = (cols + lanes - 1) / lanes;
            tiles[r](w, cols - lanes * (w - 1), a + (long)i0 * lda, lda, b + j, ldb, c + (long)i0 * ldc + j, ldc, k,
                     alpha, beta);
        }
    }
}

T512 static void small_m_nn512(const float *a, long lda, const float *b, long ldb, float *c, long ldc, int rows,
                               int k, int n0, int n1, float alpha, float beta) {
    small_m_nn_tiles(nn512, 16, 4, a, lda, b, ldb, c, ldc, rows, k, n0, n1, alpha, beta);
}

// The AVX2 tile: 6 rows by 2 vectors of 8 (12 accumulators of the 16 ymm registers).
INLINE T256 __m256i nn256_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
INLINE T256 void nn256_tile(const int R, const int W, int lastCols, const float *a, long lda, const float *b,
                            long ldb, float *c, long ldc, int k, float alpha, float beta) {
    __m256 acc[SMALL_M_TILE_ROWS][2];
    __m256i mk[2];
    for (int t = 0; t < W; t++) mk[t] = nn256_mask(t == W - 1 ? lastCols : 8);
    for (int i = 0; i < R; i++) for (int t = 0; t < W; t++) {
        if (beta == 0) acc[i][t] = _mm256_setzero_ps();
        else {
            acc[i][t] = _mm256_maskload_ps(c + (long)i * ldc + 8 * t, mk[t]);
            if (beta != 1) acc[i][t] = _mm256_mul_ps(acc[i][t], _mm256_set1_ps(beta));
        }
    }
    for (int p = 0; p < k; p++) {
        const float *bp = b + (long)p * ldb;
        __m256 bv[2];
        for (int t = 0; t < W; t++) bv[t] = _mm256_maskload_ps(bp + 8 * t, mk[t]);
        for (int i = 0; i < R; i++) {
            const __m256 av = _mm256_set1_ps(alpha * a[(long)i * lda + p]);
            for (int t = 0; t < W; t++) acc[i][t] = _mm256_fmadd_ps(av, bv[t], acc[i][t]);
        }
    }
    for (int i = 0; i < R; i++) for (int t = 0; t < W; t++)
        _mm256_maskstore_ps(c + (long)i * ldc + 8 * t, mk[t], acc[i][t]);
}
#define NN256_R(R) T256 static void nn256_r##R(int w, int lastCols, const float *a, long lda, const float *b, \
    long ldb, float *c, long ldc, int k, float alpha, float beta) { \
    if (w == 1) nn256_tile(R, 1, lastCols, a, lda, b, ldb, c, ldc, k, alpha, beta); \
    else nn256_tile(R, 2, lastCols, a, lda, b, ldb, c, ldc, k, alpha, beta); }
NN256_R(1) NN256_R(2) NN256_R(3) NN256_R(4) NN256_R(5) NN256_R(6)
static const nn_tile_fn nn256[7] = {NULL, nn256_r1, nn256_r2, nn256_r3, nn256_r4, nn256_r5, nn256_r6};

T256 static void small_m_nn256(const float *a, long lda, const float *b, long ldb, float *c, long ldc, int rows,
                               int k, int n0, int n1, float alpha, float beta) {
    small_m_nn_tiles(nn256, 8, 2, a, lda, b, ldb, c, ldc, rows, k, n0, n1, alpha, beta);
}

T256 static void small_m_avx2(const sl_gemm_args *g, int m0, int m1, int n0, int n1) {
    small_m_body(g, m0, m1, n0, n1, small_m_nn256);
}
T512 static void small_m_avx512(const sl_gemm_args *g, int m0, int m1, int n0, int n1) {
    small_m_body(g, m0, m1, n0, n1, small_m_nn512);
}
#endif

// MARK: - Driver

// C block = beta * C block (used when K == 0, where the product contributes nothing).
static void scale_block(float *c, long ldc, int m0, int m1, int n0, int n1, float beta) {
    for (int i = m0; i < m1; i++) {
        float *row = c + (long)i * ldc;
        for (int j = n0; j < n1; j++) row[j] = beta == 0 ? 0 : beta * row[j];
    }
}

static void gemm_bf16(const sl_gemm_args *g, int m0, int m1, int n0, int n1) {
#if defined(__x86_64__)
    const int MR = 12, NR = 32;
    const int dot = g->bf16Mode == SL_BF16_DOT;
    const int k = g->k;
    const int skinny = (m1 - m0) <= MR;
    const int KC = skinny ? ((k + 1) & ~1) : KC_PACKED; // even
    const int MC = MC_ROWS;
    const size_t pairsK = (size_t)((k + 1) / 2);
    float *abuf = scratch((size_t)MC * (size_t)(KC + 2));
    if (!abuf) return;
    for (int jc = n0; jc < n1; jc += NC_PACKED) {
        int nc = n1 - jc < NC_PACKED ? n1 - jc : NC_PACKED;
        for (int pc = 0; pc < k; pc += KC) {
            int kc = k - pc < KC ? k - pc : KC;
            int kcPad = (kc + 1) & ~1;
            float betaEff = pc == 0 ? g->beta : 1.0f;
            const uint16_t *bblk = g->packedB16 + (size_t)(jc / NR) * pairsK * 64 + (size_t)(pc / 2) * 64;
            size_t bstride = pairsK * 64;
            for (int ic = m0; ic < m1; ic += MC) {
                int mc = m1 - ic < MC ? m1 - ic : MC;
                if (dot) pack_a_bf16pairs(MR, mc, kc, kcPad, g->a, g->lda, g->transA, ic, pc, (uint32_t *)abuf);
                else pack_a(MR, mc, kc, kcPad, g->a, g->lda, g->transA, ic, pc, abuf);
                size_t apanel = dot ? (size_t)(kcPad / 2) * MR : (size_t)kcPad * MR; // 32-bit words
                for (int ir = 0; ir < mc; ir += MR) {
                    int mr = mc - ir < MR ? mc - ir : MR;
                    const kern_bf16 kf = dot ? k512d[mr] : k512w[mr];
                    const void *ap = (const uint32_t *)abuf + (size_t)(ir / MR) * apanel;
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = nc - jr < NR ? nc - jr : NR;
                        kf(kcPad, ap, bblk + (size_t)(jr / NR) * bstride,
                           g->c + (long)(ic + ir) * g->ldc + jc + jr, g->ldc, g->alpha, betaEff, nr);
                    }
                }
            }
        }
    }
#else
    (void)g; (void)m0; (void)m1; (void)n0; (void)n1;
#endif
}

/// The fp32 micro-kernel for `mr` rows on this ISA.
static inline kern_f32 f32_kernel(int isa, int mr) {
#if defined(__x86_64__)
    return isa == SL_ISA_AVX512 ? k512[mr] : isa == SL_ISA_AVX2 ? k256[mr] : kscalar[mr];
#else
    (void)isa;
    return kscalar[mr];
#endif
}

void sl_gemm_block(const sl_gemm_args *g, int m0, int m1, int n0, int n1) {
    if (m0 >= m1 || n0 >= n1) return;
    if (g->k <= 0) { scale_block(g->c, g->ldc, m0, m1, n0, n1, g->beta); return; }
    if (g->packedB16) { gemm_bf16(g, m0, m1, n0, n1); return; }
    int isa = g->isa;
#if !defined(__x86_64__)
    isa = SL_ISA_SCALAR;
#endif
    if (!g->packedB && m1 - m0 <= SMALL_M) {
#if defined(__x86_64__)
        if (isa == SL_ISA_AVX512) { small_m_avx512(g, m0, m1, n0, n1); return; }
        if (isa == SL_ISA_AVX2) { small_m_avx2(g, m0, m1, n0, n1); return; }
#endif
        small_m_base(g, m0, m1, n0, n1);
        return;
    }
    const int MR = sl_gemm_mr(isa), NR = sl_gemm_nr(isa);
    const int k = g->k;
    const int skinny = (m1 - m0) <= MR;
    const int KC = g->packedB ? (skinny ? k : KC_PACKED) : KC_RAW;
    const int NC = g->packedB ? NC_PACKED : NC_RAW;
    const int MC = MC_ROWS;
    const size_t aFloats = (size_t)MC * (size_t)(KC < k ? KC : k);
    const size_t bFloats = g->packedB ? 0 : (size_t)(KC < k ? KC : k) * (size_t)NC;
    float *buf = scratch(aFloats + bFloats);
    if (!buf) return;
    float *abuf = buf, *bbuf = buf + aFloats;
    for (int jc = n0; jc < n1; jc += NC) {
        int nc = n1 - jc < NC ? n1 - jc : NC;
        for (int pc = 0; pc < k; pc += KC) {
            int kc = k - pc < KC ? k - pc : KC;
            float betaEff = pc == 0 ? g->beta : 1.0f;
            const float *bblk;
            size_t bstride;
            if (g->packedB) {
                bblk = g->packedB + (size_t)(jc / NR) * (size_t)k * NR + (size_t)pc * NR;
                bstride = (size_t)k * NR;
            } else {
                pack_b_block(NR, kc, nc, g->b, g->ldb, g->transB, pc, jc, bbuf);
                bblk = bbuf;
                bstride = (size_t)kc * NR;
            }
            for (int ic = m0; ic < m1; ic += MC) {
                int mc = m1 - ic < MC ? m1 - ic : MC;
                // A lone short panel is packed with its own row count as the stride.
                const int as = mc < MR ? mc : MR;
                pack_a(as, mc, kc, kc, g->a, g->lda, g->transA, ic, pc, abuf);
                if (g->packedB && mc > MR && mc <= SMALL_PACKED_M) {
                    // A few row tiles against a weight panel too large for the cache (a decoder
                    // step's rows of several utterances against the vocabulary projection): each
                    // column strip of the weights (kc × NR, L1-sized) serves every row tile
                    // before the next strip is read, so the weights stream from memory once, not
                    // once per row tile; the packed rows (mc × kc) stay in L2.
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = nc - jr < NR ? nc - jr : NR;
                        const float *bp = bblk + (size_t)(jr / NR) * bstride;
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = mc - ir < MR ? mc - ir : MR;
                            const float *ap = abuf + (size_t)(ir / MR) * (size_t)kc * MR;
                            f32_kernel(isa, mr)(kc, ap, as, bp, g->c + (long)(ic + ir) * g->ldc + jc + jr, g->ldc, g->alpha, betaEff, nr);
                        }
                    }
                    continue;
                }
                for (int ir = 0; ir < mc; ir += MR) {
                    int mr = mc - ir < MR ? mc - ir : MR;
                    const float *ap = abuf + (size_t)(ir / MR) * (size_t)kc * MR;
                    kern_f32 kf = f32_kernel(isa, mr);
                    float *crow = g->c + (long)(ic + ir) * g->ldc + jc;
                    int jr = 0;
#if defined(__x86_64__)
                    if (isa == SL_ISA_AVX512 && mr <= 2) {
                        for (; jr + 2 * NR <= nc; jr += 2 * NR) {
                            const float *bp = bblk + (size_t)(jr / NR) * bstride;
                            (mr == 1 ? k512w64_1 : k512w64_2)(kc, ap, as, bp, bp + bstride, crow + jr, g->ldc,
                                                              g->alpha, betaEff);
                        }
                    } else if (isa == SL_ISA_AVX2 && mr <= 2) {
                        for (; jr + 2 * NR <= nc; jr += 2 * NR) {
                            const float *bp = bblk + (size_t)(jr / NR) * bstride;
                            (mr == 1 ? k256w32_1 : k256w32_2)(kc, ap, as, bp, bp + bstride, crow + jr, g->ldc,
                                                              g->alpha, betaEff);
                        }
                    }
#endif
                    for (; jr < nc; jr += NR) {
                        int nr = nc - jr < NR ? nc - jr : NR;
                        kf(kc, ap, as, bblk + (size_t)(jr / NR) * bstride, crow + jr, g->ldc,
                           g->alpha, betaEff, nr);
                    }
                }
            }
        }
    }
}
