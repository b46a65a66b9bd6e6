// archetype/kernels/int8_conv2d.hpp — integer convolution on u8 NCHW activations and s8 weights, with the
// requantization (or dequantization) of int8_gemm.hpp fused.
//
// Contract (one sample; geometry G as in kernels/conv2d.hpp, a compile-time value):
//   int8_conv2d_forward<G>(w, x, x_zero_point, e, y)
//     y[o][p] = epilogue(Σ_{ci,kh,kw} w[o][ci][kh][kw] · xpad[g·cg + ci][ih][iw]) for channel o,
//     where xpad is x padded with x_zero_point (the quantized real 0) and w is int8_pack_rows(path, weights,
//     out, cg·k·k) (its path is the one taken). Method: x is copied into a padded scratch plane, unrolled into
//     the V format of the path (im2col: on vnni512 with AVX512-VBMI and k ≥ 2 one vpermt2b per 4 taps and 16
//     pixels, any stride; otherwise stride-1 rows with byte interleaves, 16 or 8 pixels at a time, and other
//     strides element by element), then int8_gemm per group.
//   int8_depthwise_forward<G>(path, w, x, x_zero_point, e, y)   G.groups == G.c (out = c·multiplier);
//     the same sum with cg = 1 computed directly: w raw s8 [out][k][k]. vnni512 with VBMI: 16 output pixels
//     × 4 taps of a kernel row per vpermb + vpdpbusd (any stride whose 16 pixels span < 64 bytes); else for
//     stride 1 a vector of 16 (8) pixels per tap (vpdpbusd / vpmaddwd on zero-extended bytes); other
//     strides one pixel at a time.
//   int8_conv2d_reference(g, w, x, zp, e, y)   plain loops with run-time geometry; the twin the tests use.
// Scratch is per thread (thread_local), so samples may run concurrently.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "archetype/core/aligned_buffer.hpp"
#include "archetype/kernels/conv2d_geometry.hpp"
#include "archetype/kernels/int8_gemm.hpp"

