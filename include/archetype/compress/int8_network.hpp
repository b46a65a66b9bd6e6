// archetype/compress/int8_network.hpp — post-training quantization of a trained fp32 network and its
// integer-only inference.
//
// Contract: int8_network<Net, Requantization = float_requantization> q(net, calibration, samples, path)
//   1. calibration (int8_graph.hpp): runs net (fp32, inference mode) on `samples` samples at `calibration`
//      (batches of 64) with a min_max_observer<uint8_range, affine> on the input, on every leaf layer's
//      output and on every residual add / sum / concat output. int8_network(net, ranges, path) builds from
//      given qparams instead (e.g. those learned by quantization-aware training, qat.hpp).
//   2. fusion over the data-flow tree (int8_graph.hpp: sequentials flattened, a choice's selected
//      alternative, residual / sum / concat as joins of branches): conv2d / depthwise_conv2d / dense, then an
//      optional batch_norm (folded into the weights: w·γ/√(var+eps), (b − mean)·γ/√(var+eps) + β), then an
//      optional relu / relu6 (fused into the requantization clamp) make one stage whose output qparams are
//      those observed after the group's last layer; max_pool keeps its input qparams; avg_pool and
//      global_avg_pool requantize to their observed output; flatten and identity cost nothing (NCHW is
//      already flat); a stand-alone relu/relu6 clamps. A join adds (int8_add) or concatenates its branches'
//      u8 outputs requantized to the join's observed output, a relu / relu6 right after it fused into its
//      clamp (its qparams then those observed after the relu). Any other layer is a compile-time error; a
//      batch_norm that does not follow a conv or dense throws archetype::error naming it.
//      Weights are per-channel symmetric int8, activations affine u8 (int8_stages.hpp has the numerics).
//   3. forward(x, batch) quantizes the float input (PyTorch rounding) and runs the stages on u8 buffers
//      (reused once no later stage reads them); the last conv/dense stage of the network, when it has no
//      fused activation and is not inside a branch, dequantizes its int32 result to float logits (any other
//      last stage is dequantized from u8).
//      The result is valid until the next call. path() is the kernel path taken (vnni512 / avx2 / scalar):
//      int8_best_path() of the build unless asked for another compiled one.
// Batches run single-threaded; a sample's result does not depend on the batch it is in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "archetype/compress/int8_graph.hpp"

namespace archetype::quant {

template <class Net, class Requantization = float_requantization>
class int8_network {
public:
    int8_network(Net& net, const float* calibration, std::size_t samples,
                 kernels::int8_path path = kernels::int8_best_path())
        : path_(path) {
        kernels::check_int8_path(path, "int8_network");
        const int8_graph g = int8_graph_of<Net, Requantization>(net.state().data());
        build(net, g, int8_calibrate(net, g, calibration, samples));
    }
    // From given qparams (numbered as int8_graph_of<Net>(net.state()) numbers leaves and joins).
    int8_network(const Net& net, const int8_ranges& ranges, kernels::int8_path path = kernels::int8_best_path())
        : path_(path) {
        kernels::check_int8_path(path, "int8_network");
        const int8_graph g = int8_graph_of<Net, Requantization>(net.state().data());
        if (ranges.leaves.size() != g.leaves || ranges.joins.size() != g.joins)
            throw error("int8_network: the ranges hold " + std::to_string(ranges.leaves.size()) + " leaf and " +
                        std::to_string(ranges.joins.size()) + " join qparams but the network has " +
                        std::to_string(g.leaves) + " leaves and " + std::to_string(g.joins) +
                        " joins; build the ranges for this network (and genotype)");
        build(net, g, ranges);
    }

