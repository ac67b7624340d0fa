// C micro-kernels for the Kernels target: CPU feature detection and the packed-panel GEMM
// driver with AVX-512 (incl. BF16), AVX2+FMA and portable scalar micro-kernels. Only the
// Kernels Swift target imports this module; it owns threading, scratch policy and the API.
#ifndef SIGHTLINE_CKERNELS_H
#define SIGHTLINE_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set paths. Values are stable: Swift's KernelConfig.ISA mirrors them.
enum {
    SL_ISA_SCALAR = 0, // portable C, auto-vectorised for the baseline target (also aarch64)
    SL_ISA_AVX2 = 1,   // AVX2 + FMA (+ F16C)
    SL_ISA_AVX512 = 2  // AVX-512 F/BW/VL/DQ (+ BF16 when SL_CPU_AVX512BF16 is set)
};

/// CPU feature bits returned by sl_cpu_features().
enum {
    SL_CPU_AVX2_FMA = 1,
    SL_CPU_AVX512 = 2,
    SL_CPU_AVX512BF16 = 4
};

int sl_cpu_features(void);
/// glibc's heap: keep up to `trim_bytes` of freed memory at the top of the heap instead of
/// returning it, and serve blocks below `mmap_bytes` from the heap (0 leaves a setting as
/// it is). 1 when applied, 0 elsewhere (another C library) or when refused.
int sl_heap_keep_freed(int trim_bytes, int mmap_bytes, int arenas);

/// Register-tile sizes of each ISA's micro-kernel (rows of A, columns of B).
int sl_gemm_mr(int isa);
int sl_gemm_nr(int isa);

/// Floats needed to hold B (K x N) packed as NR-wide panels, each K x NR, zero-padded.
size_t sl_packed_b_floats(int isa, int k, int n);

/// Pack B (K x N) into NR-wide panels. If transB is non-zero the storage is (N x K) with
/// row stride ldb -- the PyTorch Linear weight layout (out, in) -- else (K x N).
void sl_pack_b_f32(int isa, int k, int n, const float *b, long ldb, int transB, float *packed);

/// BF16 weights: packed as NR(=32)-wide panels of K-pairs, (ceil(K/2), 32, 2) per panel,
/// for the AVX-512 path only. Input is (N x K) bf16 bits with row stride ldb (transB layout)
/// or (K x N) when transB is zero.
size_t sl_packed_b_bf16_elems(int k, int n);
void sl_pack_b_bf16(int k, int n, const uint16_t *b, long ldb, int transB, uint16_t *packed);
/// The same from fp32 values, each rounded to bf16 (nearest even) as it is packed.
void sl_pack_b_bf16_f32(int k, int n, const float *b, long ldb, int transB, uint16_t *packed);

/// How a bf16-packed GEMM treats the activations.
enum {
    SL_BF16_EXACT_A = 0, // A stays fp32; weights widened to fp32 in registers (exact products)
    SL_BF16_DOT = 1      // A rounded to bf16; vdpbf16ps with fp32 accumulation (2x the FLOPs)
};

typedef struct {
    int isa;
    int m, n, k;
    float alpha, beta;
    const float *a; long lda; int transA; // A is (M x K), or (K x M) storage when transA
    const float *b; long ldb; int transB; // raw B (when packedB and packedB16 are NULL)
    const float *packedB;                 // from sl_pack_b_f32 with the same isa, or NULL
    const uint16_t *packedB16;            // from sl_pack_b_bf16 (AVX-512 only), or NULL
    int bf16Mode;                         // SL_BF16_EXACT_A or SL_BF16_DOT
    float *c; long ldc;                   // C is (M x N)
} sl_gemm_args;

/// C[m0..<m1, n0..<n1] = alpha * op(A) op(B) + beta * C over that block. n0 must be a
/// multiple of sl_gemm_nr(isa) (32 for bf16-packed B). Safe to call concurrently on
/// disjoint blocks; scratch is thread-local and grows once.
void sl_gemm_block(const sl_gemm_args *args, int m0, int m1, int n0, int n1);

