// archetype/kernels/conv2d_depthwise.hpp — direct SIMD kernels for convolutions in which every output
// channel reads one input channel (c/groups == 1: depthwise, depthwise with a multiplier).
//
// Contract (same layouts and meaning as conv2d.hpp, one sample unless stated; G.cg() must be 1):
//   depthwise_forward<G>(x, w, b, y)                  overwrites y (conv2d_depthwise_forward.hpp, included
//                                                     at the end: row-blocked, see there)
//   depthwise_backward_data<G>(dy, w, dx)             overwrites dx
//   depthwise_backward_weights<G>(x, dy, n, dw, db, o_begin, o_end)
//                                                     adds ∂/∂w and ∂/∂b of output channels [o_begin, o_end)
//                                                     over n samples, in sample order (deterministic; the
//                                                     channels are independent, so callers may split them
//                                                     between threads without changing a bit)
// Method (backward). NCHW with a per-channel plane is kept (the layer protocol's layout); to fill whole
// vectors when the image is narrow (7, 14, 28 columns) gradients are computed on a flat grid: the
// zero-padded input channel is split into stride×stride phase planes P[a][b][i][j] = xpad[i·S + a][j·S + b]
// of Wq columns, so tap (kh, kw) of output (oh, ow) reads phase ((kh·d)%S, (kw·d)%S) at flat index
// oh·Wq + ow + ((kh·d)/S)·Wq + (kw·d)/S — one contiguous run of the flat grid p = oh·Wq + ow for every
// tap, whatever the stride or dilation. Columns ow ≥ Wo of the grid carry zero gradient, so vectors run
// over Ho·Wq outputs instead of Wo-wide rows
// (7×7 with pad 1: 81 % of lanes useful instead of 44 %). Every output vector costs one load and one FMA
// per tap. The input gradient scatters dy·w into the phase planes tap by tap (no overlapping stores in
// flight), then gathers the planes back into dx; the weight gradient is one dot product per tap over the
// flat grid (vector partial sums, one fixed-order horizontal sum per sample).
// Scratch: a per-thread buffer, so calls may run concurrently (inside parallel_for).
#pragma once

#include <algorithm>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "archetype/core/aligned_buffer.hpp"
#include "archetype/kernels/conv2d_geometry.hpp"
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
    static constexpr int NV = (Ho * Wq + lanes - 1) / lanes;           // vectors of the flat output grid
    static constexpr int max_offset = (D * (K - 1) / S) * (Wq + 1);
    // floats per phase plane: every read of the grid (NV vectors past the largest tap offset) stays inside
    static constexpr std::size_t plane = std::size_t(conv_detail::round_up(std::max(Hq * Wq, NV * lanes + max_offset), lanes));
    static constexpr std::size_t phases = std::size_t(S) * S * plane;
    static constexpr std::size_t grid = std::size_t(NV) * lanes;  // flat output / output-gradient buffer
    static constexpr std::size_t scratch_floats = phases + grid;

    static constexpr std::size_t tap_phase(int t) { return std::size_t((t / K * D) % S * S + (t % K * D) % S) * plane; }
    static constexpr int tap_offset(int t) { return (t / K * D) / S * Wq + (t % K * D) / S; }
};

// The phase planes of input channel xc (h×w) into ph (S² planes of Plane floats each, Wq columns).
// Writes the interior only: the padding and slack keep the zeros they were given once (every channel
// writes the same positions).
template <conv2d_geometry G, std::size_t Plane>
void split_phases(const float* __restrict xc, float* __restrict ph) {
    constexpr int S = G.stride, Wq = (G.w + 2 * G.pad + S - 1) / S;
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
        } else {
            for (int b = 0; b < L::S; ++b) {
                const int c0 = (b - G.pad % L::S + L::S) % L::S;
                const float* q = src + std::size_t((c0 + G.pad) % L::S) * L::plane + (c0 + G.pad) / L::S;
                for (int iw = c0, j = 0; iw < G.w; iw += L::S, ++j) dst[iw] = q[j];
            }
        }
    }
}

// ph (phase planes of the input channel) += Σ_taps w[t] · dyq shifted by tap t (dyq: flat grid, zero at
// columns ≥ Wo and past the grid).
template <conv2d_geometry G>
inline void scatter_taps(const float* __restrict dyq, const float* __restrict wo, float* __restrict ph) {
    using L = layout<G>;
    for (int t = 0; t < L::KK; ++t) {
        float* dst = ph + L::tap_phase(t) + L::tap_offset(t);
        const vec wv(wo[t]);
        for (int v = 0; v < L::NV; ++v) {
            const vec d = vec::load_aligned(dyq + v * lanes);
            conv_detail::madd(wv, d, vec::load_unaligned(dst + v * lanes)).store_unaligned(dst + v * lanes);
        }
    }
}