    // Logits (or the last layer's dequantized output) of `batch` samples; valid until the next call.
    const float* forward(const float* x, std::size_t batch) {
        if (batch == 0) throw error("int8_network forward: the batch is empty; pass at least one sample");
        if (batch > capacity_) {
            for (auto& b : buffers_) b.assign(batch * max_act_ + 64, 0);
            y_.assign(batch * Net::output_shape.size(), 0.0f);
            capacity_ = batch;
        }
        quantizer<pytorch_rounding, uint8_range>::quantize(x, buffers_[input_buffer_].data(),
                                                           batch * Net::input_shape.size(), ranges_.input);
        for (const auto& s : steps_) {
            void* out = s.out == to_float ? static_cast<void*>(y_.data()) : buffers_[s.out].data();
            if (s.join) {
                inputs_.clear();
                for (auto b : s.in) inputs_.push_back(buffers_[b].data());
                s.join->run(inputs_.data(), static_cast<std::uint8_t*>(out), batch);
            } else {
                s.unary->run(buffers_[s.in[0]].data(), out, batch);
            }
        }
        return y_.data();
    }

    kernels::int8_path path() const { return path_; }
    const char* path_name() const { return kernels::int8_path_name(path_); }
    std::size_t stage_count() const { return stages_.size() + joins_.size(); }
    qparams input_qparams() const { return ranges_.input; }
    const int8_ranges& ranges() const { return ranges_; }
    // Bytes of int8 weights plus int32 biases (the fp32 network holds 4 bytes per parameter).
    std::size_t weight_bytes() const {
        std::size_t b = 0;
        for (const auto& s : stages_) b += s->weight_bytes();
        return b;
    }

private:
    static constexpr std::size_t to_float = std::numeric_limits<std::size_t>::max();
    struct step {
        const int8_stage* unary = nullptr;
        const int8_join_stage* join = nullptr;
        std::vector<std::size_t> in;
        std::size_t out;
    };
    struct value {
        std::size_t buffer;
        qparams q;
    };

    std::size_t acquire() {
        if (free_.empty()) {
            refs_.push_back(1);
            buffers_.emplace_back();
            return refs_.size() - 1;
        }
        const std::size_t b = free_.back();
        free_.pop_back();
        refs_[b] = 1;
        return b;
    }
    void release(std::size_t b) {
        if (--refs_[b] == 0) free_.push_back(b);
    }
    std::size_t add_stage(std::unique_ptr<int8_stage> st, std::size_t in) {
        const std::size_t out = st->float_output ? to_float : acquire();
        max_act_ = std::max({max_act_, st->in_size, st->out_size});
        steps_.push_back({st.get(), nullptr, {in}, out});
        stages_.push_back(std::move(st));
        release(in);
        return out;
    }

    void build(const Net& net, const int8_graph& g, const int8_ranges& r) {
        ranges_ = r;
        input_buffer_ = acquire();
        max_act_ = Net::input_shape.size();
        const value v = emit(net, g.nodes, {input_buffer_, r.input}, true);
        if (steps_.empty() || steps_.back().out != to_float)
            add_stage(std::make_unique<int8_dequantize_stage>(Net::output_shape.size(), v.q), v.buffer);
    }

