// archetype/kernels/conv2d_depthwise_backward.hpp — the backward kernels of depthwise convolutions
// (c/groups == 1), register-blocked over output rows like the forward (conv2d_depthwise_forward.hpp).
//
// Contract (same layouts and meaning as conv2d.hpp; built on conv2d_depthwise.hpp and the forward header):
//   depthwise_backward_data<G>(dy, w, dx)             one sample; overwrites dx
//   depthwise_backward_weights<G>(x, dy, n, dw, db, o_begin, o_end)
//                                                     adds ∂/∂w and ∂/∂b of output channels [o_begin, o_end)
//                                                     over n samples; a channel's result depends only on
//                                                     its data (samples in order), so callers may split the
//                                                     channels between threads without changing a bit
// Method.
// - Input gradient, stride 1 with pad ≤ (k−1)·dil: it is the forward convolution (transposed<G>) of dy,
//   zero-padded by (k−1)·dil − pad, with the filters turned by 180°, summed over the m output channels
//   of an input channel (multiplier m); it runs on the forward's row-blocked kernel (forward_plane with
//   C = m): each padded dy row is loaded once per kernel column and feeds every (vector, kh) that reads
//   it. Other geometries (strided, wider padding) take the flat-grid gather of conv2d_depthwise.hpp.
// - Weight gradient: per output channel, K×K vectors of lane-wise partial sums carried over the samples
//   in order, one horizontal sum per weight at the end. The input channel of a sample is split into the
//   forward's phase planes; a block of R output vectors (the forward's vectors: row chunks, or m narrow
//   rows at pitch Wq) of dy is loaded once into registers, then per kernel column each phase-plane row is
//   loaded once and multiplied into every (vector, kh) that reads it, KW columns of accumulators (K·KW
//   registers) at a time. dy lanes that are not outputs (the part of a last row chunk that overlaps the
//   chunk before, the lanes between narrow rows) are loaded as zero, so they add nothing, but they
//   multiply input values: a non-finite input value makes the gradient non-finite, as in the forward.
// Scratch: a per-thread buffer (conv_detail::scratch), so calls may run concurrently (inside parallel_for).
#pragma once

#include <algorithm>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "archetype/kernels/conv2d_depthwise.hpp"
#include "archetype/kernels/conv2d_depthwise_forward.hpp"
#include "archetype/kernels/conv2d_geometry.hpp"
#include "archetype/kernels/conv2d_vector.hpp"
#include "archetype/kernels/simd.hpp"

ARCHETYPE_KERNELS_BEGIN

