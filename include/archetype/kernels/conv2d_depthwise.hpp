// archetype/kernels/conv2d_depthwise.hpp — direct SIMD kernels for convolutions in which every output
// channel reads one input channel (c/groups == 1: depthwise, depthwise with a multiplier): the shared parts.
//
// Contract (same layouts and meaning as conv2d.hpp, one sample unless stated; G.cg() must be 1):
//   depthwise_forward<G>(x, w, b, y)                  overwrites y (conv2d_depthwise_forward.hpp)
//   depthwise_backward_data<G>(dy, w, dx)             overwrites dx (conv2d_depthwise_backward.hpp)
//   depthwise_backward_weights<G>(x, dy, n, dw, db, o_begin, o_end)
//                                                     adds ∂/∂w and ∂/∂b of output channels [o_begin, o_end)
//                                                     over n samples (conv2d_depthwise_backward.hpp)
// This header holds what they share: the split of an input channel into stride×stride phase planes
// (split_phases), the bias gradient (bias_gradient), and the flat-grid input gradient that the geometries
// the row-blocked one does not take (stride > 1, pad > (k−1)·dil) keep. conv2d.hpp includes all three.
// Flat grid. The zero-padded input channel is split into stride×stride phase planes
// P[a][b][i][j] = xpad[i·S + a][j·S + b] of Wq columns, so tap (kh, kw) of output (oh, ow) reads phase
// ((kh·d)%S, (kw·d)%S) at flat index oh·Wq + ow + ((kh·d)/S)·Wq + (kw·d)/S — one contiguous run of the
// flat grid p = oh·Wq + ow for every tap, whatever the stride or dilation. Columns ow ≥ Wo of the grid
// carry zero gradient. The input gradient is computed per phase plane of dx: the flat grid of dy (pitch
// Wq) read at each of the phase's taps, at offset −(⌊kh·d/S⌋·Wq + ⌊kw·d/S⌋) (gather_taps: one load and one
// FMA per tap and output vector), then the planes are interleaved back into dx (merge_phases).
// Scratch: a per-thread buffer, so calls may run concurrently (inside parallel_for).
#pragma once

#include <algorithm>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "archetype/kernels/conv2d_geometry.hpp"
#include "archetype/kernels/conv2d_vector.hpp"
#include "archetype/kernels/simd.hpp"

ARCHETYPE_KERNELS_BEGIN

namespace conv_detail {

// db[o] += Σ over samples and pixels of dy[o], for o in [o_begin, o_end); db may be null. Four vector
// partial sums (a fixed order: samples in order, pixels in lanes), so it runs at load speed instead of
// one dependent add per pixel; the result depends only on the data, not on how channels are split.
template <conv2d_geometry G>
void bias_gradient(const float* dy, std::size_t n, float* db, int o_begin, int o_end) {
    constexpr int P = G.ho() * G.wo(), Pv = P / (4 * lanes) * (4 * lanes);
    if (!db) return;
    for (int o = o_begin; o < o_end; ++o) {
        vec acc[4] = {vec(0.0f), vec(0.0f), vec(0.0f), vec(0.0f)};
        float tail = 0.0f;
        for (std::size_t s = 0; s < n; ++s) {
            const float* d = dy + (s * G.out + o) * P;
            for (int p = 0; p < Pv; p += 4 * lanes)
                for (int j = 0; j < 4; ++j) acc[j] += vec::load_unaligned(d + p + j * lanes);
            for (int p = Pv; p < P; ++p) tail += d[p];
        }
        db[o] += xsimd::hadd((acc[0] + acc[1]) + (acc[2] + acc[3])) + tail;
    }
}

}  // namespace conv_detail

