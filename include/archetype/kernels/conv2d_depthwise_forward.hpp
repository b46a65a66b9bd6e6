// archetype/kernels/conv2d_depthwise_forward.hpp — the forward kernel of depthwise convolutions
// (c/groups == 1), register-blocked over output rows.
//
// Contract (built on the shared depthwise helpers of conv2d_depthwise.hpp):
//   depthwise_forward<G>(x, w, b, y)   one sample, NCHW; y [out][ho][wo] is overwritten; b may be null.
// Its plane kernel (dw_forward_detail::forward_plane, which can sum C input channels) also computes the
// stride-1 input gradient (conv2d_depthwise_backward.hpp).
// Method. The zero-padded input channel is split into stride×stride phase planes of Wn columns at row
// pitch Wq (stride 1: one plane, the padded channel), so every tap reads a contiguous run of its phase
// plane. When a vector holds at most one row, Wq is Wn rounded up to whole vectors: the reads of taps at
// column offset 0 are then aligned, and an unaligned 64-byte read that crosses a cache line costs two
// (depthwise 3×3 stride 2 on 28×28: 17% faster). An output vector
// is a run of one output row (Wo ≥ lanes: column chunks, the last one overlapping the one before) or, for
// narrow images, m whole rows at pitch Wq in its lanes ((m−1)·Wq + Wo ≤ lanes). R vectors at consecutive
// vector rows form a block kept in registers; for each kernel column kw the K weights w[·][kw] sit in
// registers and each phase-plane row the block reads is loaded once and feeds every (vector, kh) pair
// that reads it: about R + K − 1 loads for R·K FMAs at stride 1 (instead of one load per FMA). Results
// go straight to y (narrow rows through a lane permutation and a masked store on AVX-512); blocks that
// do not divide the rows overlap the one before and write the same values again.
// Scratch: a per-thread buffer of two sets of phase planes (conv_detail::scratch), zeroed once per call;
// the next input channel is split into one while the current one is computed from the other.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "archetype/kernels/conv2d_depthwise.hpp"
#include "archetype/kernels/conv2d_geometry.hpp"
#include "archetype/kernels/simd.hpp"

ARCHETYPE_KERNELS_BEGIN

namespace dw_forward_detail {

using conv_detail::lanes;
using conv_detail::vec;

template <conv2d_geometry G>
struct layout {
    static constexpr int S = G.stride, D = G.dil, K = G.k, Og = G.og();
    static constexpr int Ho = G.ho(), Wo = G.wo(), Hp = G.h + 2 * G.pad, Wp = G.w + 2 * G.pad;
    static constexpr int Hq = (Hp + S - 1) / S, Wn = (Wp + S - 1) / S;  // rows and columns of a phase plane
    static constexpr int reach = (K - 1) * D / S;  // largest row (and column) offset of a tap in its plane
    static constexpr bool wide = Wo >= lanes;      // vectors along rows; else m rows per vector
    static constexpr int m = wide ? 1 : (lanes - Wo) / Wn + 1;
    // Row pitch: whole vectors when a vector holds at most one row, so the reads of taps at column
    // offset 0 are aligned (an unaligned 64-byte load that crosses a cache line costs two)
    static constexpr int Wq = m == 1 ? conv_detail::round_up(Wn, lanes) : Wn;
    static constexpr int Hv = (Ho + m - 1) / m;  // vector rows
    static constexpr int chunks = wide ? (Wo + lanes - 1) / lanes : 1;
    static constexpr int last_col = wide ? Wo - lanes : 0;
#if defined(ARCHETYPE_SIMD_AVX512F)
    static constexpr int registers = 32;
#else
    static constexpr int registers = 16;
#endif
    // K weights, R accumulators and a loaded vector live at once
    static constexpr int r_max = std::clamp(registers - K - 4, 1, 14);
    static constexpr int blocks = (Hv + r_max - 1) / r_max, R = (Hv + blocks - 1) / blocks;
    // floats per phase plane: the reads of the last vector row (narrow rows spill into the next ones) stay inside
    static constexpr std::size_t plane = std::size_t(conv_detail::round_up(
        std::max(Hq * Wq, ((Hv - 1) * m + reach) * Wq + last_col + reach + lanes), lanes));
    static constexpr std::size_t phases = std::size_t(S) * S * plane;

