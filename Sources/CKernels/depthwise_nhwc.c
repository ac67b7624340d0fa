// Depthwise conv2d in channels-last layout (MobileNetV2 on (H, W, C) activations). Every
// output pixel is bias + Σ taps w[tap][c] · x[iy][ix][c]: the channel run is contiguous in
// the input, the weights and the output, so a block of 32 channels keeps its accumulators
// in registers across all taps (4 × 8-wide at AVX2, 2 × 16-wide at AVX-512) and each input
// value is loaded once per tap — no padded copy, no scratch. Padding taps are skipped.
// Optionally clamps to [0, 6] (ReLU6) on the way out. Compiled per ISA like the pointwise
// kernels; the plain reference is depthwiseConv2dNHWCReference in Kernels.
#include "CKernels.h"

#define INLINE static inline __attribute__((always_inline))
#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2")))
#define T256 __attribute__((target("avx2,fma")))
#endif

#define BLOCK 32

INLINE void dwn_block(const float *x, int H, int W, int C, const float *w, int k, int s, int p,
                      const float *bias, int relu6, float *o, int oy, int ox, int c, int n) {
    float acc[BLOCK];
    for (int j = 0; j < n; j++) acc[j] = bias ? bias[c + j] : 0.0f;
    for (int ky = 0; ky < k; ky++) {
        const int iy = oy * s - p + ky;
        if (iy < 0 || iy >= H) continue;
        for (int kx = 0; kx < k; kx++) {
            const int ix = ox * s - p + kx;
            if (ix < 0 || ix >= W) continue;
            const float *xp = x + ((long)iy * W + ix) * C + c;
            const float *wp = w + (long)(ky * k + kx) * C + c;
            for (int j = 0; j < n; j++) acc[j] += wp[j] * xp[j];
        }
    }
    if (relu6)
        for (int j = 0; j < n; j++) { float v = acc[j] > 0 ? acc[j] : 0.0f; acc[j] = v < 6.0f ? v : 6.0f; }
    for (int j = 0; j < n; j++) o[j] = acc[j];
}

INLINE void dwn_body(const float *x, int H, int W, int C, const float *w, int k, int s, int p,
                     const float *bias, int relu6, float *out, int OW, int r0, int r1) {
    for (int oy = r0; oy < r1; oy++)
        for (int ox = 0; ox < OW; ox++) {
            float *o = out + ((long)oy * OW + ox) * C;
            int c = 0;
            // Full blocks have a constant trip count, so the accumulators stay in registers.
            for (; c + BLOCK <= C; c += BLOCK) dwn_block(x, H, W, C, w, k, s, p, bias, relu6, o + c, oy, ox, c, BLOCK);
            for (; c + 8 <= C; c += 8) dwn_block(x, H, W, C, w, k, s, p, bias, relu6, o + c, oy, ox, c, 8);
            if (c < C) dwn_block(x, H, W, C, w, k, s, p, bias, relu6, o + c, oy, ox, c, C - c);
        }
}

#define DWN_ALL(PREFIX, ATTR) \
    ATTR static void PREFIX##_dwn(const float *x, int H, int W, int C, const float *w, int k, int s, int p, \
        const float *bias, int relu6, float *out, int OW, int r0, int r1) { \
        dwn_body(x, H, W, C, w, k, s, p, bias, relu6, out, OW, r0, r1); }

DWN_ALL(base, )
#if defined(__x86_64__)
DWN_ALL(avx2, T256)
DWN_ALL(avx512, T512)
#endif

void sl_depthwise_nhwc(int isa, const float *x, int H, int W, int C, const float *w, int k, int s, int p,
                       const float *bias, int relu6, float *out, int OW, int r0, int r1) {
#if defined(__x86_64__)
    if (isa == SL_ISA_AVX512) { avx512_dwn(x, H, W, C, w, k, s, p, bias, relu6, out, OW, r0, r1); return; }
    if (isa == SL_ISA_AVX2) { avx2_dwn(x, H, W, C, w, k, s, p, bias, relu6, out, OW, r0, r1); return; }
#endif
    (void)isa;
    base_dwn(x, H, W, C, w, k, s, p, bias, relu6, out, OW, r0, r1);
}
