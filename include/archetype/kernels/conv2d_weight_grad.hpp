// archetype/kernels/conv2d_weight_grad.hpp — convolution weight and bias gradients over fixed sample groups.
//
// Contract: the batch of a weight-gradient call is cut into groups of conv2d_weight_grad_group_size<G>(n)
// samples (the last group may be smaller); that size depends on the geometry and the batch size only,
// never on the thread count. Each group's gradients are computed on their own, from zero, and then
// added in group order, so the bits are the same whichever thread computes which group, and every
// sample is unrolled (im2col) once, not once per thread.
//   conv2d_weight_grad_grouped<G>                  true when G takes this path (the partial-sums path of
//                                                  conv2d.hpp: out·R·lanes ≤ 64 Ki floats, not
//                                                  depthwise); other geometries keep
//                                                  conv2d_backward_weights with a split of channels
//   conv2d_weight_grad_group_size<G>(n)            samples per group for a batch of n (n ≥ 1)
//   conv2d_weight_grad_part_floats<G>              floats of one group's result: weights, then biases
//   conv2d_weight_grad_group<G>(x, dy, n, part, bias)
//                                                  n samples (x, dy hold them back to back) → part:
//                                                  [0, weight_count) = ∂/∂w, then [out] = ∂/∂b when
//                                                  bias (else not written); overwritten, not added
//   conv2d_weight_grad_reduce<G>(parts, groups, dw, db)
//                                                  dw += Σ_g parts[g] (weights), db += Σ_g (biases; db may
//                                                  be null), the groups added in order from group 0 (into
//                                                  parts[0], which it overwrites)
//   conv2d_weight_grad_parts(floats)               a per-thread buffer for the callers' group results,
//                                                  distinct from the kernels' scratch
// Within a group the method is that of conv2d.hpp's partial sums: lane-wise partial sums of dy·colᵀ
// carried over the group's samples in order, over
// - chunks of samples laid side by side in an unrolled col (im2col), or
// - (stride 1, k > 1, when wgrad_implicit estimates it cheaper, e.g. LeNet's first layer) no col: dy on
//   the grid of the padded input's width, each tap's row read in place from the padded input at a fixed
//   offset, as the forward's implicit GEMM does; the grid's extra columns carry zero dy (they multiply
//   input values, so a non-finite input value makes the gradient non-finite, as it does the forward);
// then one horizontal sum per weight and group (inside the group's task, a fixed tree of lane
// permutations, horizontal_sums), so the groups hand over plain floats. The result agrees with
// conv2d_backward_weights (one chain over the whole batch) within rounding, not bit for bit.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "archetype/core/aligned_buffer.hpp"
#include "archetype/kernels/conv2d.hpp"
#include "archetype/kernels/conv2d_partial_products.hpp"

ARCHETYPE_KERNELS_BEGIN

template <conv2d_geometry G>
inline constexpr bool conv2d_weight_grad_grouped = !conv_detail::direct<G> && conv_detail::dw_by_partials<G>;

template <conv2d_geometry G>
inline constexpr std::size_t conv2d_weight_grad_part_floats = G.weight_count() + std::size_t(G.out);

