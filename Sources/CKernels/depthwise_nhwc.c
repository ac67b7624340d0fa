// Depthwise conv2d on channels-last planes (H, W, C), the layout TensorFlow's MobileNet
// graphs use: for each output pixel the C channels are contiguous, so one tap is one
// multiply-add over a channel vector, kept in registers across the kH·kW taps (8 channels
// per vector, the tail scalar) and written once with the bias and an optional ReLU6. Padding
// is given as the rows / columns before the data (TensorFlow's SAME puts the odd one after),
// and taps outside the input are skipped, so no padded copy is made. Compiled per ISA like
// the other kernels; the output rows [oy0, oy1) let the caller split the work. 3×3 (every
// MobileNet depthwise) gets its own copy with the tap loops unrolled. The input may also be a
// ring of `ring` rows (input row iy in slot iy % ring) and the output a band starting at row
// oyBase: the fused inverted-residual block keeps only the rows a band needs in L2.
#include "CKernels.h"

#define INLINE static inline __attribute__((always_inline))
#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2")))
#define T256 __attribute__((target("avx2,fma")))
#endif

typedef float v8 __attribute__((vector_size(32), aligned(4)));

// Stride 1, three taps wide: interior output columns eight at a time, one channel vector at
// a time. Each input column of a kernel row is loaded once and multiplied into the up to
// three outputs that read it (ten loads and three weights per 24 multiply-adds, against 30
// loads in the four-column loop), with eight independent accumulators. Returns the first
// column it did not compute.
#define DWN_EIGHT(NAME, VEC, VL) \
INLINE int NAME(const float *xs, const long *roff, int ky0, int ky1, int C, const float *w, \
                             const float *bias, int relu6, float *orow, int ox, int oxB, int padL) { \
    VEC zero, six; for (int l = 0; l < VL; l++) { zero[l] = 0; six[l] = 6; } \
    const int CV = C - C % VL; \
    for (; ox + 8 <= oxB; ox += 8) { \
        const int ix0 = ox - padL; \
        float *o = orow + (long)ox * C; \
        for (int c = 0; c < CV; c += VL) { \
            VEC acc[8]; \
            for (int j = 0; j < 8; j++) acc[j] = bias ? *(const VEC *)(bias + c) : zero; \
            for (int ky = ky0; ky < ky1; ky++) { \
                const float *xr = xs + roff[ky] + (long)ix0 * C + c; \
                const float *wr = w + (long)ky * 3 * C + c; \
                const VEC w0 = *(const VEC *)wr, w1 = *(const VEC *)(wr + C), w2 = *(const VEC *)(wr + 2 * C); \
                /* One pointer stepped column by column: with ten offsets of the runtime stride C */ \
                /* the compiler ran out of registers and reloaded addresses from the stack. */ \
                const float *xp = xr; \
                _Pragma("clang loop unroll(full)") \
                for (int j = 0; j < 10; j++, xp += C) { \
                    __asm__("" : "+r"(xp)); \
                    const VEC xv = *(const VEC *)xp; \
                    if (j < 8) acc[j] += xv * w0; \
                    if (j >= 1 && j < 9) acc[j - 1] += xv * w1; \
                    if (j >= 2) acc[j - 2] += xv * w2; \
                } \
            } \
            for (int j = 0; j < 8; j++) { \
                VEC y = acc[j]; \
                if (relu6) y = __builtin_elementwise_min(__builtin_elementwise_max(y, zero), six); \
                *(VEC *)(o + (long)j * C + c) = y; \
            } \
        } \
        for (int c = CV; c < C; c++) { \
            for (int j = 0; j < 8; j++) { \
                float a = bias ? bias[c] : 0.0f; \
                for (int ky = ky0; ky < ky1; ky++) \
                    for (int kx = 0; kx < 3; kx++) a += xs[roff[ky] + ((long)ix0 + j + kx) * C + c] * w[((long)ky * 3 + kx) * C + c]; \
                if (relu6) a = a < 0 ? 0 : (a > 6 ? 6 : a); \
                o[(long)j * C + c] = a; \
            } \
        } \
    } \
    return ox; \
}

typedef float v16 __attribute__((vector_size(64), aligned(4)));
// One channel vector of 8 lanes, or of 16 on AVX-512 (every MobileNet channel count is a
// multiple of 16; the 8-lane kernel used half of each AVX-512 multiply-add there).
DWN_EIGHT(dwn_eight_columns, v8, 8)
DWN_EIGHT(dwn_eight_columns16, v16, 16)

