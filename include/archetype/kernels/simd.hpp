// archetype/kernels/simd.hpp — compile-time choice of the SIMD instruction set for the kernels.
//
// Contract: the best arch the translation unit's target flags allow is picked at compile time:
//   -mavx512f            -> xsimd::avx512f      (16 floats per vector)
//   -mavx2 -mfma         -> xsimd::fma3<avx2>   (8 floats per vector)
//   anything else        -> no SIMD; kernels use their scalar twin.
// Kernels whose code depends on that choice live in `ARCHETYPE_KERNELS_BEGIN ... _END`, an inline
// namespace named after the arch (k_avx512f, k_avx2, k_scalar). Two translation units built with
// different -m flags then define different symbols and cannot break the one-definition rule.
// Everything here is inside that inline namespace too.
// fused_multiply_add(a, b, c) is a*b+c rounded once, for every arch (xsimd 8.1's avx512f has no fma
// of its own and would round twice), so a SIMD kernel can match a std::fma scalar twin bit for bit.
#pragma once

#include <xsimd/xsimd.hpp>

#if defined(__AVX512F__)
#define ARCHETYPE_SIMD_AVX512F 1
#define ARCHETYPE_KERNELS_NAMESPACE k_avx512f
#elif defined(__AVX2__) && defined(__FMA__)
#define ARCHETYPE_SIMD_AVX2 1
#define ARCHETYPE_KERNELS_NAMESPACE k_avx2
#else
#define ARCHETYPE_KERNELS_NAMESPACE k_scalar
#endif

#define ARCHETYPE_KERNELS_BEGIN \
    namespace archetype::kernels {   \
    inline namespace ARCHETYPE_KERNELS_NAMESPACE {
#define ARCHETYPE_KERNELS_END \
    }                         \
    }

ARCHETYPE_KERNELS_BEGIN

#if defined(ARCHETYPE_SIMD_AVX512F)
inline constexpr bool simd_enabled = true;
using simd_arch = xsimd::avx512f;
#elif defined(ARCHETYPE_SIMD_AVX2)
inline constexpr bool simd_enabled = true;
using simd_arch = xsimd::fma3<xsimd::avx2>;
#else
inline constexpr bool simd_enabled = false;
using simd_arch = void;  // no vector kernels: callers take the scalar path
#endif

// The instruction set the kernels of this translation unit use ("avx512f", "fma3+avx2", "scalar").
constexpr const char* simd_name() {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    return simd_arch::name();
#else
    return "scalar";
#endif
}

#if defined(ARCHETYPE_SIMD_AVX512F)
inline xsimd::batch<float, xsimd::avx512f> fused_multiply_add(xsimd::batch<float, xsimd::avx512f> a,
                                                              xsimd::batch<float, xsimd::avx512f> b,
                                                              xsimd::batch<float, xsimd::avx512f> c) {
    return _mm512_fmadd_ps(a, b, c);
}
#endif
#if defined(__AVX2__) && defined(__FMA__)
#define ARCHETYPE_SIMD_HAS_FMA3_AVX2 1
inline xsimd::batch<float, xsimd::fma3<xsimd::avx2>> fused_multiply_add(
    xsimd::batch<float, xsimd::fma3<xsimd::avx2>> a, xsimd::batch<float, xsimd::fma3<xsimd::avx2>> b,
    xsimd::batch<float, xsimd::fma3<xsimd::avx2>> c) {
    return _mm256_fmadd_ps(a, b, c);
}
#endif

ARCHETYPE_KERNELS_END
