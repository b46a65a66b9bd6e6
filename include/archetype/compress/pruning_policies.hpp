// archetype/compress/pruning_policies.hpp — which weights to prune: magnitude (layer-wise and global),
// whole filters by L1/L2 norm, N:M, and blocks.
//
// Contract: prune<Policy>(net, mask, sparsity [, leaves]) updates `mask` (compress/pruning_mask.hpp) from
// the current weights of every prunable layer (or of the layers at the given leaf indices) and zeroes the
// pruned weights of net; prune<Policy>(params, mask, sparsity [, leaves]) only updates the mask.
// prune_layer<Policy>(net, mask, leaf_index, sparsity) does one layer.
// A policy cuts each layer into *units*, scores them from the weights still kept, and prunes the
// round(sparsity · units) units of lowest score (round: ⌊x + 0.5⌋, computed in double):
//   magnitude              unit = one weight, score |w|; each layer gets the target sparsity
//   global_magnitude       unit = one weight, score |w|, ranked over all the chosen layers together: the
//                          overall sparsity is round(sparsity · all their weights) / all their weights
//   filters<norm>          unit = one output filter (a row [C/groups][K][K] or a dense row), score its L1
//                          or L2 norm. Only the weights are masked: the bias of a pruned filter stays (the
//                          physical removal of a filter, which must also fold the bias, lives elsewhere)
//   blocks<R, C, norm>     unit = R filters × C consecutive weights of their reduction axis; rows must be
//                          divisible by R and the reduction axis by C
//   n_of_m<N, M>           groups of M consecutive weights along each filter's reduction axis, in memory
//                          order (C/groups)·K·K (kw fastest): each group prunes round(sparsity · M) of its M
//                          weights, at most M − N, so n_of_m<N, M>::sparsity (1 − N/M) keeps exactly the N
//                          largest of every M. Why the flattened reduction axis, not the channels at a fixed
//                          (kh, kw) (NVIDIA's NHWC convention): it is the K axis of our im2col GEMM (kernels/
//                          conv2d.hpp, col rows ordered c, kh, kw), so a sparse kernel reads each group as
//                          contiguous weights; for dense it is exactly the input channels; and it needs only
//                          (C/groups)·K·K divisible by M, which C/groups divisible by M implies.
// Ties (equal scores) go by index: the lower unit (or weight) index is pruned first. Weights the mask
// already prunes score below every kept one (−1), so a growing target never revives a weight; a target
// below the current sparsity leaves pruned weights pruned (mask::reset() starts over).
// Errors (archetype::error, naming the layer): sparsity outside [0, 1), a leaf index that is not prunable,
// a layer whose shape the blocks or groups do not divide, an N:M sparsity above 1 − N/M. N > M or M < 1
// does not compile.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "archetype/compress/pruning_mask.hpp"
#include "archetype/core/error.hpp"