// MARK: - Pointwise, normalisation, softmax

enum {
    SL_ACT_GELU_ERF = 0, SL_ACT_GELU_TANH = 1, SL_ACT_SILU = 2, SL_ACT_SIGMOID = 3,
    SL_ACT_RELU = 4, SL_ACT_RELU6 = 5, SL_ACT_HARDSWISH = 6, SL_ACT_HARDSIGMOID = 7,
    SL_ACT_TANH = 8
};

/// y[i] = act(x[i]) for i < n; y may be x itself (in place), else the two must not overlap.
void sl_activation(int isa, int act, const float *x, float *y, long n);
/// Row-wise layer norm of x (rows, cols) into out; gamma/beta (cols) may be NULL.
void sl_layer_norm(int isa, const float *x, int rows, int cols, const float *gamma,
                   const float *beta, float eps, float *out);
/// Row-wise softmax of x (rows, cols) in place.
void sl_softmax(int isa, float *x, int rows, int cols);
/// Vectorised exp approximation (relative error < 2e-7 on [-87, 88]; 0 below).
/// Σ exp(x[j] − max x) over n values; max x is written to *max_out (0 returned when every
/// value is −inf). log-sum-exp = max + log(result).
float sl_sum_exp(int isa, const float *x, int n, float *max_out);
/// Index of the first largest of x[0..<n] (NaNs skipped); 0 when n <= 0 or every element is NaN.
int sl_argmax(int isa, const float *x, int n);
float sl_expf_scalar(float x);

/// Depthwise conv2d of channels [c0, c1): x (C, H, W), w (C, kH, kW), bias (C) or NULL ->
/// out (C, OH, OW). Returns 0, or -1 if its row scratch could not be allocated.
int sl_depthwise_conv2d(int isa, const float *x, int H, int W, const float *w, int kH, int kW,
                        int sH, int sW, int pH, int pW, int dH, int dW, const float *bias, float *out,
                        int OH, int OW, int c0, int c1);

/// Depthwise conv2d on channels-last planes, output rows [oy0, oy1): x (H, W, C), w (kH, kW, C),
/// bias (C) or NULL -> out (OH, OW, C), then ReLU6 when relu6 is non-zero. padT / padL are the
/// zero rows / columns before the data; taps past either edge read zeros.
void sl_depthwise_conv2d_nhwc(int isa, const float *x, int H, int W, int C, const float *w, int kH, int kW,
                              int sH, int sW, int padT, int padL, const float *bias, int relu6, float *out,
                              int OW, int oy0, int oy1);
/// The same over a ring of input rows and into a band of output rows: input row iy is
/// x + (iy % ring) · W · C (rows outside [0, H) read zeros as before; every row the outputs
/// [oy0, oy1) read must be in the ring), and output row oy is out + (oy − oy0) · OW · C.
void sl_depthwise_conv2d_nhwc_ring(int isa, const float *x, int ring, int H, int W, int C, const float *w, int kH, int kW,
                                   int sH, int sW, int padT, int padL, const float *bias, int relu6, float *out,
                                   int OW, int oy0, int oy1);

// MARK: - 3×3 convolution by Winograd F(2×2, 3×3)

/// U (16, cin, cout) from w (cout, cin, 3, 3): the weights in the transformed domain.
void sl_winograd3x3_weights(const float *w, int cout, int cin, float *u);
/// Floats of scratch one caller of `sl_winograd3x3_rows` needs for W-wide rows.
size_t sl_winograd3x3_scratch_floats(int cin, int cout, int W);
/// Stride 1, padding 1 conv of x (cin, H, W) into y (cout, H, W), output rows [2·ty0, 2·ty1)
/// (clipped to H), bias (cout) or NULL, then the SL_PWC_* activation `act`.
void sl_winograd3x3_rows(int isa, const float *x, int cin, int H, int W, const float *u, int cout, const float *bias, int act,
                         float *y, int ty0, int ty1, float *scratch);

// MARK: - Pointwise (1×1) convolution with packed weights and a fused epilogue