namespace dw_detail {

using conv_detail::lanes;
using conv_detail::vec;

template <conv2d_geometry G>
struct layout {
    static constexpr int S = G.stride, D = G.dil, K = G.k, KK = K * K, Og = G.og();
    static constexpr int Ho = G.ho(), Wo = G.wo(), Hp = G.h + 2 * G.pad, Wp = G.w + 2 * G.pad;
    static constexpr int Hq = (Hp + S - 1) / S, Wq = (Wp + S - 1) / S;  // one phase plane
    static constexpr int NV = (Hq * Wq + lanes - 1) / lanes;           // vectors of one phase plane
    static constexpr std::size_t plane = std::size_t(NV) * lanes;      // floats per phase plane
    static constexpr std::size_t phases = std::size_t(S) * S * plane;
    // dy on the flat grid p = oh·Wq + ow after a margin of the largest tap offset (zeros before the first
    // row, at columns ≥ Wo, past the last row): every read of the gather stays inside
    static constexpr int max_offset = (D * (K - 1) / S) * (Wq + 1);
    static constexpr std::size_t grid = std::size_t(conv_detail::round_up(max_offset + NV * lanes, lanes));
    static constexpr std::size_t scratch_floats = phases + std::size_t(Og) * grid;

    static constexpr int tap_phase(int t) { return (t / K * D) % S * S + (t % K * D) % S; }
    static constexpr int tap_offset(int t) { return (t / K * D) / S * Wq + (t % K * D) / S; }
};

// The phase planes of input channel xc (h×w) into ph (S² planes of Plane floats each, rows Pitch floats
// apart, Pitch ≥ the ⌈(w + 2·pad)/S⌉ columns of a phase row). Writes the interior only: the padding and
// slack keep the zeros they were given once (every channel writes the same positions).
template <conv2d_geometry G, std::size_t Plane, int Pitch>
void split_phases(const float* __restrict xc, float* __restrict ph) {
    constexpr int S = G.stride, Wq = Pitch;
    static_assert(Pitch >= (G.w + 2 * G.pad + S - 1) / S, "split_phases: a phase row is longer than its pitch");
    for (int ih = 0; ih < G.h; ++ih) {
        const int r = ih + G.pad;
        float* dst = ph + std::size_t(r % S * S) * Plane + std::size_t(r / S) * Wq;
        const float* src = xc + std::size_t(ih) * G.w;
        if constexpr (S == 1) {
            conv_detail::copy_floats<G.w>(src, dst + G.pad);
        }
#if defined(ARCHETYPE_SIMD_AVX512F)
        else if constexpr (S == 2) {  // even input columns to one phase, odd ones to the other
            float* even = dst + std::size_t(G.pad % 2) * Plane + G.pad / 2;
            float* odd = dst + std::size_t((G.pad + 1) % 2) * Plane + (G.pad + 1) / 2;
            const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
#pragma GCC unroll 4
            for (int c = 0; c < G.w; c += 2 * lanes) {
                const int n = std::min(2 * lanes, G.w - c);
                const __m512 lo = _mm512_maskz_loadu_ps(__mmask16(n >= lanes ? 0xffffu : (1u << n) - 1), src + c);
                const __m512 hi = n > lanes ? _mm512_maskz_loadu_ps(__mmask16((1u << (n - lanes)) - 1), src + c + lanes)
                                            : _mm512_setzero_ps();
                const int ne = (n + 1) / 2, no = n / 2;  // even and odd columns of the chunk
                _mm512_mask_storeu_ps(even + c / 2, __mmask16((1u << ne) - 1), _mm512_permutex2var_ps(lo, ie, hi));
                if (no > 0)
                    _mm512_mask_storeu_ps(odd + c / 2, __mmask16((1u << no) - 1), _mm512_permutex2var_ps(lo, io, hi));
            }
        }
#endif
        else {  // phase b holds columns c ≡ b (mod S) of the padded row: contiguous writes
            for (int b = 0; b < S; ++b) {
                const int c0 = (b - G.pad % S + S) % S;  // first input column of phase b
                float* d = dst + std::size_t((c0 + G.pad) % S) * Plane + (c0 + G.pad) / S;
                for (int iw = c0, j = 0; iw < G.w; iw += S, ++j) d[j] = src[iw];
            }
        }
    }
}

// dxc (h×w) = the interior of the phase planes ph (the adjoint of split_phases, without the padding).
template <conv2d_geometry G>
void merge_phases(const float* __restrict ph, float* __restrict dxc) {
    using L = layout<G>;
    for (int ih = 0; ih < G.h; ++ih) {
        const int r = ih + G.pad;
        const float* src = ph + std::size_t(r % L::S * L::S) * L::plane + std::size_t(r / L::S) * L::Wq;
        float* dst = dxc + std::size_t(ih) * G.w;
        if constexpr (L::S == 1) {
            conv_detail::copy_floats<G.w>(src + G.pad, dst);
        }
#if defined(ARCHETYPE_SIMD_AVX512F)
        else if constexpr (L::S == 2) {  // interleave the even and odd columns (split_phases' positions)
            const float* even = src + std::size_t(G.pad % 2) * L::plane + G.pad / 2;
            const float* odd = src + std::size_t((G.pad + 1) % 2) * L::plane + (G.pad + 1) / 2;
            const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
#pragma GCC unroll 4
            for (int c = 0; c < G.w; c += 2 * lanes) {
                const int n = std::min(2 * lanes, G.w - c), ne = (n + 1) / 2, no = n / 2;  // even, odd columns
                const __m512 e = _mm512_maskz_loadu_ps(__mmask16((1u << ne) - 1), even + c / 2);
                const __m512 o = _mm512_maskz_loadu_ps(__mmask16((1u << no) - 1), odd + c / 2);
                _mm512_mask_storeu_ps(dst + c, __mmask16(n >= lanes ? 0xffffu : (1u << n) - 1),
                                      _mm512_permutex2var_ps(e, lo, o));
                if (n > lanes)
                    _mm512_mask_storeu_ps(dst + c + lanes, __mmask16((1u << (n - lanes)) - 1),
                                          _mm512_permutex2var_ps(e, hi, o));
            }
        }
#endif
        else {
            for (int b = 0; b < L::S; ++b) {
                const int c0 = (b - G.pad % L::S + L::S) % L::S;
                const float* q = src + std::size_t((c0 + G.pad) % L::S) * L::plane + (c0 + G.pad) / L::S;
                for (int iw = c0, j = 0; iw < G.w; iw += L::S, ++j) dst[iw] = q[j];
            }
        }
    }
}

// ph (the S² phase planes of an input channel's gradient, NV vectors each, overwritten) = Σ over the Og
// output channels j of its group and the taps t of each phase of wg[j·K·K + t] · dy grid j (dyq, grids
// `grid` floats apart) read tap_offset(t) before the output: a gather, one load and one fma per tap and
// output vector, one store per vector and channel (phases no tap reaches get zeros).
template <conv2d_geometry G>
inline void gather_taps(const float* __restrict dyq, const float* __restrict wg, float* __restrict ph) {
    using L = layout<G>;
#pragma GCC unroll 4
    for (int f = 0; f < L::S * L::S; ++f) {
        float* dst = ph + std::size_t(f) * L::plane;
        for (int j = 0; j < L::Og; ++j) {
            const float* src = dyq + std::size_t(j) * L::grid + L::max_offset;
            const float* wj = wg + j * L::KK;
            for (int v = 0; v < L::NV; ++v) {
                vec acc = j == 0 ? vec(0.0f) : vec::load_unaligned(dst + v * lanes);
#pragma GCC unroll 64
                for (int t = 0; t < L::KK; ++t)
                    if (L::tap_phase(t) == f)
                        acc = conv_detail::madd(vec(wj[t]), vec::load_unaligned(src + v * lanes - L::tap_offset(t)),
                                                acc);
                acc.store_unaligned(dst + v * lanes);
            }
        }
    }
}

}  // namespace dw_detail

ARCHETYPE_KERNELS_END
