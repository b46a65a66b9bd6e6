// archetype/compress/qat.hpp — quantization-aware training of a trained fp32 network, and its conversion to
// an int8_network built from the learned qparams.
//
// Contract: qat_network<Net> q(net) wraps net (which it trains in place) and simulates, in float, exactly the
// integer network int8_network<Net> would build (same data-flow tree and fusion, int8_graph.hpp; a choice
// keeps the alternative selected when q is built):
//   - each conv2d / depthwise_conv2d / dense [+ batch_norm] [+ relu/relu6] group runs with its weights folded
//     as the conversion folds them (W·γ/√(var+eps), bias (b − mean)·γ/√(var+eps) + β; batch-norm running
//     statistics are FROZEN: QAT never updates them, it uses the trained ones), the folded weights
//     fake-quantized per output channel, symmetric int8 [-127, 127], with qparams from their current min/max
//     (as the conversion quantizes them), then the activation, then the output fake-quantized (affine u8);
//   - the input, avg/global pooling outputs and residual add / sum / concat outputs (after a following
//     relu/relu6, fused as in int8) are fake-quantized too; max pool, flatten, identity and stand-alone
//     relu/relu6 run as in fp32; the last conv/dense of the network without activation gives float logits.
//   Activation qparams come from moving-average min-max observers (c = 0.01, affine u8; the first batch
//   sets min and max) updated by every training-mode forward until freeze_observers(); inference-mode
//   forwards use them as they are. Fake quantization is quant::fake_quantizer with PyTorch rounding; its
//   gradient is the clipped straight-through estimator (dy where the value was inside the range, else 0),
//   through the fold to W, b, γ and β (the per-channel weight scales are treated as constants, as PyTorch).
// q has the trainer's network interface (input_shape, output_shape, forward_raw(x, n, training),
// zero_grad(), backward_raw(dy), params(), grads()), so archetype::train and evaluate run it with any
// optimizer and schedule; params() are net's own. ranges() gives the observers' qparams in int8_network's
// numbering, convert() the int8 network built from them. Batches run single-threaded, sums in a fixed order.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "archetype/compress/fake_quant.hpp"
#include "archetype/compress/int8_network.hpp"

namespace archetype::quant {

template <class Net>
class qat_network {
    using node = int8_detail::int8_node;
    using kind = int8_detail::kind;
    using act_fq = fake_quantizer<pytorch_rounding, uint8_range>;
    using weight_fq = fake_quantizer<pytorch_rounding, int8_narrow_range, per_channel>;

public:
    static constexpr shape input_shape = Net::input_shape;
    static constexpr shape output_shape = Net::output_shape;

    explicit qat_network(Net& net, float averaging_constant = 0.01f)
        : net_(net), graph_(int8_graph_of<Net, float_requantization>(net.state().data())),
          input_obs_(averaging_constant), grads_(net.params().size(), 0.0f) {
        leaf_obs_.assign(graph_.leaves, moving_average_min_max_observer<uint8_range, affine>(averaging_constant));
        join_obs_.assign(graph_.joins, moving_average_min_max_observer<uint8_range, affine>(averaging_constant));
        units_ = build(graph_.nodes, true);
    }
    qat_network(const qat_network&) = delete;  // units point into graph_ and the observers
    qat_network& operator=(const qat_network&) = delete;

    const float* forward_raw(const float* x, std::size_t batch, bool training) {
        if (batch == 0) throw error("qat_network forward: the batch is empty; pass at least one sample");
        batch_ = batch;
        observe_ = training && !frozen_;
        const std::size_t n = batch * input_shape.size();
        xq_.resize(n);
        act_fq::forward(x, xq_.data(), n, point(input_obs_, x, n));
        return forward_list(units_, xq_.data());
    }
    void backward_raw(const float* dy) {
        if (batch_ == 0) throw error("qat_network backward: call forward_raw (training) before backward_raw");
        backward_list(units_, dy, nullptr);
    }
    void zero_grad() { std::fill(grads_.begin(), grads_.end(), 0.0f); }
    std::span<float> params() { return net_.params(); }
    std::span<float> grads() { return grads_; }
    Net& network() { return net_; }

    // Stop (or resume) updating the activation observers in training-mode forwards.
    void freeze_observers(bool frozen = true) { frozen_ = frozen; }
    bool observers_frozen() const { return frozen_; }

