// archetype/kernels/eltwise.hpp — elementwise activation kernels on raw pointers, SIMD with a scalar twin.
//
// Contract: an activation is a small functor type F with
//     static float f(float x);                          // y = f(x)
//     static float grad(float x, float y, float dy);   // dx = dy · f'(x), from x or from y = f(x)
// eltwise_forward<F>(x, y, n) writes y[i] = F::f(x[i]) and eltwise_backward<F>(x, y, dy, dx, n) writes
// dx[i] = F::grad(x[i], y[i], dy[i]) (both overwrite; x may equal y, dy may equal dx).
// The functors below write f and grad once, as templates over T = float or xsimd::batch<float, Arch>
// (`vector_functor`), so the SIMD kernel and its scalar twin (eltwise_forward_scalar, _backward_scalar)
// run the same operations: relu, relu6, hard_swish and hard_sigmoid agree bit for bit; sigmoid and tanh
// use xsimd::exp / xsimd::tanh against std::exp / std::tanh (a few ulp apart). The SIMD loop runs its
// tail through a zero-padded vector, so every element takes the same code whatever its position (and
// results do not depend on how the batch is split between threads). A functor without a vector form
// (e.g. gelu_fn) takes the scalar loop.
// Values and derivatives follow PyTorch exactly, including at the kinks (min/max as std::min/std::max,
// so a NaN input propagates as before):
//   relu_fn        max(x, 0);            grad dy where y > 0, else 0        (threshold_backward on y)
//   relu6_fn       min(max(x, 0), 6);    grad dy for 0 < x < 6, else 0      (hardtanh_backward)
//   hard_swish_fn  x·min(max(x+3,0),6)/6; grad 0 for x < −3, dy·(x/3 + 1/2) for −3 ≤ x ≤ 3, dy for x > 3
//                  (hardswish_backward, scalar/CUDA path; PyTorch's AVX path gives dy at exactly x = 3)
//   sigmoid_fn     1/(1+e^−x);           grad dy·y·(1 − y)
//   tanh_fn        tanh x;               grad dy·fma(−y, y, 1)
//   hard_sigmoid_fn min(max(x+3,0),6)/6; grad dy/6 for −3 < x < 3, else 0   (hardsigmoid_backward)
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <type_traits>

#include "archetype/kernels/simd.hpp"

#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
#include <immintrin.h>
#endif

ARCHETYPE_KERNELS_BEGIN