namespace dw_backward_detail {

using conv_detail::lanes;
using conv_detail::vec;

// The input gradient takes the forward kernel (stride 1, pad ≤ (k−1)·dil; see the header comment).
template <conv2d_geometry G>
inline constexpr bool data_by_rows = G.stride == 1 && G.pad <= (G.k - 1) * G.dil;

// The convolution whose forward is G's input gradient at stride 1: input dy [out][ho][wo], output
// [c][h][w], input channel ci reading the m dy channels of its group.
template <conv2d_geometry G>
inline constexpr conv2d_geometry transposed{G.out, G.ho(), G.wo(), G.c, G.k, 1, (G.k - 1) * G.dil - G.pad, G.dil, G.c};

// Register blocking of the weight gradient: KW kernel columns of K accumulators and R dy vectors live
// at once (with the input vector), R ≤ 14 as in the forward; the vector rows run in `full` blocks of R,
// then one block of `tail` rows.
template <conv2d_geometry G>
struct weight_tiling {
    using L = dw_forward_detail::layout<G>;
#if defined(ARCHETYPE_SIMD_AVX512F)
    static constexpr int registers = 32, r_want = 14;
#else
    static constexpr int registers = 16, r_want = 6;
#endif
    static constexpr int K = L::K, KW = std::clamp((registers - 2 - r_want) / K, 1, K);
    static constexpr int r_max = std::clamp(registers - 2 - K * KW, 1, 14);
    static constexpr int blocks = (L::Hv + r_max - 1) / r_max, R = (L::Hv + blocks - 1) / blocks;
    static constexpr int full = L::Hv / R, tail = L::Hv - full * R;
};

// The dy vector of output row oh (and the m − 1 rows after it when narrow, at lane pitch Wq) at column c
// of dy plane dyo; lanes below `skip` (the overlap of a last row chunk) and lanes that hold no output are 0.
template <conv2d_geometry G>
inline vec load_dy(const float* __restrict dyo, int oh, int c, int skip) {
    using L = dw_forward_detail::layout<G>;
    const float* src = dyo + std::size_t(oh) * L::Wo + c;
    if constexpr (L::wide) {
        if (skip == 0) return vec::load_unaligned(src);
    }
#if defined(ARCHETYPE_SIMD_AVX512F)
    if constexpr (L::wide) {
        return _mm512_maskz_loadu_ps(__mmask16(0xffffu << skip), src);
    } else {
        const int rows = std::min(L::m, L::Ho - oh);
        unsigned k = 0;
        for (int q = 0; q < rows; ++q) k |= ((1u << L::Wo) - 1) << (q * L::Wq);
        return _mm512_maskz_expandloadu_ps(__mmask16(k), src);  // rows·Wo floats into the output lanes
    }
#else
    alignas(64) float t[lanes] = {};
    if constexpr (L::wide) {
        for (int j = skip; j < lanes; ++j) t[j] = src[j];
    } else {
        const int rows = std::min(L::m, L::Ho - oh);
        for (int q = 0; q < rows; ++q)
            for (int j = 0; j < L::Wo; ++j) t[q * L::Wq + j] = src[q * L::Wo + j];
    }
    return vec::load_aligned(t);
#endif
}

// part[kh·K + kw] (K×K vectors) += lane-wise Σ over the Rb vectors at vector rows [v0, v0 + Rb), column
// c, of dy · the input each tap reads (phase planes ph), KW kernel columns at a time.
template <conv2d_geometry G, int Rb>
inline void weight_block(const float* __restrict ph, const float* __restrict dyo, int v0, int c, int skip,
                         float* __restrict part) {
    using L = dw_forward_detail::layout<G>;
    constexpr int K = L::K, KW = weight_tiling<G>::KW;
    constexpr int U = L::S * L::m * (Rb - 1) + L::D * (K - 1) + 1;  // padded rows the block reads
    vec d[Rb];
#pragma GCC unroll 16
    for (int i = 0; i < Rb; ++i) d[i] = dw_forward_detail::in_register(load_dy<G>(dyo, (v0 + i) * L::m, c, skip));
    const std::size_t q0 = std::size_t(v0 * L::m) * L::Wq + c;
#pragma GCC unroll 8
    for (int kw0 = 0; kw0 < K; kw0 += KW) {
        vec a[K][KW];
#pragma GCC unroll 8
        for (int kh = 0; kh < K; ++kh)
#pragma GCC unroll 8
            for (int j = 0; j < KW; ++j)
                a[kh][j] = kw0 + j < K ? vec::load_unaligned(part + std::size_t(kh * K + kw0 + j) * lanes) : vec(0.0f);
        const float* col = ph + q0;
#pragma GCC unroll 64
        for (int u = 0; u < U; ++u) {  // padded row S·oh0 + u: phase u % S, phase row oh0 + u / S
            if (!L::row_used(u, Rb)) continue;
#pragma GCC unroll 8
            for (int j = 0; j < KW; ++j) {  // the KW columns interleaved: more independent chains
                const int kw = kw0 + j;
                if (kw >= K) continue;
                const vec xv = dw_forward_detail::in_register(vec::load_unaligned(
                    col + std::size_t(kw * L::D % L::S) * L::plane + kw * L::D / L::S +
                    std::size_t(u % L::S * L::S) * L::plane + std::size_t(u / L::S) * L::Wq));
#pragma GCC unroll 16
                for (int i = 0; i < Rb; ++i) {  // vector i reads it with kh = (u − S·m·i) / D
                    const int rem = u - L::S * L::m * i;
                    if (rem >= 0 && rem % L::D == 0 && rem / L::D < K)
                        a[rem / L::D][j] = conv_detail::madd(d[i], xv, a[rem / L::D][j]);
                }
            }
        }
#pragma GCC unroll 8
        for (int kh = 0; kh < K; ++kh)
#pragma GCC unroll 8
            for (int j = 0; j < KW; ++j)
                if (kw0 + j < K) a[kh][j].store_unaligned(part + std::size_t(kh * K + kw0 + j) * lanes);
    }
}

// part += the lane-wise weight-gradient sums of one sample's output plane dyo against its input's phase
// planes ph, over every row chunk and block of vector rows.
template <conv2d_geometry G>
inline void weight_plane(const float* __restrict ph, const float* __restrict dyo, float* __restrict part) {
    using L = dw_forward_detail::layout<G>;
    using T = weight_tiling<G>;
    for (int j = 0; j < L::chunks; ++j) {
        const int c = L::col(j), skip = j * lanes - c;  // lanes of the last chunk the one before covered
        for (int b = 0; b < T::full; ++b) weight_block<G, T::R>(ph, dyo, b * T::R, c, skip, part);
        if constexpr (T::tail > 0) weight_block<G, T::tail>(ph, dyo, T::full * T::R, c, skip, part);
    }
}

}  // namespace dw_backward_detail