    static constexpr int col(int j) { return j * lanes < last_col ? j * lanes : last_col; }
    // padded row u (relative to the block's first, S·oh0) is read by some (vector i < Rb, kh) of a block
    static constexpr bool row_used(int u, int Rb) {
        for (int i = 0; i < Rb; ++i)
            for (int kh = 0; kh < K; ++kh)
                if (S * m * i + kh * D == u) return true;
        return false;
    }
};

// v, pinned to a register: without it g++ folds the load into every FMA that uses it (one load per FMA
// again, the cost the row blocking removes).
inline vec in_register(vec v) {
#if defined(ARCHETYPE_SIMD_AVX512F)
    __m512 r = v;
    asm("" : "+v"(r));
    return r;
#elif defined(ARCHETYPE_SIMD_AVX2)
    __m256 r = v;
    asm("" : "+x"(r));
    return r;
#else
    return v;
#endif
}

// acc[i] = bias + Σ_taps wo · the input of the vector at flat offset q0 + i·m·Wq of the phase planes ph,
// summed over C channels in order (channel c: planes ph + c·phases, weights wo + c·K·K; the forward has
// C = 1, the input gradient of a multiplier-m depthwise convolution C = m, conv2d_depthwise_backward.hpp).
template <conv2d_geometry G, int R, int C = 1>
inline void forward_rows(const float* __restrict ph, const float* __restrict wo, float bias, std::size_t q0,
                         vec (&acc)[R]) {
    using L = layout<G>;
    constexpr int U = L::S * L::m * (R - 1) + L::D * (L::K - 1) + 1;  // padded rows the block reads
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) acc[i] = vec(bias);
    for (int c = 0; c < C; ++c) {
#pragma GCC unroll 16
        for (int kw = 0; kw < L::K; ++kw) {
            vec wk[L::K];  // column kw of the filter
#pragma GCC unroll 16
            for (int kh = 0; kh < L::K; ++kh) wk[kh] = vec(wo[(c * L::K + kh) * L::K + kw]);
            const float* col = ph + c * L::phases + std::size_t(kw * L::D % L::S) * L::plane + q0 + kw * L::D / L::S;
#pragma GCC unroll 64
            for (int u = 0; u < U; ++u) {  // padded row S·oh0 + u: phase u % S, phase row oh0 + u / S
                if (!L::row_used(u, R)) continue;
                const vec xv = in_register(
                    vec::load_unaligned(col + std::size_t(u % L::S * L::S) * L::plane + std::size_t(u / L::S) * L::Wq));
#pragma GCC unroll 16
                for (int i = 0; i < R; ++i) {  // vector i reads it with kh = (u − S·m·i) / D
                    const int rem = u - L::S * L::m * i;
                    if (rem >= 0 && rem % L::D == 0 && rem / L::D < L::K)
                        acc[i] = conv_detail::madd(wk[rem / L::D], xv, acc[i]);
                }
            }
        }
    }
}

// The first `rows` (≤ m) output rows held in v at lane pitch Wq, to dst (rows of Wo floats, contiguous).
template <conv2d_geometry G>
inline void store_rows(const vec& v, float* __restrict dst, int rows) {
    using L = layout<G>;
#if defined(ARCHETYPE_SIMD_AVX512F)
    const __mmask16 k = __mmask16((1u << (rows * L::Wo)) - 1);
    if constexpr (L::m == 1) {
        _mm512_mask_storeu_ps(dst, k, v);
    } else {
        static constexpr std::array<int, lanes> index = [] {
            std::array<int, lanes> a{};
            for (int q = 0; q < L::m * L::Wo; ++q) a[std::size_t(q)] = q / L::Wo * L::Wq + q % L::Wo;
            return a;
        }();
        // maskz: the unmasked intrinsic trips g++ 12's -Wuninitialized (_mm512_undefined_ps)
        _mm512_mask_storeu_ps(dst, k, _mm512_maskz_permutexvar_ps(k, _mm512_loadu_si512(index.data()), v));
    }
#else
    alignas(64) float t[lanes];
    v.store_aligned(t);
    for (int r = 0; r < rows; ++r)
        for (int j = 0; j < L::Wo; ++j) dst[r * L::Wo + j] = t[r * L::Wq + j];
#endif
}

// yo (one output plane, Ho×Wo) = bias + the C channels of phase planes ph (C·phases floats) convolved
// with their filters wo (C·K·K floats), block by block (see forward_rows). Always inlined: as a call per
// channel it made the forward on small planes (7×7) about 10 % slower.
template <conv2d_geometry G, int C = 1>
[[gnu::always_inline]] inline void forward_plane(const float* __restrict ph, const float* __restrict wo, float bias,
                                                 float* __restrict yo) {
    using L = layout<G>;
    for (int j = 0; j < L::chunks; ++j) {
        const int c = L::col(j);
        for (int blk = 0; blk < L::blocks; ++blk) {
            const int v0 = std::min(blk * L::R, L::Hv - L::R);  // the last block may overlap the one before
            vec acc[L::R];
            forward_rows<G, L::R, C>(ph, wo, bias, std::size_t(v0 * L::m) * L::Wq + c, acc);
#pragma GCC unroll 16
            for (int i = 0; i < L::R; ++i) {
                const int oh = (v0 + i) * L::m;
                if constexpr (L::wide)
                    acc[i].store_unaligned(yo + std::size_t(oh) * L::Wo + c);
                else
                    store_rows<G>(acc[i], yo + std::size_t(oh) * L::Wo, std::min(L::m, L::Ho - oh));
            }
        }
    }
}

}  // namespace dw_forward_detail

template <conv2d_geometry G>
void depthwise_forward(const float* x, const float* w, const float* b, float* y) {
    static_assert(G.valid() && G.cg() == 1, "archetype::kernels::depthwise_forward: needs c/groups == 1");
    using L = dw_forward_detail::layout<G>;
    // Two sets of phase planes: input channel ci + 1 is split into one while channel ci is computed from
    // the other, so the loads of a channel do not wait on the stores that filled its planes.
    float* const planes = conv_detail::scratch(2 * L::phases);
    std::fill_n(planes, 2 * L::phases, 0.0f);
    dw_detail::split_phases<G, L::plane, L::Wq>(x, planes);
    for (int o = 0; o < G.out; ++o) {
        const int ci = o / L::Og;
        if (o % L::Og == 0 && ci + 1 < G.c)
            dw_detail::split_phases<G, L::plane, L::Wq>(x + std::size_t(ci + 1) * G.h * G.w,
                                              planes + std::size_t((ci + 1) % 2) * L::phases);
        const float* ph = planes + std::size_t(ci % 2) * L::phases;
        dw_forward_detail::forward_plane<G>(ph, w + std::size_t(o) * L::K * L::K, b ? b[o] : 0.0f,
                                            y + std::size_t(o) * L::Ho * L::Wo);
    }
}

ARCHETYPE_KERNELS_END
