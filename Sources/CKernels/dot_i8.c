// int8 dot products of one query vector against many rows (retrieval's quantised text
// vectors): the scalar reference, and AVX2 with vpmaddubsw (|q| · sign(row, q) in 16-bit
// pairs) then vpmaddwd into 32-bit lanes, 32 codes per step.
#include "CKernels.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

static void dot_i8_scalar(const int8_t *q, const int8_t *rows, long n, int dim, int32_t *out) {
    for (long r = 0; r < n; r++) {
        const int8_t *row = rows + r * (long)dim;
        int32_t sum = 0;
        for (int j = 0; j < dim; j++) sum += (int32_t)q[j] * (int32_t)row[j];
        out[r] = sum;
    }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2")))
static void dot_i8_avx2(const int8_t *q, const int8_t *rows, long n, int dim, int32_t *out) {
    const __m256i ones = _mm256_set1_epi16(1);
    const int body = dim & ~31;
    for (long r = 0; r < n; r++) {
        const int8_t *row = rows + r * (long)dim;
        __m256i acc = _mm256_setzero_si256();
        for (int j = 0; j < body; j += 32) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(q + j));
            __m256i b = _mm256_loadu_si256((const __m256i *)(row + j));
            // |a| (unsigned) × (b with a's sign) (signed) = a·b; pairs summed in 16 bits.
            __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(a), _mm256_sign_epi8(b, a));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
        }
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
        int32_t sum = _mm_cvtsi128_si32(s);
        for (int j = body; j < dim; j++) sum += (int32_t)q[j] * (int32_t)row[j];
        out[r] = sum;
    }
}
#endif

void sl_dot_i8(int isa, const int8_t *q, const int8_t *rows, long n, int dim, int32_t *out) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa >= SL_ISA_AVX2) { dot_i8_avx2(q, rows, n, dim, out); return; }
#endif
    dot_i8_scalar(q, rows, n, dim, out);
}
