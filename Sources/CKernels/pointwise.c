// Pointwise activations, layer norm and softmax. The math (exp, erf, tanh) is written once
// as branch-free scalar C with no libm calls, and each loop is compiled three times --
// AVX-512, AVX2+FMA and the baseline -- so the compiler vectorises the same source at each
// width; runtime dispatch picks one by the `isa` argument.
//   exp:  Cephes-style range reduction x = n ln2 + r, degree-6 polynomial, 2^n via exponent
//         bits; relative error ~1e-7; exact 0 below -87.3 (masked attention logits).
//   erf:  Abramowitz & Stegun 7.1.26, absolute error <= 1.5e-7.
//   tanh: 1 - 2 / (exp(2x) + 1), absolute error ~2e-7.
#include "CKernels.h"
#include <string.h>

#define INLINE static inline __attribute__((always_inline))
#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2")))
#define T256 __attribute__((target("avx2,fma")))
#endif

INLINE float bits_to_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }

INLINE float v_exp(float x) {
    float xc = x > 88.3f ? 88.3f : x;
    xc = xc < -87.3f ? -87.3f : xc;
    float n = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int e = (int)n + 127;
    float y = p * bits_to_float((unsigned)e << 23);
    return x < -87.3f ? 0.0f : y;
}

INLINE float v_erf(float x) {
    float ax = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t
                  + 0.254829592f) * t;
    float y = 1.0f - poly * v_exp(-ax * ax);
    return x < 0 ? -y : y;
}

INLINE float v_tanh(float x) {
    float xc = x > 15.0f ? 15.0f : (x < -15.0f ? -15.0f : x);
    return 1.0f - 2.0f / (v_exp(2.0f * xc) + 1.0f);
}

INLINE float v_act(const int act, float x) {
    switch (act) {
    case SL_ACT_GELU_ERF: return 0.5f * x * (1.0f + v_erf(x * 0.70710678118654752f));
    case SL_ACT_GELU_TANH: return 0.5f * x * (1.0f + v_tanh(0.7978845608f * (x + 0.044715f * x * x * x)));
    case SL_ACT_SILU: return x / (1.0f + v_exp(-x));
    case SL_ACT_SIGMOID: return 1.0f / (1.0f + v_exp(-x));
    case SL_ACT_RELU: return x > 0 ? x : 0.0f;
    case SL_ACT_RELU6: { float y = x > 0 ? x : 0.0f; return y < 6.0f ? y : 6.0f; }
    case SL_ACT_HARDSWISH: { float y = x + 3.0f; y = y > 0 ? y : 0.0f; y = y < 6.0f ? y : 6.0f; return x * y * (1.0f / 6.0f); }
    case SL_ACT_HARDSIGMOID: { float y = x + 3.0f; y = y > 0 ? y : 0.0f; y = y < 6.0f ? y : 6.0f; return y * (1.0f / 6.0f); }
    case SL_ACT_TANH: return v_tanh(x);
    }
    return x;
}

// In place (y == x) is the common call. Without the pragma the vectoriser guards against
// overlap with a runtime check that in-place calls fail, so they ran scalar (GELU was 5% of
// Whisper's time). Exactly in place or disjoint is safe, as the header states.
INLINE void act_loop(const int act, const float *x, float *y, long n) {
#pragma clang loop vectorize(assume_safety)
    for (long i = 0; i < n; i++) y[i] = v_act(act, x[i]);
}

#define ACT_ALL(PREFIX, ATTR) \
    ATTR static void PREFIX##_act(int act, const float *x, float *y, long n) { \
        switch (act) { \
        case SL_ACT_GELU_ERF: act_loop(SL_ACT_GELU_ERF, x, y, n); break; \
        case SL_ACT_GELU_TANH: act_loop(SL_ACT_GELU_TANH, x, y, n); break; \
        case SL_ACT_SILU: act_loop(SL_ACT_SILU, x, y, n); break; \
        case SL_ACT_SIGMOID: act_loop(SL_ACT_SIGMOID, x, y, n); break; \
        case SL_ACT_RELU: act_loop(SL_ACT_RELU, x, y, n); break; \
        case SL_ACT_RELU6: act_loop(SL_ACT_RELU6, x, y, n); break; \
        case SL_ACT_HARDSWISH: act_loop(SL_ACT_HARDSWISH, x, y, n); break; \
        case SL_ACT_HARDSIGMOID: act_loop(SL_ACT_HARDSIGMOID, x, y, n); break; \
        case SL_ACT_TANH: act_loop(SL_ACT_TANH, x, y, n); break; \
        } \
    }

// Reductions use 16 independent lanes so the compiler vectorises them without being allowed
// to reassociate floating-point sums (no -ffast-math here).
INLINE float lane_sum(const float *x, int n) {
    float acc[16] = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16) for (int l = 0; l < 16; l++) acc[l] += x[j + l];
    float s = 0;
    for (int l = 0; l < 16; l++) s += acc[l];
    for (; j < n; j++) s += x[j];
    return s;
}

INLINE float lane_sq_dev(const float *x, int n, float mean) {
    float acc[16] = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16) for (int l = 0; l < 16; l++) { float d = x[j + l] - mean; acc[l] += d * d; }
    float s = 0;
    for (int l = 0; l < 16; l++) s += acc[l];
    for (; j < n; j++) { float d = x[j] - mean; s += d * d; }
    return s;
}

