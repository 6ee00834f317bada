#include "CKernels.h"

#include <math.h>
#include <stdlib.h>

typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int8_t i8x8 __attribute__((vector_size(8)));
typedef uint8_t u8x8 __attribute__((vector_size(8)));
typedef int32_t i32x8 __attribute__((vector_size(32), aligned(4)));
typedef uint16_t u16x8 __attribute__((vector_size(16), aligned(2)));
typedef uint32_t u32x8 __attribute__((vector_size(32), aligned(4)));

enum { FORMAT_F32, FORMAT_Q8_0, FORMAT_Q4_1, FORMAT_BF16 };

// Macros rather than functions: a 32-byte vector may not cross a function boundary in the
// baseline build.
#define load8(p) ({ v8 v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define splat8(f) ({ float f_ = (f); (v8){f_, f_, f_, f_, f_, f_, f_, f_}; })
// ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)): a fixed order.
#define hsum8(a) ({ v8 a_ = (a); ((a_[0] + a_[4]) + (a_[2] + a_[6])) + ((a_[1] + a_[5]) + (a_[3] + a_[7])); })

// IEEE half to float, exactly (subnormals, infinities and NaN included).
static inline __attribute__((always_inline)) float half_to_float(const uint8_t *p) {
    uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000 | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {
        float f = (float)mantissa * 0x1p-24f;
        __builtin_memcpy(&bits, &f, 4);
        bits |= sign;
    }
    float f;
    __builtin_memcpy(&f, &bits, 4);
    return f;
}

#if defined(__x86_64__)
#define ISA avx2
#define TARGET __attribute__((target("avx2,fma")))
#define MADD(a, b, c) __builtin_elementwise_fma(a, b, c)
#include "kernels.inc"
#undef ISA
#undef TARGET
#undef MADD
#endif

#define ISA baseline
#define TARGET
#define MADD(a, b, c) ((a) * (b) + (c))
#include "kernels.inc"
#undef ISA
#undef TARGET
#undef MADD

typedef void (*f32_fn)(const float *, const float *, long, long, long, long, float *, long);
typedef void (*quantized_fn)(const uint8_t *, const float *, long, long, long, long, float *, long, float *);

typedef void (*bf16_fn)(const void *, const float *, long, long, long, long, float *, long);
static f32_fn use_f32 = matvec_f32_baseline;
static bf16_fn use_bf16 = matvec_bf16_baseline;
static quantized_fn use_q8_0 = matvec_q8_0_baseline, use_q4_1 = matvec_q4_1_baseline;
typedef void (*attend_fn)(const float *, long, long, const float *, const float *, const long *, long, long, float, float *,
                          float *);
static attend_fn use_attend = attend_group_baseline;
static const char *isa = "baseline";

__attribute__((constructor)) static void choose_kernels(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        use_f32 = matvec_f32_avx2;
        use_bf16 = matvec_bf16_avx2;
        use_q8_0 = matvec_q8_0_avx2;
        use_q4_1 = matvec_q4_1_avx2;
        use_attend = attend_group_avx2;
        isa = "avx2+fma";
    }
#endif
}

// Room for one dequantized weight row, on the stack up to 8192 columns.
#define WITH_SCRATCH(n, body)                                                  \
    do {                                                                       \
        float stack_[8192];                                                    \
        float *scratch = (n) <= 8192 ? stack_ : malloc((size_t)(n) * 4);       \
        body;                                                                  \
        if (scratch != stack_) free(scratch);                                  \
    } while (0)

void rlhf_matvec_f32(const void *w, const float *x, long rows, long n, long o0, long o1, float *y, long ystride) {
    use_f32(w, x, rows, n, o0, o1, y, ystride);
}

void rlhf_matvec_bf16(const void *w, const float *x, long rows, long n, long o0, long o1, float *y, long ystride) {
    use_bf16(w, x, rows, n, o0, o1, y, ystride);
}

void rlhf_matvec_q8_0(const void *w, const float *x, long rows, long n, long o0, long o1, float *y, long ystride) {
    WITH_SCRATCH(n, use_q8_0(w, x, rows, n, o0, o1, y, ystride, scratch));
}

void rlhf_matvec_q4_1(const void *w, const float *x, long rows, long n, long o0, long o1, float *y, long ystride) {
    WITH_SCRATCH(n, use_q4_1(w, x, rows, n, o0, o1, y, ystride, scratch));
}

void rlhf_attend_group(const float *q, long qStride, long heads, const float *keys, const float *values, const long *columns,
                       long count, long dh, float scale, float *scores, float *out) {
    use_attend(q, qStride, heads, keys, values, columns, count, dh, scale, scores, out);
}

const char *rlhf_kernel_isa(void) { return isa; }

void rlhf_matvec_baseline(int format, const void *w, const float *x, long rows, long n, long o0, long o1, float *y,
                          long ystride) {
    if (format == FORMAT_F32) {
        matvec_f32_baseline(w, x, rows, n, o0, o1, y, ystride);
    } else if (format == FORMAT_BF16) {
        matvec_bf16_baseline(w, x, rows, n, o0, o1, y, ystride);
    } else {
        WITH_SCRATCH(n, matvec_quantized_baseline(format, w, x, rows, n, o0, o1, y, ystride, scratch));
    }
}
