// 3×3 convolution, stride 1, padding 1, channels-first, by Winograd's F(2×2, 3×3) (Lavin &
// Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 2×2 block of output
// pixels is Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A over the 4×4 input patch d around it, so the
// products per output pixel fall from 9·Cin to 4·Cin. The weights are transformed once
// (U = G g Gᵀ, 16 matrices of Cin × Cout); per row of tiles the patches are transformed
// (V: 16 matrices of Cin × tiles, tiles along the vector lanes), multiplied
// (M[ξ] = U[ξ] · V[ξ], Cout × tiles, accumulators held in registers for a block of output
// channels), and transformed back with bias and activation. Rounding differs from the direct
// sum by a few units in the last place of the larger terms.
//
// Tiles are read through even / odd column splits of each padded input row, so that the
// four columns of tile t are E[t], O[t], E[t+1], O[t+1]: contiguous runs over t.
#include "CKernels.h"
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2")))
#define T256 __attribute__((target("avx2,fma")))
#else
#define T512
#define T256
#endif

void sl_winograd3x3_weights(const float *w, int cout, int cin, float *u) {
    // G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]; U = G g Gᵀ, stored U[ξ][ci][co] (a kernel
    // step reads one input channel's weights for a block of output channels, side by side).
    const long plane = (long)cout * cin;
    for (int co = 0; co < cout; co++)
        for (int ci = 0; ci < cin; ci++) {
            const float *g = w + ((long)co * cin + ci) * 9;
            float t[4][3];
            for (int j = 0; j < 3; j++) {
                float g0 = g[0 * 3 + j], g1 = g[1 * 3 + j], g2 = g[2 * 3 + j];
                t[0][j] = g0;
                t[1][j] = 0.5f * (g0 + g1 + g2);
                t[2][j] = 0.5f * (g0 - g1 + g2);
                t[3][j] = g2;
            }
            for (int i = 0; i < 4; i++) {
                float r[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
                for (int j = 0; j < 4; j++) u[(long)(i * 4 + j) * plane + (long)ci * cout + co] = r[j];
            }
        }
}

/// Tiles per block: V and M of one block stay in the L2 cache (96 input channels: 196 KiB).
#define TB 32

/// Floats of one padded input row: tiles rounded up to whole blocks, two columns each, the
/// three columns the last tile reads past its own, and a vector's slack.
static long padded_row(int W) { const long tw = (W + 1) / 2; return (tw + TB - 1) / TB * TB * 2 + 2 + 32; }

size_t sl_winograd3x3_scratch_floats(int cin, int cout, int W) {
    // V (16·Cin·TB), M (16·Cout·TB), the four padded input rows of every channel.
    return (size_t)(16L * cin * TB + 16L * cout * TB + 4L * cin * padded_row(W));
}

// One ISA's body: VL lanes, CB output channels held in registers per block. Per block of TB
// tiles of tile row ty: the input transform of every channel into V[ξ][ci][t], the 16
// products M[ξ] = U[ξ] · V[ξ], the output transform into output rows 2ty and 2ty + 1.
#define WINO_BODY(PREFIX, VEC, VL, CB, ATTR, EVENS, ODDS, ZIPLO, ZIPHI) \
ATTR static void PREFIX##_row(const float *x, int cin, int H, int W, const float *u, int cout, const float *bias, int act, \
                              float *y, int ty, float *scratch) { \
    const int tw = (W + 1) / 2; \
    const long rw = padded_row(W); \
    float *V = scratch, *M = V + 16L * cin * TB, *P = M + 16L * cout * TB; \
    const VEC zero = {0}; \
    /* The four input rows of every channel, padded: P[ci][r][k] = x[ci][2ty − 1 + r][k − 1], */ \
    /* zeros outside the picture, so that tile t's columns are P[..][2t .. 2t + 3]. */ \
    for (int ci = 0; ci < cin; ci++) \
        for (int r = 0; r < 4; r++) { \
            float *row = P + ((long)ci * 4 + r) * rw; \
            const int iy = 2 * ty - 1 + r; \
            if (iy < 0 || iy >= H) { memset(row, 0, sizeof(float) * rw); continue; } \
            row[0] = 0; \
            memcpy(row + 1, x + ((long)ci * H + iy) * W, sizeof(float) * W); \
            memset(row + 1 + W, 0, sizeof(float) * (rw - 1 - W)); \
        } \
    for (int t0 = 0; t0 < tw; t0 += TB) { \
        const int nt = tw - t0 < TB ? tw - t0 : TB; \
        const int ntv = (nt + VL - 1) / VL * VL; /* tiles computed: whole vectors */ \
        /* Input transform: V[ξ][ci][t] = (Bᵀ d B)[ξ], the four rows' d B in registers first. */ \
        for (int ci = 0; ci < cin; ci++) \
            for (int tv = 0; tv < ntv; tv += VL) { \
                VEC s[4][4]; \
                for (int r = 0; r < 4; r++) { \
                    const float *row = P + ((long)ci * 4 + r) * rw + 2 * (t0 + tv); \
                    const VEC a = *(const VEC *)row, b = *(const VEC *)(row + VL); \
                    const VEC c = *(const VEC *)(row + 2), e = *(const VEC *)(row + 2 + VL); \
                    const VEC p0 = EVENS(a, b), p1 = ODDS(a, b), p2 = EVENS(c, e), p3 = ODDS(c, e); \
                    s[r][0] = p0 - p2; s[r][1] = p1 + p2; s[r][2] = p2 - p1; s[r][3] = p1 - p3; \
                } \
                float *slot = V + (long)ci * TB + tv; \
                const long step = (long)cin * TB; \
                for (int j = 0; j < 4; j++) { \
                    *(VEC *)(slot + (0 * 4 + j) * step) = s[0][j] - s[2][j]; \
                    *(VEC *)(slot + (1 * 4 + j) * step) = s[1][j] + s[2][j]; \
                    *(VEC *)(slot + (2 * 4 + j) * step) = s[2][j] - s[1][j]; \
                    *(VEC *)(slot + (3 * 4 + j) * step) = s[1][j] - s[3][j]; \
                } \
            } \
        /* M[ξ] = U[ξ] · V[ξ]: CB output channels × one vector of tiles in registers. */ \
        for (int xi = 0; xi < 16; xi++) { \
            const float *Ux = u + (long)xi * cout * cin, *Vx = V + (long)xi * cin * TB; \
            float *Mx = M + (long)xi * cout * TB; \
            for (int c0 = 0; c0 < cout; c0 += CB) { \
                const int cb = cout - c0 < CB ? cout - c0 : CB; \
                for (int tv = 0; tv < ntv; tv += VL) { \
                    VEC acc[CB]; \
                    _Pragma("clang loop unroll(full)") \
                    for (int k = 0; k < CB; k++) acc[k] = zero; \
                    if (cb == CB) { \
                        for (int ci = 0; ci < cin; ci++) { \
                            const VEC v = *(const VEC *)(Vx + (long)ci * TB + tv); \
                            _Pragma("clang loop unroll(full)") \
                            for (int k = 0; k < CB; k++) acc[k] += Ux[(long)ci * cout + c0 + k] * v; \
                        } \
                        _Pragma("clang loop unroll(full)") \
                        for (int k = 0; k < CB; k++) *(VEC *)(Mx + (long)(c0 + k) * TB + tv) = acc[k]; \
                    } else { \
                        for (int ci = 0; ci < cin; ci++) { \
                            const VEC v = *(const VEC *)(Vx + (long)ci * TB + tv); \
                            for (int k = 0; k < cb; k++) acc[k] += Ux[(long)ci * cout + c0 + k] * v; \
                        } \
                        for (int k = 0; k < cb; k++) *(VEC *)(Mx + (long)(c0 + k) * TB + tv) = acc[k]; \
                    } \
                } \
            } \
        } \
        /* Output transform: Y = Aᵀ m A, A = [[1, 0], [1, 1], [1, −1], [0, −1]]; bias, activation; */ \
        /* the two columns of each tile interleaved into the output rows. */ \
        const int rows = 2 * ty + 1 < H ? 2 : 1; \
        for (int co = 0; co < cout; co++) { \
            const VEC bv = zero + (bias ? bias[co] : 0); \
            float *out0 = y + ((long)co * H + 2 * ty) * W, *out1 = out0 + W; \
            for (int tv = 0; tv < ntv; tv += VL) { \
                VEC m[16]; \
                for (int k = 0; k < 16; k++) m[k] = *(const VEC *)(M + ((long)k * cout + co) * TB + tv); \
                VEC s0[4], s1[4]; \
                for (int j = 0; j < 4; j++) { s0[j] = m[j] + m[4 + j] + m[8 + j]; s1[j] = m[4 + j] - m[8 + j] - m[12 + j]; } \
                VEC yv[2][2] = {{s0[0] + s0[1] + s0[2] + bv, s0[1] - s0[2] - s0[3] + bv}, \
                                {s1[0] + s1[1] + s1[2] + bv, s1[1] - s1[2] - s1[3] + bv}}; \
                for (int i = 0; i < rows; i++) \
                    for (int j = 0; j < 2; j++) { \
                        VEC v = yv[i][j]; \
                        if (act == SL_PWC_RELU) v = __builtin_elementwise_max(v, zero); \
                        else if (act == SL_PWC_RELU6) v = __builtin_elementwise_min(__builtin_elementwise_max(v, zero), zero + 6); \
                        else if (act == SL_PWC_HARDSWISH) v = v * __builtin_elementwise_min(__builtin_elementwise_max(v + 3, zero), zero + 6) * (1.0f / 6); \
                        yv[i][j] = v; \
                    } \
                const int x0 = 2 * (t0 + tv); \
                for (int i = 0; i < rows; i++) { \
                    float *dst = (i == 0 ? out0 : out1) + x0; \
                    if (x0 + 2 * VL <= W) { \
                        *(VEC *)dst = ZIPLO(yv[i][0], yv[i][1]); \
                        *(VEC *)(dst + VL) = ZIPHI(yv[i][0], yv[i][1]); \
                    } else { \
                        for (int l = 0; l < VL && x0 + 2 * l < W; l++) { \
                            dst[2 * l] = yv[i][0][l]; \
                            if (x0 + 2 * l + 1 < W) dst[2 * l + 1] = yv[i][1][l]; \
                        } \
                    } \
                } \
            } \
        } \
    } \
}

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef float v4 __attribute__((vector_size(16), aligned(4)));

