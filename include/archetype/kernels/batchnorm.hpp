// archetype/kernels/batchnorm.hpp — per-channel batch-normalisation kernels on raw pointers, SIMD with
// scalar twins.
//
// Contract: every function works on ONE channel of an NCHW batch. `x` points at that channel's first
// value in sample 0; a sample's block of `spatial` (= H·W) contiguous values follows, and the next
// sample's block starts `stride` (= C·H·W) floats later. `count` below is batch·spatial.
//   batchnorm_moments      mean and biased variance of the channel (two passes, in double)
//   batchnorm_affine       y = fma(x, scale, shift)                      (overwrites y)
//   batchnorm_grad_sums    Σ dy and Σ dy·(x − mean), in double (x − mean rounded to float first)
//   batchnorm_backward_train
//       dx = fma(−(x − mean), k, dy − Σdy/count)·inv_std·gamma, with k = Σdy·(x − mean)·inv_std²/count:
//       the gradient through the batch mean and variance (overwrites dx)
// Summation order (fixed, so results depend neither on threads nor on the instruction set): 16 partial
// sums in double; value i of a sample's block goes to partial i mod 16, samples in order, each block
// padded to a multiple of 16 with terms that add +0; then the partials combine as a tree
// (p[j] + p[j+8], then + [j+4], + [j+2], + [j+1]). The SIMD kernels (AVX-512: two 8-double vectors,
// AVX2: four 4-double vectors, one per group of partials) and their scalar twins (`*_scalar`) follow
// this order and the same roundings, so they agree bit for bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "archetype/kernels/simd.hpp"

#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
#include <immintrin.h>
#endif

ARCHETYPE_KERNELS_BEGIN

struct channel_moments {
    double mean = 0;
    double var = 0;  // biased: Σ(x − mean)² / count
};

struct channel_grad_sums {
    double dy = 0;      // Σ dy
    double dy_xmu = 0;  // Σ dy·(x − mean)
};

namespace bn_detail {

inline constexpr std::size_t lanes = 16;

inline double combine(const double* p) {
    double s8[8], s4[4];
    for (int j = 0; j < 8; ++j) s8[j] = p[j] + p[j + 8];
    for (int j = 0; j < 4; ++j) s4[j] = s8[j] + s8[j + 4];
    return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

// Calls f(a16, b16, valid) for every 16-value chunk of every sample's block of a and b (b may be null),
// the last chunk of a block copied into zero-padded buffers.
template <class F>
inline void for_chunks(const float* a, const float* b, std::size_t batch, std::size_t stride, std::size_t spatial,
                       F&& f) {
    const std::size_t full = spatial / lanes * lanes;
    for (std::size_t n = 0; n < batch; ++n) {
        const float* as = a + n * stride;
        const float* bs = b ? b + n * stride : nullptr;
        for (std::size_t i = 0; i < full; i += lanes) f(as + i, bs ? bs + i : nullptr, lanes);
        if (full < spatial) {
            alignas(64) float ta[lanes] = {}, tb[lanes] = {};
            std::copy(as + full, as + spatial, ta);
            if (bs) std::copy(bs + full, bs + spatial, tb);
            f(ta, tb, spatial - full);
        }
    }
}

#if defined(ARCHETYPE_SIMD_AVX512F)
// 16 doubles as two zmm (partials 0–7, 8–15). Masked conversions from two ymm halves: the unmasked
// conversion and the 256-bit extract trip a false -Wuninitialized in g++ 12's avx512fintrin.h.
struct dvec16 {
    __m512d v[2];
    static dvec16 zero() { return {{_mm512_setzero_pd(), _mm512_setzero_pd()}}; }
    struct f16 { __m256 lo, hi; };
    static f16 loadf(const float* x) { return {_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8)}; }
    static f16 subf(f16 a, float b) {
        const __m256 m = _mm256_set1_ps(b);
        return {_mm256_sub_ps(a.lo, m), _mm256_sub_ps(a.hi, m)};
    }
    static dvec16 from(f16 f) { return {{_mm512_maskz_cvtps_pd(0xFF, f.lo), _mm512_maskz_cvtps_pd(0xFF, f.hi)}}; }
    static dvec16 load(const float* x) { return from(loadf(x)); }
    void add(const dvec16& a) { for (int i = 0; i < 2; ++i) v[i] = _mm512_add_pd(v[i], a.v[i]); }
    void fma(const dvec16& a, const dvec16& b) { for (int i = 0; i < 2; ++i) v[i] = _mm512_fmadd_pd(a.v[i], b.v[i], v[i]); }
    void sub(double m) { for (int i = 0; i < 2; ++i) v[i] = _mm512_sub_pd(v[i], _mm512_set1_pd(m)); }
    void first(std::size_t valid) {  // zero the lanes at and past `valid`
        const auto keep = static_cast<__mmask16>((1u << valid) - 1u);
        v[0] = _mm512_maskz_mov_pd(__mmask8(keep & 0xFF), v[0]);
        v[1] = _mm512_maskz_mov_pd(__mmask8(keep >> 8), v[1]);
    }
    void store(double* p) const { _mm512_storeu_pd(p, v[0]), _mm512_storeu_pd(p + 8, v[1]); }
};
#elif defined(ARCHETYPE_SIMD_AVX2)
// 16 doubles as four ymm (partials 0–3, 4–7, 8–11, 12–15).
struct dvec16 {
    __m256d v[4];
    static dvec16 zero() { return {{_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()}}; }
    struct f16 { __m256 lo, hi; };
    static f16 loadf(const float* x) { return {_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8)}; }
    static f16 subf(f16 a, float b) {
        const __m256 m = _mm256_set1_ps(b);
        return {_mm256_sub_ps(a.lo, m), _mm256_sub_ps(a.hi, m)};
    }
    static dvec16 from(f16 f) {
        return {{_mm256_cvtps_pd(_mm256_castps256_ps128(f.lo)), _mm256_cvtps_pd(_mm256_extractf128_ps(f.lo, 1)),
                 _mm256_cvtps_pd(_mm256_castps256_ps128(f.hi)), _mm256_cvtps_pd(_mm256_extractf128_ps(f.hi, 1))}};
    }
    static dvec16 load(const float* x) { return from(loadf(x)); }
    void add(const dvec16& a) { for (int i = 0; i < 4; ++i) v[i] = _mm256_add_pd(v[i], a.v[i]); }
    void fma(const dvec16& a, const dvec16& b) { for (int i = 0; i < 4; ++i) v[i] = _mm256_fmadd_pd(a.v[i], b.v[i], v[i]); }
    void sub(double m) { for (int i = 0; i < 4; ++i) v[i] = _mm256_sub_pd(v[i], _mm256_set1_pd(m)); }
    void first(std::size_t valid) {
        alignas(32) double keep[16];
        for (std::size_t j = 0; j < 16; ++j) keep[j] = j < valid ? 1.0 : 0.0;  // d·1 = d, d·0 = ±0
        for (int i = 0; i < 4; ++i) v[i] = _mm256_mul_pd(v[i], _mm256_load_pd(keep + 4 * i));
    }
    void store(double* p) const { for (int i = 0; i < 4; ++i) _mm256_storeu_pd(p + 4 * i, v[i]); }
};
#endif

}  // namespace bn_detail