ARCHETYPE_KERNELS_BEGIN
inline namespace ARCHETYPE_INT8_NAMESPACE {

template <class Out>
void int8_conv2d_reference(const conv2d_geometry& g, const std::int8_t* w, const std::uint8_t* x, std::uint8_t zp,
                           const int8_epilogue& e, Out* y) {
    const int ho = g.ho(), wo = g.wo(), cg = g.cg(), og = g.og();
    for (int o = 0; o < g.out; ++o)
        for (int i = 0; i < ho; ++i)
            for (int j = 0; j < wo; ++j) {
                std::int32_t acc = 0;
                for (int ci = 0; ci < cg; ++ci)
                    for (int kh = 0; kh < g.k; ++kh)
                        for (int kw = 0; kw < g.k; ++kw) {
                            const int ih = i * g.stride - g.pad + kh * g.dil, iw = j * g.stride - g.pad + kw * g.dil;
                            const bool inside = ih >= 0 && ih < g.h && iw >= 0 && iw < g.w;
                            const std::int32_t xv = inside ? x[((o / og * cg + ci) * g.h + ih) * g.w + iw] : zp;
                            acc += std::int32_t{w[((o * cg + ci) * g.k + kh) * g.k + kw]} * xv;
                        }
                y[(o * ho + i) * wo + j] = int8_finish_one<Out>(acc, std::size_t(o), e);
            }
}

namespace int8_detail {

struct scratch_tag;
inline std::uint8_t* scratch(std::size_t n) {  // 64-byte aligned, so full-vector im2col stores are aligned
    return per_thread_buffer<scratch_tag, std::uint8_t>(n);
}

// Channels [c0, c0 + cn) of x into a [cn][Hp][Wp] plane padded with zp (Hp = h + 2 pad, likewise Wp).
template <conv2d_geometry G>
void pad_planes(const std::uint8_t* x, int c0, int cn, std::uint8_t zp, std::uint8_t* xp) {
    constexpr int Hp = G.h + 2 * G.pad, Wp = G.w + 2 * G.pad;
    if constexpr (G.pad > 0) std::memset(xp, zp, std::size_t(cn) * Hp * Wp);
    for (int c = 0; c < cn; ++c)
        for (int ih = 0; ih < G.h; ++ih)
            std::memcpy(xp + (std::size_t(c) * Hp + ih + G.pad) * Wp + G.pad,
                        x + (std::size_t(c0 + c) * G.h + ih) * G.w, G.w);
}

template <conv2d_geometry G>
struct int8_conv_layout {
    static constexpr int Cg = G.cg(), Og = G.og(), R = Cg * G.k * G.k, Ho = G.ho(), Wo = G.wo(), P = Ho * Wo;
    static constexpr int Hp = G.h + 2 * G.pad, Wp = G.w + 2 * G.pad;
    // + slack for vector reads past the plane (whole-row chunks may start up to 16 rows before its end)
    static constexpr std::size_t plane = std::size_t(Cg) * Hp * Wp + 192 + std::size_t(16) * G.stride * Wp;
    // V columns: room for the last row's overrun of a full 16-pixel chunk
    static constexpr std::size_t np = int8_round_up(std::size_t(Ho - 1) * Wo + int8_round_up(Wo, 16), 16);
    static constexpr std::size_t v_bytes(int8_path p) { return int8_round_up(R, 4) * np * int8_elem_bytes(p); }
};

#if defined(ARCHETYPE_INT8_VNNI512) && defined(__AVX512VBMI__)
// The vpermt2b im2col: a chunk is 16 consecutive output pixels, one output row's (Wo >= 16) or, when
// 16 % Wo == 0, 16 / Wo whole rows. rel(l) is pixel lane l's byte offset from the chunk's first pixel's;
// it applies when every 4 consecutive taps come from at most 2 input rows (k >= 2) and a lane's bytes lie
// within the 64 bytes loaded from each.
template <conv2d_geometry G>
struct vbmi_im2col_plan {
    static constexpr int R = G.cg() * G.k * G.k, groups = (R + 3) / 4, Wo = G.wo(), Wp = G.w + 2 * G.pad;
    static constexpr bool whole_rows = Wo < 16 && 16 % Wo == 0;
    static constexpr int rel(int l) {
        return whole_rows ? (l / Wo) * G.stride * Wp + (l % Wo) * G.stride : l * G.stride;
    }
    static constexpr bool applies = G.k >= 2 && rel(15) + (G.k - 1) * G.dil < 64;
    static constexpr auto table = [] {  // per group of 4 taps, the vpermt2b index
        std::array<std::array<std::uint8_t, 64>, groups> t{};
        for (int q = 0; q < groups; ++q)
            for (int u = 0; u < 4; ++u) {
                const int r = 4 * q + u;  // r >= R: a dummy tap (its weight is 0), any byte will do
                const int from_b = r < R && r / G.k != 4 * q / G.k ? 64 : 0, kw = r < R ? r % G.k : 0;
                for (int l = 0; l < 16; ++l) t[q][4 * l + u] = std::uint8_t(applies ? from_b + rel(l) + kw * G.dil : 0);
            }
        return t;
    }();
};

// Depthwise on vnni512 + VBMI: per kernel row, the taps kw = 4j .. 4j+3 of 16 pixels come out of one
// 64-byte load with one vpermb, so one vpdpbusd does 4 taps (weights beyond k are 0).
template <conv2d_geometry G>
struct vbmi_depthwise_plan {
    using rows = vbmi_im2col_plan<G>;
    static constexpr int kg = (G.k + 3) / 4;
    static constexpr bool applies = rows::rel(15) + (G.k - 1) * G.dil < 64;
    static constexpr auto table = [] {
        std::array<std::array<std::uint8_t, 64>, kg> t{};
        for (int j = 0; j < kg; ++j)
            for (int u = 0; u < 4; ++u)
                for (int l = 0; l < 16; ++l) {
                    const int kw = 4 * j + u < G.k ? 4 * j + u : 0;
                    t[j][4 * l + u] = std::uint8_t(applies ? rows::rel(l) + kw * G.dil : 0);
                }
        return t;
    }();
};

template <conv2d_geometry G>
void im2col_group_vbmi(const std::uint8_t* xp, int q, std::uint8_t* col) {
    using L = int8_conv_layout<G>;
    using plan = vbmi_im2col_plan<G>;
    const int r0 = 4 * q, row_a = r0 / G.k, row_b = std::min(row_a + 1, L::R / G.k - 1);
    auto row_ptr = [&](int row) {
        return xp + (std::size_t(row / G.k) * L::Hp + std::size_t(row % G.k) * G.dil) * L::Wp;
    };
    const std::uint8_t *a = row_ptr(row_a), *b = row_ptr(row_b);
    const __m512i vidx = _mm512_loadu_si512(plan::table[q].data());
    auto chunk = [&](std::size_t off, std::size_t p) {
        const __m512i va = _mm512_loadu_si512(a + off), vb = _mm512_loadu_si512(b + off);
        _mm512_storeu_si512(col + (q * L::np + p) * 4, _mm512_permutex2var_epi8(va, vidx, vb));
    };
    if constexpr (plan::whole_rows) {
        for (int p = 0; p < L::P; p += 16) chunk(std::size_t(p / L::Wo) * G.stride * L::Wp, std::size_t(p));
    } else {
        for (int oh = 0; oh < L::Ho; ++oh)
            for (int ow = 0; ow < L::Wo; ow += 16)
                chunk(std::size_t(oh) * G.stride * L::Wp + std::size_t(ow) * G.stride, std::size_t(oh) * L::Wo + ow);
    }
}
#endif

// im2col of one group's padded plane into the V format of path p (see int8_gemm.hpp), np columns.
template <conv2d_geometry G>
void im2col_v(int8_path p, const std::uint8_t* xp, void* col) {
    using L = int8_conv_layout<G>;
    const int gsz = int(int8_group(p));
    const std::size_t np = L::np;
    auto tap_base = [&](int r) {  // first input byte tap r reads for output (0, 0); dummy taps reuse tap 0
        if (r >= L::R) r = 0;
        const int ci = r / (G.k * G.k), kh = r / G.k % G.k, kw = r % G.k;
        return xp + (std::size_t(ci) * L::Hp + kh * G.dil) * L::Wp + kw * G.dil;
    };
#if defined(ARCHETYPE_INT8_VNNI512) && defined(__AVX512VBMI__)
    if constexpr (vbmi_im2col_plan<G>::applies) {
        if (p == int8_path::vnni512) {
            for (int q = 0; q * 4 < L::R; ++q) im2col_group_vbmi<G>(xp, q, static_cast<std::uint8_t*>(col));
            return;
        }
    }
#endif
    for (int q = 0; q * gsz < L::R; ++q) {
        const std::uint8_t* src[4] = {tap_base(q * gsz), tap_base(q * gsz + 1), tap_base(q * gsz + 2),
                                      tap_base(q * gsz + 3)};
        [[maybe_unused]] bool done = false;
#if defined(ARCHETYPE_INT8_VNNI512) || defined(ARCHETYPE_INT8_AVX2)
        if (G.stride == 1 && p != int8_path::scalar) {
            for (int oh = 0; oh < L::Ho; ++oh) {
                const std::size_t row = std::size_t(oh) * L::Wp;
                if (p == int8_path::vnni512) {
                    auto* dst = static_cast<std::uint8_t*>(col) + (q * np + std::size_t(oh) * L::Wo) * 4;
                    for (int ow = 0; ow < L::Wo; ow += 16) {
                        auto ld = [&](int t) {
                            return _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[t] + row + ow));
                        };
                        const __m128i a = ld(0), b = ld(1), c = ld(2), d = ld(3);
                        const __m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);
                        const __m128i cd_lo = _mm_unpacklo_epi8(c, d), cd_hi = _mm_unpackhi_epi8(c, d);
                        auto* o = reinterpret_cast<__m128i*>(dst + std::size_t(ow) * 4);
                        _mm_storeu_si128(o, _mm_unpacklo_epi16(ab_lo, cd_lo));
                        _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(ab_lo, cd_lo));
                        _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(ab_hi, cd_hi));
                        _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(ab_hi, cd_hi));
                    }
                } else {
                    auto* dst = static_cast<std::int16_t*>(col) + (q * np + std::size_t(oh) * L::Wo) * 2;
                    for (int ow = 0; ow < L::Wo; ow += 8) {
                        auto ld = [&](int t) {
                            return _mm_cvtepu8_epi16(
                                _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src[t] + row + ow)));
                        };
                        const __m128i a = ld(0), b = ld(1);
                        auto* o = reinterpret_cast<__m128i*>(dst + std::size_t(ow) * 2);
                        _mm_storeu_si128(o, _mm_unpacklo_epi16(a, b));
                        _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(a, b));
                    }
                }
            }
            done = true;
        }
