// archetype/compress/structural_pruning_weights.hpp — carries a trained network's weights into its
// structurally pruned type (compress/structural_pruning.hpp), choosing the surviving channels by norm.
//
// Contract: `auto small = prune_channels<Small>(big, filter_norm::l1, &report)` returns a Small network
// whose every parameter and state value is taken from `big`:
//   - where a conv2d (Groups 1) or dense of Small has fewer outputs than its twin in big, the kept
//     outputs are the filters (conv: [Cin/G][K][K] weights of one output; dense: one weight row) of
//     largest L1 or L2 norm over all the big filter's weights, ties to the lower index, kept in their
//     original order; that layer's bias and the following batch_norm's γ, β, running mean and variance
//     are taken at the kept channels, a depthwise_conv2d keeps the filters of its kept input channels
//     (all Multiplier of them), pooling / activations / flatten pass the channel set on (flatten turns
//     channel c into the columns c·H·W … c·H·W + H·W − 1), and the next conv2d / dense keeps only the
//     input columns of the kept channels. A concat's channel set is its branches' in concat order.
//   - Small must have big's structure leaf for leaf (same leaf count and kinds in the same order; a conv2d
//     or dense may be narrower): a mismatch is a compile error. Small = structurally_pruned_t<Big, Keep>
//     always qualifies; a hand-written narrower type does too when its widths fit.
//   - A run-time channel set that does not fit Small (a width that is not a pruning of big's, e.g. a
//     narrowed sum branch or a narrowed input to a grouped layer) and a filter with a non-finite weight
//     are archetype::errors naming the layer.
//   - report (optional) receives, per narrowed layer in forward order, its spelling, original width and
//     kept channel indices.
// Deterministic; single-threaded (a copy, linear in the parameter count).
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "archetype/compress/structural_pruning.hpp"

namespace archetype {

enum class filter_norm { l1, l2 };

struct pruned_layer {
    std::string layer;              // the big layer's spelling
    std::size_t width = 0;          // its original output width
    std::vector<std::size_t> kept;  // kept output channels, ascending
};

namespace pruning_detail {

// The channels (or, on a flat tensor, features) of the current tensor that survive in the small network.
struct channel_set {
    std::size_t channels = 0;       // the big tensor's channel count
    std::vector<std::size_t> kept;  // ascending
};

inline channel_set all_channels(std::size_t c) {
    channel_set s{c, std::vector<std::size_t>(c)};
    std::iota(s.kept.begin(), s.kept.end(), std::size_t(0));
    return s;
}
inline bool is_all(const channel_set& s) { return s.kept.size() == s.channels; }

// A channel set over C channels seen by a layer whose input has `c` channels: c == C, or the tensor was
// flattened (c = C·H·W) and channel k became the features k·H·W ... k·H·W + H·W − 1.
inline channel_set on_channels(const channel_set& s, std::size_t c, const std::string& layer) {
    if (c == s.channels) return s;
    if (s.channels == 0 || c % s.channels != 0)
        throw error("structural pruning: the layer " + layer + " receives " + std::to_string(c) +
                    " channels, which are not the " + std::to_string(s.channels) +
                    " channels before it nor their flattening; prune a network of supported layers");
    const std::size_t f = c / s.channels;
    channel_set r{c, {}};
    for (std::size_t k : s.kept)
        for (std::size_t p = 0; p < f; ++p) r.kept.push_back(k * f + p);
    return r;
}

// Ops of two networks with the same leaf kinds: equal descriptors, or conv2d / dense differing in width.
template <class A, class B>
struct same_kind : std::is_same<A, B> {};
template <int O1, int O2, int K, int S, int P, int Di, int G, bool Bi>
struct same_kind<conv2d<O1, K, S, P, Di, G, Bi>, conv2d<O2, K, S, P, Di, G, Bi>> : std::true_type {};
template <int O1, int O2, bool Bi>
struct same_kind<dense<O1, Bi>, dense<O2, Bi>> : std::true_type {};

template <class D>
struct conv_like : std::false_type {};
template <int O, int K, int S, int P, int Di, int G, bool B>
struct conv_like<conv2d<O, K, S, P, Di, G, B>> : std::true_type {};
template <int K, int S, int P, int Di, int M, bool B>
struct conv_like<depthwise_conv2d<K, S, P, Di, M, B>> : std::true_type {};

struct carrier {
    const float* bw;  // big params / state
    const float* bs;
    float* sw;  // small params / state
    float* ss;
    filter_norm norm;
    std::vector<pruned_layer>* report;
    std::size_t written_w = 0, written_s = 0;