enum { SL_PWC_CHANNELS_LAST = 0, SL_PWC_CHANNELS_FIRST = 1 };
/// Epilogue activations (applied after the bias, before the residual is added).
enum { SL_PWC_NONE = 0, SL_PWC_RELU = 1, SL_PWC_RELU6 = 2, SL_PWC_HARDSWISH = 3 };

/// Tile sizes of the pointwise kernel's two-vector tiles: rows (pixels, or channels when
/// channels-first) and columns (channels, or pixels when channels-first).
int sl_pointwise_mr(int isa);
int sl_pointwise_nr(int isa);
/// Width of the packed weight panels for `n` output channels (channels-last: 2 or 3 vectors).
int sl_pointwise_panel_width(int isa, int layout, int n);
/// The path a layer of `n` output channels takes when `isa` is asked for: a narrower one
/// when its tiles fit n exactly and `isa`'s do not. Pack and run with the returned path.
int sl_pointwise_layer_isa(int isa, int layout, int n);
/// Pixels per tile for `n` output channels (what callers split work by).
int sl_pointwise_pixel_tile(int isa, int layout, int n);
/// Floats of a weight (N x K) packed for `isa` and `layout` (zero-padded panels).
size_t sl_pointwise_packed_floats(int isa, int layout, int k, int n);
/// Packs w (N x K, row-major: out, in) for `isa` and `layout` into `packed`.
void sl_pointwise_pack(int isa, int layout, int k, int n, const float *w, float *packed);

typedef struct {
    int isa, layout;
    int k, n;              // input and output channels
    int act;               // SL_PWC_*
    const float *x; long ldx;        // (pixels, K) row stride ldx, or (K, pixels) row stride ldx
    const float *const *rows;        // channels-first only: row r of x at rows[r] (NULL: x + r·ldx)
    const float *packed;             // from sl_pointwise_pack with the same isa and layout
    const float *bias;               // (N) or NULL
    const float *residual; long ldr; // the output's layout, or NULL
    float *y; long ldy;              // (pixels, N) or (N, pixels)
} sl_pointwise_args;

/// y = act(x · Wᵀ + bias) + residual over pixels [p0, p1). Safe to call concurrently on
/// disjoint pixel ranges. Returns 0, or -1 if its scratch could not be allocated.
int sl_pointwise_conv(const sl_pointwise_args *args, int p0, int p1);

/// Thread-local growable scratch, 64-byte aligned, one buffer per slot (0..3) per thread.
/// Slot 0 belongs to the GEMM driver; callers that run GEMMs use slots 1..3. NULL if the
/// allocation failed.
float *sl_thread_scratch(int slot, size_t floats);

// MARK: - Bilinear resize of interleaved RGB bytes (the person detector's pre-processing)

/// One output row of `count` pixels (3 floats each) from its two source rows: per output
/// column the byte offsets of its left and right source pixels and the x weight; the
/// result is scale · (TensorFlow 1's ResizeBilinear value) − 1, in Float32 operation by
/// operation (never fused), so it matches the plain expression exactly. `rowBytes` is the
/// source row's length in bytes.
void sl_bilinear_row_rgb8(int isa, const uint8_t *top, const uint8_t *bottom, float yLerp, const int *left, const int *right,
                          const float *xLerp, int count, int rowBytes, float scale, float *out);

// MARK: - int8 dot products (retrieval's quantised vectors)

/// out[r] = Σ_j q[j]·rows[r·dim + j] for r in [0, n), in int32. Codes must lie in
/// [-127, 127] (the AVX2 path multiplies |q| by ±rows in 16-bit pairs: 2·127² fits).
void sl_dot_i8(int isa, const int8_t *q, const int8_t *rows, long n, int dim, int32_t *out);

// MARK: - Thread pool support

/// Nesting depth of ThreadPool.run on the calling thread (re-entrant calls run serially).
int sl_pool_depth(void);
void sl_pool_set_depth(int depth);

/// Spin-wait hint for the pool's barrier.
static inline void sl_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#ifdef __cplusplus
}
#endif
#endif