#endif
        if (!done)
            for (int t = 0; t < gsz; ++t)
                for (int oh = 0; oh < L::Ho; ++oh)
                    for (int ow = 0; ow < L::Wo; ++ow) {
                        const std::uint8_t v = src[t][std::size_t(oh) * G.stride * L::Wp + std::size_t(ow) * G.stride];
                        const std::size_t at = (q * np + std::size_t(oh) * L::Wo + ow) * gsz + t;
                        if (p == int8_path::avx2) {
                            static_cast<std::int16_t*>(col)[at] = v;
                        } else {
                            static_cast<std::uint8_t*>(col)[at] = v;
                        }
                    }
    }
}

inline int8_epilogue shifted(const int8_epilogue& e, std::size_t by) {
    int8_epilogue s = e;
    if (s.bias) s.bias += by;
    if (s.multiplier) s.multiplier += by;
    if (s.mantissa) s.mantissa += by;
    if (s.shift) s.shift += by;
    if (s.dequant_scale) s.dequant_scale += by;
    return s;
}

}  // namespace int8_detail

template <conv2d_geometry G, class Out>
void int8_conv2d_forward(const int8_matrix& w, const std::uint8_t* x, std::uint8_t zp, const int8_epilogue& e, Out* y) {
    static_assert(G.valid(), "archetype::kernels::int8_conv2d_forward: invalid geometry");
    using L = int8_detail::int8_conv_layout<G>;
    if (w.channels != std::size_t(G.out) || w.depth != std::size_t(L::R))
        throw error("int8_conv2d_forward: packed weights are " + std::to_string(w.channels) + "x" +
                    std::to_string(w.depth) + " but the geometry needs " + std::to_string(G.out) + "x" +
                    std::to_string(L::R) + "; pack them with int8_pack_rows for this layer");
    const int8_path p = w.path;
    std::uint8_t* xp = int8_detail::scratch(L::plane + L::v_bytes(p) + 64);
    std::uint8_t* col = xp + int8_round_up(L::plane, 64);
    const std::size_t lda = int8_a_stride(p, L::R) * int8_elem_bytes(p);
    for (int g = 0; g < G.groups; ++g) {
        int8_detail::pad_planes<G>(x, g * L::Cg, L::Cg, zp, xp);
        int8_detail::im2col_v<G>(p, xp, col);
        const std::size_t o0 = std::size_t(g) * L::Og;
        int8_gemm_args a{std::size_t(L::Og),
                         std::size_t(L::P),
                         std::size_t(L::R),
                         w.data.data() + o0 * lda,
                         int8_a_stride(p, L::R),
                         col,
                         y + o0 * L::P,
                         std::size_t(L::P),
                         int8_detail::shifted(e, o0),
                         L::np};
        int8_gemm<true, true, Out>(p, a);
    }
}

