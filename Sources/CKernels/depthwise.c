// Depthwise conv2d (one filter per channel, MobileNetV2). Per channel the zero-padded input is
// rearranged once into stride phases -- Q[ry][rx][y'][x'] = padded[y'*sH + ry][x'*sW + rx] --
// so that every tap (ky, kx) reads a contiguous run: out[oy][ox] = Σ w · Q[ry][rx][oy + ay][ox + ax].
// Output rows are computed four at a time, two vectors wide (one row four vectors wide for
// the rows left over), with the taps accumulated in registers; 16-lane vectors on AVX-512.
// Compiled per ISA like the pointwise kernels.
#include "CKernels.h"

#define INLINE static inline __attribute__((always_inline))

typedef float v8 __attribute__((vector_size(32), aligned(4)));
#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2")))
#define T256 __attribute__((target("avx2,fma")))
#endif

#define DW_BODY(NAME, VEC, VL) \
INLINE void NAME(const float *x, int H, int W, const float *w, int kH, int kW, int sH, int sW, \
                    int pH, int pW, int dH, int dW, const float *bias, float *out, int OH, int OW, \
                    int c0, int c1, float *scratch) { \
    const int PH = H + 2 * pH, PW = W + 2 * pW; \
    const int QH = (PH + sH - 1) / sH, QW = (PW + sW - 1) / sW; \
    const long planeQ = (long)QH * QW; \
    float *q = scratch;                              /* (sH, sW, QH, QW) + QW slack */ \
    const int taps = kH * kW; \
    /* Tap (ky, kx) -> its phase plane + row / column shift within q: the same for every */ \
    /* channel (computed per channel, its divisions cost more than a small plane's taps). */ \
    long toff[taps]; \
    for (int ky = 0; ky < kH; ky++) { \
        const int ry = (ky * dH) % sH, ay = (ky * dH) / sH; \
        for (int kx = 0; kx < kW; kx++) { \
            const int rx = (kx * dW) % sW, ax = (kx * dW) / sW; \
            toff[ky * kW + kx] = ((long)ry * sW + rx) * planeQ + (long)ay * QW + ax; \
        } \
    } \
    /* The padding's zeros sit at the same places in every channel's phase planes, and the */ \
    /* slack after them is read by the last taps: zeroed once, then each channel writes */ \
    /* only its pixels. */ \
    __builtin_memset(q, 0, sizeof(float) * (size_t)(sH * sW * planeQ + QW)); \
    for (int c = c0; c < c1; c++) { \
        const float *plane = x + (long)c * H * W; \
        const float *wc = w + (long)c * kH * kW; \
        for (int ry = 0; ry < sH; ry++) \
            for (int rx = 0; rx < sW; rx++) { \
                float *qp = q + ((long)ry * sW + rx) * planeQ; \
                /* Columns t with 0 <= t·sW + rx − pW < W are [tLo, tHi). */ \
                int tLo = pW - rx > 0 ? (pW - rx + sW - 1) / sW : 0; \
                int tHi = (W + pW - rx + sW - 1) / sW; \
                if (tHi > QW) tHi = QW; \
                if (tLo > tHi) tLo = tHi; \
                for (int yq = 0; yq < QH; yq++) { \
                    int iy = yq * sH + ry - pH; \
                    if (iy < 0 || iy >= H) continue; \
                    float *dst = qp + (long)yq * QW; \
                    const float *src = plane + (long)iy * W; \
                    if (sW == 1) { \
                        __builtin_memcpy(dst + tLo, src + tLo + rx - pW, (size_t)(tHi - tLo) * sizeof(float)); \
                    } else { \
                        for (int t = tLo; t < tHi; t++) dst[t] = src[t * sW + rx - pW]; \
                    } \
                } \
            } \
        /* Each output row is a run of vectors kept in registers across all taps (one store per */ \
        /* output, where a pass per tap over the whole plane loaded and stored it kH·kW times): */ \
        /* tap t reads phase plane row oy + ay at column ox + ax, contiguous in ox. Summed in */ \
        /* the same order as a pass per tap, the bias added last. */ \
        float *o = out + (long)c * OH * OW; \
        const float b = bias ? bias[c] : 0.0f; \
        VEC bv; for (int l = 0; l < VL; l++) bv[l] = b; \
        const v8 bv8 = {b, b, b, b, b, b, b, b}; \
        /* Four output rows at a time: one tap's multiply-adds for four rows and two vectors are */ \
        /* eight independent chains (a single row's narrow runs left one or two, each waiting on */ \
        /* the previous tap's result). Every output still sums its taps in order, bias last. */ \
        int oy = 0; \
        for (; oy + 4 <= OH; oy += 4) { \
            const float *qrow = q + (long)oy * QW; \
            float *orow = o + (long)oy * OW; \
            int ox = 0; \
            for (; ox + 2 * VL <= OW; ox += 2 * VL) { \
                VEC a[4][2]; \
                for (int r = 0; r < 4; r++) { a[r][0] = (VEC){0}; a[r][1] = (VEC){0}; } \
                for (int t = 0; t < taps; t++) { \
                    const float wt = wc[t]; \
                    VEC wv; for (int l = 0; l < VL; l++) wv[l] = wt; \
                    const float *src = qrow + toff[t] + ox; \
                    for (int r = 0; r < 4; r++) { \
                        a[r][0] += wv * *(const VEC *)(src + (long)r * QW); \
                        a[r][1] += wv * *(const VEC *)(src + (long)r * QW + VL); \
                    } \
                } \
                for (int r = 0; r < 4; r++) { \
                    *(VEC *)(orow + (long)r * OW + ox) = a[r][0] + bv; \
                    *(VEC *)(orow + (long)r * OW + ox + VL) = a[r][1] + bv; \
                } \
            } \
            for (; ox + VL <= OW; ox += VL) { /* one vector left: still four chains */ \
                VEC a[4]; \
                for (int r = 0; r < 4; r++) a[r] = (VEC){0}; \
                for (int t = 0; t < taps; t++) { \
                    const float wt = wc[t]; \
                    VEC wv; for (int l = 0; l < VL; l++) wv[l] = wt; \
                    const float *src = qrow + toff[t] + ox; \
                    for (int r = 0; r < 4; r++) a[r] += wv * *(const VEC *)(src + (long)r * QW); \
                } \
                for (int r = 0; r < 4; r++) *(VEC *)(orow + (long)r * OW + ox) = a[r] + bv; \
            } \
            for (; ox + 8 <= OW; ox += 8) { \
                v8 a[4]; \
                for (int r = 0; r < 4; r++) a[r] = (v8){0}; \
                for (int t = 0; t < taps; t++) { \
                    const float wt = wc[t]; \
                    const v8 wv = {wt, wt, wt, wt, wt, wt, wt, wt}; \
                    const float *src = qrow + toff[t] + ox; \
                    for (int r = 0; r < 4; r++) a[r] += wv * *(const v8 *)(src + (long)r * QW); \
                } \
                for (int r = 0; r < 4; r++) *(v8 *)(orow + (long)r * OW + ox) = a[r] + bv8; \
            } \
            for (int r = 0; r < 4; r++) \
                for (int x = ox; x < OW; x++) { \
                    float acc = 0.0f; \
                    for (int t = 0; t < taps; t++) acc += wc[t] * qrow[(long)r * QW + toff[t] + x]; \
                    orow[(long)r * OW + x] = acc + b; \
                } \
        } \
        for (; oy < OH; oy++) { \
            const float *qrow = q + (long)oy * QW; \
            float *orow = o + (long)oy * OW; \
            int ox = 0; \
            for (; ox + 4 * VL <= OW; ox += 4 * VL) { \
                VEC a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}; \
                for (int t = 0; t < taps; t++) { \
                    const float wt = wc[t]; \
                    VEC wv; for (int l = 0; l < VL; l++) wv[l] = wt; \
                    const float *src = qrow + toff[t] + ox; \
                    a0 += wv * *(const VEC *)src; \
                    a1 += wv * *(const VEC *)(src + VL); \
                    a2 += wv * *(const VEC *)(src + 2 * VL); \
                    a3 += wv * *(const VEC *)(src + 3 * VL); \
                } \
                *(VEC *)(orow + ox) = a0 + bv; \
                *(VEC *)(orow + ox + VL) = a1 + bv; \
                *(VEC *)(orow + ox + 2 * VL) = a2 + bv; \
                *(VEC *)(orow + ox + 3 * VL) = a3 + bv; \
            } \
            /* The rest 8 columns at a time (two chains: a tap's multiply-add waits on the previous */ \
            /* tap's), then one by one. */ \
            for (; ox + 16 <= OW; ox += 16) { \
                v8 c0 = {0}, c1 = {0}; \
                for (int t = 0; t < taps; t++) { \
                    const float wt = wc[t]; \
                    const v8 wv = {wt, wt, wt, wt, wt, wt, wt, wt}; \
                    c0 += wv * *(const v8 *)(qrow + toff[t] + ox); \
                    c1 += wv * *(const v8 *)(qrow + toff[t] + ox + 8); \
                } \
                *(v8 *)(orow + ox) = c0 + bv8; \
                *(v8 *)(orow + ox + 8) = c1 + bv8; \
            } \
            for (; ox + 8 <= OW; ox += 8) { \
                v8 c0 = {0}; \
                for (int t = 0; t < taps; t++) { \
                    const float wt = wc[t]; \
                    const v8 wv = {wt, wt, wt, wt, wt, wt, wt, wt}; \
                    c0 += wv * *(const v8 *)(qrow + toff[t] + ox); \
                } \
                *(v8 *)(orow + ox) = c0 + bv8; \
            } \
            for (; ox < OW; ox++) { \
                float a = 0.0f; \
                for (int t = 0; t < taps; t++) a += wc[t] * qrow[toff[t] + ox]; \
                orow[ox] = a + b; \
            } \
        } \
    } \
}

