// archetype/kernels/pool.hpp — max, average and global average pooling on raw NCHW pointers.
//
// Contract (PyTorch semantics, floor mode): window (oh, ow) covers rows [oh·stride − pad, … + k) and the
// same columns, cut to the input; output size (h + 2·pad − k)/stride + 1. The geometry is a compile-time
// value (pool2d_geometry). All functions work on one sample x [c][h][w] → y [c][ho][wo] and overwrite
// their output (y or dx).
//   max_pool_forward<G>(x, y, argmax)    padding acts as −∞; y = the maximum of the window, argmax = the
//                                        plane index (h·w + column, exact in a float) of its first
//                                        maximal element in row-major order
//   max_pool_backward<G>(argmax, dy, dx) routes dy to that element; overlapping windows add
//   avg_pool_forward<G, IncludePad>(x, y) / avg_pool_backward<G, IncludePad>(dy, dx)
//                                    divisor: k·k when IncludePad, else the window's input elements;
//                                    vectorised across an output row, bit-identical to the *_reference
//                                    twins (same terms, same order)
//   global_avg_pool_forward(x, y, c, hw) / global_avg_pool_backward(dy, dx, c, hw): mean over h·w
//                                    (16 partial sums in a fixed order; SIMD and scalar twin agree bitwise)
// A NaN in a max window wins it, as in PyTorch.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>

#include "archetype/kernels/simd.hpp"

ARCHETYPE_KERNELS_BEGIN

struct pool2d_geometry {
    int c = 1, h = 1, w = 1;  // input channels, height, width
    int k = 1, stride = 1, pad = 0;

    constexpr int ho() const { return (h + 2 * pad - k) / stride + 1; }
    constexpr int wo() const { return (w + 2 * pad - k) / stride + 1; }
    constexpr bool valid() const {
        return c > 0 && h > 0 && w > 0 && k > 0 && stride > 0 && pad >= 0 && 2 * pad <= k && h + 2 * pad >= k &&
               w + 2 * pad >= k;
    }
};

namespace pool_detail {

struct window {
    int h0, h1, w0, w1;  // input rows [h0, h1) and columns [w0, w1), cut to the input
    int padded_size;     // the window's size counting padding (PyTorch's count_include_pad divisor)
};

template <pool2d_geometry G>
constexpr window window_at(int oh, int ow) {
    const int h0 = oh * G.stride - G.pad, w0 = ow * G.stride - G.pad;
    const int h1 = std::min(h0 + G.k, G.h + G.pad), w1 = std::min(w0 + G.k, G.w + G.pad);
    return {std::max(h0, 0), std::min(h1, G.h), std::max(w0, 0), std::min(w1, G.w), (h1 - h0) * (w1 - w0)};
}

// One kernel column Kw of input row xr (starting at plane index row) for all windows of an output row:
// an element replaces the running maximum when greater, or when NaN. Branch-free and with constant
// bounds, so it vectorises across the row's windows.
template <pool2d_geometry G, int Kw>
inline void max_step(const float* __restrict xr, int row, float* __restrict m, float* __restrict best) {
    constexpr int off = Kw - G.pad;
    constexpr int lo = off >= 0 ? 0 : (-off + G.stride - 1) / G.stride;
    constexpr int hi = G.w - 1 - off < 0 ? 0 : std::min((G.w - 1 - off) / G.stride + 1, G.wo());
    for (int ow = lo; ow < hi; ++ow) {
        const float v = xr[ow * G.stride + off];
        const bool take = v > m[ow] || v != v;
        m[ow] = take ? v : m[ow];
        best[ow] = take ? float(row + ow * G.stride + off) : best[ow];
    }
}

template <pool2d_geometry G, bool IncludePad>
constexpr int divisor(const window& win) {
    return IncludePad ? win.padded_size : (win.h1 - win.h0) * (win.w1 - win.w0);
}

}  // namespace pool_detail

