#ifndef RLHF_CKERNELS_H
#define RLHF_CKERNELS_H

#include <stdint.h>

// Kernels for decoding, and AdamW's element update (at the end). Matrix–vector products: Y[r, o] = Σ_i W[o, i] · X[r, i] for r < rows and
// o0 <= o < o1, with W [out, n] row-major and Y[r, o] at y[r * ystride + o].
//
// Each output is computed from row r of X alone, in an order fixed by n: the bits of a row do not
// depend on `rows` or on the other rows. One build of each kernel per instruction set (AVX2 + FMA
// where the CPU has them, baseline x86-64 otherwise), chosen once at load; a machine always runs
// the same one.

void rlhf_matvec_f32(const void *w, const float *x, long rows, long n, long o0, long o1, float *y, long ystride);

// W in bfloat16 (the high 16 bits of each Float32).
void rlhf_matvec_bf16(const void *w, const float *x, long rows, long n, long o0, long o1, float *y, long ystride);

// W in GGUF Q8_0 blocks (f16 d, int8 q[32]; value q·d), `n` a multiple of 32.
void rlhf_matvec_q8_0(const void *w, const float *x, long rows, long n, long o0, long o1, float *y, long ystride);

// W in GGUF Q4_1 blocks (f16 d, f16 m, u8 qs[16]; value j is the low nibble of byte j, value
// j + 16 its high nibble; value nibble·d + m), `n` a multiple of 32.
void rlhf_matvec_q4_1(const void *w, const float *x, long rows, long n, long o0, long o1, float *y, long ystride);

// Attention of `heads` queries that share keys and values (a GQA group) over `count` cached
// columns: out_m = softmax(scale · q_m · K_colsᵀ) · V_cols, where key and value j sit at
// keys/values + columns[j] · dh. Query m is at q + m · qStride, its output at out + m · dh;
// `scores` has room for heads · count floats. Each query's arithmetic is the same as if it were
// alone. With no columns the outputs are left as they are.
void rlhf_attend_group(const float *q, long qStride, long heads, const float *keys, const float *values, const long *columns,
                       long count, long dh, float scale, float *scores, float *out);

// Which build runs: "avx2+fma" or "baseline".
const char *rlhf_kernel_isa(void);

// The baseline build, whatever the CPU (for tests that compare the builds). `format`: 0 Float32,
// 1 Q8_0, 2 Q4_1, 3 bfloat16.
void rlhf_matvec_baseline(int format, const void *w, const float *x, long rows, long n, long o0, long o1, float *y,
                          long ystride);

// AdamW's element update with one parameter's step scalars (see Sources/CKernels/adamw.c and
// Training's AdamW): p, m and v updated in place from g; with `updates` (which may be g), each
// element's change p_new − p_old written there. The AVX2 + FMA and baseline builds give the same bits.
struct rlhf_adamw_scalars {
    float decay, lerp_weight, beta2, one_minus_beta2, step_size, bias_correction2_sqrt, eps;
};
void rlhf_adamw(float *p, float *m, float *v, const float *g, float *updates, long count, const struct rlhf_adamw_scalars *s);

// The baseline build of rlhf_adamw, whatever the CPU (for the test that compares the builds).
void rlhf_adamw_baseline(float *p, float *m, float *v, const float *g, float *updates, long count,
                         const struct rlhf_adamw_scalars *s);

// A hint to the CPU that the caller is spinning on a shared value.
static inline void rlhf_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