namespace archetype::pruning {

enum class norm { l1, l2 };

namespace detail {

inline void check_sparsity(double s, const char* policy) {
    if (!(s >= 0.0 && s < 1.0))
        throw error(std::string("pruning (") + policy + "): sparsity " + std::to_string(s) +
                    " is outside [0, 1); give the fraction of weights to prune, e.g. 0.8");
}

inline std::size_t units_to_prune(double s, std::size_t n) {
    return std::min(n, std::size_t(std::floor(s * double(n) + 0.5)));
}

// Indices of the k lowest scores, ties to the lower index (a strict total order, so deterministic).
inline std::vector<std::size_t> lowest(const std::vector<double>& score, std::size_t k) {
    std::vector<std::size_t> idx(score.size());
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    auto before = [&](std::size_t a, std::size_t b) { return score[a] < score[b] || (score[a] == score[b] && a < b); };
    if (k < idx.size()) std::nth_element(idx.begin(), idx.begin() + std::ptrdiff_t(k), idx.end(), before);
    idx.resize(k);
    return idx;
}

// Scores units (sum of |w| or w² over the kept weights; −1 when none is kept) and prunes the lowest.
template <class Units, norm N>
void prune_units(std::span<const float> p, mask& m, const layer_info& l, double s) {
    const std::size_t n = Units::count(l);
    std::vector<double> score(n, 0.0);
    std::vector<std::uint8_t> any_kept(n, 0);
    std::uint8_t* keep = m.data() + l.offset;
    const float* w = p.data() + l.offset;
    for (std::size_t j = 0; j < l.weights(); ++j) {
        if (!keep[j]) continue;
        const std::size_t u = Units::of(l, j);
        score[u] += N == norm::l1 ? std::fabs(double(w[j])) : double(w[j]) * double(w[j]);
        any_kept[u] = 1;
    }
    for (std::size_t u = 0; u < n; ++u)
        if (!any_kept[u]) score[u] = -1.0;
    std::vector<std::uint8_t> drop(n, 0);
    for (std::size_t u : lowest(score, units_to_prune(s, n))) drop[u] = 1;
    for (std::size_t j = 0; j < l.weights(); ++j)
        if (drop[Units::of(l, j)]) keep[j] = 0;
}

struct weight_units {
    static std::size_t count(const layer_info& l) { return l.weights(); }
    static std::size_t of(const layer_info&, std::size_t j) { return j; }
};
struct filter_units {
    static std::size_t count(const layer_info& l) { return l.rows; }
    static std::size_t of(const layer_info& l, std::size_t j) { return j / l.row; }
};
template <int R, int C>
struct block_units {
    static std::size_t count(const layer_info& l) {
        if (l.rows % R != 0 || l.row % C != 0)
            throw error("pruning (blocks<" + std::to_string(R) + ", " + std::to_string(C) + ">): layer " + l.name +
                        " has " + std::to_string(l.rows) + " filters of " + std::to_string(l.row) +
                        " weights, not divisible into " + std::to_string(R) + "x" + std::to_string(C) +
                        " blocks; choose a block that divides both, or prune this layer another way");
        return (l.rows / R) * (l.row / C);
    }
    static std::size_t of(const layer_info& l, std::size_t j) { return (j / l.row / R) * (l.row / C) + (j % l.row) / C; }
};

}  // namespace detail

struct magnitude {
    static constexpr const char* name = "magnitude";
    static void select(std::span<const float> p, mask& m, const layer_info& l, double s) {
        detail::prune_units<detail::weight_units, norm::l1>(p, m, l, s);
    }
};

struct global_magnitude {
    static constexpr const char* name = "global_magnitude";
    static constexpr bool global = true;
    static void select_all(std::span<const float> p, mask& m, const std::vector<const layer_info*>& layers, double s) {
        std::vector<std::size_t> where;  // parameter index of each candidate, layers in order
        for (const layer_info* l : layers)
            for (std::size_t j = 0; j < l->weights(); ++j) where.push_back(l->offset + j);
        std::vector<double> score(where.size());
        for (std::size_t i = 0; i < where.size(); ++i)
            score[i] = m.kept(where[i]) ? std::fabs(double(p[where[i]])) : -1.0;
        for (std::size_t i : detail::lowest(score, detail::units_to_prune(s, where.size()))) m.data()[where[i]] = 0;
    }
    static void select(std::span<const float> p, mask& m, const layer_info& l, double s) {
        select_all(p, m, {&l}, s);
    }
};

template <norm N = norm::l1>
struct filters {
    static constexpr const char* name = N == norm::l1 ? "filters<l1>" : "filters<l2>";
    static void select(std::span<const float> p, mask& m, const layer_info& l, double s) {
        detail::prune_units<detail::filter_units, N>(p, m, l, s);
    }
};

template <int R, int C, norm N = norm::l2>
struct blocks {
    static_assert(R >= 1 && C >= 1, "archetype::pruning::blocks<R, C>: block sides must be at least 1");
    static constexpr const char* name = "blocks";
    static void select(std::span<const float> p, mask& m, const layer_info& l, double s) {
        detail::prune_units<detail::block_units<R, C>, N>(p, m, l, s);
    }
};

template <int N, int M>
struct n_of_m {
    static_assert(M >= 1 && N >= 0 && N <= M,
                  "archetype::pruning::n_of_m<N, M>: keeps N of every M weights, so it needs 0 <= N <= M");
    static constexpr const char* name = "n_of_m";
    static constexpr double sparsity = double(M - N) / double(M);  // the N:M pattern itself
    static void select(std::span<const float> p, mask& m, const layer_info& l, double s) {
        const std::string what = std::to_string(N) + ":" + std::to_string(M);
        if (l.row % std::size_t(M) != 0)
            throw error("pruning (" + what + "): layer " + l.name + " has a reduction axis of " + std::to_string(l.row) +
                        " weights per filter ((C/groups)·K·K), not divisible by M = " + std::to_string(M) +
                        "; prune this layer with another policy, or pick the N:M layers with `leaves`");
        const std::size_t k = detail::units_to_prune(s, std::size_t(M));
        if (k > std::size_t(M - N))
            throw error("pruning (" + what + "): sparsity " + std::to_string(s) + " would prune " + std::to_string(k) +
                        " of every " + std::to_string(M) + " weights but " + what + " keeps at least " +
                        std::to_string(N) + "; use a sparsity of at most " + std::to_string(sparsity));
        std::uint8_t* keep = m.data() + l.offset;
        const float* w = p.data() + l.offset;
        std::vector<double> score(static_cast<std::size_t>(M), 0.0);
        for (std::size_t g = 0; g < l.weights(); g += std::size_t(M)) {
            for (std::size_t i = 0; i < std::size_t(M); ++i) score[i] = keep[g + i] ? std::fabs(double(w[g + i])) : -1.0;
            for (std::size_t i : detail::lowest(score, k)) keep[g + i] = 0;
        }
    }
};

// Updates the mask only (see the header comment); `leaves` empty = every prunable layer.
template <class Policy>
void prune(std::span<const float> params, mask& m, double sparsity, std::span<const std::size_t> leaves = {}) {
    m.check(params.size(), "prune: the parameters");
    detail::check_sparsity(sparsity, Policy::name);
    std::vector<const layer_info*> chosen;
    if (leaves.empty()) {
        for (const auto& l : m.layers()) chosen.push_back(&l);
    } else {
        for (std::size_t leaf : leaves) chosen.push_back(&m.layer_at_leaf(leaf));
    }
    if constexpr (requires { Policy::global; }) {
        Policy::select_all(params, m, chosen, sparsity);
    } else {
        for (const layer_info* l : chosen) Policy::select(params, m, *l, sparsity);
    }
}

// Updates the mask and zeroes the pruned weights of net.
template <class Policy, class Net>
    requires requires(Net& n) { n.params(); }
void prune(Net& net, mask& m, double sparsity, std::span<const std::size_t> leaves = {}) {
    prune<Policy>(std::span<const float>(net.params()), m, sparsity, leaves);
    m.apply(net.params());
}

template <class Policy, class Net>
void prune_layer(Net& net, mask& m, std::size_t leaf_index, double sparsity) {
    const std::size_t leaves[] = {leaf_index};
    prune<Policy>(net, m, sparsity, leaves);
}

}  // namespace archetype::pruning
