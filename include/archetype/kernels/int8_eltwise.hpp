// archetype/kernels/int8_eltwise.hpp — integer pooling and residual add on u8 NCHW activations.
//
// Contract (one sample for pooling; geometry as kernels/pool.hpp, PyTorch floor mode):
//   int8_max_pool<G>(x, y)     y = the maximum u8 of each window, padding ignored. Max commutes with the
//                              (monotone) quantization, so the output keeps the input's qparams and equals
//                              quantize(max pool of the dequantized input) exactly. 2×2 windows of stride 2
//                              run 8 outputs at a time with SSE2 byte maxima.
//   int8_avg_pool<G, IncludePad>(x, zx, m, zy, y)   with m = s_x / s_y:
//                              y = clamp(round_half_even(float(Σ_window (x − zx)) · (m / float(div))) + zy,
//                              0, 255); padding counts as the real 0 (x = zx); div = k·k when IncludePad,
//                              else the window's input elements. int8_global_avg_pool(x, c, hw, ...) is the
//                              same over whole planes (div = hw).
//   int8_add(path, a, za, ma, b, zb, mb, zy, lo, hi, n, y)   with ma = s_a / s_y, mb = s_b / s_y:
//                              y = clamp(round_half_even(fma(float(b − zb), mb, float(a − za) · ma)) + zy,
//                              lo, hi) (lo = zy fuses a ReLU); the vnni512 path computes the same in vectors
//                              of 16 (float ops are the same single-rounded operations), the others in
//                              the scalar loop.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "archetype/kernels/int8_gemm.hpp"
#include "archetype/kernels/pool.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

ARCHETYPE_KERNELS_BEGIN
inline namespace ARCHETYPE_INT8_NAMESPACE {

namespace int8_detail {
inline std::uint8_t round_to_u8(float v, std::int32_t zy, std::int32_t lo = 0, std::int32_t hi = 255) {
    const float r = std::nearbyint(std::clamp(v, -0x1p30f, 0x1p30f));
    return static_cast<std::uint8_t>(std::clamp<std::int32_t>(static_cast<std::int32_t>(r) + zy, lo, hi));
}
}  // namespace int8_detail

template <pool2d_geometry G>
void int8_max_pool(const std::uint8_t* x, std::uint8_t* y) {
    static_assert(G.valid(), "archetype::kernels::int8_max_pool: invalid geometry");
    constexpr int Ho = G.ho(), Wo = G.wo(), S = G.stride;
#if defined(__SSE2__)
    if constexpr (G.k == 2 && S == 2 && G.pad == 0 && Wo >= 8) {  // 8 outputs from 2 × 16 bytes
        for (int c = 0; c < G.c; ++c)
            for (int oh = 0; oh < Ho; ++oh) {
                const std::uint8_t* r0 = x + (std::size_t(c) * G.h + 2 * oh) * G.w;
                std::uint8_t* out = y + (std::size_t(c) * Ho + oh) * Wo;
                for (int ow = 0; ow < Wo; ow += 8) {
                    const int o = std::min(ow, Wo - 8);  // the last chunk overlaps the previous one
                    __m128i m = _mm_max_epu8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + 2 * o)),
                                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + G.w + 2 * o)));
                    m = _mm_and_si128(_mm_max_epu8(m, _mm_srli_epi16(m, 8)), _mm_set1_epi16(0xFF));
                    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + o), _mm_packus_epi16(m, m));
                }
            }
        return;
    }
#endif
    for (int c = 0; c < G.c; ++c) {
        const std::uint8_t* xc = x + std::size_t(c) * G.h * G.w;
        std::uint8_t* yc = y + std::size_t(c) * Ho * Wo;
        for (int oh = 0; oh < Ho; ++oh) {
            const int h0 = std::max(oh * S - G.pad, 0), h1 = std::min(oh * S - G.pad + G.k, G.h);
            for (int ow = 0; ow < Wo; ++ow) {
                const int w0 = std::max(ow * S - G.pad, 0), w1 = std::min(ow * S - G.pad + G.k, G.w);
                std::uint8_t m = 0;
                for (int ih = h0; ih < h1; ++ih)
                    for (int iw = w0; iw < w1; ++iw) m = std::max(m, xc[ih * G.w + iw]);
                yc[oh * Wo + ow] = m;
            }
        }
    }
}