    // The observers' qparams, numbered as int8_network numbers leaves and joins (unused points: {1, 0}).
    int8_ranges ranges() const {
        int8_ranges r;
        r.input = qparams_of(input_obs_);
        for (std::size_t i = 0; i < leaf_obs_.size(); ++i) r.leaves.push_back(used_leaf(i) ? qparams_of(leaf_obs_[i]) : qparams{});
        for (const auto& o : join_obs_) r.joins.push_back(qparams_of(o));
        return r;
    }
    template <class Requantization = float_requantization>
    int8_network<Net, Requantization> convert(kernels::int8_path path = kernels::int8_best_path()) const {
        return int8_network<Net, Requantization>(net_, ranges(), path);
    }

private:
    using observer = moving_average_min_max_observer<uint8_range, affine>;
    struct unit {
        kind k = kind::pass;  // kind of the first leaf; joins: unsupported
        const node* n = nullptr;
        const int8_detail::leaf_info* bn = nullptr;
        fused_activation act = fused_activation::none;
        observer* obs = nullptr;  // null: output not fake-quantized
        std::vector<std::vector<unit>> branches;
        const float* in = nullptr;
        std::vector<float> pre, out, dx, work, wq, bias, scratch;
        std::vector<std::uint8_t> mask, wmask;
    };

    static qparams qparams_of(const observer& o) {
        if (!(o.min() <= o.max())) return qparams{};
        return o.calculate_qparams();
    }
    bool used_leaf(std::size_t i) const { return leaf_used_.size() > i && leaf_used_[i]; }

    qparams point(observer& o, const float* y, std::size_t n) {
        if (observe_) o.observe(y, n);
        if (!(o.min() <= o.max()))
            throw error("qat_network: an activation observer has seen no data; run a training-mode forward "
                        "(or train) before an inference-mode one");
        return o.calculate_qparams();
    }

    std::vector<unit> build(const std::vector<node>& list, bool top) {
        std::vector<unit> units;
        auto fused = [&](std::size_t i) {
            return i < list.size() && list[i].is_leaf && (list[i].leaf.k == kind::relu || list[i].leaf.k == kind::relu6);
        };
        auto act_of = [&](std::size_t i) {
            return list[i].leaf.k == kind::relu ? fused_activation::relu : fused_activation::relu6;
        };
        leaf_used_.resize(graph_.leaves, false);
        for (std::size_t i = 0; i < list.size(); ++i) {
            unit u;
            u.n = &list[i];
            if (!list[i].is_leaf) {
                u.k = kind::unsupported;
                for (const auto& b : list[i].branches) u.branches.push_back(build(b, false));
                u.obs = &join_obs_[list[i].index];
                if (fused(i + 1)) {
                    u.act = act_of(++i);
                    u.obs = &leaf_obs_[list[i].index];
                    leaf_used_[list[i].index] = true;
                }
                units.push_back(std::move(u));
                continue;
            }
            u.k = list[i].leaf.k;
            if (u.k == kind::weighted) {
                if (i + 1 < list.size() && list[i + 1].is_leaf && list[i + 1].leaf.k == kind::batch_norm)
                    u.bn = &list[++i].leaf;
                if (fused(i + 1)) u.act = act_of(++i);
                if (!(top && i + 1 == list.size() && u.act == fused_activation::none)) u.obs = &leaf_obs_[list[i].index];
            } else if (u.k == kind::avg_pool || u.k == kind::global_avg_pool) {
                u.obs = &leaf_obs_[list[i].index];
            } else if (u.k == kind::batch_norm || u.k == kind::unsupported) {
                throw error("qat_network: layer " + std::to_string(list[i].index) + " (" + list[i].leaf.name +
                            ") has no int8 form; a batch_norm must follow a conv2d, depthwise_conv2d or dense");
            }
            if (u.obs) leaf_used_[list[i].index] = true;
            units.push_back(std::move(u));
        }
        return units;
    }

    const float* forward_list(std::vector<unit>& list, const float* x) {
        for (auto& u : list) x = forward_unit(u, x);
        return x;
    }