template <conv2d_geometry G, class Out>
void int8_depthwise_forward(int8_path p, const std::int8_t* w, const std::uint8_t* x, std::uint8_t zp,
                            const int8_epilogue& e, Out* y) {
    static_assert(G.valid() && G.groups == G.c, "archetype::kernels::int8_depthwise_forward: depthwise geometry");
    check_int8_path(p, "int8_depthwise_forward");
    using L = int8_detail::int8_conv_layout<G>;
    constexpr int K = G.k, M = G.out / G.c;
    std::uint8_t* xp = int8_detail::scratch(L::plane);
    for (int o = 0; o < G.out; ++o) {
        if (o % M == 0) int8_detail::pad_planes<G>(x, o / M, 1, zp, xp);
        const std::int8_t* wo = w + std::size_t(o) * K * K;
        Out* yo = y + std::size_t(o) * L::P;
        [[maybe_unused]] int8_gemm_args args{1, std::size_t(L::P), 1, nullptr, 0, nullptr, y, std::size_t(L::P), e, 0};
        [[maybe_unused]] bool done = false;
#if defined(ARCHETYPE_INT8_VNNI512) && defined(__AVX512VBMI__)
        if constexpr (int8_detail::vbmi_depthwise_plan<G>::applies) {
            if (p == int8_path::vnni512) {
                using plan = int8_detail::vbmi_depthwise_plan<G>;
                std::int32_t words[K][plan::kg];
                __m512i idx[plan::kg];
                for (int j = 0; j < plan::kg; ++j) idx[j] = _mm512_loadu_si512(plan::table[j].data());
                for (int kh = 0; kh < K; ++kh)
                    for (int j = 0; j < plan::kg; ++j) {
                        std::uint32_t word = 0;
                        for (int u = 0; u < 4 && 4 * j + u < K; ++u)
                            word |= std::uint32_t(std::uint8_t(wo[kh * K + 4 * j + u])) << (8 * u);
                        words[kh][j] = std::int32_t(word);
                    }
                auto chunk = [&](std::size_t off, std::size_t col, std::size_t count) {
                    __m512i acc = _mm512_setzero_si512();
                    for (int kh = 0; kh < K; ++kh) {
                        const __m512i src = _mm512_loadu_si512(xp + std::size_t(kh) * G.dil * L::Wp + off);
                        for (int j = 0; j < plan::kg; ++j)
                            acc = _mm512_dpbusd_epi32(acc, _mm512_maskz_permutexvar_epi8(~__mmask64(0), idx[j], src),
                                                      _mm512_set1_epi32(words[kh][j]));
                    }
                    int8_detail::finish_vnni512<true, Out>(acc, std::size_t(o), col, count, args);
                };
                if constexpr (plan::rows::whole_rows) {
                    for (int q = 0; q < L::P; q += 16)
                        chunk(std::size_t(q / L::Wo) * G.stride * L::Wp, std::size_t(q),
                              std::min<std::size_t>(16, L::P - q));
                } else {
                    for (int oh = 0; oh < L::Ho; ++oh)
                        for (int ow = 0; ow < L::Wo; ow += 16)
                            chunk(std::size_t(oh) * G.stride * L::Wp + std::size_t(ow) * G.stride,
                                  std::size_t(oh) * L::Wo + ow, std::min<std::size_t>(16, L::Wo - ow));
                }
                done = true;
            }
        }
#endif
#if defined(ARCHETYPE_INT8_VNNI512)
        if (G.stride == 1 && p == int8_path::vnni512 && !done) {
            for (int oh = 0; oh < L::Ho; ++oh)
                for (int ow = 0; ow < L::Wo; ow += 16) {
                    __m512i acc = _mm512_setzero_si512();
                    for (int kh = 0; kh < K; ++kh)
                        for (int kw = 0; kw < K; ++kw) {
                            const auto* s = xp + std::size_t(oh + kh * G.dil) * L::Wp + ow + kw * G.dil;
                            const __m512i xv = _mm512_maskz_cvtepu8_epi32(
                                0xFFFF, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
                            const __m512i wv = _mm512_set1_epi32(std::int32_t(std::uint8_t(wo[kh * K + kw])));
                            acc = _mm512_dpbusd_epi32(acc, xv, wv);  // x·w + 0·0 + 0·0 + 0·0 per lane
                        }
                    const std::size_t col = std::size_t(oh) * L::Wo + ow;
                    int8_detail::finish_vnni512<true, Out>(acc, std::size_t(o), col,
                                                           std::min<std::size_t>(16, L::Wo - ow), args);
                }
            done = true;
        }
#endif
#if defined(ARCHETYPE_INT8_AVX2)
        if (G.stride == 1 && p == int8_path::avx2) {
            for (int oh = 0; oh < L::Ho; ++oh)
                for (int ow = 0; ow < L::Wo; ow += 8) {
                    __m256i acc = _mm256_setzero_si256();
                    for (int kh = 0; kh < K; ++kh)
                        for (int kw = 0; kw < K; ++kw) {
                            const auto* s = xp + std::size_t(oh + kh * G.dil) * L::Wp + ow + kw * G.dil;
                            const __m256i xv =
                                _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s)));
                            const __m256i wv =
                                _mm256_set1_epi32(std::int32_t(std::uint16_t(std::int16_t(wo[kh * K + kw]))));
                            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(xv, wv));  // x·w + 0·0 per lane
                        }
                    const std::size_t col = std::size_t(oh) * L::Wo + ow;
                    int8_detail::finish_avx2<true, Out>(acc, std::size_t(o), col, std::min<std::size_t>(8, L::Wo - ow),
                                                        args);
                }
            done = true;
        }
#endif
        if (!done)
            for (int oh = 0; oh < L::Ho; ++oh)
                for (int ow = 0; ow < L::Wo; ++ow) {
                    std::int32_t acc = 0;
                    for (int kh = 0; kh < K; ++kh)
                        for (int kw = 0; kw < K; ++kw)
                            acc += std::int32_t{wo[kh * K + kw]} *
                                   xp[std::size_t(oh * G.stride + kh * G.dil) * L::Wp + ow * G.stride + kw * G.dil];
                    yo[oh * L::Wo + ow] = int8_finish_one<Out>(acc, std::size_t(o), e);
                }
    }
}

}  // namespace ARCHETYPE_INT8_NAMESPACE
ARCHETYPE_KERNELS_END