typedef float v16 __attribute__((vector_size(64), aligned(4)));
// Output rows 4 vectors at a time: on AVX-512 4 × 16 columns, so twice the independent
// multiply-adds per tap (each accumulator's chain waits on its previous tap).
DW_BODY(dw_body, v8, 8)
#if defined(__x86_64__)
DW_BODY(dw_body16, v16, 16)
#endif

#define DW_ALL(PREFIX, ATTR) \
    ATTR static void PREFIX##_dw(const float *x, int H, int W, const float *w, int kH, int kW, int sH, int sW, \
        int pH, int pW, int dH, int dW, const float *bias, float *out, int OH, int OW, int c0, int c1, float *ph) { \
        dw_body(x, H, W, w, kH, kW, sH, sW, pH, pW, dH, dW, bias, out, OH, OW, c0, c1, ph); }

#define DW_ALL16(PREFIX, ATTR) \
    ATTR static void PREFIX##_dw(const float *x, int H, int W, const float *w, int kH, int kW, int sH, int sW, \
        int pH, int pW, int dH, int dW, const float *bias, float *out, int OH, int OW, int c0, int c1, float *ph) { \
        dw_body16(x, H, W, w, kH, kW, sH, sW, pH, pW, dH, dW, bias, out, OH, OW, c0, c1, ph); }

