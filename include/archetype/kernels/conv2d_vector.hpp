// archetype/kernels/conv2d_vector.hpp — the vector type and small vector helpers the conv kernels share.
//
// Contract (namespace conv_detail, inside the arch-named inline namespace of simd.hpp):
//   vec, lanes        the SIMD batch of the translation unit's arch and its floats per vector
//   round_up(n, m)    n rounded up to a multiple of m
//   madd(a, b, c)     a·b + c, rounded once where the arch has FMA
//   scratch(n)        a per-thread buffer of at least n floats, kept between calls (kernels run inside
//                     parallel_for); one buffer per thread shared by all conv kernels
//   copy_floats<N>    dst[0, N) = src[0, N), N a constant
//   horizontal_sums   the horizontal sums of `lanes` vectors at once, each by the same fixed tree
#pragma once

#include <array>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "archetype/core/aligned_buffer.hpp"
#include "archetype/kernels/simd.hpp"

ARCHETYPE_KERNELS_BEGIN

namespace conv_detail {

#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
using vec = xsimd::batch<float, simd_arch>;
#else
using vec = xsimd::batch<float>;  // no AVX2+FMA: xsimd's default (SSE2), still exact per lane
#endif
inline constexpr int lanes = int(vec::size);
constexpr int round_up(int n, int m) { return (n + m - 1) / m * m; }

// a·b + c, rounded once where the arch has FMA (xsimd 8.1's avx512f would round twice).
inline vec madd(vec a, vec b, vec c) {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    return fused_multiply_add(a, b, c);
#else
    return xsimd::fma(a, b, c);
#endif
}

// A per-thread scratch area of at least n floats, kept between calls (kernels run inside parallel_for).
struct scratch_tag;
inline float* scratch(std::size_t n) { return per_thread_buffer<scratch_tag>(n); }

// dst[0, N) = src[0, N) with constant N: whole vectors (the last one overlapping) instead of a memmove call.
template <int N>
inline void copy_floats(const float* __restrict src, float* __restrict dst) {
    if constexpr (N >= lanes) {
        for (int i = 0; i + lanes <= N; i += lanes) vec::load_unaligned(src + i).store_unaligned(dst + i);
        if constexpr (N % lanes != 0) vec::load_unaligned(src + N - lanes).store_unaligned(dst + N - lanes);
    } else {
#if defined(ARCHETYPE_SIMD_AVX512F)
        constexpr __mmask16 k = __mmask16((1u << N) - 1);  // one masked load and store
        _mm512_mask_storeu_ps(dst, k, _mm512_maskz_loadu_ps(k, src));
#else
        for (int i = 0; i < N; ++i) dst[i] = src[i];
#endif
    }
}

// out[j] = the horizontal sum of vector j of p (lanes vectors, back to back), for j < lanes: a fixed tree
// of lane permutations and adds (3 instructions per sum with AVX-512, instead of ~10 for one hadd).
inline void horizontal_sums(const float* __restrict p, float* __restrict out) {
#if defined(ARCHETYPE_SIMD_AVX512F)
    // Level with block size b: each output vector gathers from two inputs the blocks at even (lo) and odd
    // (hi) positions and adds them, halving each vector's partial sums and doubling the vectors it covers.
    struct indices {
        alignas(64) int lo[16], hi[16];
    };
    static constexpr auto table = [] {
        std::array<indices, 4> t{};
        for (int l = 0; l < 4; ++l) {
            const int b = 8 >> l;
            for (int j = 0; j < 16; ++j) {
                t[std::size_t(l)].lo[j] = (j < 8 ? 0 : 16) + (j % 8) / b * 2 * b + (j % 8) % b;
                t[std::size_t(l)].hi[j] = t[std::size_t(l)].lo[j] + b;
            }
        }
        return t;
    }();
    auto level = [](const __m512* in, __m512* res, int count, const indices& ix) {
        const __m512i il = _mm512_load_si512(ix.lo), ih = _mm512_load_si512(ix.hi);
        for (int i = 0; i < count; ++i)
            res[i] = _mm512_add_ps(_mm512_permutex2var_ps(in[2 * i], il, in[2 * i + 1]),
                                   _mm512_permutex2var_ps(in[2 * i], ih, in[2 * i + 1]));
    };
    __m512 v[16], w[8];
    for (int j = 0; j < 16; ++j) v[j] = _mm512_loadu_ps(p + 16 * j);
    level(v, w, 8, table[0]);
    level(w, v, 4, table[1]);
    level(v, w, 2, table[2]);
    level(w, v, 1, table[3]);
    _mm512_storeu_ps(out, v[0]);
#elif defined(ARCHETYPE_SIMD_AVX2)
    __m256 v[8];
    for (int j = 0; j < 8; ++j) v[j] = _mm256_loadu_ps(p + 8 * j);
    const __m256 t0 = _mm256_hadd_ps(v[0], v[1]), t1 = _mm256_hadd_ps(v[2], v[3]);
    const __m256 t2 = _mm256_hadd_ps(v[4], v[5]), t3 = _mm256_hadd_ps(v[6], v[7]);
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);  // [v0..3 low halves | high halves]
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31)));
#else
    for (int j = 0; j < lanes; ++j) out[j] = xsimd::hadd(vec::load_unaligned(p + std::size_t(j) * lanes));
#endif
}

}  // namespace conv_detail

ARCHETYPE_KERNELS_END
