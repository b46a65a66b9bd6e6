// archetype/kernels/conv2d.hpp — grouped, strided, zero-padded, dilated 2-D convolution on raw NCHW pointers.
//
// Contract: the geometry is a compile-time value (conv2d_geometry, kernels/conv2d_geometry.hpp: layouts,
// output size, reference loops), so every loop bound is a constant. One sample is x [c][h][w] → y [out][ho][wo].
//   conv2d_forward<G>(x, w, b, y)                 one sample; overwrites y
//   conv2d_backward_data<G>(dy, w, dx)            one sample; overwrites dx
//   conv2d_backward_weights<G>(x, dy, n, dw, db [, o_begin, o_end])
//                                                 n samples (x, dy hold n samples back to back); adds
//                                                 ∂/∂w into dw and ∂/∂b into db (db may be null) for
//                                                 output channels [o_begin, o_end) (default: all); the
//                                                 result of a channel depends only on the data, so
//                                                 threads may split the channels (bit-identical)
// Method (layout NCHW, the layer protocol's; the GEMM view below makes it fast without reorders):
// - c/groups == 1 with groups > 1 (depthwise): the direct kernels of conv2d_depthwise.hpp.
// - otherwise, per group, y = W·col is a small GEMM with compile-time sizes over the unrolled input
//   col[(c/groups)·k·k][ho·wo], run by the register-tiled gemm of conv2d_gemm_tile.hpp (tile picked for
//   the layer's out/groups × columns). The forward (forward_plan) forms col in one of these ways:
//   · stride 1, k > 1: implicit GEMM, no col. On the zero-padded plane of width Wp (the input itself
//     when pad == 0), output p' = oh·Wp + ow reads xp[ci][p' + kh·dil·Wp + kw·dil], so row (ci, kh, kw)
//     of col is the plane at a constant offset (tap_rows); the (Wp − wo) columns per row past the output
//     are computed and dropped when the rows are copied to y. Same values and fma order as im2col, so the
//     same bits. Taken when forward_plan estimates it cheaper than im2col (few taps, e.g. one-channel 3×3
//     stems, and wide layers whose plane wastes more columns than the copy costs, keep im2col).
//   · 1×1, stride 1, no padding: the input is col; the GEMM writes y directly.
//   · otherwise (strided, 1×1 with padding, implicit estimated dearer): im2col into unpadded rows, GEMM
//     straight into y.
//   Rows whose length is not a multiple of the vector width end with a vector that overlaps the one
//   before it, so rows need no padding and no read leaves the input; planes with fewer outputs than one
//   vector take im2col with rows padded to the vector width. The input gradient is dcol = Wᵀ·dy, then
//   col2im (rows padded to the vector width).
// - the weight gradient: small layers (out·R·lanes ≤ 64 Ki floats) keep lane-wise partial sums of
//   dy·colᵀ (conv2d_partial_products.hpp) over chunks of samples laid side by side (about 1024 pixels),
//   one horizontal sum per weight at the end; larger ones unroll the input transposed (im2row) and run
//   dW += dy·rowᵀ as a gemm whose accumulators stay in registers over the pixels. The layer computes the
//   small layers' weight gradients over fixed sample groups instead (conv2d_weight_grad.hpp).
// Unrolled data lives in a per-thread scratch buffer, so the functions may run concurrently on different
// samples (inside parallel_for). The vector width is that of the compile flags; the code lives in the
// arch-named inline namespace of simd.hpp (ODR-safe across translation units built with different -m).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>

#include <xsimd/xsimd.hpp>

#include "archetype/kernels/conv2d_depthwise.hpp"
#include "archetype/kernels/conv2d_depthwise_backward.hpp"
#include "archetype/kernels/conv2d_depthwise_forward.hpp"
#include "archetype/kernels/conv2d_geometry.hpp"
#include "archetype/kernels/conv2d_gemm_tile.hpp"
#include "archetype/kernels/conv2d_partial_products.hpp"
#include "archetype/kernels/conv2d_vector.hpp"
#include "archetype/kernels/simd.hpp"

ARCHETYPE_KERNELS_BEGIN

