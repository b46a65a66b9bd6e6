// archetype/kernels/int8_gemm_simd.hpp — the register-blocked micro-kernels behind int8_gemm (included by
// int8_gemm.hpp; see its contract) and the entry point int8_gemm<VecUnsigned, ChannelIsRow, Out>(path, args).
//
// vnni512: MR = 8 rows × NV = 3 vectors of 16 int32 accumulators; per 4-deep step it loads NV vectors of
// V, broadcasts one dword of A per row and issues MR·NV vpdpbusd. Column tails use AVX-512 masks.
// avx2: MR = 4 × NV = 3 vectors of 8 int32 accumulators, vpmaddwd on int16 pairs; a partial last vector
// goes through the scalar epilogue. Both epilogues compute exactly int8_finish_one: the float multiplier
// in vector form (cvtdq2ps, mulps, clamp to [lo − z, hi − z] — the same as clamping after the rounding, which
// is monotone, since the bounds are integers — then cvtps2dq, which rounds half to even like std::nearbyint,
// and + z), the fixed-point multiplier (gemmlowp) with int64 lane products on vnni512 and through the
// scalar code on avx2.
#pragma once

#include <cstddef>
#include <cstdint>

#include "archetype/kernels/int8_gemm.hpp"

ARCHETYPE_KERNELS_BEGIN
inline namespace ARCHETYPE_INT8_NAMESPACE {
namespace int8_detail {

#if defined(ARCHETYPE_INT8_VNNI512)
// int8_fixed_point_multiply on 16 lanes (mantissa in [2^30, 2^31) or 0, as quantize_multiplier makes it).
inline __m512i fixed_point_vnni512(__m512i x, __m512i mantissa, __m512i shift) {
    const __mmask16 all = 0xFFFF;
    const __m512i zero = _mm512_setzero_si512();
    const __m512i left = _mm512_maskz_max_epi32(all, shift, zero),
                  right = _mm512_maskz_max_epi32(all, _mm512_sub_epi32(zero, shift), zero);
    // x · 2^left, saturated to int32
    const __m512i shifted = _mm512_maskz_sllv_epi32(all, x, left);
    const __mmask16 overflow = _mm512_cmpneq_epi32_mask(_mm512_maskz_srav_epi32(all, shifted, left), x);
    const __m512i limit = _mm512_mask_blend_epi32(_mm512_cmplt_epi32_mask(x, zero), _mm512_set1_epi32(INT32_MAX),
                                                  _mm512_set1_epi32(INT32_MIN));
    x = _mm512_mask_blend_epi32(overflow, shifted, limit);
    // saturating rounding doubling high multiply, even and odd lanes as int64 products
    auto high = [&](__m512i a, __m512i b) {
        const __m512i p = _mm512_maskz_mul_epi32(__mmask8(0xFF), a, b);
        const __mmask8 negative = _mm512_cmplt_epi64_mask(p, zero);
        const __m512i nudge = _mm512_mask_blend_epi64(negative, _mm512_set1_epi64(std::int64_t{1} << 30),
                                                      _mm512_set1_epi64(1 - (std::int64_t{1} << 30)));
        const __m512i v = _mm512_add_epi64(p, nudge);
        const __m512i bias =
            _mm512_maskz_mov_epi64(_mm512_cmplt_epi64_mask(v, zero), _mm512_set1_epi64((std::int64_t{1} << 31) - 1));
        return _mm512_maskz_srai_epi64(__mmask8(0xFF), _mm512_add_epi64(v, bias), 31);  // truncating division by 2^31
    };
    const __m512i even = high(x, mantissa);
    const __m512i odd =
        high(_mm512_maskz_srli_epi64(__mmask8(0xFF), x, 32), _mm512_maskz_srli_epi64(__mmask8(0xFF), mantissa, 32));
    const __m512i h =
        _mm512_mask_blend_epi32(__mmask16(0xAAAA), even, _mm512_maskz_slli_epi64(__mmask8(0xFF), odd, 32));
    // rounding divide by 2^right, ties away from zero
    const __m512i mask =
        _mm512_sub_epi32(_mm512_maskz_sllv_epi32(all, _mm512_set1_epi32(1), right), _mm512_set1_epi32(1));
    const __m512i remainder = _mm512_and_si512(h, mask);
    const __m512i threshold =
        _mm512_add_epi32(_mm512_maskz_srai_epi32(all, mask, 1),
                         _mm512_maskz_mov_epi32(_mm512_cmplt_epi32_mask(h, zero), _mm512_set1_epi32(1)));
    const __m512i up = _mm512_maskz_mov_epi32(_mm512_cmpgt_epi32_mask(remainder, threshold), _mm512_set1_epi32(1));
    return _mm512_add_epi32(_mm512_maskz_srav_epi32(all, h, right), up);
}

template <bool ChannelIsRow, class Out>
inline void finish_vnni512(__m512i acc, std::size_t row, std::size_t col, std::size_t count, const int8_gemm_args& g) {
    const int8_epilogue& e = g.e;
    // (the maskz_ forms of the conversions: g++ 12 warns about _mm512_undefined_* in the plain ones)
    const __mmask16 all = 0xFFFF, mask = count >= 16 ? all : __mmask16((1u << count) - 1);
    const std::size_t ch = ChannelIsRow ? row : col;
    if (e.bias)
        acc = _mm512_add_epi32(
            acc, ChannelIsRow ? _mm512_set1_epi32(e.bias[ch]) : _mm512_maskz_loadu_epi32(mask, e.bias + ch));
    auto per_channel = [&](const float* p) {
        return ChannelIsRow ? _mm512_set1_ps(p[ch]) : _mm512_maskz_loadu_ps(mask, p + ch);
    };
    auto per_channel_i = [&](const std::int32_t* p) {
        return ChannelIsRow ? _mm512_set1_epi32(p[ch]) : _mm512_maskz_loadu_epi32(mask, p + ch);
    };
    if constexpr (std::is_same_v<Out, float>) {
        const __m512 y = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(all, acc), per_channel(e.dequant_scale));
        _mm512_mask_storeu_ps(static_cast<float*>(g.c) + row * g.ldc + col, mask, y);
    } else {
        auto* c = static_cast<std::uint8_t*>(g.c) + row * g.ldc + col;
        if (!e.multiplier) {
            const __m512i q =
                _mm512_add_epi32(fixed_point_vnni512(acc, per_channel_i(e.mantissa), per_channel_i(e.shift)),
                                 _mm512_set1_epi32(e.zero_point));
            const __m512i clamped = _mm512_maskz_min_epi32(all, _mm512_maskz_max_epi32(all, q, _mm512_set1_epi32(e.lo)),
                                                           _mm512_set1_epi32(e.hi));
            _mm_mask_storeu_epi8(c, mask, _mm512_maskz_cvtepi32_epi8(all, clamped));
            return;
        }
        // clamp before rounding: rounding is monotone and the bounds lo − z, hi − z are integers
        __m512 r = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(all, acc), per_channel(e.multiplier));
        r = _mm512_maskz_min_ps(all, _mm512_maskz_max_ps(all, r, _mm512_set1_ps(float(e.lo - e.zero_point))),
                                _mm512_set1_ps(float(e.hi - e.zero_point)));
        const __m512i q = _mm512_add_epi32(_mm512_maskz_cvtps_epi32(all, r), _mm512_set1_epi32(e.zero_point));
        _mm_mask_storeu_epi8(c, mask, _mm512_maskz_cvtepi32_epi8(all, q));
    }
}

