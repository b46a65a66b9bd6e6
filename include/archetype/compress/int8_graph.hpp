// archetype/compress/int8_graph.hpp — the data-flow tree an int8 network is built from (int8_network.hpp),
// and the calibration that records the float ranges at every point it may requantize.
//
// Contract: int8_graph_of<Op>(state) walks a network's op type in forward order and returns a list of
// int8_nodes: sequentials (nested, repeat, named blocks) are flattened; a choice contributes the
// alternative selected in `state` (a network of a search space quantizes as its current genotype); sum,
// residual and concat become one join node holding one node list per branch (mbconv with its skip is a
// sum<identity, body>). Every leaf carries its position in forward order, which is the order in which
// the network's forward_observer sees it; every join carries its own index. A leaf type with no int8 form
// or an unknown composite stops compilation naming the type (see int8_kind_check in the diagnostic).
// int8_calibration observes (min-max, affine u8) the input, every leaf output and every join output (the
// join output is recomputed from its branches' last outputs, which the network keeps until its next
// forward: compositions do not report their own outputs to observers).
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "archetype/compress/int8_stages.hpp"
#include "archetype/compress/observers.hpp"
#include "archetype/graph/branches.hpp"
#include "archetype/graph/network.hpp"
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
struct kind_of : std::integral_constant<kind, kind::unsupported> {};
template <int O, int K, int S, int P, int Di, int Gr, bool B>
struct kind_of<conv2d<O, K, S, P, Di, Gr, B>> : std::integral_constant<kind, kind::weighted> {};
template <int K, int S, int P, int Di, int M, bool B>
struct kind_of<depthwise_conv2d<K, S, P, Di, M, B>> : std::integral_constant<kind, kind::weighted> {};
template <int O, bool B>
struct kind_of<dense<O, B>> : std::integral_constant<kind, kind::weighted> {};
template <>
struct kind_of<batch_norm> : std::integral_constant<kind, kind::batch_norm> {};
template <>
struct kind_of<relu> : std::integral_constant<kind, kind::relu> {};
template <>
struct kind_of<relu6> : std::integral_constant<kind, kind::relu6> {};
template <int K, int S, int P>
struct kind_of<max_pool<K, S, P>> : std::integral_constant<kind, kind::max_pool> {};
template <int K, int S, int P, bool C>
struct kind_of<avg_pool<K, S, P, C>> : std::integral_constant<kind, kind::avg_pool> {};
template <>
struct kind_of<global_avg_pool> : std::integral_constant<kind, kind::global_avg_pool> {};
template <>
struct kind_of<flatten> : std::integral_constant<kind, kind::pass> {};
template <>
struct kind_of<identity> : std::integral_constant<kind, kind::pass> {};

template <class D>
struct avg_include_pad : std::false_type {};
template <int K, int S, int P, bool C>
struct avg_include_pad<avg_pool<K, S, P, C>> : std::bool_constant<C> {};

enum class join { none, sum, concat };
template <class D>
struct join_of : std::integral_constant<join, join::none> {};
template <class... Bs>
struct join_of<sum<Bs...>> : std::integral_constant<join, join::sum> {};
template <class... Ls>
struct join_of<residual<Ls...>> : std::integral_constant<join, join::sum> {};
template <class... Bs>
struct join_of<concat<Bs...>> : std::integral_constant<join, join::concat> {};

template <class D>
struct is_sequential : std::false_type {};
template <class... Ls>
struct is_sequential<sequential<Ls...>> : std::true_type {};

template <class D, bool Supported>
constexpr bool int8_kind_check() {
    static_assert(Supported,
                  "archetype::quant::int8_network: the layer or composition D has no int8 form; supported: conv2d, "
                  "depthwise_conv2d, dense, batch_norm (after a conv/dense), relu, relu6, max_pool, avg_pool, "
                  "global_avg_pool, flatten, identity, inside sequential, repeat, residual, sum, concat and "
                  "choice (its selected alternative)");
    return Supported;
}

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
    // The fp32 op, for quantization-aware training (qat.hpp).
    std::size_t in_size, out_channels, param_count;
    std::size_t (*work_size)(std::size_t);
    void (*forward)(const context&, const slots&, const float*, float*);
    void (*backward)(const context&, const slots&, const float*, const float*, const float*, float*);
};

// One item of a flattened sequential: a leaf, or a join (sum / concat) of branches.
struct int8_node {
    bool is_leaf = true;
    leaf_info leaf{};
    std::size_t index = 0;  // leaf: position in forward order; join: join number
    bool concat = false;
    std::vector<std::vector<int8_node>> branches;
    std::vector<std::size_t> branch_sizes;  // per-sample outputs of each branch
    std::size_t out_size = 0;
};

template <class Requantization>
struct graph_builder {
    const float* state;
    std::size_t leaves = 0, joins = 0;