namespace conv_detail {

// dst[i] = src[i·S] for i < N.
template <int N, int S>
inline void copy_row(const float* __restrict src, float* __restrict dst) {
    if constexpr (S == 1 && N >= lanes) {
        for (int i = 0; i + lanes <= N; i += lanes) vec::load_unaligned(src + i).store_unaligned(dst + i);
        if constexpr (N % lanes != 0) vec::load_unaligned(src + N - lanes).store_unaligned(dst + N - lanes);
    } else if constexpr (S == 1) {
        copy_floats<N>(src, dst);
    } else {
        for (int i = 0; i < N; ++i) dst[i] = src[i * S];
    }
}

// dst[i·S] += src[i] for i < N.
template <int N, int S>
inline void add_row(const float* __restrict src, float* __restrict dst) {
    int i = 0;
    if constexpr (S == 1)
        for (; i + lanes <= N; i += lanes)
            (vec::load_unaligned(dst + i) + vec::load_unaligned(src + i)).store_unaligned(dst + i);
    for (; i < N; ++i) dst[i * S] += src[i];
}

// Sizes of the GEMM view of one group, C[Og][P] = W[Og][R] · col[R][P], rows padded to the vector width,
// and of the zero-padded copy of the group's input, [Cg][Hp][Wp].
template <conv2d_geometry G>
struct layout {
    static constexpr int Cg = G.cg(), Og = G.og(), R = Cg * G.k * G.k, Ho = G.ho(), Wo = G.wo(), P = Ho * Wo;
    static constexpr int Pp = round_up(P, lanes), Rp = round_up(R, lanes), Hp = G.h + 2 * G.pad, Wp = G.w + 2 * G.pad;
    static constexpr std::size_t group_in = std::size_t(Cg) * G.h * G.w;
    // 1×1, stride 1, no padding, rows already a multiple of the vector width: the input is its own col.
    static constexpr bool input_is_col = G.k == 1 && G.stride == 1 && G.pad == 0 && P == Pp;
    static constexpr std::size_t padded_floats = G.pad > 0 ? std::size_t(Cg) * Hp * Wp : 0;
    static constexpr std::size_t col_floats = input_is_col ? 0 : std::size_t(R) * Pp;
    static constexpr std::size_t rows_floats = P == Pp ? 0 : std::size_t(Og) * Pp;
    static constexpr std::size_t scratch_floats = padded_floats + col_floats + rows_floats;
};

// xp = group input xg with `pad` zeros on every side (only called when pad > 0). Each float is written
// once: the border zeros between two rows (right pad, then the next row's left pad) are one run.
template <conv2d_geometry G>
void pad_input(const float* __restrict xg, float* __restrict xp) {
    using L = layout<G>;
    for (int ci = 0; ci < L::Cg; ++ci) {
        float* p = xp + std::size_t(ci) * L::Hp * L::Wp;
        std::fill_n(p, G.pad * L::Wp + G.pad, 0.0f);  // top rows, the first row's left pad
        for (int ih = 0; ih < G.h; ++ih) {
            float* row = p + std::size_t(ih + G.pad) * L::Wp + G.pad;
            copy_floats<G.w>(xg + (std::size_t(ci) * G.h + ih) * G.w, row);
            std::fill_n(row + G.w, 2 * G.pad, 0.0f);  // right pad, the next row's left pad
        }
        std::fill_n(p + std::size_t(G.h + G.pad) * L::Wp + G.pad, G.pad * L::Wp - G.pad, 0.0f);  // bottom rows
    }
}

// The zero-padded group input: xg itself when pad == 0, else its padded copy written to buf.
template <conv2d_geometry G>
const float* padded_group(const float* xg, float* buf) {
    if constexpr (G.pad == 0) {
        return xg;
    } else {
        pad_input<G>(xg, buf);
        return buf;
    }
}

// Unrolls the taps of the padded group input xp into col[r·LD + p], r = (ci·K + kh)·K + kw,
// p = oh·Wo + ow: the value tap r reads for output p; 0 for p in [P, Pp) unless LD == P (unpadded rows).
template <conv2d_geometry G, int LD = layout<G>::Pp>
void im2col(const float* __restrict xp, float* __restrict col) {
    using L = layout<G>;
    for (int ci = 0; ci < L::Cg; ++ci)
        for (int kh = 0; kh < G.k; ++kh)
            for (int kw = 0; kw < G.k; ++kw) {
                float* cr = col + std::size_t((ci * G.k + kh) * G.k + kw) * LD;
                const float* src = xp + (std::size_t(ci) * L::Hp + kh * G.dil) * L::Wp + kw * G.dil;
                for (int oh = 0; oh < L::Ho; ++oh)
                    copy_row<L::Wo, G.stride>(src + std::size_t(oh) * G.stride * L::Wp, cr + oh * L::Wo);
                if constexpr (LD != L::P) std::fill(cr + L::P, cr + L::Pp, 0.0f);
            }
}

// The adjoint of im2col: adds every col[r·Pp + p] into the padded input element it reads.
template <conv2d_geometry G>
void col2im_add(const float* __restrict col, float* __restrict dxp) {
    using L = layout<G>;
    for (int ci = 0; ci < L::Cg; ++ci)
        for (int kh = 0; kh < G.k; ++kh)
            for (int kw = 0; kw < G.k; ++kw) {
                const float* cr = col + std::size_t((ci * G.k + kh) * G.k + kw) * L::Pp;
                float* dst = dxp + (std::size_t(ci) * L::Hp + kh * G.dil) * L::Wp + kw * G.dil;
                for (int oh = 0; oh < L::Ho; ++oh)
                    add_row<L::Wo, G.stride>(cr + oh * L::Wo, dst + std::size_t(oh) * G.stride * L::Wp);
            }
}

// rowT[p·Rp + r] = the value tap r reads for output p (the transpose of im2col), columns [R, Rp) zero.
template <conv2d_geometry G>
void im2row(const float* __restrict xp, float* __restrict rowT) {
    using L = layout<G>;
    for (int oh = 0; oh < L::Ho; ++oh)
        for (int ow = 0; ow < L::Wo; ++ow) {
            float* dst = rowT + std::size_t(oh * L::Wo + ow) * L::Rp;
            const float* src = xp + std::size_t(oh) * G.stride * L::Wp + ow * G.stride;
            for (int ci = 0; ci < L::Cg; ++ci)
#pragma GCC unroll 7
                for (int kh = 0; kh < G.k; ++kh)
#pragma GCC unroll 7
                    for (int kw = 0; kw < G.k; ++kw)
                        dst[(ci * G.k + kh) * G.k + kw] = src[(std::size_t(ci) * L::Hp + kh * G.dil) * L::Wp + kw * G.dil];
            std::fill(dst + L::R, dst + L::Rp, 0.0f);
        }
}

// Weight gradient through col with vector partial sums kept across samples, when they fit in L2
// (out·R·lanes floats): no transposed unroll, one horizontal sum per weight at the end. Larger layers
// take im2row + gemm (dW rows in registers, the chain over pixels and samples in order).
template <conv2d_geometry G>
inline constexpr bool dw_by_partials = std::size_t(G.out) * layout<G>::R * lanes <= 65536;

// col of group input xg in scratch (or xg itself when it already is one).
template <conv2d_geometry G>
const float* unroll_group(const float* xg, float* scratch) {
    using L = layout<G>;
    if constexpr (L::input_is_col) {
        return xg;
    } else {
        im2col<G>(padded_group<G>(xg, scratch), scratch + L::padded_floats);
        return scratch + L::padded_floats;
    }
}

// Convolutions whose output channels each read one input channel take the direct kernels.
template <conv2d_geometry G>
inline constexpr bool direct = G.cg() == 1 && G.groups > 1;  // one input channel (c == 1): im2col is
                                                              // faster (one col shared by all filters)

// B of the implicit GEMM: row (ci, kh, kw) of the unrolled input is the padded plane of input channel ci
// shifted by kh·dil rows and kw·dil columns, read in place.
template <conv2d_geometry G>
struct tap_rows {
    static constexpr int inner = G.k * G.k;
    static constexpr std::size_t outer_stride = std::size_t(layout<G>::Hp) * layout<G>::Wp;
    static constexpr std::array<int, inner> offset = [] {
        std::array<int, inner> o{};
        for (int t = 0; t < inner; ++t) o[t] = (t / G.k) * G.dil * layout<G>::Wp + (t % G.k) * G.dil;
        return o;
    }();
};

// How conv2d_forward computes one group (see the header comment).
enum class forward_method { implicit, input, im2col, im2col_padded };

template <conv2d_geometry G>
struct forward_plan {
    using L = layout<G>;
    // Implicit GEMM (stride 1, k > 1): output position p' = oh·Wp + ow over the padded width, Nc of them
    // up to the last output; the columns ow ≥ Wo are computed and dropped. It computes Vi instead of Vc
    // vectors per output row and copies its rows to y; im2col writes R rows of Vc vectors. Estimated in
    // FMA slots (a vector copied ≈ 4), the cheaper one is taken. (Strided convolutions split into
    // stride² phase planes measured no faster than im2col; they keep it.)
    static constexpr int Nc = (L::Ho - 1) * L::Wp + L::Wo;
    static constexpr long Vi = (Nc + lanes - 1) / lanes, Vc = (L::P + lanes - 1) / lanes;
    static constexpr bool implicit_wins = long(L::Og) * Vi * (L::R + 4) <= long(L::R) * Vc * (L::Og + 4);
    static constexpr forward_method method =
        G.stride == 1 && G.k > 1 && Nc >= lanes && implicit_wins ? forward_method::implicit
        : L::P < lanes                                  ? forward_method::im2col_padded
        : G.k == 1 && G.stride == 1 && G.pad == 0       ? forward_method::input
                                                        : forward_method::im2col;
    static constexpr std::size_t scratch_floats =
        method == forward_method::implicit ? L::padded_floats + std::size_t(L::Og) * Nc
        : method == forward_method::input  ? 0
        : method == forward_method::im2col ? L::padded_floats + std::size_t(L::R) * L::P
                                           : L::scratch_floats;
};

}  // namespace conv_detail