namespace conv_detail {

inline constexpr std::size_t wgrad_min_group = 16;  // samples; a group is a multiple of this
inline constexpr std::size_t wgrad_max_groups = 8;  // groups per call at most (bounds the buffer)

// Samples per chunk laid side by side (about 1024 pixels, at most one minimum group), balanced so that
// a group of wgrad_min_group samples splits into equal chunks where it can.
template <conv2d_geometry G>
inline constexpr int wgrad_chunk = [] {
    const int widest = std::max(1, 1024 / layout<G>::Pp);
    const int chunks = (int(wgrad_min_group) + widest - 1) / widest;
    return (int(wgrad_min_group) + chunks - 1) / chunks;
}();

// Implicit weight gradient (stride 1, k > 1; see the header comment): the sample's dy is laid out on the
// grid of the padded input's width, p' = oh·Wp + ow (columns ow ≥ Wo zero), Ncp = Nc rounded up to the
// vector width columns; the unrolled row of tap (ci, kh, kw) is then the padded input plane of ci read at
// a constant offset, in place. It multiplies Vi instead of Vc vectors per (output, tap) but writes no
// col; taken when the extra FMAs per tap are at most the vectors im2col would copy for it (a copied
// vector is a load and a store, and col is read again by every row block of 4 outputs), and a sample has
// enough columns (Vi ≥ 8) to pay for loading and storing the partial sums once per sample.
template <conv2d_geometry G>
struct wgrad_implicit {
    using L = layout<G>;
    static constexpr int Nc = (L::Ho - 1) * L::Wp + L::Wo, Ncp = round_up(Nc, lanes);
    static constexpr long Vi = Ncp / lanes, Vc = L::Pp / lanes;
    static constexpr long row_vectors = (L::Wo + lanes - 1) / lanes;  // vectors im2col copies per output row
    static constexpr std::size_t plane = std::size_t(L::Hp) * L::Wp;
    // The last tap of the last channel reads up to here: the copy of the input holds this many floats.
    static constexpr std::size_t floats =
        std::size_t(L::Cg - 1) * plane + std::size_t((G.k - 1) * G.dil) * (L::Wp + 1) + std::size_t(Ncp);
    static constexpr bool wins = G.stride == 1 && G.k > 1 && Vi >= 8 && long(L::Og) * (Vi - Vc) <= long(L::Ho) * row_vectors;
};

}  // namespace conv_detail

template <conv2d_geometry G>
constexpr std::size_t conv2d_weight_grad_group_size(std::size_t n) {
    using conv_detail::wgrad_max_groups;
    using conv_detail::wgrad_min_group;
    const std::size_t even = (n + wgrad_max_groups - 1) / wgrad_max_groups;
    return std::max(wgrad_min_group, (even + wgrad_min_group - 1) / wgrad_min_group * wgrad_min_group);
}

namespace conv_detail {
struct weight_grad_parts_tag;
}
inline float* conv2d_weight_grad_parts(std::size_t floats) {
    return per_thread_buffer<conv_detail::weight_grad_parts_tag>(floats);
}