    // Folds BN into u's weights, fake-quantizes them per channel into u.wq (bias after them) and u.bias.
    void fold_and_quantize(unit& u) {
        const auto& l = u.n->leaf;
        const std::size_t out = l.out_channels, depth = l.weight_count / out;
        const float* w = net_.params().data() + l.w_off;
        u.wq.assign(w, w + l.param_count);
        u.bias.assign(out, 0.0f);
        for (std::size_t o = 0; o < out; ++o) u.bias[o] = l.has_bias ? w[l.weight_count + o] : 0.0f;
        if (u.bn) {
            const float* gamma = net_.params().data() + u.bn->w_off;
            const float* mean = net_.state().data() + u.bn->s_off;
            for (std::size_t o = 0; o < out; ++o) {
                const float k = gamma[o] / std::sqrt(mean[out + o] + batch_norm::eps);
                for (std::size_t r = 0; r < depth; ++r) u.wq[o * depth + r] *= k;
                u.bias[o] = (u.bias[o] - mean[o]) * k + gamma[out + o];
            }
        }
        std::vector<float> lo(out), hi(out);
        for (std::size_t o = 0; o < out; ++o) {
            lo[o] = *std::min_element(u.wq.begin() + o * depth, u.wq.begin() + (o + 1) * depth);
            hi[o] = *std::max_element(u.wq.begin() + o * depth, u.wq.begin() + (o + 1) * depth);
        }
        const channel_qparams wq = choose_qparams<int8_narrow_range, symmetric>(lo, hi);
        u.wmask.resize(l.weight_count);
        weight_fq::forward(u.wq.data(), u.wq.data(), {1, out, depth}, wq, u.wmask.data());
        if (l.has_bias) std::copy(u.bias.begin(), u.bias.end(), u.wq.begin() + l.weight_count);
    }

    const float* forward_unit(unit& u, const float* x) {
        const std::size_t b = batch_;
        const context c{b, false, nullptr, nullptr};
        u.in = x;
        if (u.k == kind::pass) return x;
        float* y = nullptr;
        std::size_t size = u.n->out_size;
        if (u.k == kind::unsupported) {  // join
            std::vector<const float*> outs;
            for (auto& br : u.branches) outs.push_back(forward_list(br, x));
            u.pre.resize(b * size);
            for (std::size_t s = 0; s < b; ++s) {
                float* dst = u.pre.data() + s * size;
                for (std::size_t i = 0; i < outs.size(); ++i) {
                    const std::size_t m = u.n->branch_sizes[i];
                    const float* src = outs[i] + s * m;
                    for (std::size_t j = 0; j < m; ++j) dst[j] = i == 0 || u.n->concat ? src[j] : dst[j] + src[j];
                    if (u.n->concat) dst += m;
                }
            }
        } else {
            const auto& l = u.n->leaf;
            size = l.out_size;
            u.work.resize(l.work_size(b));
            u.pre.resize(b * size);
            if (u.k == kind::weighted) {
                fold_and_quantize(u);
                l.forward(c, slots{u.wq.data(), nullptr, nullptr, u.work.data()}, x, u.pre.data());
                if (!l.has_bias) {
                    const std::size_t plane = size / l.out_channels;
                    for (std::size_t i = 0; i < b * size; ++i) u.pre[i] += u.bias[(i / plane) % l.out_channels];
                }
            } else {
                l.forward(c, slots{nullptr, nullptr, nullptr, u.work.data()}, x, u.pre.data());
            }
        }
        u.out.resize(b * size);
        y = u.out.data();
        for (std::size_t i = 0; i < b * size; ++i) {
            const float v = u.pre[i];
            y[i] = u.act == fused_activation::none ? v
                   : u.act == fused_activation::relu ? std::max(v, 0.0f)
                                                     : std::min(std::max(v, 0.0f), 6.0f);
        }
        if (u.obs) {
            u.mask.resize(b * size);
            act_fq::forward(y, y, b * size, point(*u.obs, y, b * size), u.mask.data());
        }
        return y;
    }

    // dy: gradient of list's output; dx (may be null): receives the gradient of its input.
    void backward_list(std::vector<unit>& list, const float* dy, float* dx) {
        for (std::size_t i = list.size(); i-- > 0;) {
            unit& u = list[i];
            float* target = i == 0 ? dx : (u.dx.resize(batch_ * in_size(u)), u.dx.data());
            if (u.k == kind::pass) {
                if (target) std::copy(dy, dy + batch_ * in_size(u), target);
            } else {
                backward_unit(u, dy, target);
            }
            if (i == 0 || !target) return;
            dy = target;
        }
    }
    static std::size_t in_size(const unit& u) {
        return u.k == kind::unsupported ? u.n->branch_sizes.empty() ? 0 : in_size_of_join(u) : u.n->leaf.in_size;
    }
    static std::size_t in_size_of_join(const unit& u) {
        for (const auto& br : u.branches)
            if (!br.empty()) return in_size(br.front());
        return 0;
    }