// dyq = dy of one channel (Ho×Wo) on the flat grid, zero elsewhere.
template <conv2d_geometry G>
inline void spread_rows(const float* __restrict dyc, float* __restrict dyq) {
    using L = layout<G>;
    std::fill_n(dyq, L::grid, 0.0f);
    for (int oh = 0; oh < L::Ho; ++oh) conv_detail::copy_floats<L::Wo>(dyc + oh * L::Wo, dyq + oh * L::Wq);
}

// Taps [T0, T0 + NT): dw[t] += Σ_grid dyq · phase run of tap t, one horizontal sum per tap.
template <conv2d_geometry G, int T0, int NT>
inline void weight_taps(const float* __restrict ph, const float* __restrict dyq, float* __restrict dwo) {
    using L = layout<G>;
    vec acc[NT];
#pragma GCC unroll 16
    for (int j = 0; j < NT; ++j) acc[j] = vec(0.0f);
    for (int v = 0; v < L::NV; ++v) {
        const vec d = vec::load_aligned(dyq + v * lanes);
#pragma GCC unroll 16
        for (int j = 0; j < NT; ++j)
            acc[j] = conv_detail::madd(d, vec::load_unaligned(ph + L::tap_phase(T0 + j) + L::tap_offset(T0 + j) + v * lanes),
                                       acc[j]);
    }
#pragma GCC unroll 16
    for (int j = 0; j < NT; ++j) dwo[T0 + j] += xsimd::hadd(acc[j]);
}

template <conv2d_geometry G, int T0 = 0>
inline void weight_all_taps(const float* ph, const float* dyq, float* dwo) {
    constexpr int KK = layout<G>::KK, NT = KK - T0 < 12 ? KK - T0 : 12;
    weight_taps<G, T0, NT>(ph, dyq, dwo);
    if constexpr (T0 + NT < KK) weight_all_taps<G, T0 + NT>(ph, dyq, dwo);
}

}  // namespace dw_detail

template <conv2d_geometry G>
void depthwise_backward_data(const float* dy, const float* w, float* dx) {
    static_assert(G.valid() && G.cg() == 1, "archetype::kernels::depthwise_backward_data: needs c/groups == 1");
    using L = dw_detail::layout<G>;
    float* ph = conv_detail::scratch(L::scratch_floats);
    float* dyq = ph + L::phases;
    for (int ci = 0; ci < G.c; ++ci) {
        std::fill_n(ph, L::phases, 0.0f);  // the scatter also writes the padding
        for (int o = ci * L::Og; o < (ci + 1) * L::Og; ++o) {
            dw_detail::spread_rows<G>(dy + std::size_t(o) * L::Ho * L::Wo, dyq);
            dw_detail::scatter_taps<G>(dyq, w + std::size_t(o) * L::KK, ph);
        }
        dw_detail::merge_phases<G>(ph, dx + std::size_t(ci) * G.h * G.w);
    }
}

template <conv2d_geometry G>
void depthwise_backward_weights(const float* x, const float* dy, std::size_t n, float* dw, float* db, int o_begin,
                                int o_end) {
    static_assert(G.valid() && G.cg() == 1, "archetype::kernels::depthwise_backward_weights: needs c/groups == 1");
    using L = dw_detail::layout<G>;
    constexpr std::size_t in_size = std::size_t(G.c) * G.h * G.w, out_size = std::size_t(G.out) * L::Ho * L::Wo;
    float* ph = conv_detail::scratch(L::scratch_floats);
    float* dyq = ph + L::phases;
    std::fill_n(ph, L::phases, 0.0f);
    for (std::size_t s = 0; s < n; ++s) {
        for (int o = o_begin; o < o_end; ++o) {
            if (o == o_begin || o % L::Og == 0)
                dw_detail::split_phases<G, L::plane>(x + s * in_size + std::size_t(o / L::Og) * G.h * G.w, ph);
            dw_detail::spread_rows<G>(dy + s * out_size + std::size_t(o) * L::Ho * L::Wo, dyq);
            dw_detail::weight_all_taps<G>(ph, dyq, dw + std::size_t(o) * L::KK);
        }
    }
    conv_detail::bias_gradient<G>(dy, n, db, o_begin, o_end);
}

ARCHETYPE_KERNELS_END

#include "archetype/kernels/conv2d_depthwise_forward.hpp"  // depthwise_forward<G>
