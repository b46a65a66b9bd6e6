// archetype/compress/int8_network.hpp — post-training quantization of a trained fp32 network and its
// integer-only inference.
//
// Contract: int8_network<Net, Requantization = float_requantization> q(net, calibration, samples, path)
//   1. calibration: runs net (fp32, inference mode) on `samples` samples at `calibration` (batches of 64) with
//      a min_max_observer<uint8_range, affine> on the input and on every leaf layer's output;
//   2. fusion over the leaves in forward order (nested sequentials are flattened; any other composite
//      — residual, branches — is rejected at compile time): conv2d / depthwise_conv2d / dense, then an
//      optional batch_norm (folded into the weights: w·γ/√(var+eps), (b − mean)·γ/√(var+eps) + β), then an
//      optional relu / relu6 (fused into the requantization clamp) make one stage whose output qparams are
//      those observed after the group's last layer; max_pool keeps its input qparams; avg_pool and
//      global_avg_pool requantize to their observed output; flatten and identity cost nothing (NCHW is
//      already flat); a stand-alone relu/relu6 clamps. Any other layer is a compile-time error; a batch_norm
//      that does not follow a conv or dense throws archetype::error naming it.
//      Weights are per-channel symmetric int8, activations affine u8 (int8_stages.hpp has the numerics).
//   3. forward(x, batch) quantizes the float input (PyTorch rounding) and runs the stages on u8; the last
//      conv/dense stage without a fused activation dequantizes its int32 result to float logits (any other
//      last stage is dequantized from u8).
//      The result is valid until the next call. path() is the kernel path taken (vnni512 / avx2 / scalar):
//      int8_best_path() of the build unless asked for another compiled one.
// Batches run single-threaded; a sample's result does not depend on the batch it is in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "archetype/compress/int8_stages.hpp"
#include "archetype/compress/observers.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/graph/sequential.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/identity.hpp"
#include "archetype/layers/pool.hpp"