template <int MR, int NV, bool VecUnsigned, bool ChannelIsRow, class Out>
void tile_vnni512(const int8_gemm_args& g, std::size_t i0, std::size_t j0, std::size_t np, std::size_t kq) {
    const auto* a = static_cast<const std::uint8_t*>(g.a) + i0 * g.lda;
    const auto* v = static_cast<const std::uint8_t*>(g.v) + j0 * 4;
    __m512i acc[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_setzero_si512();
    for (std::size_t q = 0; q < kq; ++q) {
        __m512i vv[NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) vv[j] = _mm512_loadu_si512(v + q * np * 4 + j * 64);
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            const __m512i av = _mm512_set1_epi32(static_cast<int>(load_u32(a + i * g.lda + q * 4)));
#pragma GCC unroll 8
            for (int j = 0; j < NV; ++j)
                acc[i][j] =
                    VecUnsigned ? _mm512_dpbusd_epi32(acc[i][j], vv[j], av) : _mm512_dpbusd_epi32(acc[i][j], av, vv[j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) {  // unrolled, so that acc stays in registers
            const std::size_t col = j0 + std::size_t(j) * 16;
            finish_vnni512<ChannelIsRow, Out>(acc[i][j], i0 + i, col, std::min<std::size_t>(16, g.n - col), g);
        }
}
#endif

#if defined(ARCHETYPE_INT8_AVX2)
template <bool ChannelIsRow, class Out>
inline void finish_avx2(__m256i acc, std::size_t row, std::size_t col, std::size_t count, const int8_gemm_args& g) {
    const int8_epilogue& e = g.e;
    const std::size_t ch = ChannelIsRow ? row : col;
    Out* c = static_cast<Out*>(g.c) + row * g.ldc + col;
    if (count < 8 || (!std::is_same_v<Out, float> && !e.multiplier)) {
        alignas(32) std::int32_t tmp[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), acc);
        finish_scalar(tmp, std::min<std::size_t>(count, 8), ch, ChannelIsRow, c, e);
        return;
    }
    if (e.bias)
        acc = _mm256_add_epi32(acc, ChannelIsRow ? _mm256_set1_epi32(e.bias[ch])
                                                 : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.bias + ch)));
    auto per_channel = [&](const float* p) { return ChannelIsRow ? _mm256_set1_ps(p[ch]) : _mm256_loadu_ps(p + ch); };
    if constexpr (std::is_same_v<Out, float>) {
        _mm256_storeu_ps(c, _mm256_mul_ps(_mm256_cvtepi32_ps(acc), per_channel(e.dequant_scale)));
    } else {
        __m256 r = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), per_channel(e.multiplier));
        r = _mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(float(e.lo - e.zero_point))),
                          _mm256_set1_ps(float(e.hi - e.zero_point)));
        const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(r), _mm256_set1_epi32(e.zero_point));
        const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(c), _mm_packus_epi16(w16, w16));
    }
}

