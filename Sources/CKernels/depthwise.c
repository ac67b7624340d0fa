// Depthwise conv2d (one filter per channel, MobileNetV2). Per channel the zero-padded input is
// rearranged once into stride phases -- Q[ry][rx][y'][x'] = padded[y'*sH + ry][x'*sW + rx] --
// so that every tap (ky, kx) becomes ONE contiguous multiply-add over the whole output plane,
// computed at the phase planes' row pitch QW (>= the output width; the extra columns are
// scratch and dropped at the end): wide[oy*QW + ox] += w * Q[ry][rx][(oy + ay)*QW + ox + ax].
// Long contiguous loops vectorise at every ISA width, where row-by-row loops over ~28 outputs
// were dominated by loop overhead. Compiled per ISA like the pointwise kernels.
#include "CKernels.h"

#define INLINE static inline __attribute__((always_inline))
#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2")))
#define T256 __attribute__((target("avx2,fma")))
#endif

INLINE void dw_body(const float *x, int H, int W, const float *w, int kH, int kW, int sH, int sW,
                    int pH, int pW, int dH, int dW, const float *bias, float *out, int OH, int OW,
                    int c0, int c1, float *scratch) {
    const int PH = H + 2 * pH, PW = W + 2 * pW;
    const int QH = (PH + sH - 1) / sH, QW = (PW + sW - 1) / sW;
    const long planeQ = (long)QH * QW;
    float *q = scratch;                              // (sH, sW, QH, QW) + QW slack
    float *wide = scratch + (long)sH * sW * planeQ + QW; // (OH, QW)
    for (int c = c0; c < c1; c++) {
        const float *plane = x + (long)c * H * W;
        const float *wc = w + (long)c * kH * kW;
        for (int ry = 0; ry < sH; ry++)
            for (int rx = 0; rx < sW; rx++) {
                float *qp = q + ((long)ry * sW + rx) * planeQ;
                for (int yq = 0; yq < QH; yq++) {
                    int iy = yq * sH + ry - pH;
                    float *dst = qp + (long)yq * QW;
                    if (iy < 0 || iy >= H) { for (int t = 0; t < QW; t++) dst[t] = 0; continue; }
                    const float *src = plane + (long)iy * W;
                    for (int t = 0; t < QW; t++) {
                        int ix = t * sW + rx - pW;
                        dst[t] = (ix >= 0 && ix < W) ? src[ix] : 0.0f;
                    }
                }
            }
        for (int t = 0; t < QW; t++) q[(long)sH * sW * planeQ + t] = 0; // slack read by the last taps
        const long n = (long)OH * QW;
        for (long i = 0; i < n; i++) wide[i] = 0;
        for (int ky = 0; ky < kH; ky++) {
            const int ry = (ky * dH) % sH, ay = (ky * dH) / sH;
            for (int kx = 0; kx < kW; kx++) {
                const int rx = (kx * dW) % sW, ax = (kx * dW) / sW;
                const float wv = wc[ky * kW + kx];
                const float *src = q + ((long)ry * sW + rx) * planeQ + (long)ay * QW + ax;
                for (long i = 0; i < n; i++) wide[i] += wv * src[i];
            }
        }
        float *o = out + (long)c * OH * OW;
        const float b = bias ? bias[c] : 0.0f;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) o[(long)oy * OW + ox] = wide[(long)oy * QW + ox] + b;
    }
}

#define DW_ALL(PREFIX, ATTR) \
    ATTR static void PREFIX##_dw(const float *x, int H, int W, const float *w, int kH, int kW, int sH, int sW, \
        int pH, int pW, int dH, int dW, const float *bias, float *out, int OH, int OW, int c0, int c1, float *ph) { \
        dw_body(x, H, W, w, kH, kW, sH, sW, pH, pW, dH, dW, bias, out, OH, OW, c0, c1, ph); }

DW_ALL(base, )
#if defined(__x86_64__)
DW_ALL(avx2, T256)
DW_ALL(avx512, T512)
#endif

int sl_depthwise_conv2d(int isa, const float *x, int H, int W, const float *w, int kH, int kW,
                        int sH, int sW, int pH, int pW, int dH, int dW, const float *bias, float *out,
                        int OH, int OW, int c0, int c1) {
    const long PH = H + 2 * pH, PW = W + 2 * pW;
    const long QH = (PH + sH - 1) / sH, QW = (PW + sW - 1) / sW;
    float *ph = sl_thread_scratch(2, (size_t)(sH * sW * QH * QW + QW + (long)OH * QW));
    if (!ph) return -1;
#if defined(__x86_64__)
    if (isa == SL_ISA_AVX512) { avx512_dw(x, H, W, w, kH, kW, sH, sW, pH, pW, dH, dW, bias, out, OH, OW, c0, c1, ph); return 0; }
    if (isa == SL_ISA_AVX2) { avx2_dw(x, H, W, w, kH, kW, sH, sW, pH, pW, dH, dW, bias, out, OH, OW, c0, c1, ph); return 0; }
#endif
    (void)isa;
    base_dw(x, H, W, w, kH, kW, sH, sW, pH, pW, dH, dW, bias, out, OH, OW, c0, c1, ph);
    return 0;
}