namespace eltwise_detail {

inline float select(bool m, float a, float b) { return m ? a : b; }
template <class A>
xsimd::batch<float, A> select(const xsimd::batch_bool<float, A>& m, const xsimd::batch<float, A>& a,
                              const xsimd::batch<float, A>& b) {
    return xsimd::select(m, a, b);
}
// std::max / std::min exactly (the first argument wins ties and NaN comparisons).
template <class T>
T max_of(T a, T b) { return select(a < b, b, a); }
template <class T>
T min_of(T a, T b) { return select(b < a, b, a); }

inline float fma_of(float a, float b, float c) { return std::fma(a, b, c); }
template <class A>
xsimd::batch<float, A> fma_of(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                              const xsimd::batch<float, A>& c) {
    return fused_multiply_add(a, b, c);
}
inline float exp_of(float x) { return std::exp(x); }
inline float tanh_of(float x) { return std::tanh(x); }

#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
// e^x on vectors, Cephes' expf scheme: n = round(x·log2 e), r = x − n·ln 2 (in two parts), a degree-6
// polynomial for e^r, times 2^n; within ~2 ulp of std::exp, x clamped to [−87.3, 88.4] (so e^x never
// overflows and is ≥ ~1e-38 instead of 0 for x ≪ 0; NaN stays NaN). Written on intrinsics, not
// xsimd::exp: g++ 12 reports a false -Wuninitialized in avx512fintrin.h's _mm512_undefined_* (used by
// the unmasked roundscale/scalef/shift intrinsics xsimd::exp reaches), so this uses masked forms.
template <class A>
xsimd::batch<float, A> exp_of(xsimd::batch<float, A> x) {
    using vec = xsimd::batch<float, A>;
    x = max_of(min_of(x, vec(88.3762626647949f)), vec(-87.3365478515625f));
    const vec t = x * vec(1.44269504088896341f);
#if defined(ARCHETYPE_SIMD_AVX512F)
    vec n;
    if constexpr (std::is_same_v<A, xsimd::avx512f>)
        n = _mm512_mask_roundscale_ps(t, __mmask16(0xFFFF), t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    else
        n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
    const vec n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#endif
    const vec r = fused_multiply_add(-n, vec(-2.12194440e-4f), fused_multiply_add(-n, vec(0.693359375f), x));
    vec p(1.9875691500e-4f);
    p = fused_multiply_add(p, r, vec(1.3981999507e-3f));
    p = fused_multiply_add(p, r, vec(8.3334519073e-3f));
    p = fused_multiply_add(p, r, vec(4.1665795894e-2f));
    p = fused_multiply_add(p, r, vec(1.6666665459e-1f));
    p = fused_multiply_add(p, r, vec(5.0000001201e-1f));
    p = fused_multiply_add(p, r * r, r + vec(1.0f));
#if defined(ARCHETYPE_SIMD_AVX512F)
    if constexpr (std::is_same_v<A, xsimd::avx512f>) {
        return _mm512_mask_scalef_ps(p, __mmask16(0xFFFF), p, n);
    } else
#endif
    {
        const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
        return p * vec(_mm256_castsi256_ps(_mm256_slli_epi32(e, 23)));
    }
}

// tanh on vectors: Cephes' tanhf, x + x³·P(x²) for |x| < 0.625, else sign(x)·(1 − 2/(e^{2|x|} + 1)).
template <class A>
xsimd::batch<float, A> tanh_of(const xsimd::batch<float, A>& x) {
    using vec = xsimd::batch<float, A>;
    const vec z = x * x;
    vec p(-5.70498872745e-3f);
    p = fused_multiply_add(p, z, vec(2.06390887954e-2f));
    p = fused_multiply_add(p, z, vec(-5.37397155531e-2f));
    p = fused_multiply_add(p, z, vec(1.33314422036e-1f));
    p = fused_multiply_add(p, z, vec(-3.33332819422e-1f));
    const vec small = fused_multiply_add(p * z, x, x);
    const vec ax = xsimd::abs(x);
    const vec big = vec(1.0f) - vec(2.0f) / (exp_of(ax + ax) + vec(1.0f));
    return select(ax < vec(0.625f), small, xsimd::copysign(big, x));
}
#endif

}  // namespace eltwise_detail

struct relu_fn {
    template <class T>
    static T f(T x) { return eltwise_detail::select(x > T(0.0f), x, T(0.0f)); }
    template <class T>
    static T grad(T, T y, T dy) { return eltwise_detail::select(y > T(0.0f), dy, T(0.0f)); }
};

struct relu6_fn {
    template <class T>
    static T f(T x) {
        using namespace eltwise_detail;
        return min_of(max_of(x, T(0.0f)), T(6.0f));
    }
    template <class T>
    static T grad(T x, T, T dy) {
        return eltwise_detail::select((x <= T(0.0f)) || (x >= T(6.0f)), T(0.0f), dy);
    }
};

struct hard_swish_fn {
    template <class T>
    static T f(T x) {
        using namespace eltwise_detail;
        return x * min_of(max_of(x + T(3.0f), T(0.0f)), T(6.0f)) / T(6.0f);
    }
    template <class T>
    static T grad(T x, T, T dy) {
        using eltwise_detail::select;
        return select(x < T(-3.0f), T(0.0f), select(x <= T(3.0f), dy * (x / T(3.0f) + T(0.5f)), dy));
    }
};

struct sigmoid_fn {
    template <class T>
    static T f(T x) { return T(1.0f) / (T(1.0f) + eltwise_detail::exp_of(-x)); }
    template <class T>
    static T grad(T, T y, T dy) { return dy * (T(1.0f) - y) * y; }
};

struct tanh_fn {
    template <class T>
    static T f(T x) { return eltwise_detail::tanh_of(x); }
    template <class T>
    // 1 − y² as one fma, so the result does not depend on whether a compiler contracts it
    static T grad(T, T y, T dy) { return dy * eltwise_detail::fma_of(-y, y, T(1.0f)); }
};

struct hard_sigmoid_fn {
    template <class T>
    static T f(T x) {
        using namespace eltwise_detail;
        return min_of(max_of(x + T(3.0f), T(0.0f)), T(6.0f)) / T(6.0f);
    }
    template <class T>
    static T grad(T x, T, T dy) {
        return eltwise_detail::select((x > T(-3.0f)) && (x < T(3.0f)), dy / T(6.0f), T(0.0f));
    }
};

template <class F>
void eltwise_forward_scalar(const float* x, float* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = F::f(x[i]);
}

template <class F>
void eltwise_backward_scalar(const float* x, const float* y, const float* dy, float* dx, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) dx[i] = F::grad(x[i], y[i], dy[i]);
}