template <conv2d_geometry G>
void depthwise_backward_data(const float* dy, const float* w, float* dx) {
    static_assert(G.valid() && G.cg() == 1, "archetype::kernels::depthwise_backward_data: needs c/groups == 1");
    if constexpr (dw_backward_detail::data_by_rows<G>) {
        constexpr conv2d_geometry T = dw_backward_detail::transposed<G>;
        using L = dw_forward_detail::layout<T>;
        constexpr int Og = G.og(), KK = G.k * G.k;
        constexpr std::size_t set = std::size_t(Og) * L::phases;  // the padded dy planes of one group
        // Two sets: the next group is split into one while the current one is computed from the other.
        float* const planes = conv_detail::scratch(2 * set + std::size_t(G.out) * KK);
        float* const turned = planes + 2 * set;  // the filters turned by 180°
        for (int o = 0; o < G.out; ++o)
            for (int t = 0; t < KK; ++t) turned[o * KK + t] = w[o * KK + KK - 1 - t];
        std::fill_n(planes, 2 * set, 0.0f);
        auto split_group = [&](int ci) {
            for (int j = 0; j < Og; ++j)
                dw_detail::split_phases<T, L::plane, L::Wq>(dy + std::size_t(ci * Og + j) * G.ho() * G.wo(),
                                                     planes + std::size_t(ci % 2) * set + std::size_t(j) * L::phases);
        };
        split_group(0);
        for (int ci = 0; ci < G.c; ++ci) {
            if (ci + 1 < G.c) split_group(ci + 1);
            dw_forward_detail::forward_plane<T, Og>(planes + std::size_t(ci % 2) * set, turned + ci * Og * KK, 0.0f,
                                                    dx + std::size_t(ci) * G.h * G.w);
        }
    } else {
        using L = dw_detail::layout<G>;
        float* const ph = conv_detail::scratch(L::scratch_floats);
        float* const dyq = ph + L::phases;  // Og dy grids; their zeros are written once
        std::fill_n(dyq, std::size_t(L::Og) * L::grid, 0.0f);
        for (int ci = 0; ci < G.c; ++ci) {
            for (int j = 0; j < L::Og; ++j)
                for (int oh = 0; oh < L::Ho; ++oh)
                    conv_detail::copy_floats<L::Wo>(dy + (std::size_t(ci * L::Og + j) * L::Ho + oh) * L::Wo,
                                                    dyq + std::size_t(j) * L::grid + L::max_offset + oh * L::Wq);
            dw_detail::gather_taps<G>(dyq, w + std::size_t(ci) * L::Og * L::KK, ph);
            dw_detail::merge_phases<G>(ph, dx + std::size_t(ci) * G.h * G.w);
        }
    }
}

template <conv2d_geometry G>
void depthwise_backward_weights(const float* x, const float* dy, std::size_t n, float* dw, float* db, int o_begin,
                                int o_end) {
    static_assert(G.valid() && G.cg() == 1, "archetype::kernels::depthwise_backward_weights: needs c/groups == 1");
    using L = dw_forward_detail::layout<G>;
    using conv_detail::lanes;
    constexpr int KK = G.k * G.k;
    constexpr std::size_t in_size = std::size_t(G.c) * G.h * G.w, out_size = std::size_t(G.out) * L::Ho * L::Wo;
    // Two sets of phase planes (the next (channel, sample) plane is split into one while the current one
    // is computed from the other, so its loads do not wait on the stores that filled it), then the partial
    // sums of `lanes` channels (KK·lanes vectors, zero past the last channel), reduced `lanes` vectors at a
    // time by horizontal_sums: every vector by the same tree, so the bits do not depend on which vectors
    // share a reduction (on how callers split the channels).
    constexpr std::size_t part_vectors = std::size_t(KK) * lanes;
    float* const planes = conv_detail::scratch(2 * L::phases + part_vectors * lanes);
    float* const part = planes + 2 * L::phases;
    if (n == 0 || o_begin >= o_end) return;
    std::fill_n(planes, 2 * L::phases, 0.0f);
    auto input = [&](int o, std::size_t s) { return x + s * in_size + std::size_t(o / L::Og) * G.h * G.w; };
    dw_detail::split_phases<G, L::plane, L::Wq>(input(o_begin, 0), planes);
    std::size_t step = 0;  // (channel, sample) pairs done: its parity picks the planes
    for (int o0 = o_begin; o0 < o_end; o0 += lanes) {
        const int channels = std::min(lanes, o_end - o0);
        std::fill_n(part, part_vectors * lanes, 0.0f);
        for (int o = o0; o < o0 + channels; ++o)
            for (std::size_t s = 0; s < n; ++s, ++step) {
                if (s + 1 < n || o + 1 < o_end)
                    dw_detail::split_phases<G, L::plane, L::Wq>(s + 1 < n ? input(o, s + 1) : input(o + 1, 0),
                                                         planes + (step + 1) % 2 * L::phases);
                dw_backward_detail::weight_plane<G>(planes + step % 2 * L::phases,
                                                    dy + s * out_size + std::size_t(o) * L::Ho * L::Wo,
                                                    part + std::size_t(o - o0) * KK * lanes);
            }
        const std::size_t vectors = std::size_t(channels) * KK;
        float* dwo = dw + std::size_t(o0) * KK;
        for (std::size_t i = 0; i < vectors; i += lanes) {
            alignas(64) float sums[lanes];
            conv_detail::horizontal_sums(part + i * lanes, sums);
            for (std::size_t j = 0; j < std::min<std::size_t>(lanes, vectors - i); ++j) dwo[i + j] += sums[j];
        }
    }
    conv_detail::bias_gradient<G>(dy, n, db, o_begin, o_end);
}

ARCHETYPE_KERNELS_END