// 2×2 windows, stride 2, no padding, even plane: every output row reads one pair of input rows, so the
// whole sample is one flat loop over (channel·Ho + oh, ow) with the same element order and update rule
// as the general loop (vectorised by the compiler; the general loop runs short rows one step at a time).
template <pool2d_geometry G>
inline constexpr bool max_pool_2x2 = G.k == 2 && G.stride == 2 && G.pad == 0 && G.h % 2 == 0 && G.w % 2 == 0;

template <pool2d_geometry G>
void max_pool_forward_2x2(const float* __restrict x, float* __restrict y, float* __restrict argmax) {
    constexpr int Wo = G.w / 2, rows = G.c * (G.h / 2), plane = G.h * G.w;
    for (int r = 0; r < rows; ++r) {
        const float* x0 = x + std::size_t(r) * 2 * G.w;
        const float* x1 = x0 + G.w;
        const int at0 = (r * 2 * G.w) % plane;  // plane index of the row pair's first element
        float* yr = y + std::size_t(r) * Wo;
        float* ar = argmax + std::size_t(r) * Wo;
        for (int ow = 0; ow < Wo; ++ow) {  // bitwise | and selects only: no branch, so it vectorises
            float m = x0[2 * ow];            // −∞ < a unless a is NaN, which also takes it
            int off = 0;
            const float b = x0[2 * ow + 1], c = x1[2 * ow], d = x1[2 * ow + 1];
            bool take = (b > m) | (b != b);
            m = take ? b : m, off = take ? 1 : off;
            take = (c > m) | (c != c);
            m = take ? c : m, off = take ? G.w : off;
            take = (d > m) | (d != d);
            m = take ? d : m, off = take ? G.w + 1 : off;
            const float best = float(at0 + 2 * ow + off);
            yr[ow] = m, ar[ow] = best;
        }
    }
}

template <pool2d_geometry G>
void max_pool_forward(const float* __restrict x, float* __restrict y, float* __restrict argmax) {
    static_assert(G.valid(), "archetype::kernels::max_pool_forward: invalid geometry");
    static_assert(std::size_t(G.h) * G.w <= (std::size_t(1) << 24), "argmax indices must be exact in a float");
    if constexpr (max_pool_2x2<G>) {
        max_pool_forward_2x2<G>(x, y, argmax);
        return;
    }
    constexpr int Ho = G.ho(), Wo = G.wo(), S = G.stride;
    for (int c = 0; c < G.c; ++c) {
        const float* xc = x + std::size_t(c) * G.h * G.w;
        for (int oh = 0; oh < Ho; ++oh) {
            // all windows of the row at once, element by element in row-major window order
            // alignas: g++ 12 at -O2 -march=native vectorizes the initialisation below with aligned
            // 16-byte stores into a red-zone placement that is only 8-byte aligned (a segfault); an
            // explicit alignment makes it realign the frame. -O3 and clang were not affected.
            alignas(64) float m[Wo];
            alignas(64) float best[Wo];
            const int h0 = std::max(oh * S - G.pad, 0), h1 = std::min(oh * S - G.pad + G.k, G.h);
            for (int ow = 0; ow < Wo; ++ow) {
                m[ow] = -std::numeric_limits<float>::infinity();
                best[ow] = float(h0 * G.w + std::max(ow * S - G.pad, 0));
            }
            for (int ih = h0; ih < h1; ++ih) {
                const float* xr = xc + std::size_t(ih) * G.w;
                [&]<int... Kw>(std::integer_sequence<int, Kw...>) {
                    (pool_detail::max_step<G, Kw>(xr, ih * G.w, m, best), ...);
                }(std::make_integer_sequence<int, G.k>{});
            }
            const std::size_t at = (std::size_t(c) * Ho + oh) * Wo;
            std::copy_n(m, Wo, y + at);
            std::copy_n(best, Wo, argmax + at);
        }
    }
}