    // The `keep` rows of length `len` at w (of `rows`) with the largest norms; ties to the lower index.
    std::vector<std::size_t> strongest(const float* w, std::size_t rows, std::size_t len, std::size_t keep,
                                       const std::string& layer) const {
        std::vector<double> n(rows, 0.0);
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t i = 0; i < len; ++i) {
                const double v = double(w[r * len + i]);
                if (!std::isfinite(v))
                    throw error("structural pruning: output " + std::to_string(r) + " of the layer " + layer +
                                " has a non-finite weight; channels cannot be ranked by norm: fix the training "
                                "(learning rate, data) first");
                n[r] += norm == filter_norm::l1 ? std::fabs(v) : v * v;
            }
        }
        std::vector<std::size_t> idx(rows);
        std::iota(idx.begin(), idx.end(), std::size_t(0));
        std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return n[a] > n[b]; });
        idx.resize(keep);
        std::sort(idx.begin(), idx.end());
        return idx;
    }

    // Weighted leaf (conv2d, depthwise_conv2d, dense): weight [out][cg][kk], then an optional bias [out].
    channel_set weighted(const std::string& layer, const channel_set& in, std::size_t big_out, std::size_t small_out,
                         std::size_t groups, std::size_t kk, bool bias, std::size_t bo, std::size_t so) {
        const std::size_t cin = in.channels, cg = cin / groups;
        const float* w = bw + bo;
        channel_set out;
        std::vector<std::size_t> cols;  // the big input columns (within a group) the small layer keeps
        if (groups == 1) {
            out = small_out == big_out ? all_channels(big_out)
                                       : channel_set{big_out, strongest(w, big_out, cg * kk, small_out, layer)};
            if (small_out != big_out && report) report->push_back({layer, big_out, out.kept});
            cols = in.kept;
        } else if (groups == cin) {  // depthwise: outputs c·M ... c·M + M − 1 follow input channel c
            const std::size_t m = big_out / cin;
            out.channels = big_out;
            for (std::size_t c : in.kept)
                for (std::size_t j = 0; j < m; ++j) out.kept.push_back(c * m + j);
            cols = {0};
        } else {
            if (!is_all(in))
                throw error("structural pruning: the grouped layer " + layer +
                            " would receive a pruned input; grouped convolutions keep their input width");
            out = all_channels(big_out);
            cols = all_channels(cg).kept;
        }
        if (out.kept.size() != small_out)
            throw error("structural pruning: the layer " + layer + " of the small network has " +
                        std::to_string(small_out) + " outputs where the pruning keeps " +
                        std::to_string(out.kept.size()) + "; narrow only conv2d (Groups 1) and dense layers");
        float* d = sw + so;
        for (std::size_t o : out.kept)
            for (std::size_t c : cols) d = std::copy(w + (o * cg + c) * kk, w + (o * cg + c + 1) * kk, d);
        if (bias)
            for (std::size_t o : out.kept) *d++ = w[big_out * cg * kk + o];
        written_w += std::size_t(d - (sw + so));
        return out;
    }

    template <class Big, class Small>
    channel_set leaf(channel_set in, std::size_t bo, std::size_t bso, std::size_t so, std::size_t sso) {
        using D = typename Big::descriptor;
        static_assert(same_kind<D, typename Small::descriptor>::value,
                      "archetype: prune_channels<Small>(big): Small is not a structural pruning of big's type: "
                      "a leaf differs in more than a conv2d/dense width; use structurally_pruned_t<Big, Keep>");
        const std::string layer = D::spelling();
        in = on_channels(in, std::size_t(Big::in.c), layer);
        if (in.kept.size() != std::size_t(Small::in.c))
            throw error("structural pruning: the layer " + layer + " of the small network receives " +
                        std::to_string(Small::in.c) + " channels but the pruning keeps " +
                        std::to_string(in.kept.size()) + " of its input; a width that meets an add or a grouped "
                        "layer cannot be narrowed: use structurally_pruned_t<Big, Keep>");
        if constexpr (conv_like<D>::value) {
            constexpr auto g = D::geometry(Big::in);
            return weighted(layer, in, std::size_t(g.out), std::size_t(Small::out.c), std::size_t(g.groups),
                            std::size_t(g.k) * std::size_t(g.k), Big::param_count > Big::weight_count, bo, so);
        } else if constexpr (producer<D>::value) {  // dense
            return weighted(layer, in, std::size_t(Big::out.c), std::size_t(Small::out.c), 1, 1,
                            Big::param_count > Big::weight_count, bo, so);
        } else if constexpr (std::is_same_v<D, batch_norm>) {
            const std::size_t c = in.channels, k = in.kept.size();
            for (std::size_t j = 0; j < k; ++j)
                for (std::size_t part = 0; part < 2; ++part) {
                    sw[so + part * k + j] = bw[bo + part * c + in.kept[j]];
                    ss[sso + part * k + j] = bs[bso + part * c + in.kept[j]];
                }
            written_w += 2 * k;
            written_s += 2 * k;
            return in;
        } else if constexpr (leaf_role<D>::value == role::follows) {
            static_assert(Big::param_count == 0 && Big::state_count == 0);
            return on_channels(in, std::size_t(Big::out.c), layer);
        } else {
            if (!is_all(in))
                throw error("structural pruning: the layer " + layer +
                            " would receive a pruned input, which it does not support");
            return copy_whole<Big>(bo, bso, so, sso);
        }
    }

    template <class Op>
    channel_set copy_whole(std::size_t bo, std::size_t bso, std::size_t so, std::size_t sso) {
        std::copy(bw + bo, bw + bo + Op::param_count, sw + so);
        std::copy(bs + bso, bs + bso + Op::state_count, ss + sso);
        written_w += Op::param_count;
        written_s += Op::state_count;
        return all_channels(std::size_t(Op::out.c));
    }

    template <class Big, class Small>
    channel_set walk(channel_set in, std::size_t bo, std::size_t bso, std::size_t so, std::size_t sso) {
        using D = typename Big::descriptor;
        static_assert(composite_op<Big> == composite_op<Small>,
                      "archetype: prune_channels<Small>(big): Small is not a structural pruning of big's type: "
                      "a composition stands where the other has a leaf");
        if constexpr (!composite_op<Big>) {
            return leaf<Big, Small>(std::move(in), bo, bso, so, sso);
        } else {
            using SD = typename Small::descriptor;
            static_assert(is_sequential<D> == is_sequential<SD> && combine_of<D> == combine_of<SD> &&
                              D::size == SD::size,
                          "archetype: prune_channels<Small>(big): Small is not a structural pruning of big's type: "
                          "a composition differs in kind or number of children");
            return [&]<std::size_t... I>(std::index_sequence<I...>) {
                if constexpr (is_sequential<D>) {
                    ((in = walk<typename Big::template child<I>, typename Small::template child<I>>(
                          std::move(in), bo + Big::w_off[I], bso + Big::s_off[I], so + Small::w_off[I],
                          sso + Small::s_off[I])),
                     ...);
                    return in;
                } else {
                    const std::vector<channel_set> outs{walk<typename Big::template child<I>,
                                                             typename Small::template child<I>>(
                        in, bo + Big::w_off[I], bso + Big::s_off[I], so + Small::w_off[I], sso + Small::s_off[I])...};
                    if constexpr (is_concat<D>) {
                        channel_set r{};
                        for (const auto& o : outs) {
                            for (std::size_t k : o.kept) r.kept.push_back(r.channels + k);
                            r.channels += o.channels;
                        }
                        return r;
                    } else {
                        for (const auto& o : outs)
                            if (!is_all(o))
                                throw error("structural pruning: a branch of " + D::spelling() +
                                            " is narrowed; the widths that meet at an add are kept");
                        return outs[0];
                    }
                }
            }(std::make_index_sequence<D::size>{});
        }
    }
};

}  // namespace pruning_detail

// Small with the weights of `big` at the channels of largest norm (see the contract above).
template <class Small, class Big>
Small prune_channels(const Big& big, filter_norm norm = filter_norm::l1, std::vector<pruned_layer>* report = nullptr) {
    static_assert(Small::input_shape == Big::input_shape,
                  "archetype: prune_channels<Small>(big): Small must take big's input shape");
    static_assert(Small::output_shape == Big::output_shape,
                  "archetype: prune_channels<Small>(big): Small must give big's output shape (the output is kept)");
    Small small{seed{0}};
    pruning_detail::carrier c{big.params().data(), big.state().data(), small.params().data(), small.state().data(),
                              norm, report};
    if (report) report->clear();
    c.walk<typename Big::op, typename Small::op>(pruning_detail::all_channels(std::size_t(Big::input_shape.c)), 0, 0,
                                                 0, 0);
    if (c.written_w != Small::param_count || c.written_s != Small::state_count)
        throw error("structural pruning: " + std::to_string(c.written_w) + " of " +
                    std::to_string(Small::param_count) + " parameters and " + std::to_string(c.written_s) + " of " +
                    std::to_string(Small::state_count) + " state values were carried over; report this as a bug");
    return small;
}

}  // namespace archetype