namespace archetype::quant {

namespace int8_detail {

enum class kind { weighted, batch_norm, relu, relu6, max_pool, avg_pool, global_avg_pool, pass, unsupported };

template <class D>
struct kind_of {
    static constexpr kind value = kind::unsupported;
};
template <int O, int K, int S, int P, int Di, int Gr, bool B>
struct kind_of<conv2d<O, K, S, P, Di, Gr, B>> {
    static constexpr kind value = kind::weighted;
};
template <int K, int S, int P, int Di, int M, bool B>
struct kind_of<depthwise_conv2d<K, S, P, Di, M, B>> {
    static constexpr kind value = kind::weighted;
};
template <int O, bool B>
struct kind_of<dense<O, B>> {
    static constexpr kind value = kind::weighted;
};
template <>
struct kind_of<batch_norm> {
    static constexpr kind value = kind::batch_norm;
};
template <>
struct kind_of<relu> {
    static constexpr kind value = kind::relu;
};
template <>
struct kind_of<relu6> {
    static constexpr kind value = kind::relu6;
};
template <int K, int S, int P>
struct kind_of<max_pool<K, S, P>> {
    static constexpr kind value = kind::max_pool;
};
template <int K, int S, int P, bool C>
struct kind_of<avg_pool<K, S, P, C>> {
    static constexpr kind value = kind::avg_pool;
};
template <>
struct kind_of<global_avg_pool> {
    static constexpr kind value = kind::global_avg_pool;
};
template <>
struct kind_of<flatten> {
    static constexpr kind value = kind::pass;
};
template <>
struct kind_of<identity> {
    static constexpr kind value = kind::pass;
};

template <class D>
struct avg_include_pad : std::false_type {};
template <int K, int S, int P, bool C>
struct avg_include_pad<avg_pool<K, S, P, C>> : std::bool_constant<C> {};

// Only sequentials (nested or not) of supported leaves: their leaf order is the data flow.
template <class D>
struct plain_sequential : std::bool_constant<kind_of<D>::value != kind::unsupported> {};
template <class... Ls>
struct plain_sequential<sequential<Ls...>> : std::bool_constant<(plain_sequential<Ls>::value && ...)> {};
template <std::size_t N, class B>
struct plain_sequential<repeat<N, B>> : plain_sequential<B> {};

// What the builder needs to make the stage of one weighted or pooling leaf.
struct build_args {
    kernels::int8_path path;
    const float* w;                         // the leaf's parameters (weights then bias)
    std::vector<float> folded_w, folded_b;  // BN-folded copies (empty: use w)
    qparams in_q, out_q;
    fused_activation act;
    bool float_out;
};

struct leaf_info {
    kind k;
    std::string name;
    std::size_t w_off, s_off, out_size, channels, spatial;
    std::size_t weight_count;  // weighted: W floats (bias follows); else 0
    bool has_bias;
    std::unique_ptr<int8_stage> (*make)(build_args&);
};

template <class Requantization>
struct leaf_collector {
    std::vector<leaf_info> leaves;
    template <class Op>
    void leaf(std::size_t w_off, std::size_t s_off) {
        using D = typename Op::descriptor;
        constexpr kind k = kind_of<D>::value;
        leaf_info l{
            k, D::spelling(), w_off,  s_off, Op::out.size(), std::size_t(Op::in.c), std::size_t(Op::in.h) * Op::in.w,
            0, false,         nullptr};
        if constexpr (k == kind::weighted) {
            l.weight_count = Op::weight_count;
            l.has_bias = Op::param_count > Op::weight_count;
            l.make = &make_weighted<Op>;
        } else if constexpr (k == kind::max_pool) {
            l.make = [](build_args&) -> std::unique_ptr<int8_stage> {
                return std::make_unique<int8_max_pool_stage<D::geometry(Op::in)>>();
            };
        } else if constexpr (k == kind::avg_pool) {
            l.make = [](build_args& a) -> std::unique_ptr<int8_stage> {
                constexpr bool include_pad = avg_include_pad<D>::value;
                return std::make_unique<int8_avg_pool_stage<D::geometry(Op::in), include_pad>>(a.in_q, a.out_q);
            };
        }
        leaves.push_back(std::move(l));
    }
    template <class Op>
    static std::unique_ptr<int8_stage> make_weighted(build_args& a) {
        const float* w = a.folded_w.empty() ? a.w : a.folded_w.data();
        const float* b = a.folded_b.empty() ? (Op::param_count > Op::weight_count ? a.w + Op::weight_count : nullptr)
                                            : a.folded_b.data();
        if constexpr (requires { Op::descriptor::geometry(Op::in); }) {
            return std::make_unique<int8_conv_stage<Op::descriptor::geometry(Op::in), Requantization>>(
                a.path, w, b, a.in_q, a.out_q, a.act, a.float_out);
        } else {
            return std::make_unique<int8_dense_stage<Requantization>>(a.path, w, b, Op::in.size(), Op::out.size(),
                                                                      a.in_q, a.out_q, a.act, a.float_out);
        }
    }
};

// Min/max of the input and of every leaf output, in leaf order.
struct range_recorder final : forward_observer {
    std::vector<min_max_observer<uint8_range, affine>> leaves;
    std::size_t next = 0;
    void on_forward(std::string (*)(), shape out, const float* y, std::size_t batch) override {
        if (next == leaves.size()) leaves.emplace_back();
        leaves[next++].observe(y, batch * out.size());
    }
};

}  // namespace int8_detail

template <class Net, class Requantization = float_requantization>
class int8_network {
    static_assert(int8_detail::plain_sequential<typename Net::body>::value,
                  "archetype::quant::int8_network: supports (nested) sequentials of conv2d, depthwise_conv2d, "
                  "dense, batch_norm, relu, relu6, max_pool, avg_pool, global_avg_pool, flatten and identity; "
                  "residual and branch compositions and other layers are not supported yet");

public:
    int8_network(Net& net, const float* calibration, std::size_t samples,
                 kernels::int8_path path = kernels::int8_best_path())
        : path_(path) {
        kernels::check_int8_path(path, "int8_network");
        if (samples == 0) throw error("int8_network: calibration needs at least one sample");
        int8_detail::leaf_collector<Requantization> collect;
        visit_leaves<typename Net::op>(collect);
        // 1. calibration
        int8_detail::range_recorder rec;
        min_max_observer<uint8_range, affine> input_obs;
        forward_observer* previous = net.observer();
        net.set_observer(&rec);
        constexpr std::size_t in_size = Net::input_shape.size();
        for (std::size_t s = 0; s < samples; s += 64) {
            const std::size_t n = std::min<std::size_t>(64, samples - s);
            input_obs.observe(calibration + s * in_size, n * in_size);
            rec.next = 0;
            net.forward_raw(calibration + s * in_size, n, false);
        }
        net.set_observer(previous);
        input_q_ = input_obs.calculate_qparams();
        // 2. fusion
        const auto& L = collect.leaves;
        const float* params = net.params().data();
        const float* state = net.state().data();
        qparams cur = input_q_;
        for (std::size_t i = 0; i < L.size();) {
            const auto& l = L[i];
            using int8_detail::kind;
            int8_detail::build_args a{path, params + l.w_off, {}, {}, cur, cur, fused_activation::none, false};
            std::size_t last = i;
            if (l.k == kind::weighted) {
                if (last + 1 < L.size() && L[last + 1].k == kind::batch_norm) {
                    fold_batch_norm(l, L[last + 1], params, state, a);
                    ++last;
                }
                if (last + 1 < L.size() && (L[last + 1].k == kind::relu || L[last + 1].k == kind::relu6)) {
                    a.act = L[last + 1].k == kind::relu ? fused_activation::relu : fused_activation::relu6;
                    ++last;
                }
                a.out_q = rec.leaves[last].calculate_qparams();
                a.float_out = last + 1 == L.size() && a.act == fused_activation::none;  // logits
                stages_.push_back(l.make(a));
            } else if (l.k == kind::max_pool) {
                stages_.push_back(l.make(a));
            } else if (l.k == kind::avg_pool || l.k == kind::global_avg_pool) {
                a.out_q = rec.leaves[i].calculate_qparams();
                stages_.push_back(l.k == kind::avg_pool ? l.make(a)
                                                        : std::make_unique<int8_global_avg_pool_stage>(
                                                              l.channels, l.spatial, cur, a.out_q));
            } else if (l.k == kind::relu || l.k == kind::relu6) {
                const std::int32_t hi =
                    l.k == kind::relu6
                        ? std::min<std::int32_t>(255, cur.zero_point + std::int32_t(std::nearbyint(6.0f / cur.scale)))
                        : 255;
                stages_.push_back(
                    std::make_unique<int8_clamp_stage>(l.out_size, std::uint8_t(cur.zero_point), std::uint8_t(hi)));
            } else if (l.k != kind::pass) {
                throw error("int8_network: layer " + std::to_string(i) + " (" + l.name +
                            ") has no int8 form; supported: conv2d, depthwise_conv2d, dense (each optionally "
                            "followed by batch_norm and relu/relu6), max_pool, avg_pool, global_avg_pool, "
                            "relu, relu6, flatten, identity");
            }
            cur = a.out_q;
            i = last + 1;
        }
        if (stages_.empty() || !stages_.back()->float_output)
            stages_.push_back(std::make_unique<int8_dequantize_stage>(Net::output_shape.size(), cur));
        for (const auto& s : stages_) max_act_ = std::max({max_act_, s->in_size, s->out_size});
    }