// The even and the odd lanes of two consecutive vectors.
#define EVENS16(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define ODDS16(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
#define EVENS8(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#define ODDS8(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15)
#define EVENS4(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6)
#define ODDS4(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7)
// a0 b0 a1 b1 …: the first and the second half of two vectors interleaved.
#define ZIPLO16(a, b) __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define ZIPHI16(a, b) __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
#define ZIPLO8(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11)
#define ZIPHI8(a, b) __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15)
#define ZIPLO4(a, b) __builtin_shufflevector(a, b, 0, 4, 1, 5)
#define ZIPHI4(a, b) __builtin_shufflevector(a, b, 2, 6, 3, 7)

WINO_BODY(avx512_wino, v16, 16, 24, T512, EVENS16, ODDS16, ZIPLO16, ZIPHI16)
WINO_BODY(avx2_wino, v8, 8, 12, T256, EVENS8, ODDS8, ZIPLO8, ZIPHI8)
WINO_BODY(base_wino, v4, 4, 8, , EVENS4, ODDS4, ZIPLO4, ZIPHI4)

void sl_winograd3x3_rows(int isa, const float *x, int cin, int H, int W, const float *u, int cout, const float *bias, int act,
                         float *y, int ty0, int ty1, float *scratch) {
    for (int ty = ty0; ty < ty1; ty++) {
#if defined(__x86_64__)
        if (isa == SL_ISA_AVX512) { avx512_wino_row(x, cin, H, W, u, cout, bias, act, y, ty, scratch); continue; }
        if (isa == SL_ISA_AVX2) { avx2_wino_row(x, cin, H, W, u, cout, bias, act, y, ty, scratch); continue; }
#endif
        (void)isa;
        base_wino_row(x, cin, H, W, u, cout, bias, act, y, ty, scratch);
    }
}