template <conv2d_geometry G>
void conv2d_weight_grad_group(const float* x, const float* dy, std::size_t n, float* part, bool bias) {
    static_assert(conv2d_weight_grad_grouped<G>, "archetype::kernels::conv2d_weight_grad_group: this geometry "
                                                 "takes conv2d_backward_weights (see conv2d_weight_grad_grouped)");
    using L = conv_detail::layout<G>;
    using conv_detail::lanes;
    using conv_detail::vec;
    constexpr std::size_t in_size = std::size_t(G.c) * G.h * G.w, out_size = std::size_t(G.out) * L::P;
    constexpr std::size_t weights = G.weight_count();  // == out·R
    constexpr std::size_t acc_floats = weights * lanes;
    // acc: [out][R] vectors of lane-wise partial sums (the first sample or chunk starts them)
    auto finish = [&](float* acc) {
        if (n == 0) std::fill_n(acc, acc_floats, 0.0f);
        constexpr std::size_t whole = weights / lanes * lanes;
        for (std::size_t i = 0; i < whole; i += lanes) conv_detail::horizontal_sums(acc + i * lanes, part + i);
        if constexpr (whole < weights)
            for (std::size_t i = whole; i < weights; ++i) part[i] = xsimd::hadd(vec::load_unaligned(acc + i * lanes));
        if (bias) {
            std::fill_n(part + weights, G.out, 0.0f);
            conv_detail::bias_gradient<G>(dy, n, part + weights, 0, G.out);
        }
    };
    if constexpr (conv_detail::wgrad_implicit<G>::wins) {
        using I = conv_detail::wgrad_implicit<G>;
        using BR = conv_detail::tap_rows<G>;
        // the zero-padded group input (I::floats, zeros past the planes), dy of one group on the grid
        float* acc = conv_detail::scratch(acc_floats + I::floats + std::size_t(L::Og) * I::Ncp);
        float* xs = acc + acc_floats;
        float* dyp = xs + I::floats;
        std::fill_n(xs, I::floats, 0.0f);
        std::fill_n(dyp, std::size_t(L::Og) * I::Ncp, 0.0f);  // the columns ow ≥ Wo stay zero
        for (std::size_t s = 0; s < n; ++s)
            for (int g = 0; g < G.groups; ++g) {
                const float* xg = x + s * in_size + g * L::group_in;
                if constexpr (G.pad > 0) {
                    conv_detail::pad_input<G>(xg, xs);
                } else {
                    conv_detail::copy_floats<int(L::group_in)>(xg, xs);
                }
                const float* dyg = dy + s * out_size + std::size_t(g) * L::Og * L::P;
                for (int o = 0; o < L::Og; ++o)
                    for (int oh = 0; oh < L::Ho; ++oh)
                        conv_detail::copy_floats<L::Wo>(dyg + std::size_t(o) * L::P + oh * L::Wo,
                                                        dyp + std::size_t(o) * I::Ncp + oh * L::Wp);
                float* ag = acc + std::size_t(g) * L::Og * L::R * lanes;
                if (s == 0)
                    conv_detail::implicit_partial_products<BR, I::Ncp, L::R, true>(0, L::Og, dyp, xs, ag);
                else
                    conv_detail::implicit_partial_products<BR, I::Ncp, L::R, false>(0, L::Og, dyp, xs, ag);
            }
        finish(acc);
    } else {
        constexpr int B = conv_detail::wgrad_chunk<G>, LD = B * L::Pp;
        constexpr std::size_t col_floats = std::size_t(L::R) * LD, rows_floats = std::size_t(L::Og) * LD;
        float* acc = conv_detail::scratch(acc_floats + L::padded_floats + col_floats + rows_floats);
        float* xp = acc + acc_floats;
        float* col = xp + L::padded_floats;
        float* rows = col + col_floats;  // dy of one conv group, B samples, rows padded to Pp with zeros
        for (std::size_t s0 = 0; s0 < n; s0 += B) {
            const int b_count = int(std::min<std::size_t>(B, n - s0));
            for (int g = 0; g < G.groups; ++g) {
                for (int b = 0; b < b_count; ++b) {
                    const std::size_t s = s0 + std::size_t(b);
                    const float* dyg = dy + s * out_size + std::size_t(g) * L::Og * L::P;
                    for (int o = 0; o < L::Og; ++o) {
                        float* dst = rows + std::size_t(o) * LD + b * L::Pp;
                        conv_detail::copy_floats<L::P>(dyg + std::size_t(o) * L::P, dst);
                        std::fill(dst + L::P, dst + L::Pp, 0.0f);
                    }
                    const float* xg = x + s * in_size + g * L::group_in;
                    conv_detail::im2col<G, LD>(conv_detail::padded_group<G>(xg, xp), col + b * L::Pp);
                }
                for (int b = b_count; b < B; ++b) {  // missing samples of a short chunk: zero columns
                    for (int r = 0; r < L::R; ++r) std::fill_n(col + std::size_t(r) * LD + b * L::Pp, L::Pp, 0.0f);
                    for (int o = 0; o < L::Og; ++o) std::fill_n(rows + std::size_t(o) * LD + b * L::Pp, L::Pp, 0.0f);
                }
                float* ag = acc + std::size_t(g) * L::Og * L::R * lanes;
                if (s0 == 0)
                    conv_detail::partial_products<LD, L::R, true>(0, L::Og, rows, col, ag);
                else
                    conv_detail::partial_products<LD, L::R>(0, L::Og, rows, col, ag);
            }
        }
        finish(acc);
    }
}

template <conv2d_geometry G>
void conv2d_weight_grad_reduce(float* parts, std::size_t groups, float* dw, float* db) {
    constexpr std::size_t weights = G.weight_count(), stride = conv2d_weight_grad_part_floats<G>;
    const std::size_t used = db ? stride : weights;
    for (std::size_t g = 1; g < groups; ++g) {  // group 0 becomes the sum, the groups added in order
        const float* __restrict src = parts + g * stride;
        float* __restrict dst = parts;
        for (std::size_t i = 0; i < used; ++i) dst[i] += src[i];
    }
    for (std::size_t i = 0; i < weights; ++i) dw[i] += parts[i];
    if (db)
        for (int o = 0; o < G.out; ++o) db[o] += parts[weights + std::size_t(o)];
}

ARCHETYPE_KERNELS_END