    // Logits (or the last layer's dequantized output) of `batch` samples; valid until the next call.
    const float* forward(const float* x, std::size_t batch) {
        if (batch == 0) throw error("int8_network forward: the batch is empty; pass at least one sample");
        if (batch > capacity_) {
            a_.assign(batch * max_act_ + 64, 0);
            b_.assign(batch * max_act_ + 64, 0);
            y_.assign(batch * Net::output_shape.size(), 0.0f);
            capacity_ = batch;
        }
        quantizer<pytorch_rounding, uint8_range>::quantize(x, a_.data(), batch * Net::input_shape.size(), input_q_);
        std::uint8_t *in = a_.data(), *out = b_.data();
        for (const auto& s : stages_) {
            if (s->float_output) {
                s->run(in, y_.data(), batch);
            } else {
                s->run(in, out, batch);
                std::swap(in, out);
            }
        }
        return y_.data();
    }

    kernels::int8_path path() const { return path_; }
    const char* path_name() const { return kernels::int8_path_name(path_); }
    std::size_t stage_count() const { return stages_.size(); }
    qparams input_qparams() const { return input_q_; }
    // Bytes of int8 weights plus int32 biases (the fp32 network holds 4 bytes per parameter).
    std::size_t weight_bytes() const {
        std::size_t b = 0;
        for (const auto& s : stages_) b += s->weight_bytes();
        return b;
    }

private:
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
    qparams input_q_{};
    std::vector<std::unique_ptr<int8_stage>> stages_;
    std::size_t max_act_ = 0, capacity_ = 0;
    std::vector<std::uint8_t> a_, b_;
    std::vector<float> y_;
};

}  // namespace archetype::quant