// 2×2 stride-2 windows do not overlap and tile the (even) plane: every dx element is written once, dy of
// its window where the window's argmax points at it, else 0 (no clearing pass, no scatter).
template <pool2d_geometry G>
void max_pool_backward_2x2(const float* __restrict argmax, const float* __restrict dy, float* __restrict dx) {
    constexpr int Wo = G.w / 2, rows = G.c * (G.h / 2), plane = G.h * G.w;
    for (int r = 0; r < rows; ++r) {
        float* d0 = dx + std::size_t(r) * 2 * G.w;
        float* d1 = d0 + G.w;
        const int at0 = (r * 2 * G.w) % plane;
        const float* ar = argmax + std::size_t(r) * Wo;
        const float* gr = dy + std::size_t(r) * Wo;
        for (int ow = 0; ow < Wo; ++ow) {
            const float a = ar[ow], g = gr[ow], base = float(at0 + 2 * ow);
            d0[2 * ow] = a == base ? g : 0.0f;
            d0[2 * ow + 1] = a == base + 1.0f ? g : 0.0f;
            d1[2 * ow] = a == base + float(G.w) ? g : 0.0f;
            d1[2 * ow + 1] = a == base + float(G.w + 1) ? g : 0.0f;
        }
    }
}

template <pool2d_geometry G>
void max_pool_backward(const float* __restrict argmax, const float* __restrict dy, float* __restrict dx) {
    static_assert(G.valid(), "archetype::kernels::max_pool_backward: invalid geometry");
    if constexpr (max_pool_2x2<G>) {
        max_pool_backward_2x2<G>(argmax, dy, dx);
        return;
    }
    constexpr int Ho = G.ho(), Wo = G.wo();
    std::fill_n(dx, std::size_t(G.c) * G.h * G.w, 0.0f);
    for (int c = 0; c < G.c; ++c) {
        float* dxc = dx + std::size_t(c) * G.h * G.w;
        const std::size_t at = std::size_t(c) * Ho * Wo;
        for (int i = 0; i < Ho * Wo; ++i) dxc[int(argmax[at + i])] += dy[at + i];
    }
}

// The scalar twins of the average-pooling kernels: one window at a time, row-major inside the window.
template <pool2d_geometry G, bool IncludePad>
void avg_pool_forward_reference(const float* x, float* y) {
    static_assert(G.valid(), "archetype::kernels::avg_pool_forward: invalid geometry");
    constexpr int Ho = G.ho(), Wo = G.wo();
    for (int c = 0; c < G.c; ++c) {
        const float* xc = x + std::size_t(c) * G.h * G.w;
        float* yc = y + std::size_t(c) * Ho * Wo;
        for (int oh = 0; oh < Ho; ++oh)
            for (int ow = 0; ow < Wo; ++ow) {
                const pool_detail::window win = pool_detail::window_at<G>(oh, ow);
                float sum = 0.0f;
                for (int ih = win.h0; ih < win.h1; ++ih)
                    for (int iw = win.w0; iw < win.w1; ++iw) sum += xc[ih * G.w + iw];
                yc[oh * Wo + ow] = sum / float(pool_detail::divisor<G, IncludePad>(win));
            }
    }
}

template <pool2d_geometry G, bool IncludePad>
void avg_pool_backward_reference(const float* dy, float* dx) {
    static_assert(G.valid(), "archetype::kernels::avg_pool_backward: invalid geometry");
    constexpr int Ho = G.ho(), Wo = G.wo();
    std::fill_n(dx, std::size_t(G.c) * G.h * G.w, 0.0f);
    for (int c = 0; c < G.c; ++c) {
        const float* dyc = dy + std::size_t(c) * Ho * Wo;
        float* dxc = dx + std::size_t(c) * G.h * G.w;
        for (int oh = 0; oh < Ho; ++oh)
            for (int ow = 0; ow < Wo; ++ow) {
                const pool_detail::window win = pool_detail::window_at<G>(oh, ow);
                const float g = dyc[oh * Wo + ow] / float(pool_detail::divisor<G, IncludePad>(win));
                for (int ih = win.h0; ih < win.h1; ++ih)
                    for (int iw = win.w0; iw < win.w1; ++iw) dxc[ih * G.w + iw] += g;
            }
    }
}

