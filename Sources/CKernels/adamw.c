// AdamW's element update (Sources/Training/Optim/AdamW.swift), eight lanes at a time, with the
// fused multiply-adds PyTorch's CPU kernels use (`lerp`, `addcmul`) as single-rounding FMAs. No
// other multiply-add is fused, so the AVX2 + FMA build and the baseline build (where the FMA is a
// call to the C library's exact `fmaf`) give the same bits.

#include "CKernels.h"

#include <math.h>

#pragma clang fp contract(off)

typedef float v8 __attribute__((vector_size(32), aligned(4)));

#define load8(p) ({ v8 v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define store8(p, v) ({ v8 s_ = (v); __builtin_memcpy((p), &s_, sizeof s_); })
#define splat8(f) ({ float f_ = (f); (v8){f_, f_, f_, f_, f_, f_, f_, f_}; })

static inline __attribute__((always_inline)) void adamw_body(float *p, float *m, float *v, const float *g, float *updates,
                                                              long count, const struct rlhf_adamw_scalars *s) {
    const int decays = s->decay != 1, near = fabsf(s->lerp_weight) < 0.5f;
    const v8 decay = splat8(s->decay), w = splat8(s->lerp_weight), one_minus_w = splat8(1 - s->lerp_weight);
    const v8 beta2 = splat8(s->beta2), one_minus_beta2 = splat8(s->one_minus_beta2), step = splat8(s->step_size);
    const v8 bc2 = splat8(s->bias_correction2_sqrt), eps = splat8(s->eps);
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        const v8 old = load8(p + i), gv = load8(g + i);
        v8 pv = old, mv = load8(m + i), vv = load8(v + i);
        if (decays) pv = pv * decay;
        // torch.lerp: a + w(b - a) for |w| < 0.5, else b - (b - a)(1 - w), fused.
        mv = near ? __builtin_elementwise_fma(w, gv - mv, mv) : __builtin_elementwise_fma(-(gv - mv), one_minus_w, gv);
        vv = __builtin_elementwise_fma(one_minus_beta2 * gv, gv, vv * beta2);
        pv = pv + step * mv / (__builtin_elementwise_sqrt(vv) / bc2 + eps);
        store8(p + i, pv);
        store8(m + i, mv);
        store8(v + i, vv);
        if (updates) store8(updates + i, pv - old);
    }
    for (; i < count; i++) {
        const float old = p[i], gi = g[i];
        float pi = old;
        if (decays) pi = pi * s->decay;
        m[i] = near ? fmaf(s->lerp_weight, gi - m[i], m[i]) : fmaf(-(gi - m[i]), 1 - s->lerp_weight, gi);
        v[i] = fmaf(s->one_minus_beta2 * gi, gi, v[i] * s->beta2);
        pi = pi + s->step_size * m[i] / (sqrtf(v[i]) / s->bias_correction2_sqrt + s->eps);
        p[i] = pi;
        if (updates) updates[i] = pi - old;
    }
}

#if defined(__x86_64__)
static __attribute__((target("avx2,fma"))) void adamw_avx2(float *p, float *m, float *v, const float *g, float *updates,
                                                           long count, const struct rlhf_adamw_scalars *s) {
    adamw_body(p, m, v, g, updates, count, s);
}
#endif

static void adamw_baseline(float *p, float *m, float *v, const float *g, float *updates, long count,
                           const struct rlhf_adamw_scalars *s) {
    adamw_body(p, m, v, g, updates, count, s);
}

typedef void (*adamw_fn)(float *, float *, float *, const float *, float *, long, const struct rlhf_adamw_scalars *);
static adamw_fn use_adamw = adamw_baseline;

__attribute__((constructor)) static void choose_adamw(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) use_adamw = adamw_avx2;
#endif
}

void rlhf_adamw(float *p, float *m, float *v, const float *g, float *updates, long count, const struct rlhf_adamw_scalars *s) {
    use_adamw(p, m, v, g, updates, count, s);
}

void rlhf_adamw_baseline(float *p, float *m, float *v, const float *g, float *updates, long count,
                         const struct rlhf_adamw_scalars *s) {
    adamw_baseline(p, m, v, g, updates, count, s);
}