DW_ALL(base, )
#if defined(__x86_64__)
DW_ALL(avx2, T256)
DW_ALL16(avx512, T512)
#endif

int sl_depthwise_conv2d(int isa, const float *x, int H, int W, const float *w, int kH, int kW,
                        int sH, int sW, int pH, int pW, int dH, int dW, const float *bias, float *out,
                        int OH, int OW, int c0, int c1) {
    const long PH = H + 2 * pH, PW = W + 2 * pW;
    const long QH = (PH + sH - 1) / sH, QW = (PW + sW - 1) / sW;
    float *ph = sl_thread_scratch(2, (size_t)(sH * sW * QH * QW + QW));
    if (!ph) return -1;
#if defined(__x86_64__)
    if (isa == SL_ISA_AVX512) { avx512_dw(x, H, W, w, kH, kW, sH, sW, pH, pW, dH, dW, bias, out, OH, OW, c0, c1, ph); return 0; }
    if (isa == SL_ISA_AVX2) { avx2_dw(x, H, W, w, kH, kW, sH, sW, pH, pW, dH, dW, bias, out, OH, OW, c0, c1, ph); return 0; }
#endif
    (void)isa;
    base_dw(x, H, W, w, kH, kW, sH, sW, pH, pW, dH, dW, bias, out, OH, OW, c0, c1, ph);
    return 0;
}