template <pool2d_geometry G, bool IncludePad>
void int8_avg_pool(const std::uint8_t* x, std::int32_t zx, float m, std::int32_t zy, std::uint8_t* y) {
    static_assert(G.valid(), "archetype::kernels::int8_avg_pool: invalid geometry");
    constexpr int Ho = G.ho(), Wo = G.wo(), S = G.stride;
    for (int c = 0; c < G.c; ++c) {
        const std::uint8_t* xc = x + std::size_t(c) * G.h * G.w;
        for (int oh = 0; oh < Ho; ++oh) {
            const int h0 = std::max(oh * S - G.pad, 0), h1 = std::min(oh * S - G.pad + G.k, G.h);
            for (int ow = 0; ow < Wo; ++ow) {
                const int w0 = std::max(ow * S - G.pad, 0), w1 = std::min(ow * S - G.pad + G.k, G.w);
                std::int32_t sum = 0;
                for (int ih = h0; ih < h1; ++ih)
                    for (int iw = w0; iw < w1; ++iw) sum += std::int32_t{xc[ih * G.w + iw]} - zx;
                const int div = IncludePad ? G.k * G.k : (h1 - h0) * (w1 - w0);
                y[(std::size_t(c) * Ho + oh) * Wo + ow] = int8_detail::round_to_u8(float(sum) * (m / float(div)), zy);
            }
        }
    }
}

inline void int8_global_avg_pool(const std::uint8_t* x, std::size_t c, std::size_t hw, std::int32_t zx, float m,
                                 std::int32_t zy, std::uint8_t* y) {
    for (std::size_t ch = 0; ch < c; ++ch) {
        std::int32_t sum = 0;
        for (std::size_t i = 0; i < hw; ++i) sum += std::int32_t{x[ch * hw + i]} - zx;
        y[ch] = int8_detail::round_to_u8(float(sum) * (m / float(hw)), zy);
    }
}

struct int8_add_params {
    std::int32_t za = 0;
    float ma = 1.0f;
    std::int32_t zb = 0;
    float mb = 1.0f;
    std::int32_t zy = 0, lo = 0, hi = 255;
};

inline void int8_add(int8_path p, const std::uint8_t* a, const std::uint8_t* b, std::size_t n, const int8_add_params& q,
                     std::uint8_t* y) {
    check_int8_path(p, "int8_add");
    std::size_t i = 0;
#if defined(ARCHETYPE_INT8_VNNI512)
    if (p == int8_path::vnni512) {
        const __mmask16 all = 0xFFFF;
        auto widen = [](const std::uint8_t* s, std::int32_t z) {
            return _mm512_maskz_cvtepi32_ps(
                0xFFFF, _mm512_sub_epi32(
                            _mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s))),
                            _mm512_set1_epi32(z)));
        };
        for (; i + 16 <= n; i += 16) {
            const __m512 fa = _mm512_mul_ps(widen(a + i, q.za), _mm512_set1_ps(q.ma));
            __m512 r = _mm512_fmadd_ps(widen(b + i, q.zb), _mm512_set1_ps(q.mb), fa);
            r = _mm512_maskz_min_ps(all, _mm512_maskz_max_ps(all, r, _mm512_set1_ps(-0x1p30f)),
                                    _mm512_set1_ps(0x1p30f));
            __m512i v = _mm512_add_epi32(_mm512_maskz_cvtps_epi32(all, r), _mm512_set1_epi32(q.zy));
            v = _mm512_maskz_min_epi32(all, _mm512_maskz_max_epi32(all, v, _mm512_set1_epi32(q.lo)),
                                       _mm512_set1_epi32(q.hi));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm512_maskz_cvtepi32_epi8(all, v));
        }
    }
#endif
    for (; i < n; ++i) {
        const float fa = float(std::int32_t{a[i]} - q.za) * q.ma;
        y[i] = int8_detail::round_to_u8(std::fma(float(std::int32_t{b[i]} - q.zb), q.mb, fa), q.zy, q.lo, q.hi);
    }
}

}  // namespace ARCHETYPE_INT8_NAMESPACE
ARCHETYPE_KERNELS_END