// Floats per vector of the conv kernels in this translation unit.
constexpr int conv_lanes() { return conv_detail::lanes; }

// The kernel path the functions below take for G (benchmarks print it).
template <conv2d_geometry G>
std::string conv2d_path() {
    using L = conv_detail::layout<G>;
    using F = conv_detail::forward_plan<G>;
    using conv_detail::forward_method;
    if constexpr (conv_detail::direct<G>)
        return std::string("direct depthwise (row-blocked forward and weight gradient, ") +
               (dw_backward_detail::data_by_rows<G> ? "row-blocked" : "flat-grid") + " input gradient)";
    auto tile = []<int N>() {
        using T = conv_detail::gemm_tiling<N, L::Og>;
        return std::to_string(T::MB) + "x" + std::to_string(T::NV) + "v";
    };
    std::string fwd;
    if constexpr (F::method == forward_method::implicit)
        fwd = "implicit gemm " + tile.template operator()<F::Nc>();
    else if constexpr (F::method == forward_method::input)
        fwd = "1x1 gemm on the input " + tile.template operator()<L::P>();
    else if constexpr (F::method == forward_method::im2col)
        fwd = "im2col + gemm " + tile.template operator()<L::P>();
    else
        fwd = "im2col + gemm (padded rows) " + tile.template operator()<L::Pp>();
    return fwd + ", bwd data via col2im, dW via " + (conv_detail::dw_by_partials<G> ? "partial sums" : "im2row");
}