#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
// F has f and grad for vectors of Arch.
template <class F, class Arch>
concept vector_functor = requires(xsimd::batch<float, Arch> v) {
    { F::f(v) } -> std::same_as<xsimd::batch<float, Arch>>;
    { F::grad(v, v, v) } -> std::same_as<xsimd::batch<float, Arch>>;
};

// The SIMD loops on one arch (exposed so tests can run every arch the CPU has).
template <class F, class Arch>
void eltwise_forward_simd(const float* x, float* y, std::size_t n) {
    using vec = xsimd::batch<float, Arch>;
    constexpr std::size_t w = vec::size;
    const std::size_t full = n / w * w;
    for (std::size_t i = 0; i < full; i += w) F::f(vec::load_unaligned(x + i)).store_unaligned(y + i);
    if (full == n) return;
    alignas(64) float buf[w] = {};
    std::copy(x + full, x + n, buf);
    F::f(vec::load_aligned(buf)).store_aligned(buf);
    std::copy(buf, buf + (n - full), y + full);
}

template <class F, class Arch>
void eltwise_backward_simd(const float* x, const float* y, const float* dy, float* dx, std::size_t n) {
    using vec = xsimd::batch<float, Arch>;
    constexpr std::size_t w = vec::size;
    const std::size_t full = n / w * w;
    for (std::size_t i = 0; i < full; i += w)
        F::grad(vec::load_unaligned(x + i), vec::load_unaligned(y + i), vec::load_unaligned(dy + i))
            .store_unaligned(dx + i);
    if (full == n) return;
    alignas(64) float bx[w] = {}, by[w] = {}, bd[w] = {};
    std::copy(x + full, x + n, bx);
    std::copy(y + full, y + n, by);
    std::copy(dy + full, dy + n, bd);
    F::grad(vec::load_aligned(bx), vec::load_aligned(by), vec::load_aligned(bd)).store_aligned(bd);
    std::copy(bd, bd + (n - full), dx + full);
}
#endif

// True when eltwise_forward<F> / eltwise_backward<F> take the SIMD path in this translation unit.
template <class F>
constexpr bool eltwise_vectorized() {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    return vector_functor<F, simd_arch>;
#else
    return false;
#endif
}

template <class F>
void eltwise_forward(const float* x, float* y, std::size_t n) {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    if constexpr (vector_functor<F, simd_arch>) {
        eltwise_forward_simd<F, simd_arch>(x, y, n);
        return;
    }
#endif
    eltwise_forward_scalar<F>(x, y, n);
}

template <class F>
void eltwise_backward(const float* x, const float* y, const float* dy, float* dx, std::size_t n) {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    if constexpr (vector_functor<F, simd_arch>) {
        eltwise_backward_simd<F, simd_arch>(x, y, dy, dx, n);
        return;
    }
#endif
    eltwise_backward_scalar<F>(x, y, dy, dx, n);
}

ARCHETYPE_KERNELS_END