namespace pool_detail {

// Output columns ow whose kernel column Kw falls inside the input: [lo, hi) (as in max_step).
template <pool2d_geometry G, int Kw>
struct column_range {
    static constexpr int off = Kw - G.pad;
    static constexpr int lo = off >= 0 ? 0 : (-off + G.stride - 1) / G.stride;
    static constexpr int hi = G.w - 1 - off < 0 ? 0 : std::min((G.w - 1 - off) / G.stride + 1, G.wo());
};

// sum[ow] += input column ow·stride + Kw − pad of row xr, for every window of an output row.
template <pool2d_geometry G, int Kw>
inline void avg_step(const float* __restrict xr, float* __restrict sum) {
    using r = column_range<G, Kw>;
    for (int ow = r::lo; ow < r::hi; ++ow) sum[ow] += xr[ow * G.stride + r::off];
}

// dxr[ow·stride + Kw − pad] += g[ow], for every window of an output row.
template <pool2d_geometry G, int Kw>
inline void avg_scatter(float* __restrict dxr, const float* __restrict g) {
    using r = column_range<G, Kw>;
    for (int ow = r::lo; ow < r::hi; ++ow) dxr[ow * G.stride + r::off] += g[ow];
}

template <pool2d_geometry G, bool IncludePad>
inline void row_divisors(int oh, float* div) {
    for (int ow = 0; ow < G.wo(); ++ow) div[ow] = float(divisor<G, IncludePad>(window_at<G>(oh, ow)));
}

}  // namespace pool_detail

// Vectorised average pooling: all windows of an output row advance together, one kernel column at a time
// over contiguous (stride 1) or strided input, with compile-time bounds, so the compiler vectorises
// across the row. Each output (forward) or input-gradient element (backward) sees the same terms in the
// same order as the reference loops above (kernel columns descending in backward = windows ascending),
// so the two agree bit for bit.
template <pool2d_geometry G, bool IncludePad>
void avg_pool_forward(const float* __restrict x, float* __restrict y) {
    static_assert(G.valid(), "archetype::kernels::avg_pool_forward: invalid geometry");
    constexpr int Ho = G.ho(), Wo = G.wo(), S = G.stride;
    for (int oh = 0; oh < Ho; ++oh) {
        alignas(64) float div[Wo];
        pool_detail::row_divisors<G, IncludePad>(oh, div);
        const int h0 = std::max(oh * S - G.pad, 0), h1 = std::min(oh * S - G.pad + G.k, G.h);
        for (int c = 0; c < G.c; ++c) {
            const float* xc = x + std::size_t(c) * G.h * G.w;
            alignas(64) float sum[Wo] = {};
            for (int ih = h0; ih < h1; ++ih)
                [&]<int... Kw>(std::integer_sequence<int, Kw...>) {
                    (pool_detail::avg_step<G, Kw>(xc + std::size_t(ih) * G.w, sum), ...);
                }(std::make_integer_sequence<int, G.k>{});
            float* yr = y + (std::size_t(c) * Ho + oh) * Wo;
            for (int ow = 0; ow < Wo; ++ow) yr[ow] = sum[ow] / div[ow];
        }
    }
}