// ---- scalar twins: the summation order above, one lane at a time ----

inline channel_moments batchnorm_moments_scalar(const float* x, std::size_t batch, std::size_t stride,
                                                std::size_t spatial) {
    double p[16] = {};
    bn_detail::for_chunks(x, nullptr, batch, stride, spatial, [&](const float* a, const float*, std::size_t) {
        for (std::size_t j = 0; j < 16; ++j) p[j] += double(a[j]);
    });
    const double count = double(batch * spatial);
    const double mean = bn_detail::combine(p) / count;
    std::fill_n(p, 16, 0.0);
    bn_detail::for_chunks(x, nullptr, batch, stride, spatial, [&](const float* a, const float*, std::size_t valid) {
        for (std::size_t j = 0; j < 16; ++j) {
            const double d = (double(a[j]) - mean) * (j < valid ? 1.0 : 0.0);
            p[j] = std::fma(d, d, p[j]);
        }
    });
    return {mean, bn_detail::combine(p) / count};
}

inline channel_grad_sums batchnorm_grad_sums_scalar(const float* x, const float* dy, std::size_t batch,
                                                    std::size_t stride, std::size_t spatial, float mean) {
    double p[16] = {}, q[16] = {};
    bn_detail::for_chunks(x, dy, batch, stride, spatial, [&](const float* a, const float* g, std::size_t) {
        for (std::size_t j = 0; j < 16; ++j) {
            p[j] += double(g[j]);
            q[j] = std::fma(double(g[j]), double(a[j] - mean), q[j]);
        }
    });
    return {bn_detail::combine(p), bn_detail::combine(q)};
}

inline void batchnorm_affine_scalar(const float* x, float* y, std::size_t batch, std::size_t stride,
                                    std::size_t spatial, float scale, float shift) {
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < spatial; ++i) y[n * stride + i] = std::fma(x[n * stride + i], scale, shift);
}

namespace bn_detail {
struct backward_coefficients {
    float mean_dy, k, scale;
    backward_coefficients(std::size_t count, float inv_std, float gamma, const channel_grad_sums& sums)
        : mean_dy(float(sums.dy / double(count))),
          k(float(sums.dy_xmu * double(inv_std) * double(inv_std) / double(count))),
          scale(inv_std * gamma) {}
};
}  // namespace bn_detail

inline void batchnorm_backward_train_scalar(const float* x, const float* dy, float* dx, std::size_t batch,
                                            std::size_t stride, std::size_t spatial, float mean, float inv_std,
                                            float gamma, const channel_grad_sums& sums) {
    const bn_detail::backward_coefficients c(batch * spatial, inv_std, gamma, sums);
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < spatial; ++i) {
            const std::size_t at = n * stride + i;
            dx[at] = std::fma(-(x[at] - mean), c.k, dy[at] - c.mean_dy) * c.scale;
        }
}

// ---- SIMD kernels (the best arch of this translation unit) ----