    void backward_unit(unit& u, const float* dy, float* dx) {
        const std::size_t b = batch_, size = u.out.size() / b;
        std::vector<float>& d = u.scratch;
        d.assign(dy, dy + b * size);
        for (std::size_t i = 0; i < b * size; ++i) {
            if (u.obs && !u.mask[i]) d[i] = 0.0f;
            const float v = u.pre[i];
            if (u.act == fused_activation::relu && !(v > 0.0f)) d[i] = 0.0f;
            if (u.act == fused_activation::relu6 && (v <= 0.0f || v >= 6.0f)) d[i] = 0.0f;
        }
        const context c{b, false, nullptr, nullptr};
        if (u.k == kind::unsupported) {
            std::vector<float> g, tmp;
            const std::size_t in = in_size(u);
            if (dx) std::fill(dx, dx + b * in, 0.0f);
            for (std::size_t i = 0, off = 0; i < u.branches.size(); ++i) {
                const std::size_t m = u.n->branch_sizes[i];
                if (u.n->concat) {
                    g.resize(b * m);
                    for (std::size_t s = 0; s < b; ++s)
                        std::copy_n(d.data() + s * size + off, m, g.data() + s * m);
                    off += m;
                }
                tmp.assign(dx ? b * in : 0, 0.0f);
                backward_list(u.branches[i], u.n->concat ? g.data() : d.data(), dx ? tmp.data() : nullptr);
                for (std::size_t j = 0; dx && j < b * in; ++j) dx[j] += tmp[j];
            }
            return;
        }
        const auto& l = u.n->leaf;
        if (u.k != kind::weighted) {
            l.backward(c, slots{nullptr, nullptr, nullptr, u.work.data()}, u.in, u.pre.data(), d.data(), dx);
            return;
        }
        std::vector<float> dwq(l.param_count, 0.0f), dbias(l.out_channels, 0.0f);
        l.backward(c, slots{u.wq.data(), dwq.data(), nullptr, u.work.data()}, u.in, u.pre.data(), d.data(), dx);
        const std::size_t out = l.out_channels, depth = l.weight_count / out, plane = size / out;
        if (l.has_bias) {
            std::copy(dwq.begin() + l.weight_count, dwq.end(), dbias.begin());
        } else {
            for (std::size_t s = 0; s < b; ++s)
                for (std::size_t o = 0; o < out; ++o)
                    for (std::size_t p = 0; p < plane; ++p) dbias[o] += d[(s * out + o) * plane + p];
        }
        const float* w = net_.params().data() + l.w_off;
        float* gw = grads_.data() + l.w_off;
        if (!u.bn) {
            for (std::size_t r = 0; r < l.weight_count; ++r) gw[r] += u.wmask[r] ? dwq[r] : 0.0f;
            for (std::size_t o = 0; l.has_bias && o < out; ++o) gw[l.weight_count + o] += dbias[o];
            return;
        }
        const float* gamma = net_.params().data() + u.bn->w_off;
        const float* mean = net_.state().data() + u.bn->s_off;
        float* ggamma = grads_.data() + u.bn->w_off;
        for (std::size_t o = 0; o < out; ++o) {
            const float sigma = std::sqrt(mean[out + o] + batch_norm::eps), k = gamma[o] / sigma;
            float dk = 0.0f;
            for (std::size_t r = o * depth; r < (o + 1) * depth; ++r) {
                const float g = u.wmask[r] ? dwq[r] : 0.0f;
                gw[r] += g * k;
                dk += g * w[r];
            }
            const float b0 = l.has_bias ? w[l.weight_count + o] : 0.0f;
            dk += dbias[o] * (b0 - mean[o]);
            ggamma[o] += dk / sigma;
            ggamma[out + o] += dbias[o];
            if (l.has_bias) gw[l.weight_count + o] += dbias[o] * k;
        }
    }

    Net& net_;
    int8_graph graph_;
    observer input_obs_;
    std::vector<observer> leaf_obs_, join_obs_;
    std::vector<bool> leaf_used_;
    std::vector<unit> units_;
    std::vector<float> grads_, xq_;
    std::size_t batch_ = 0;
    bool observe_ = false, frozen_ = false;
};

}  // namespace archetype::quant