INLINE void dwn_body(const float *xs, int ring, int H, int W, int C, const float *w, int kH, int kW, int sH, int sW,
                     int padT, int padL, const float *bias, int relu6, float *outs, int oyBase, int OW, int oy0, int oy1,
                     const int wide) {
    const v8 zero = {0, 0, 0, 0, 0, 0, 0, 0};
    const v8 six = {6, 6, 6, 6, 6, 6, 6, 6};
    const int C8 = C - C % 8;
    for (int oy = oy0; oy < oy1; oy++) {
        const int iy0 = oy * sH - padT;
        const int ky0 = iy0 < 0 ? -iy0 : 0, ky1 = iy0 + kH > H ? H - iy0 : kH;
        // Input row iy0 + ky sits in slot (iy0 + ky) % ring; its offset is computed once per output row.
        long roff[kH];
        for (int ky = ky0; ky < ky1; ky++) roff[ky] = (long)((iy0 + ky) % ring) * W * C;
        // Output columns whose taps all lie inside the row, four at a time: each weight vector
        // is loaded once for four outputs (1.25 loads per multiply-add instead of 2).
        int oxA = (padL + sW - 1) / sW; // first ox with ix0 >= 0
        int oxB = W - kW + padL >= 0 ? (W - kW + padL) / sW + 1 : 0; // past the last ox with ix0 + kW <= W
        if (oxB > OW) oxB = OW;
        if (oxA > oxB) oxA = oxB;
        int ox = 0;
        for (; ox < OW; ox++) {
            if (ox == oxA) {
                if (kW == 3 && sW == 1 && wide && C % 16 == 0)
                    ox = dwn_eight_columns16(xs, roff, ky0, ky1, C, w, bias, relu6, outs + (long)(oy - oyBase) * OW * C, ox, oxB, padL);
                else if (kW == 3 && sW == 1)
                    ox = dwn_eight_columns(xs, roff, ky0, ky1, C, w, bias, relu6, outs + (long)(oy - oyBase) * OW * C, ox, oxB, padL);
                for (; ox + 4 <= oxB; ox += 4) {
                    const int ix0 = ox * sW - padL;
                    float *o = outs + ((long)(oy - oyBase) * OW + ox) * C;
                    const long step = (long)sW * C, ostep = C;
                    int c = 0;
                    // Two channel vectors at once: eight independent accumulators cover the
                    // FMA latency, which four chains of nine dependent multiply-adds do not.
                    for (; c + 16 <= C8; c += 16) {
                        v8 a0 = bias ? *(const v8 *)(bias + c) : zero, a1 = a0, a2 = a0, a3 = a0;
                        v8 b0 = bias ? *(const v8 *)(bias + c + 8) : zero, b1 = b0, b2 = b0, b3 = b0;
                        for (int ky = ky0; ky < ky1; ky++) {
                            const float *xr = xs + roff[ky] + (long)ix0 * C + c;
                            const float *wr = w + (long)ky * kW * C + c;
                            for (int kx = 0; kx < kW; kx++) {
                                const v8 wv = *(const v8 *)(wr + (long)kx * C), wu = *(const v8 *)(wr + (long)kx * C + 8);
                                const float *xp = xr + (long)kx * C;
                                a0 += *(const v8 *)xp * wv;
                                b0 += *(const v8 *)(xp + 8) * wu;
                                a1 += *(const v8 *)(xp + step) * wv;
                                b1 += *(const v8 *)(xp + step + 8) * wu;
                                a2 += *(const v8 *)(xp + 2 * step) * wv;
                                b2 += *(const v8 *)(xp + 2 * step + 8) * wu;
                                a3 += *(const v8 *)(xp + 3 * step) * wv;
                                b3 += *(const v8 *)(xp + 3 * step + 8) * wu;
                            }
                        }
                        if (relu6) {
                            a0 = __builtin_elementwise_min(__builtin_elementwise_max(a0, zero), six);
                            a1 = __builtin_elementwise_min(__builtin_elementwise_max(a1, zero), six);
                            a2 = __builtin_elementwise_min(__builtin_elementwise_max(a2, zero), six);
                            a3 = __builtin_elementwise_min(__builtin_elementwise_max(a3, zero), six);
                            b0 = __builtin_elementwise_min(__builtin_elementwise_max(b0, zero), six);
                            b1 = __builtin_elementwise_min(__builtin_elementwise_max(b1, zero), six);
                            b2 = __builtin_elementwise_min(__builtin_elementwise_max(b2, zero), six);
                            b3 = __builtin_elementwise_min(__builtin_elementwise_max(b3, zero), six);
                        }
                        *(v8 *)(o + c) = a0; *(v8 *)(o + c + 8) = b0;
                        *(v8 *)(o + ostep + c) = a1; *(v8 *)(o + ostep + c + 8) = b1;
                        *(v8 *)(o + 2 * ostep + c) = a2; *(v8 *)(o + 2 * ostep + c + 8) = b2;
                        *(v8 *)(o + 3 * ostep + c) = a3; *(v8 *)(o + 3 * ostep + c + 8) = b3;
                    }
                    for (; c < C8; c += 8) {
                        v8 a0 = bias ? *(const v8 *)(bias + c) : zero, a1 = a0, a2 = a0, a3 = a0;
                        for (int ky = ky0; ky < ky1; ky++) {
                            const float *xr = xs + roff[ky] + (long)ix0 * C + c;
                            const float *wr = w + (long)ky * kW * C + c;
                            for (int kx = 0; kx < kW; kx++) {
                                const v8 wv = *(const v8 *)(wr + (long)kx * C);
                                const float *xp = xr + (long)kx * C;
                                a0 += *(const v8 *)xp * wv;
                                a1 += *(const v8 *)(xp + step) * wv;
                                a2 += *(const v8 *)(xp + 2 * step) * wv;
                                a3 += *(const v8 *)(xp + 3 * step) * wv;
                            }
                        }
                        if (relu6) {
                            a0 = __builtin_elementwise_min(__builtin_elementwise_max(a0, zero), six);
                            a1 = __builtin_elementwise_min(__builtin_elementwise_max(a1, zero), six);
                            a2 = __builtin_elementwise_min(__builtin_elementwise_max(a2, zero), six);
                            a3 = __builtin_elementwise_min(__builtin_elementwise_max(a3, zero), six);
                        }
                        *(v8 *)(o + c) = a0;
                        *(v8 *)(o + ostep + c) = a1;
                        *(v8 *)(o + 2 * ostep + c) = a2;
                        *(v8 *)(o + 3 * ostep + c) = a3;
                    }
                    for (int c = C8; c < C; c++) {
                        for (int j = 0; j < 4; j++) {
                            float acc = bias ? bias[c] : 0.0f;
                            for (int ky = ky0; ky < ky1; ky++)
                                for (int kx = 0; kx < kW; kx++)
                                    acc += xs[roff[ky] + ((long)ix0 + j * sW + kx) * C + c] * w[((long)ky * kW + kx) * C + c];
                            if (relu6) acc = acc < 0 ? 0 : (acc > 6 ? 6 : acc);
                            o[j * ostep + c] = acc;
                        }
                    }
                }
                if (ox >= OW) break;
            }
            const int ix0 = ox * sW - padL;
            const int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = ix0 + kW > W ? W - ix0 : kW;
            float *o = outs + ((long)(oy - oyBase) * OW + ox) * C;
            // One column (the edges, and interior columns left over from the groups of four):
            // four channel vectors at a time, so four independent chains hide the multiply-add
            // latency that one chain of up to nine dependent taps waits on.
            int c = 0;
            for (; c + 32 <= C8; c += 32) {
                v8 a0 = bias ? *(const v8 *)(bias + c) : zero, a1 = bias ? *(const v8 *)(bias + c + 8) : zero;
                v8 a2 = bias ? *(const v8 *)(bias + c + 16) : zero, a3 = bias ? *(const v8 *)(bias + c + 24) : zero;
                for (int ky = ky0; ky < ky1; ky++) {
                    const float *xr = xs + roff[ky] + (long)ix0 * C + c;
                    const float *wr = w + (long)ky * kW * C + c;
                    for (int kx = kx0; kx < kx1; kx++) {
                        const float *xp = xr + (long)kx * C, *wp = wr + (long)kx * C;
                        a0 += *(const v8 *)xp * *(const v8 *)wp;
                        a1 += *(const v8 *)(xp + 8) * *(const v8 *)(wp + 8);
                        a2 += *(const v8 *)(xp + 16) * *(const v8 *)(wp + 16);
                        a3 += *(const v8 *)(xp + 24) * *(const v8 *)(wp + 24);
                    }
                }
                if (relu6) {
                    a0 = __builtin_elementwise_min(__builtin_elementwise_max(a0, zero), six);
                    a1 = __builtin_elementwise_min(__builtin_elementwise_max(a1, zero), six);
                    a2 = __builtin_elementwise_min(__builtin_elementwise_max(a2, zero), six);
                    a3 = __builtin_elementwise_min(__builtin_elementwise_max(a3, zero), six);
                }
                *(v8 *)(o + c) = a0; *(v8 *)(o + c + 8) = a1; *(v8 *)(o + c + 16) = a2; *(v8 *)(o + c + 24) = a3;
            }
            for (; c < C8; c += 8) {
                v8 acc = bias ? *(const v8 *)(bias + c) : zero;
                for (int ky = ky0; ky < ky1; ky++) {
                    const float *xr = xs + roff[ky] + (long)ix0 * C + c;
                    const float *wr = w + (long)ky * kW * C + c;
                    for (int kx = kx0; kx < kx1; kx++) acc += *(const v8 *)(xr + (long)kx * C) * *(const v8 *)(wr + (long)kx * C);
                }
                if (relu6) acc = __builtin_elementwise_min(__builtin_elementwise_max(acc, zero), six);
                *(v8 *)(o + c) = acc;
            }
            for (c = C8; c < C; c++) {
                float acc = bias ? bias[c] : 0.0f;
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        acc += xs[roff[ky] + ((long)ix0 + kx) * C + c] * w[((long)ky * kW + kx) * C + c];
                if (relu6) acc = acc < 0 ? 0 : (acc > 6 ? 6 : acc);
                o[c] = acc;
            }
        }
    }
}