#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
inline channel_moments batchnorm_moments_simd(const float* x, std::size_t batch, std::size_t stride,
                                              std::size_t spatial) {
    using bn_detail::dvec16;
    dvec16 acc = dvec16::zero();
    bn_detail::for_chunks(x, nullptr, batch, stride, spatial,
                          [&](const float* a, const float*, std::size_t) { acc.add(dvec16::load(a)); });
    double p[16];
    acc.store(p);
    const double count = double(batch * spatial);
    const double mean = bn_detail::combine(p) / count;
    acc = dvec16::zero();
    bn_detail::for_chunks(x, nullptr, batch, stride, spatial, [&](const float* a, const float*, std::size_t valid) {
        dvec16 d = dvec16::load(a);
        d.sub(mean);
        if (valid < 16) d.first(valid);
        acc.fma(d, d);
    });
    acc.store(p);
    return {mean, bn_detail::combine(p) / count};
}

inline channel_grad_sums batchnorm_grad_sums_simd(const float* x, const float* dy, std::size_t batch,
                                                  std::size_t stride, std::size_t spatial, float mean) {
    using bn_detail::dvec16;
    dvec16 p = dvec16::zero(), q = dvec16::zero();
    bn_detail::for_chunks(x, dy, batch, stride, spatial, [&](const float* a, const float* g, std::size_t) {
        const dvec16 gd = dvec16::load(g);
        p.add(gd);
        q.fma(gd, dvec16::from(dvec16::subf(dvec16::loadf(a), mean)));
    });
    double ps[16], qs[16];
    p.store(ps), q.store(qs);
    return {bn_detail::combine(ps), bn_detail::combine(qs)};
}

inline void batchnorm_affine_simd(const float* x, float* y, std::size_t batch, std::size_t stride,
                                  std::size_t spatial, float scale, float shift) {
    using vec = xsimd::batch<float, simd_arch>;
    constexpr std::size_t w = vec::size;
    const std::size_t full = spatial / w * w;
    const vec s(scale), t(shift);
    for (std::size_t n = 0; n < batch; ++n) {
        const float* xs = x + n * stride;
        float* ys = y + n * stride;
        for (std::size_t i = 0; i < full; i += w)
            fused_multiply_add(vec::load_unaligned(xs + i), s, t).store_unaligned(ys + i);
        for (std::size_t i = full; i < spatial; ++i) ys[i] = std::fma(xs[i], scale, shift);
    }
}

inline void batchnorm_backward_train_simd(const float* x, const float* dy, float* dx, std::size_t batch,
                                          std::size_t stride, std::size_t spatial, float mean, float inv_std,
                                          float gamma, const channel_grad_sums& sums) {
    using vec = xsimd::batch<float, simd_arch>;
    constexpr std::size_t w = vec::size;
    const bn_detail::backward_coefficients c(batch * spatial, inv_std, gamma, sums);
    const std::size_t full = spatial / w * w;
    const vec m(mean), nk(-c.k), mdy(c.mean_dy), sc(c.scale);
    for (std::size_t n = 0; n < batch; ++n) {
        const std::size_t at = n * stride;
        for (std::size_t i = 0; i < full; i += w) {
            const vec d = vec::load_unaligned(x + at + i) - m;
            (fused_multiply_add(d, nk, vec::load_unaligned(dy + at + i) - mdy) * sc).store_unaligned(dx + at + i);
        }
        for (std::size_t i = full; i < spatial; ++i)
            dx[at + i] = std::fma(-(x[at + i] - mean), c.k, dy[at + i] - c.mean_dy) * c.scale;
    }
}
#endif

// ---- what the layers call ----

inline channel_moments batchnorm_moments(const float* x, std::size_t batch, std::size_t stride, std::size_t spatial) {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    return batchnorm_moments_simd(x, batch, stride, spatial);
#else
    return batchnorm_moments_scalar(x, batch, stride, spatial);
#endif
}

inline void batchnorm_affine(const float* x, float* y, std::size_t batch, std::size_t stride, std::size_t spatial,
                             float scale, float shift) {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    batchnorm_affine_simd(x, y, batch, stride, spatial, scale, shift);
#else
    batchnorm_affine_scalar(x, y, batch, stride, spatial, scale, shift);
#endif
}

inline channel_grad_sums batchnorm_grad_sums(const float* x, const float* dy, std::size_t batch, std::size_t stride,
                                             std::size_t spatial, float mean) {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    return batchnorm_grad_sums_simd(x, dy, batch, stride, spatial, mean);
#else
    return batchnorm_grad_sums_scalar(x, dy, batch, stride, spatial, mean);
#endif
}

inline void batchnorm_backward_train(const float* x, const float* dy, float* dx, std::size_t batch,
                                     std::size_t stride, std::size_t spatial, float mean, float inv_std, float gamma,
                                     const channel_grad_sums& sums) {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    batchnorm_backward_train_simd(x, dy, dx, batch, stride, spatial, mean, inv_std, gamma, sums);
#else
    batchnorm_backward_train_scalar(x, dy, dx, batch, stride, spatial, mean, inv_std, gamma, sums);
#endif
}

ARCHETYPE_KERNELS_END