template <conv2d_geometry G>
void conv2d_forward(const float* x, const float* w, const float* b, float* y) {
    static_assert(G.valid(), "archetype::kernels::conv2d_forward: invalid geometry");
    if constexpr (conv_detail::direct<G>) {
        depthwise_forward<G>(x, w, b, y);
    } else {
        using L = conv_detail::layout<G>;
        using F = conv_detail::forward_plan<G>;
        using conv_detail::forward_method;
        using conv_detail::dense_rows;
        float* scratch = F::scratch_floats > 0 ? conv_detail::scratch(F::scratch_floats) : nullptr;
        for (int g = 0; g < G.groups; ++g) {
            const float* xg = x + g * L::group_in;
            const float* wg = w + std::size_t(g) * L::Og * L::R;
            const float* bg = b ? b + g * L::Og : nullptr;
            float* yg = y + std::size_t(g) * L::Og * L::P;
            if constexpr (F::method == forward_method::implicit) {
                const float* xp = conv_detail::padded_group<G>(xg, scratch);
                float* out = scratch + L::padded_floats;  // [Og][Nc], rows Wp apart
                conv_detail::gemm<L::R, conv_detail::tap_rows<G>, F::Nc, F::Nc, L::R, 1, false, L::Og>(0, L::Og, wg, xp,
                                                                                        out, bg);
                for (int o = 0; o < L::Og; ++o)
                    for (int oh = 0; oh < L::Ho; ++oh)
                        conv_detail::copy_floats<L::Wo>(out + std::size_t(o) * F::Nc + oh * L::Wp,
                                                        yg + std::size_t(o) * L::P + oh * L::Wo);
            } else if constexpr (F::method == forward_method::input) {
                conv_detail::gemm<L::R, dense_rows<L::P>, L::P, L::P, L::R, 1, false, L::Og>(0, L::Og, wg, xg, yg, bg);
            } else if constexpr (F::method == forward_method::im2col) {
                const float* xp = conv_detail::padded_group<G>(xg, scratch);
                float* col = scratch + L::padded_floats;
                conv_detail::im2col<G, L::P>(xp, col);
                conv_detail::gemm<L::R, dense_rows<L::P>, L::P, L::P, L::R, 1, false, L::Og>(0, L::Og, wg, col, yg, bg);
            } else {
                float* rows = scratch + L::padded_floats + L::col_floats;  // output rows padded to Pp
                const float* col = conv_detail::unroll_group<G>(xg, scratch);
                conv_detail::gemm<L::R, dense_rows<L::Pp>, L::Pp, L::Pp, L::R, 1, false, L::Og>(0, L::Og, wg, col, rows,
                                                                                               bg);
                for (int o = 0; o < L::Og; ++o) conv_detail::copy_floats<L::P>(rows + o * L::Pp, yg + o * L::P);
            }
        }
    }
}