    template <class Op>
    void append(std::vector<int8_node>& list, std::size_t w, std::size_t s) {
        using D = typename Op::descriptor;
        if constexpr (!composite_op<Op>) {
            list.push_back(leaf<Op>(w, s));
        } else if constexpr (requires { Op::decision; }) {
            slots sl{nullptr, nullptr, const_cast<float*>(state + s), nullptr};
            const std::size_t k = Op::selected(sl);
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                ((k == I ? append<typename Op::template child<I>>(list, w + Op::w_off[I], s + Op::s_off[I]) : void()),
                 ...);
            }(std::make_index_sequence<Op::alternatives>{});
        } else if constexpr (is_sequential<D>::value) {
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (append<typename Op::template child<I>>(list, w + Op::w_off[I], s + Op::s_off[I]), ...);
            }(std::make_index_sequence<D::size>{});
        } else if constexpr (int8_kind_check<D, join_of<D>::value != join::none>()) {
            int8_node n;
            n.is_leaf = false;
            n.index = joins++;
            n.concat = join_of<D>::value == join::concat;
            n.out_size = Op::out.size();
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                ((n.branches.emplace_back(),
                  append<typename Op::template child<I>>(n.branches.back(), w + Op::w_off[I], s + Op::s_off[I]),
                  n.branch_sizes.push_back(Op::template child<I>::out.size())),
                 ...);
            }(std::make_index_sequence<D::size>{});
            list.push_back(std::move(n));
        }
    }

    template <class Op>
    int8_node leaf(std::size_t w_off, std::size_t s_off) {
        using D = typename Op::descriptor;
        constexpr kind k = kind_of<D>::value;
        static_assert(int8_kind_check<D, k != kind::unsupported>());
        int8_node n;
        n.index = leaves++;
        leaf_info& l = n.leaf;
        l = {k, D::spelling(), w_off, s_off, Op::out.size(), std::size_t(Op::in.c), std::size_t(Op::in.h) * Op::in.w,
             0, false, nullptr, Op::in.size(), std::size_t(Op::out.c), Op::param_count, &Op::work_size,
             &Op::forward, &Op::backward};
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
        return n;
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

}  // namespace int8_detail

// The flattened data-flow tree of network type Net with the choices of `state` (Net::state()).
struct int8_graph {
    std::vector<int8_detail::int8_node> nodes;
    std::size_t leaves = 0, joins = 0;
};

template <class Net, class Requantization>
int8_graph int8_graph_of(const float* state) {
    int8_detail::graph_builder<Requantization> b{state};
    int8_graph g;
    b.template append<typename Net::op>(g.nodes, 0, 0);
    g.leaves = b.leaves;
    g.joins = b.joins;
    return g;
}

// The qparams an int8 network is built from: the input's, and those of every leaf and join output in
// the numbering of int8_graph (entries at points where nothing requantizes are not read).
struct int8_ranges {
    qparams input{};
    std::vector<qparams> leaves, joins;
};

namespace int8_detail {

// Min/max of the input, of every leaf output and of every join output.
struct calibration_recorder final : forward_observer {
    std::vector<min_max_observer<uint8_range, affine>> leaves, joins;
    std::vector<const float*> outputs;  // each leaf's output in the last forward
    std::vector<std::vector<float>> join_out;
    std::size_t next = 0;
    void on_forward(std::string (*)(), shape out, const float* y, std::size_t batch) override {
        if (next == leaves.size())
            throw error("int8_network calibration: the network reported more leaf outputs than its type has leaves");
        leaves[next].observe(y, batch * out.size());
        outputs[next++] = y;
    }
    // The output of `list` (its last item's), observing each join inside it on the way.
    const float* walk(const std::vector<int8_node>& list, std::size_t batch) {
        const float* last = nullptr;
        for (const auto& n : list) {
            if (n.is_leaf) {
                last = outputs[n.index];
                continue;
            }
            std::vector<const float*> in;
            for (const auto& b : n.branches) in.push_back(walk(b, batch));
            auto& y = join_out[n.index];
            y.assign(batch * n.out_size, 0.0f);
            for (std::size_t s = 0; s < batch; ++s) {  // the order of sum/concat's own forward
                float* dst = y.data() + s * n.out_size;
                for (std::size_t i = 0; i < in.size(); ++i) {
                    const float* src = in[i] + s * n.branch_sizes[i];
                    for (std::size_t j = 0; j < n.branch_sizes[i]; ++j)
                        dst[j] = i == 0 || n.concat ? src[j] : dst[j] + src[j];
                    if (n.concat) dst += n.branch_sizes[i];
                }
            }
            joins[n.index].observe(y.data(), y.size());
            last = y.data();
        }
        return last;
    }
};

}  // namespace int8_detail

// Runs net (fp32, inference) on `samples` samples in batches of 64 and returns min-max affine u8 qparams.
template <class Net>
int8_ranges int8_calibrate(Net& net, const int8_graph& g, const float* x, std::size_t samples) {
    if (samples == 0) throw error("int8_network: calibration needs at least one sample");
    int8_detail::calibration_recorder rec;
    rec.leaves.resize(g.leaves);
    rec.joins.resize(g.joins);
    rec.outputs.resize(g.leaves);
    rec.join_out.resize(g.joins);
    min_max_observer<uint8_range, affine> input_obs;
    forward_observer* previous = net.observer();
    net.set_observer(&rec);
    constexpr std::size_t in_size = Net::input_shape.size();
    for (std::size_t s = 0; s < samples; s += 64) {
        const std::size_t n = std::min<std::size_t>(64, samples - s);
        input_obs.observe(x + s * in_size, n * in_size);
        rec.next = 0;
        net.forward_raw(x + s * in_size, n, false);
        rec.walk(g.nodes, n);
    }
    net.set_observer(previous);
    int8_ranges r;
    r.input = input_obs.calculate_qparams();
    for (const auto& o : rec.leaves) r.leaves.push_back(o.calculate_qparams());
    for (const auto& o : rec.joins) r.joins.push_back(o.calculate_qparams());
    return r;
}

}  // namespace archetype::quant
