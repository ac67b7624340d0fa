// 1×1 convolutions (stride 1) as small GEMMs with pre-packed weights and a fused epilogue,
// for the MobileNet-style networks (MobileNetV2, SSDLite, PP-OCR's LCNet/HGNet): K and N of
// 6-960 channels, where the general GEMM spends more time packing the activations, storing
// C and re-reading it for the bias / activation pass than multiplying. Here the activations
// are read in place (never packed), the weights are packed once at load in the layout the
// micro-kernel reads, and bias, activation and residual are applied while the tile is in
// registers. Two layouts:
//   channels-last  x (pixels, K) -> y (pixels, N); weights packed as NR-column panels (K, NR)
//   channels-first x (K, pixels) -> y (N, pixels); weights packed as MR-row panels (K, MR)
// Tiles: AVX-512 8 × 32, AVX2+FMA 6 × 16, portable 6 × 8 (4-wide vectors; aarch64 too); when
// the channels are a multiple of three vectors but not of two (24 on AVX2), 8 × 48 / 3 × 24 / 3 × 12 (16 registers: 3 × 3 accumulators, 3 weight vectors, 1 broadcast).
// The micro-kernel source (pointwise_conv_tile.h) is one body compiled once per ISA.
#include "CKernels.h"
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

// Weights up to this many floats per column chunk stay in L2 (256 KiB of the 512 KiB-1 MiB
// per core here) while the pixel tiles sweep them.
#define PWC_L2_FLOATS (64L * 1024)

// Channels-first input row r (of K): from the row table when the caller gave one (shifted
// views of a padded image), else ldx floats apart.
INLINE const float *pwc_input_row(const sl_pointwise_args *g, int r) { return g->rows ? g->rows[r] : g->x + (long)r * g->ldx; }

typedef void (*pwc_tile_fn)(int k, const float *a, long lda, const float *b, int panels, const float *bias,
                            float *c, long ldc, const float *res, long ldr);

typedef float pwc_v4 __attribute__((vector_size(16), aligned(4)));
#define PWC(name) base_pwc_##name
#define PWC_ATTR
#define PWC_VEC pwc_v4
#define PWC_VL 4
#define PWC_MR 6
#define PWC_MR3 3
#include "pointwise_conv_tile.h"
#undef PWC
#undef PWC_ATTR
#undef PWC_VEC
#undef PWC_VL
#undef PWC_MR
#undef PWC_MR3

#if defined(__x86_64__)
typedef float pwc_v8 __attribute__((vector_size(32), aligned(4)));
#define PWC(name) avx2_pwc_##name
#define PWC_ATTR __attribute__((target("avx2,fma")))
#define PWC_VEC pwc_v8
#define PWC_VL 8
#define PWC_MR 6
#define PWC_MR3 3
#include "pointwise_conv_tile.h"
#undef PWC
#undef PWC_ATTR
#undef PWC_VEC
#undef PWC_VL
#undef PWC_MR
#undef PWC_MR3

typedef float pwc_v16 __attribute__((vector_size(64), aligned(4)));
#define PWC(name) avx512_pwc_##name
#define PWC_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2")))
#define PWC_VEC pwc_v16
#define PWC_VL 16
#define PWC_MR 8
#define PWC_MR3 8
#include "pointwise_conv_tile.h"
#undef PWC
#undef PWC_ATTR
#undef PWC_VEC
#undef PWC_VL
#undef PWC_MR
#undef PWC_MR3
#endif

static int vector_lanes(int isa) { return isa == SL_ISA_AVX512 ? 16 : isa == SL_ISA_AVX2 ? 8 : 4; }
int sl_pointwise_mr(int isa) { return isa == SL_ISA_AVX512 ? 8 : 6; }
int sl_pointwise_nr(int isa) { return 2 * vector_lanes(isa); }

int sl_pointwise_layer_isa(int isa, int layout, int n) {
    // Channels-last, AVX-512 tiles are 32 or 48 output channels wide. A count of neither
    // multiple (MobileNet's 16- and 24-channel projections, detector heads of 6-24) would
    // end in a partial tile, computed into a stack tile and copied out: on a 56 × 56 layer
    // that copy took longer than the products. AVX2's 16- and 24-wide tiles fit them exactly.
    if (isa == SL_ISA_AVX512 && layout == SL_PWC_CHANNELS_LAST && n % 32 != 0 && n % 48 != 0) return SL_ISA_AVX2;
    return isa;
}

int sl_pointwise_panel_width(int isa, int layout, int n) {
    if (layout == SL_PWC_CHANNELS_FIRST) return sl_pointwise_mr(isa);
    const int vl = vector_lanes(isa);
    return n % (3 * vl) == 0 && n % (2 * vl) != 0 ? 3 * vl : 2 * vl; // as drive_last chooses
}

int sl_pointwise_pixel_tile(int isa, int layout, int n) {
    if (layout == SL_PWC_CHANNELS_FIRST) return sl_pointwise_nr(isa);
    return sl_pointwise_panel_width(isa, layout, n) == 3 * vector_lanes(isa) ? (isa == SL_ISA_AVX512 ? 8 : 3)
                                                                               : sl_pointwise_mr(isa);
}

size_t sl_pointwise_packed_floats(int isa, int layout, int k, int n) {
    size_t width = (size_t)sl_pointwise_panel_width(isa, layout, n);
    return ((size_t)n + width - 1) / width * width * (size_t)k;
}

void sl_pointwise_pack(int isa, int layout, int k, int n, const float *w, float *packed) {
    const int width = sl_pointwise_panel_width(isa, layout, n);
    memset(packed, 0, sizeof(float) * sl_pointwise_packed_floats(isa, layout, k, n));
    for (int o = 0; o < n; o++)
        for (int p = 0; p < k; p++)
            packed[(size_t)(o / width) * (size_t)k * width + (size_t)p * width + o % width] = w[(size_t)o * k + p];
}

int sl_pointwise_conv(const sl_pointwise_args *args, int p0, int p1) {
    if (p0 >= p1) return 0;
    const int first = args->layout == SL_PWC_CHANNELS_FIRST;
#if defined(__x86_64__)
    if (args->isa == SL_ISA_AVX512) {
        if (first) return avx512_pwc_drive_first(args, p0, p1);
        avx512_pwc_drive_last(args, p0, p1);
        return 0;
    }
    if (args->isa == SL_ISA_AVX2) {
        if (first) return avx2_pwc_drive_first(args, p0, p1);
        avx2_pwc_drive_last(args, p0, p1);
        return 0;
    }
#endif
    if (first) return base_pwc_drive_first(args, p0, p1);
    base_pwc_drive_last(args, p0, p1);
    return 0;
}