template <conv2d_geometry G>
void conv2d_backward_data(const float* dy, const float* w, float* dx) {
    static_assert(G.valid(), "archetype::kernels::conv2d_backward_data: invalid geometry");
    if constexpr (conv_detail::direct<G>) {
        depthwise_backward_data<G>(dy, w, dx);
    } else {
        using L = conv_detail::layout<G>;
        float* scratch = conv_detail::scratch(L::scratch_floats);
        float* dxp = scratch;                     // padded input gradient of one group
        float* col = scratch + L::padded_floats;  // its unrolled form
        float* rows = col + L::col_floats;        // dy of one group with rows padded to Pp
        for (int g = 0; g < G.groups; ++g) {
            const float* dyg = dy + std::size_t(g) * L::Og * L::P;
            if constexpr (L::P != L::Pp)
                for (int o = 0; o < L::Og; ++o) {
                    conv_detail::copy_floats<L::P>(dyg + o * L::P, rows + o * L::Pp);
                    std::fill(rows + o * L::Pp + L::P, rows + (o + 1) * L::Pp, 0.0f);
                }
            const float* wg = w + std::size_t(g) * L::Og * L::R;
            float* dxg = dx + g * L::group_in;
            if constexpr (L::input_is_col) {
                conv_detail::gemm<L::Og, conv_detail::dense_rows<L::Pp>, L::Pp, L::Pp, 1, L::R, false>(0, L::R, wg, dyg,
                                                                                                  dxg, nullptr);
            } else {
                conv_detail::gemm<L::Og, conv_detail::dense_rows<L::Pp>, L::Pp, L::Pp, 1, L::R, false>(
                    0, L::R, wg, L::P == L::Pp ? dyg : rows, col, nullptr);
                if constexpr (G.pad == 0) {
                    std::fill_n(dxg, L::group_in, 0.0f);
                    conv_detail::col2im_add<G>(col, dxg);
                } else {
                    std::fill_n(dxp, L::padded_floats, 0.0f);
                    conv_detail::col2im_add<G>(col, dxp);
                    for (int ci = 0; ci < L::Cg; ++ci)
                        for (int ih = 0; ih < G.h; ++ih)
                            conv_detail::copy_floats<G.w>(dxp + (std::size_t(ci) * L::Hp + ih + G.pad) * L::Wp + G.pad,
                                        dxg + (std::size_t(ci) * G.h + ih) * G.w);
                }
            }
        }
    }
}