    // Emits the stages of `list` reading v (whose reference it consumes); returns its output.
    value emit(const Net& net, const std::vector<int8_detail::int8_node>& list, value v, bool top) {
        using int8_detail::kind;
        const float* params = net.params().data();
        const float* state = net.state().data();
        auto fused = [&](std::size_t i) {
            return i < list.size() && list[i].is_leaf && (list[i].leaf.k == kind::relu || list[i].leaf.k == kind::relu6);
        };
        for (std::size_t i = 0; i < list.size();) {
            const auto& n = list[i];
            std::size_t last = i;
            if (!n.is_leaf) {
                std::vector<value> outs;
                std::vector<qparams> qs;
                std::vector<std::size_t> ins;
                for (const auto& b : n.branches) {
                    ++refs_[v.buffer];
                    outs.push_back(emit(net, b, v, false));
                    qs.push_back(outs.back().q);
                    ins.push_back(outs.back().buffer);
                }
                release(v.buffer);
                fused_activation act = fused_activation::none;
                qparams out_q = ranges_.joins[n.index];
                if (fused(i + 1)) {
                    act = list[i + 1].leaf.k == kind::relu ? fused_activation::relu : fused_activation::relu6;
                    out_q = ranges_.leaves[list[i + 1].index];
                    ++last;
                }
                joins_.push_back(std::make_unique<int8_join_stage>(path_, n.concat, qs, n.branch_sizes, out_q, act));
                const std::size_t out = acquire();
                max_act_ = std::max(max_act_, n.out_size);
                steps_.push_back({nullptr, joins_.back().get(), ins, out});
                for (const auto& o : outs) release(o.buffer);
                v = {out, out_q};
                i = last + 1;
                continue;
            }
            const auto& l = n.leaf;
            int8_detail::build_args a{path_, params + l.w_off, {}, {}, v.q, v.q, fused_activation::none, false};
            if (l.k == kind::weighted) {
                if (last + 1 < list.size() && list[last + 1].is_leaf && list[last + 1].leaf.k == kind::batch_norm) {
                    fold_batch_norm(l, list[last + 1].leaf, params, state, a);
                    ++last;
                }
                if (fused(last + 1)) {
                    a.act = list[last + 1].leaf.k == kind::relu ? fused_activation::relu : fused_activation::relu6;
                    ++last;
                }
                a.out_q = ranges_.leaves[list[last].index];
                a.float_out = top && last + 1 == list.size() && a.act == fused_activation::none;  // logits
                v.buffer = add_stage(l.make(a), v.buffer);
            } else if (l.k == kind::max_pool) {
                v.buffer = add_stage(l.make(a), v.buffer);
            } else if (l.k == kind::avg_pool || l.k == kind::global_avg_pool) {
                a.out_q = ranges_.leaves[n.index];
                v.buffer = add_stage(l.k == kind::avg_pool ? l.make(a)
                                                           : std::make_unique<int8_global_avg_pool_stage>(
                                                                 l.channels, l.spatial, v.q, a.out_q),
                                     v.buffer);
            } else if (l.k == kind::relu || l.k == kind::relu6) {
                const std::int32_t hi =
                    l.k == kind::relu6
                        ? std::min<std::int32_t>(255, v.q.zero_point + std::int32_t(std::nearbyint(6.0f / v.q.scale)))
                        : 255;
                v.buffer = add_stage(
                    std::make_unique<int8_clamp_stage>(l.out_size, std::uint8_t(v.q.zero_point), std::uint8_t(hi)),
                    v.buffer);
            } else if (l.k != kind::pass) {
                throw error("int8_network: layer " + std::to_string(n.index) + " (" + l.name +
                            ") has no int8 form; supported: conv2d, depthwise_conv2d, dense (each optionally "
                            "followed by batch_norm and relu/relu6), max_pool, avg_pool, global_avg_pool, "
                            "relu, relu6, flatten, identity, and residual/sum/concat (optionally followed by "
                            "relu/relu6)");
            }
            v.q = a.out_q;
            i = last + 1;
        }
        return v;
    }

    static void fold_batch_norm(const int8_detail::leaf_info& l, const int8_detail::leaf_info& bn, const float* params,
                                const float* state, int8_detail::build_args& a) {
        const std::size_t out = bn.channels, depth = l.weight_count / out;
        const float* w = params + l.w_off;
        const float *gamma = params + bn.w_off, *beta = gamma + out, *mean = state + bn.s_off, *var = mean + out;
        a.folded_w.assign(w, w + l.weight_count);
        a.folded_b.assign(out, 0.0f);
        for (std::size_t o = 0; o < out; ++o) {
            const float k = gamma[o] / std::sqrt(var[o] + batch_norm::eps);
            for (std::size_t r = 0; r < depth; ++r) a.folded_w[o * depth + r] *= k;
            a.folded_b[o] = ((l.has_bias ? w[l.weight_count + o] : 0.0f) - mean[o]) * k + beta[o];
        }
    }

    kernels::int8_path path_;
    int8_ranges ranges_;
    std::vector<std::unique_ptr<int8_stage>> stages_;
    std::vector<std::unique_ptr<int8_join_stage>> joins_;
    std::vector<step> steps_;
    std::vector<std::size_t> refs_, free_;
    std::vector<std::vector<std::uint8_t>> buffers_;
    std::vector<const std::uint8_t*> inputs_;
    std::size_t input_buffer_ = 0, max_act_ = 0, capacity_ = 0;
    std::vector<float> y_;
};

}  // namespace archetype::quant