template <pool2d_geometry G, bool IncludePad>
void avg_pool_backward(const float* __restrict dy, float* __restrict dx) {
    static_assert(G.valid(), "archetype::kernels::avg_pool_backward: invalid geometry");
    constexpr int Ho = G.ho(), Wo = G.wo(), S = G.stride;
    std::fill_n(dx, std::size_t(G.c) * G.h * G.w, 0.0f);
    for (int oh = 0; oh < Ho; ++oh) {
        alignas(64) float div[Wo];
        pool_detail::row_divisors<G, IncludePad>(oh, div);
        const int h0 = std::max(oh * S - G.pad, 0), h1 = std::min(oh * S - G.pad + G.k, G.h);
        for (int c = 0; c < G.c; ++c) {
            const float* dyr = dy + (std::size_t(c) * Ho + oh) * Wo;
            alignas(64) float g[Wo];
            for (int ow = 0; ow < Wo; ++ow) g[ow] = dyr[ow] / div[ow];
            float* dxc = dx + std::size_t(c) * G.h * G.w;
            for (int ih = h0; ih < h1; ++ih)
                [&]<int... Kw>(std::integer_sequence<int, Kw...>) {
                    (pool_detail::avg_scatter<G, G.k - 1 - Kw>(dxc + std::size_t(ih) * G.w, g), ...);
                }(std::make_integer_sequence<int, G.k>{});
        }
    }
}

namespace pool_detail {
inline float combine16(const float* p) {
    float s8[8], s4[4];
    for (int j = 0; j < 8; ++j) s8[j] = p[j] + p[j + 8];
    for (int j = 0; j < 4; ++j) s4[j] = s8[j] + s8[j + 4];
    return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}
}  // namespace pool_detail

// Global average pooling sums each plane as 16 partial sums (value i to partial i mod 16, the plane
// padded with +0 to a multiple of 16), combined as a tree; the SIMD kernel (one AVX-512 or two AVX2
// accumulators) and this scalar twin agree bit for bit.
inline void global_avg_pool_forward_scalar(const float* x, float* y, std::size_t c, std::size_t hw) {
    for (std::size_t i = 0; i < c; ++i) {
        float p[16] = {};
        const std::size_t padded = (hw + 15) / 16 * 16;
        for (std::size_t j = 0; j < padded; ++j) p[j % 16] += j < hw ? x[i * hw + j] : 0.0f;
        y[i] = pool_detail::combine16(p) / float(hw);
    }
}

#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
template <class Arch>
void global_avg_pool_forward_simd(const float* x, float* y, std::size_t c, std::size_t hw) {
    using vec = xsimd::batch<float, Arch>;
    constexpr std::size_t w = vec::size, parts = 16 / w;
    const std::size_t full = hw / 16 * 16;
    for (std::size_t i = 0; i < c; ++i) {
        const float* xc = x + i * hw;
        vec acc[parts];
        for (auto& a : acc) a = vec(0.0f);
        for (std::size_t j = 0; j < full; j += 16)
            for (std::size_t h = 0; h < parts; ++h) acc[h] += vec::load_unaligned(xc + j + h * w);
        if (full < hw) {
            alignas(64) float pad[16] = {};
            std::copy(xc + full, xc + hw, pad);
            for (std::size_t h = 0; h < parts; ++h) acc[h] += vec::load_aligned(pad + h * w);
        }
        alignas(64) float p[16];
        for (std::size_t h = 0; h < parts; ++h) acc[h].store_aligned(p + h * w);
        y[i] = pool_detail::combine16(p) / float(hw);
    }
}
#endif

inline void global_avg_pool_forward(const float* x, float* y, std::size_t c, std::size_t hw) {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    global_avg_pool_forward_simd<simd_arch>(x, y, c, hw);
#else
    global_avg_pool_forward_scalar(x, y, c, hw);
#endif
}

// Each input gradient is dy/hw (a fill the compiler vectorises).
inline void global_avg_pool_backward(const float* dy, float* dx, std::size_t c, std::size_t hw) {
    for (std::size_t i = 0; i < c; ++i) std::fill_n(dx + i * hw, hw, dy[i] / float(hw));
}

ARCHETYPE_KERNELS_END