INLINE float lane_max(const float *x, int n) {
    float acc[16];
    for (int l = 0; l < 16; l++) acc[l] = -__builtin_inff();
    int j = 0;
    for (; j + 16 <= n; j += 16) for (int l = 0; l < 16; l++) acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
    float m = -__builtin_inff();
    for (int l = 0; l < 16; l++) m = acc[l] > m ? acc[l] : m;
    for (; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}

INLINE void ln_rows(const float *x, int rows, int cols, const float *gamma, const float *beta,
                    float eps, float *out) {
    for (int r = 0; r < rows; r++) {
        const float *row = x + (long)r * cols;
        float *o = out + (long)r * cols;
        float mean = lane_sum(row, cols) / (float)cols;
        float v = lane_sq_dev(row, cols, mean);
        float inv = 1.0f / __builtin_sqrtf(v / (float)cols + eps);
        if (gamma && beta) for (int j = 0; j < cols; j++) o[j] = (row[j] - mean) * inv * gamma[j] + beta[j];
        else if (gamma) for (int j = 0; j < cols; j++) o[j] = (row[j] - mean) * inv * gamma[j];
        else if (beta) for (int j = 0; j < cols; j++) o[j] = (row[j] - mean) * inv + beta[j];
        else for (int j = 0; j < cols; j++) o[j] = (row[j] - mean) * inv;
    }
}

INLINE void softmax_rows(float *x, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        float m = lane_max(row, cols);
        if (m == -__builtin_inff()) m = 0;
        for (int j = 0; j < cols; j++) row[j] = v_exp(row[j] - m);
        float inv = 1.0f / lane_sum(row, cols);
        for (int j = 0; j < cols; j++) row[j] *= inv;
    }
}

/* Σ exp(x_j − m) with m = max x, written to *max_out: the two passes of a log-sum-exp
 * (the caller adds m + log), 16 lanes each as above. Whisper takes one over the 51865-entry
 * vocabulary per hypothesis per step, which a scalar libm loop made 8% of decoding. */
INLINE float sum_exp_rows(const float *x, int n, float *max_out) {
    float m = lane_max(x, n);
    *max_out = m;
    if (m == -__builtin_inff()) return 0;
    float acc[16] = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16) for (int l = 0; l < 16; l++) acc[l] += v_exp(x[j + l] - m);
    float s = 0;
    for (int l = 0; l < 16; l++) s += acc[l];
    for (; j < n; j++) s += v_exp(x[j] - m);
    return s;
}

/* Index of the first largest element (NaNs skipped; 0 when there is none): the maximum 16
 * lanes at a time, then the first 16-element block holding it, then its place in the block.
 * The CTC decoder takes one over PP-OCR's 18,385 classes per step and Whisper's greedy decoder
 * one over its 51,865 tokens, where the scalar compare-and-keep loop ran one element a cycle. */
INLINE int argmax_row(const float *x, int n) {
    if (n <= 0) return 0;
    const float m = lane_max(x, n);
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        int hit = 0;
        for (int l = 0; l < 16; l++) hit |= x[j + l] == m;
        if (hit) break;
    }
    for (; j < n; j++) if (x[j] == m) return j;
    return 0;
}

#define ROWS_ALL(PREFIX, ATTR) \
    ATTR static int PREFIX##_argmax(const float *x, int n) { return argmax_row(x, n); } \
    ATTR static float PREFIX##_sum_exp(const float *x, int n, float *m) { return sum_exp_rows(x, n, m); } \
    ATTR static void PREFIX##_ln(const float *x, int rows, int cols, const float *g, const float *b, float eps, float *o) { \
        ln_rows(x, rows, cols, g, b, eps, o); } \
    ATTR static void PREFIX##_softmax(float *x, int rows, int cols) { softmax_rows(x, rows, cols); }

ACT_ALL(base, )
ROWS_ALL(base, )
#if defined(__x86_64__)
ACT_ALL(avx2, T256)
ROWS_ALL(avx2, T256)
ACT_ALL(avx512, T512)
ROWS_ALL(avx512, T512)
#endif

void sl_activation(int isa, int act, const float *x, float *y, long n) {
#if defined(__x86_64__)
    if (isa == SL_ISA_AVX512) { avx512_act(act, x, y, n); return; }
    if (isa == SL_ISA_AVX2) { avx2_act(act, x, y, n); return; }
#endif
    (void)isa;
    base_act(act, x, y, n);
}

void sl_layer_norm(int isa, const float *x, int rows, int cols, const float *gamma,
                   const float *beta, float eps, float *out) {
#if defined(__x86_64__)
    if (isa == SL_ISA_AVX512) { avx512_ln(x, rows, cols, gamma, beta, eps, out); return; }
    if (isa == SL_ISA_AVX2) { avx2_ln(x, rows, cols, gamma, beta, eps, out); return; }
#endif
    (void)isa;
    base_ln(x, rows, cols, gamma, beta, eps, out);
}

void sl_softmax(int isa, float *x, int rows, int cols) {
#if defined(__x86_64__)
    if (isa == SL_ISA_AVX512) { avx512_softmax(x, rows, cols); return; }
    if (isa == SL_ISA_AVX2) { avx2_softmax(x, rows, cols); return; }
#endif
    (void)isa;
    base_softmax(x, rows, cols);
}

float sl_sum_exp(int isa, const float *x, int n, float *max_out) {
#if defined(__x86_64__)
    if (isa == SL_ISA_AVX512) return avx512_sum_exp(x, n, max_out);
    if (isa == SL_ISA_AVX2) return avx2_sum_exp(x, n, max_out);
#endif
    (void)isa;
    return base_sum_exp(x, n, max_out);
}

int sl_argmax(int isa, const float *x, int n) {
#if defined(__x86_64__)
    if (isa == SL_ISA_AVX512) return avx512_argmax(x, n);
    if (isa == SL_ISA_AVX2) return avx2_argmax(x, n);
#endif
    (void)isa;
    return base_argmax(x, n);
}

float sl_expf_scalar(float x) { return v_exp(x); }