template <int MR, int NV, bool VecUnsigned, bool ChannelIsRow, class Out>
void tile_avx2(const int8_gemm_args& g, std::size_t i0, std::size_t j0, std::size_t np, std::size_t kq) {
    const auto* a = static_cast<const std::int16_t*>(g.a) + i0 * g.lda;
    const auto* v = static_cast<const std::int16_t*>(g.v) + j0 * 2;
    __m256i acc[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_setzero_si256();
    for (std::size_t q = 0; q < kq; ++q) {
        __m256i vv[NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j)
            vv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + q * np * 2 + j * 16));
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            const __m256i av = _mm256_set1_epi32(static_cast<int>(load_u32(a + i * g.lda + q * 2)));
#pragma GCC unroll 8
            for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(vv[j], av));
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) {  // unrolled, so that acc stays in registers
            const std::size_t col = j0 + std::size_t(j) * 8;
            finish_avx2<ChannelIsRow, Out>(acc[i][j], i0 + i, col, std::min<std::size_t>(8, g.n - col), g);
        }
}
#endif

template <int8_path P>
struct blocking {
    static constexpr int mr = P == int8_path::avx2 ? 4 : 8;
    static constexpr int nv = 3;
};

using tile_fn = void (*)(const int8_gemm_args&, std::size_t, std::size_t, std::size_t, std::size_t);