#define DWN_ALL(PREFIX, ATTR, WIDE) \
    ATTR static void PREFIX##_dwn(const float *x, int ring, int H, int W, int C, const float *w, int kH, int kW, int sH, int sW, \
        int padT, int padL, const float *bias, int relu6, float *out, int oyBase, int OW, int oy0, int oy1) { \
        if (kH == 3 && kW == 3) dwn_body(x, ring, H, W, C, w, 3, 3, sH, sW, padT, padL, bias, relu6, out, oyBase, OW, oy0, oy1, WIDE); \
        else dwn_body(x, ring, H, W, C, w, kH, kW, sH, sW, padT, padL, bias, relu6, out, oyBase, OW, oy0, oy1, WIDE); }

DWN_ALL(base, , 0)
#if defined(__x86_64__)
DWN_ALL(avx2, T256, 0)
DWN_ALL(avx512, T512, 1)
#endif

void sl_depthwise_conv2d_nhwc_ring(int isa, const float *x, int ring, int H, int W, int C, const float *w, int kH, int kW,
                                   int sH, int sW, int padT, int padL, const float *bias, int relu6, float *out,
                                   int OW, int oy0, int oy1) {
    if (oy1 <= oy0) return;
#if defined(__x86_64__)
    if (isa == SL_ISA_AVX512) { avx512_dwn(x, ring, H, W, C, w, kH, kW, sH, sW, padT, padL, bias, relu6, out, oy0, OW, oy0, oy1); return; }
    if (isa == SL_ISA_AVX2) { avx2_dwn(x, ring, H, W, C, w, kH, kW, sH, sW, padT, padL, bias, relu6, out, oy0, OW, oy0, oy1); return; }
#endif
    (void)isa;
    base_dwn(x, ring, H, W, C, w, kH, kW, sH, sW, padT, padL, bias, relu6, out, oy0, OW, oy0, oy1);
}

void sl_depthwise_conv2d_nhwc(int isa, const float *x, int H, int W, int C, const float *w, int kH, int kW,
                              int sH, int sW, int padT, int padL, const float *bias, int relu6, float *out,
                              int OW, int oy0, int oy1) {
    if (oy1 <= oy0) return;
    sl_depthwise_conv2d_nhwc_ring(isa, x, H, H, W, C, w, kH, kW, sH, sW, padT, padL, bias, relu6,
                                  out + (long)oy0 * OW * C, OW, oy0, oy1);
}
