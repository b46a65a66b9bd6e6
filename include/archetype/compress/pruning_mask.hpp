// archetype/compress/pruning_mask.hpp — which weights of a network are pruned, and how sparse it is.
//
// Contract: pruning::mask::of<Net>() walks Net's leaves in forward order (visit_leaves) and holds one
// byte per parameter of the network's arena (1 = kept, 0 = pruned), all kept at first. A leaf is
// *prunable* when its op declares `weight_count` (conv2d, depthwise_conv2d, dense, and any leaf that lays
// its parameters out as weight [out.c][weight_count / out.c] followed by the bias): only those weights are
// ever pruned; biases, batch-norm γ/β and every other parameter stay kept. Each prunable layer is
// described by a layer_info (leaf index, offset in the arena, rows = output filters, row = the filter's
// reduction axis (C/groups)·K·K in memory order, kernel = K·K, 1 for dense).
//   apply(params)     zeroes (+0.0f) every pruned parameter; throws archetype::error on a size mismatch
//   report(params)    per prunable layer ("#<leaf index> <spelling>") and overall: weights, pruned (by the
//                     mask), zero weights actually found in params, sparsity, and the bytes of the weights
//                     stored dense (4 B each) or sparse (kept values 4 B each + a 1-bit-per-weight bitmask);
//                     non-prunable parameters count as stored dense in both totals. str() prints it.
// A mask serves one network type: sizes are checked on every use.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "archetype/core/error.hpp"
#include "archetype/layers/layer.hpp"

namespace archetype::pruning {

struct layer_info {
    std::string name;            // "#<leaf index> <descriptor spelling>"
    std::size_t leaf_index = 0;  // position among all leaves of the network, forward order, from 0
    std::size_t offset = 0;      // first weight in the parameter arena
    std::size_t rows = 0;        // output filters (weight rows)
    std::size_t row = 0;         // weights per filter: the reduction axis, (C/groups)·K·K or in features
    std::size_t kernel = 1;      // K·K for a convolution, 1 for dense
    std::size_t weights() const { return rows * row; }
};

namespace detail {

struct layer_collector {
    std::vector<layer_info> layers;
    std::size_t leaves = 0;
    template <class Op>
    void leaf(std::size_t w_off, std::size_t) {
        if constexpr (requires { Op::weight_count; }) {
            constexpr std::size_t rows = std::size_t(Op::out.c);
            static_assert(rows > 0 && Op::weight_count % rows == 0,
                          "archetype::pruning: a leaf declaring weight_count must lay out [out.c][...] weights");
            layer_info l;
            l.name = "#" + std::to_string(leaves) + " " + Op::descriptor::spelling();
            l.leaf_index = leaves;
            l.offset = w_off;
            l.rows = rows;
            l.row = Op::weight_count / rows;
            if constexpr (requires { Op::descriptor::geometry(Op::in); }) {
                constexpr auto g = Op::descriptor::geometry(Op::in);
                l.kernel = std::size_t(g.k) * std::size_t(g.k);
            }
            layers.push_back(std::move(l));
        }
        ++leaves;
    }
};

inline std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

}  // namespace detail

struct layer_sparsity {
    std::string name;
    std::size_t weights = 0, pruned = 0, zeros = 0;  // pruned: by the mask; zeros: weights == 0 in params
    double sparsity() const { return weights ? double(pruned) / double(weights) : 0.0; }
    std::size_t dense_bytes() const { return weights * sizeof(float); }
    std::size_t sparse_bytes() const { return (weights - pruned) * sizeof(float) + (weights + 7) / 8; }
};

struct sparsity_report {
    std::vector<layer_sparsity> layers;
    std::size_t weights = 0, pruned = 0, zeros = 0;  // over the prunable layers
    std::size_t parameters = 0;                      // all parameters of the network
    double sparsity() const { return weights ? double(pruned) / double(weights) : 0.0; }
    // Whole network: prunable layers as above, every other parameter 4 B.
    std::size_t dense_bytes() const { return parameters * sizeof(float); }
    std::size_t sparse_bytes() const {
        std::size_t b = (parameters - weights) * sizeof(float);
        for (const auto& l : layers) b += l.sparse_bytes();
        return b;
    }
    std::string str() const {
        std::string s = "layer                                              weights    pruned  sparsity   dense B  sparse B\n";
        auto line = [&](const std::string& name, std::size_t w, std::size_t p, double sp, std::size_t db,
                        std::size_t sb) {
            char buf[256];
            std::snprintf(buf, sizeof buf, "%-48s %9zu %9zu %8s%% %9zu %9zu\n", name.c_str(), w, p,
                          detail::fixed(100.0 * sp, 2).c_str(), db, sb);
            s += buf;
        };
        for (const auto& l : layers) line(l.name, l.weights, l.pruned, l.sparsity(), l.dense_bytes(), l.sparse_bytes());
        line("prunable weights", weights, pruned, sparsity(), weights * sizeof(float),
             sparse_bytes() - (parameters - weights) * sizeof(float));
        line("whole network (other parameters dense)", parameters, pruned,
             parameters ? double(pruned) / double(parameters) : 0.0, dense_bytes(), sparse_bytes());
        return s;
    }
};

class mask {
public:
    mask() = default;
    mask(std::vector<layer_info> layers, std::size_t parameters)
        : keep_(parameters, std::uint8_t{1}), layers_(std::move(layers)) {}