template <int8_path P, int MR, int NV, bool VU, bool CR, class Out>
constexpr tile_fn tile_of() {
#if defined(ARCHETYPE_INT8_VNNI512)
    if constexpr (P == int8_path::vnni512) return &tile_vnni512<MR, NV, VU, CR, Out>;
#endif
#if defined(ARCHETYPE_INT8_AVX2)
    if constexpr (P == int8_path::avx2) return &tile_avx2<MR, NV, VU, CR, Out>;
#endif
    return nullptr;
}

template <int8_path P, int NV, bool VU, bool CR, class Out, std::size_t... R>
inline void run_rows(std::size_t rows, std::index_sequence<R...>, const int8_gemm_args& g, std::size_t i0,
                     std::size_t j0, std::size_t np, std::size_t kq) {
    static constexpr tile_fn table[] = {tile_of<P, int(R) + 1, NV, VU, CR, Out>()...};
    table[rows - 1](g, i0, j0, np, kq);
}

template <int8_path P, bool VU, bool CR, class Out, std::size_t... V>
inline void run_path(const int8_gemm_args& g, std::index_sequence<V...>) {
    using blk = blocking<P>;
    constexpr std::size_t lanes = int8_lanes(P);
    const std::size_t np = g.ldv ? g.ldv : int8_round_up(g.n, lanes), kq = (g.k + int8_group(P) - 1) / int8_group(P);
    for (std::size_t j0 = 0; j0 < g.n; j0 += blk::nv * lanes) {
        const std::size_t nv = std::min<std::size_t>(blk::nv, (g.n - j0 + lanes - 1) / lanes);
        for (std::size_t i0 = 0; i0 < g.m; i0 += blk::mr) {
            const std::size_t rows = std::min<std::size_t>(blk::mr, g.m - i0);
            ((nv == V + 1
                  ? run_rows<P, int(V) + 1, VU, CR, Out>(rows, std::make_index_sequence<blk::mr>{}, g, i0, j0, np, kq)
                  : void()),
             ...);
        }
    }
}

}  // namespace int8_detail

// C = epilogue(A · V) on path p (see int8_gemm.hpp). Out is std::uint8_t or float.
template <bool VecUnsigned, bool ChannelIsRow, class Out>
void int8_gemm(int8_path p, const int8_gemm_args& g) {
    static_assert(std::is_same_v<Out, std::uint8_t> || std::is_same_v<Out, float>, "int8_gemm: u8 or f32 output");
    check_int8_path(p, "int8_gemm");
    if (g.k > int8_max_depth)
        throw error("int8_gemm: depth " + std::to_string(g.k) +
                    " exceeds 65536 (int32 accumulators could "
                    "overflow); split the reduction");
    if constexpr (!std::is_same_v<Out, float>) {
        if (!g.e.multiplier && (!g.e.mantissa || !g.e.shift))
            throw error("int8_gemm: u8 output needs a float multiplier or a fixed-point mantissa and shift");
    } else {
        if (!g.e.dequant_scale) throw error("int8_gemm: float output needs dequant_scale");
    }
    if (g.m == 0 || g.n == 0) return;
    using namespace int8_detail;
    switch (p) {
        case int8_path::vnni512:
            run_path<int8_path::vnni512, VecUnsigned, ChannelIsRow, Out>(
                g, std::make_index_sequence<blocking<int8_path::vnni512>::nv>{});
            break;
        case int8_path::avx2:
            run_path<int8_path::avx2, VecUnsigned, ChannelIsRow, Out>(
                g, std::make_index_sequence<blocking<int8_path::avx2>::nv>{});
            break;
        case int8_path::scalar:
            gemm_scalar<VecUnsigned, ChannelIsRow, Out>(g);
            break;
    }
}

}  // namespace ARCHETYPE_INT8_NAMESPACE
ARCHETYPE_KERNELS_END
