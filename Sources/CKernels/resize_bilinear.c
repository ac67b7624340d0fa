// One output row of a bilinear resize of interleaved RGB bytes to floats, with TensorFlow 1's
// ResizeBilinear arithmetic in Float32 step by step (top and bottom blended along x first,
// then along y) and the detector's normalisation scale · v − 1 applied last. The caller
// gives, per output column, the byte offsets of its left and right source pixels and the
// x weight. Multiply and add are never fused into one rounding (contraction off), so every
// path produces the exact Float32 results of the plain expression. AVX2 blends a pixel's
// three channels as one 4-lane vector (its bytes and the next pixel's red, unused), which
// needs the byte after the pixel: the last source pixel of a row takes the scalar path.
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma STDC FP_CONTRACT OFF

static inline float blend(const uint8_t *top, const uint8_t *bottom, int l, int r, float xl, float yl, float scale) {
    const float tl = top[l], tr = top[r], bl = bottom[l], br = bottom[r];
    const float t = tl + (tr - tl) * xl;
    const float b = bl + (br - bl) * xl;
    return scale * (t + (b - t) * yl) - 1.0f;
}

static void base_row(const uint8_t *top, const uint8_t *bottom, float yl, const int *left, const int *right,
                     const float *xl, int count, float scale, float *out) {
    for (int i = 0; i < count; i++)
        for (int c = 0; c < 3; c++) out[i * 3 + c] = blend(top, bottom, left[i] + c, right[i] + c, xl[i], yl, scale);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static inline __m128 pixel(const uint8_t *p) {
    int v;
    __builtin_memcpy(&v, p, 4);
    return _mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(v)));
}

__attribute__((target("avx2"))) static void avx2_row(const uint8_t *top, const uint8_t *bottom, float yl, const int *left,
                                                     const int *right, const float *xl, int count, int rowBytes, float scale,
                                                     float *out) {
    const __m128 vy = _mm_set1_ps(yl), vs = _mm_set1_ps(scale), one = _mm_set1_ps(1.0f);
    for (int i = 0; i < count; i++) {
        const int l = left[i], r = right[i];
        if ((l > r ? l : r) + 3 >= rowBytes) { // no byte after this pixel in its row
            for (int c = 0; c < 3; c++) out[i * 3 + c] = blend(top, bottom, l + c, r + c, xl[i], yl, scale);
            continue;
        }
        const __m128 vx = _mm_set1_ps(xl[i]);
        const __m128 tl = pixel(top + l), tr = pixel(top + r), bl = pixel(bottom + l), br = pixel(bottom + r);
        const __m128 t = _mm_add_ps(tl, _mm_mul_ps(_mm_sub_ps(tr, tl), vx));
        const __m128 b = _mm_add_ps(bl, _mm_mul_ps(_mm_sub_ps(br, bl), vx));
        const __m128 v = _mm_sub_ps(_mm_mul_ps(vs, _mm_add_ps(t, _mm_mul_ps(_mm_sub_ps(b, t), vy))), one);
        // Three lanes out; the fourth would overwrite the next pixel's first value.
        float lanes[4];
        _mm_storeu_ps(lanes, v);
        out[i * 3] = lanes[0]; out[i * 3 + 1] = lanes[1]; out[i * 3 + 2] = lanes[2];
    }
}
#endif

void sl_bilinear_row_rgb8(int isa, const uint8_t *top, const uint8_t *bottom, float yLerp, const int *left, const int *right,
                          const float *xLerp, int count, int rowBytes, float scale, float *out) {
#if defined(__x86_64__)
    if (isa >= SL_ISA_AVX2) {
        avx2_row(top, bottom, yLerp, left, right, xLerp, count, rowBytes, scale, out);
        return;
    }
#endif
    (void)isa; (void)rowBytes;
    base_row(top, bottom, yLerp, left, right, xLerp, count, scale, out);
}