    // The all-kept mask of network type Net.
    template <class Net>
    static mask of() {
        detail::layer_collector c;
        visit_leaves<typename Net::op>(c);
        return mask(std::move(c.layers), Net::param_count);
    }

    std::size_t size() const { return keep_.size(); }
    bool kept(std::size_t i) const { return keep_[i] != 0; }
    std::uint8_t* data() { return keep_.data(); }
    const std::uint8_t* data() const { return keep_.data(); }
    const std::vector<layer_info>& layers() const { return layers_; }

    // The prunable layer at `leaf_index`; throws when that leaf has no prunable weights.
    const layer_info& layer_at_leaf(std::size_t leaf_index) const {
        for (const auto& l : layers_)
            if (l.leaf_index == leaf_index) return l;
        std::string known;
        for (const auto& l : layers_) known += (known.empty() ? "" : ", ") + std::to_string(l.leaf_index);
        throw error("pruning: leaf " + std::to_string(leaf_index) +
                    " has no prunable weights (only conv2d, depthwise_conv2d and dense weights are); prunable "
                    "leaves of this network: " + (known.empty() ? std::string("none") : known));
    }

    // Everything kept again.
    void reset() { std::fill(keep_.begin(), keep_.end(), std::uint8_t{1}); }

    void check(std::size_t n, const char* what) const {
        if (n != keep_.size())
            throw error(std::string("pruning mask: ") + what + " has " + std::to_string(n) +
                        " values but the mask was made for " + std::to_string(keep_.size()) +
                        " parameters; build the mask with mask::of<Net>() of this network type");
    }

    // Zeroes the pruned entries of params (or of gradients: the same layout).
    void apply(std::span<float> values) const {
        check(values.size(), "apply: the span");
        for (std::size_t i = 0; i < values.size(); ++i)
            if (!keep_[i]) values[i] = 0.0f;
    }
    template <class Net>
        requires requires(Net& n) { n.params(); }
    void apply(Net& net) const {
        apply(net.params());
    }

    sparsity_report report(std::span<const float> params) const {
        check(params.size(), "report: the parameters");
        sparsity_report r;
        r.parameters = params.size();
        for (const auto& l : layers_) {
            layer_sparsity s{l.name, l.weights(), 0, 0};
            for (std::size_t i = l.offset; i < l.offset + l.weights(); ++i) {
                s.pruned += keep_[i] == 0;
                s.zeros += params[i] == 0.0f;
            }
            r.weights += s.weights;
            r.pruned += s.pruned;
            r.zeros += s.zeros;
            r.layers.push_back(std::move(s));
        }
        return r;
    }

private:
    std::vector<std::uint8_t> keep_;
    std::vector<layer_info> layers_;
};

}  // namespace archetype::pruning