// Output channels [o_begin, o_end) only: their weight and bias gradients depend on nothing else, so
// threads may take disjoint ranges with results bit-identical to one call over all channels.
template <conv2d_geometry G>
void conv2d_backward_weights(const float* x, const float* dy, std::size_t n, float* dw, float* db, int o_begin,
                             int o_end) {
    static_assert(G.valid(), "archetype::kernels::conv2d_backward_weights: invalid geometry");
    if constexpr (conv_detail::direct<G>) {
        depthwise_backward_weights<G>(x, dy, n, dw, db, o_begin, o_end);
    } else if constexpr (conv_detail::dw_by_partials<G>) {
        using L = conv_detail::layout<G>;
        using conv_detail::lanes;
        constexpr std::size_t in_size = std::size_t(G.c) * G.h * G.w, out_size = std::size_t(G.out) * L::P;
        // B samples side by side (columns [b·Pp, (b+1)·Pp) of the unrolled input and of dy), so the partial
        // sums stay in registers over B samples; missing samples of the last chunk are zero columns.
        constexpr int B = std::max(1, 1024 / L::Pp), LD = B * L::Pp;
        constexpr std::size_t col_floats = std::size_t(L::R) * LD, rows_floats = std::size_t(L::Og) * LD;
        float* xp = conv_detail::scratch(L::padded_floats + col_floats + rows_floats + std::size_t(G.out) * L::R * lanes);
        float* col = xp + L::padded_floats;
        float* rows = col + col_floats;  // dy of one group, B samples, zero-padded
        float* part = rows + rows_floats;  // [out][R] vectors of partial sums
        std::fill(part + std::size_t(o_begin) * L::R * lanes, part + std::size_t(o_end) * L::R * lanes, 0.0f);
        for (std::size_t s0 = 0; s0 < n; s0 += B) {
            const int b_count = int(std::min<std::size_t>(B, n - s0));
            for (int g = o_begin / L::Og; g * L::Og < o_end; ++g) {
                const int lo = std::max(o_begin, g * L::Og) - g * L::Og, hi = std::min(o_end, (g + 1) * L::Og) - g * L::Og;
                if (b_count < B) {
                    std::fill_n(col, col_floats, 0.0f);
                    std::fill_n(rows, rows_floats, 0.0f);
                }
                for (int b = 0; b < b_count; ++b) {
                    const std::size_t s = s0 + std::size_t(b);
                    const float* dyg = dy + s * out_size + std::size_t(g) * L::Og * L::P;
                    for (int o = lo; o < hi; ++o) {
                        conv_detail::copy_floats<L::P>(dyg + o * L::P, rows + std::size_t(o) * LD + b * L::Pp);
                        std::fill_n(rows + std::size_t(o) * LD + b * L::Pp + L::P, L::Pp - L::P, 0.0f);
                    }
                    const float* xg = x + s * in_size + g * L::group_in;
                    conv_detail::im2col<G, LD>(conv_detail::padded_group<G>(xg, xp), col + b * L::Pp);
                }
                conv_detail::partial_products<LD, L::R>(lo, hi, rows, col, part + std::size_t(g) * L::Og * L::R * lanes);
            }
        }
        for (int o = o_begin; o < o_end; ++o)
            for (int r = 0; r < L::R; ++r)
                dw[std::size_t(o) * L::R + r] +=
                    xsimd::hadd(conv_detail::vec::load_unaligned(part + (std::size_t(o) * L::R + r) * lanes));
        conv_detail::bias_gradient<G>(dy, n, db, o_begin, o_end);
    } else {
        // dW[o][·] (rows padded to Rp) continues one fma chain over samples and pixels in order:
        // dW += dy_s · rowT_s, rowT_s the transposed unrolled input of sample s.
        using L = conv_detail::layout<G>;
        constexpr std::size_t in_size = std::size_t(G.c) * G.h * G.w, out_size = std::size_t(G.out) * L::P;
        float* xp = conv_detail::scratch(L::padded_floats + std::size_t(L::P) * L::Rp + std::size_t(G.out) * L::Rp);
        float* rowT = xp + L::padded_floats;
        float* dwp = rowT + std::size_t(L::P) * L::Rp;
        for (int o = o_begin; o < o_end; ++o) {
            std::copy_n(dw + std::size_t(o) * L::R, L::R, dwp + std::size_t(o) * L::Rp);
            std::fill(dwp + std::size_t(o) * L::Rp + L::R, dwp + std::size_t(o + 1) * L::Rp, 0.0f);
        }
        for (std::size_t s = 0; s < n; ++s) {
            for (int g = o_begin / L::Og; g * L::Og < o_end; ++g) {
                const float* xg = x + s * in_size + g * L::group_in;
                conv_detail::im2row<G>(conv_detail::padded_group<G>(xg, xp), rowT);
                const int lo = std::max(o_begin, g * L::Og) - g * L::Og, hi = std::min(o_end, (g + 1) * L::Og) - g * L::Og;
                conv_detail::gemm<L::P, conv_detail::dense_rows<L::Rp>, L::Rp, L::Rp, L::P, 1, true>(
                    lo, hi, dy + s * out_size + std::size_t(g) * L::Og * L::P, rowT,
                    dwp + std::size_t(g) * L::Og * L::Rp, nullptr);
            }
        }
        for (int o = o_begin; o < o_end; ++o) std::copy_n(dwp + std::size_t(o) * L::Rp, L::R, dw + std::size_t(o) * L::R);
        conv_detail::bias_gradient<G>(dy, n, db, o_begin, o_end);
    }
}

// All output channels.
template <conv2d_geometry G>
void conv2d_backward_weights(const float* x, const float* dy, std::size_t n, float* dw, float* db) {
    conv2d_backward_weights<G>(x, dy, n, dw, db, 0, G.out);
}

ARCHETYPE_KERNELS_END

