// archetype/compress/structural_pruning.hpp — physical channel pruning as a type transformation: the
// pruned network is a smaller network *type* (narrower conv2d / dense), not a mask.
//
// Contract:
// - structurally_pruned_t<Net, Keep> is network<Net::input_shape, B'> where B' is Net's body with each
//   *prunable* width replaced by the kept count Keep gives it; pruned_body_t<Body, In, Keep> is B' alone.
//   prunable_widths_v<Net> lists the original prunable widths in forward order (the order of Keep's list).
// - Prunable: the output channels of a conv2d with Groups == 1 (conv2d_times included) or the outputs
//   of a dense, when they reach another such conv2d / dense (or all branches of a concat / sum made of
//   such) only through *followers*: batch_norm, the elementwise activations, max/avg/global pooling,
//   identity, flatten, zero and depthwise_conv2d (whose channels follow its input's). Everything else
//   blocks (grouped conv2d, layer_norm, channel_shuffle, attention, squeeze-excite, ...); the network's
//   output is never pruned. Followers and consumers need no change: every descriptor here takes its
//   input width from its input shape, so the type only narrows the producers.
// - Residual adds and sums keep their widths: a branch of a sum (residual, MBConv skip) is pruned only
//   inside (a bottleneck's inner convolutions, MBConv's expansion); the widths that meet at the add stay.
//   (Pruning an add as one group with a shared channel set would also shrink the skip path; the
//   internal widths carry most of the MACs in these blocks, so we keep the simpler, always-valid rule.)
//   Concat: each branch's output is pruned independently when the concat's output is prunable; the
//   consumer's input columns follow in concat order.
// - The transformation walks the bound ops (Body::op<In>), so descriptors whose structure depends on the
//   input shape (mbconv, identity_or_project, conv2d_times, repeat, conv_bn...) appear in the pruned type
//   in their resolved form: sequential / sum / residual / concat of leaf descriptors.
// - Keep policies: keep_ratio<std::ratio<N, D>> keeps ⌈width·N/D⌉ of every prunable width (0 < N/D ≤ 1);
//   keep_widths<K0, K1, ...> lists the kept count of each prunable layer in forward order. A kept count of
//   0 or above the width, a ratio outside (0, 1] and a list of the wrong length are compile errors naming
//   the layer index and the numbers (see check_kept_width and check_keep_list_length).
// Weights are carried over at run time by prune_channels (compress/structural_pruning_weights.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <ratio>
#include <type_traits>
#include <utility>

#include "archetype/graph/branches.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/graph/sequential.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/gelu.hpp"
#include "archetype/layers/identity.hpp"
#include "archetype/layers/pool.hpp"

namespace archetype {

template <std::size_t Index, int Width, int Kept>
constexpr bool check_kept_width() {
    static_assert(Kept >= 1 && Kept <= Width,
                  "archetype: structural pruning: the prunable layer number Index (counting from 0 in forward "
                  "order, as in prunable_widths_v) has Width output channels and would keep Kept; keep between 1 "
                  "and Width channels; see 'Index', 'Width' and 'Kept' in the instantiation of "
                  "archetype::check_kept_width in this diagnostic");
    return Kept >= 1 && Kept <= Width;
}

template <std::size_t Listed, std::size_t Prunable>
constexpr bool check_keep_list_length() {
    static_assert(Listed == Prunable,
                  "archetype: structural pruning: keep_widths lists Listed widths but the network has Prunable "
                  "prunable layers (prunable_widths_v lists them); give one kept width per prunable layer");
    return Listed == Prunable;
}

// Keeps ⌈width · R⌉ channels of every prunable width.
template <class R>
struct keep_ratio {
    static_assert(R::num > 0 && R::num <= R::den,
                  "archetype::keep_ratio<std::ratio<N, D>>: the kept fraction N/D must be in (0, 1]");
    static constexpr std::size_t listed = std::size_t(-1);  // any number of layers
    template <std::size_t Index, int Width>
    static constexpr int kept() {
        return int((std::intmax_t(Width) * R::num + R::den - 1) / R::den);
    }
};

// Keeps Ks...[i] channels of the i-th prunable layer (forward order).
template <int... Ks>
struct keep_widths {
    static constexpr std::size_t listed = sizeof...(Ks);
    template <std::size_t Index, int Width>
    static constexpr int kept() {
        constexpr std::array<int, sizeof...(Ks) + 1> k{Ks..., 0};
        return Index < sizeof...(Ks) ? k[Index] : 0;
    }
};

namespace pruning_detail {

// How a layer treats the channels of its input.
enum class role { absorbs, follows, blocks };

template <class D>
inline constexpr bool channelwise_leaf =
    std::is_same_v<D, batch_norm> || std::is_same_v<D, relu> || std::is_same_v<D, relu6> ||
    std::is_same_v<D, hard_swish> || std::is_same_v<D, sigmoid> || std::is_same_v<D, tanh> ||
    std::is_same_v<D, hard_sigmoid> || std::is_same_v<D, gelu> || std::is_same_v<D, global_avg_pool> ||
    std::is_same_v<D, identity> || std::is_same_v<D, flatten> || std::is_same_v<D, zero>;

template <class D>
struct leaf_role : std::integral_constant<role, channelwise_leaf<D> ? role::follows : role::blocks> {};
template <int O, int K, int S, int P, int Di, int G, bool B>
struct leaf_role<conv2d<O, K, S, P, Di, G, B>> : std::integral_constant<role, G == 1 ? role::absorbs : role::blocks> {};
template <int O, bool B>
struct leaf_role<dense<O, B>> : std::integral_constant<role, role::absorbs> {};
template <int K, int S, int P, int Di, int M, bool B>
struct leaf_role<depthwise_conv2d<K, S, P, Di, M, B>> : std::integral_constant<role, role::follows> {};
template <int K, int S, int P>
struct leaf_role<max_pool<K, S, P>> : std::integral_constant<role, role::follows> {};
template <int K, int S, int P, bool I>
struct leaf_role<avg_pool<K, S, P, I>> : std::integral_constant<role, role::follows> {};

// Leaves whose output width is prunable when their output is absorbed downstream.
template <class D>
struct producer : std::false_type {};
template <int O, int K, int S, int P, int Di, bool B>
struct producer<conv2d<O, K, S, P, Di, 1, B>> : std::true_type {
    static constexpr int width = O;
    template <int W>
    using narrowed = conv2d<W, K, S, P, Di, 1, B>;
};
template <int O, bool B>
struct producer<dense<O, B>> : std::true_type {
    static constexpr int width = O;
    template <int W>
    using narrowed = dense<W, B>;
};

// Which composition a bound op's descriptor is (derived descriptors such as conv_bn or repeat are
// sequentials; sum, concat and residual are the branches_impl of their kind).
template <class... Ls>
constexpr bool is_sequential_fn(const sequential<Ls...>*) { return true; }
constexpr bool is_sequential_fn(const void*) { return false; }
template <class D>
inline constexpr bool is_sequential = is_sequential_fn(static_cast<const D*>(nullptr));

template <detail::combine K, class S, class... Bs>
constexpr int combine_fn(const detail::branches_impl<K, S, Bs...>*) { return int(K); }
constexpr int combine_fn(const void*) { return -1; }
template <class D>
inline constexpr int combine_of = combine_fn(static_cast<const D*>(nullptr));  // -1: not a branching
template <class D>
inline constexpr bool is_branching = combine_of<D> >= 0;
template <class D>
inline constexpr bool is_concat = combine_of<D> == int(detail::combine::concat);

template <class D>
struct is_residual : std::false_type {};
template <class... Ls>
struct is_residual<residual<Ls...>> : std::true_type {};

template <class Op, class F>
constexpr auto for_children(F f) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return f.template operator()<typename Op::template child<I>...>();
    }(std::make_index_sequence<Op::descriptor::size>{});
}

template <class Op>
constexpr role input_role() {
    using D = typename Op::descriptor;
    if constexpr (!composite_op<Op>) {
        return leaf_role<D>::value;
    } else if constexpr (is_sequential<D>) {
        return for_children<Op>([]<class... C>() {
            role r = role::follows;
            ((r = r == role::follows ? input_role<C>() : r), ...);
            return r;
        });
    } else if constexpr (is_branching<D>) {
        return for_children<Op>([]<class... C>() {
            return ((input_role<C>() == role::absorbs) && ...) ? role::absorbs : role::blocks;
        });
    } else {
        return role::blocks;
    }
}

// tails[i]: whether the output of child i of a sequential reaches a consumer that absorbs its channels,
// given `tail` for the sequential's own output.
template <class Op>
constexpr auto sequential_tails(bool tail) {
    constexpr std::size_t n = Op::descriptor::size;
    const auto roles = for_children<Op>([]<class... C>() { return std::array<role, n>{input_role<C>()...}; });
    std::array<bool, n> t{};
    t[n - 1] = tail;
    for (std::size_t i = n - 1; i > 0; --i)
        t[i - 1] = roles[i] == role::absorbs ? true : roles[i] == role::blocks ? false : t[i];
    return t;
}

template <class Op, bool Tail>
constexpr bool branch_tail() {
    return is_concat<typename Op::descriptor> && Tail;
}

// Number of prunable layers in Op, whose output is absorbed downstream when Tail.
template <class Op, bool Tail>
constexpr std::size_t prunable_count() {
    using D = typename Op::descriptor;
    if constexpr (!composite_op<Op>) {
        return Tail && producer<D>::value ? 1 : 0;
    } else if constexpr (is_sequential<D>) {
        constexpr auto t = sequential_tails<Op>(Tail);
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return (prunable_count<typename Op::template child<I>, t[I]>() + ... + 0);
        }(std::make_index_sequence<D::size>{});
    } else if constexpr (is_branching<D>) {
        return for_children<Op>([]<class... C>() { return (prunable_count<C, branch_tail<Op, Tail>()>() + ... + 0); });
    } else {
        return 0;
    }
}

// Appends the prunable widths of Op to w from position i.
template <class Op, bool Tail, std::size_t N>
constexpr void collect_widths(std::array<int, N>& w, std::size_t& i) {
    using D = typename Op::descriptor;
    if constexpr (!composite_op<Op>) {
        if constexpr (Tail && producer<D>::value) w[i++] = producer<D>::width;
    } else if constexpr (is_sequential<D>) {
        constexpr auto t = sequential_tails<Op>(Tail);
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (collect_widths<typename Op::template child<I>, t[I]>(w, i), ...);
        }(std::make_index_sequence<D::size>{});
    } else if constexpr (is_branching<D>) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (collect_widths<typename Op::template child<I>, branch_tail<Op, Tail>()>(w, i), ...);
        }(std::make_index_sequence<D::size>{});
    }
}

template <class Seq>
struct as_residual;
template <class... Ls>
struct as_residual<sequential<Ls...>> {
    using type = residual<Ls...>;
};

template <template <class...> class Comb, class Op, class Tails, class Keep, std::size_t First>
struct rebuild;

// The pruned descriptor of the bound op Op; its prunable layers are numbered from First.
template <class Op, bool Tail, class Keep, std::size_t First>
struct pruned {
    using D = typename Op::descriptor;
    static constexpr auto pick() {
        if constexpr (!composite_op<Op>) {
            if constexpr (Tail && producer<D>::value) {
                constexpr int w = producer<D>::width, k = Keep::template kept<First, w>();
                static_assert(check_kept_width<First, w, k>(), "archetype: structural pruning: see above");
                return std::type_identity<typename producer<D>::template narrowed<k>>{};
            } else {
                return std::type_identity<D>{};
            }
        } else if constexpr (is_sequential<D>) {
            return std::type_identity<typename rebuild<sequential, Op, std::integral_constant<bool, Tail>, Keep,
                                                       First>::type>{};
        } else if constexpr (is_residual<D>::value) {
            using body = typename pruned<typename Op::template child<1>, false, Keep, First>::type;
            return std::type_identity<typename as_residual<body>::type>{};
        } else if constexpr (is_concat<D>) {
            return std::type_identity<typename rebuild<concat, Op, std::integral_constant<bool, Tail>, Keep,
                                                       First>::type>{};
        } else if constexpr (is_branching<D>) {
            return std::type_identity<typename rebuild<sum, Op, std::false_type, Keep, First>::type>{};
        } else {
            return std::type_identity<D>{};
        }
    }
    using type = typename decltype(pick())::type;
};

// Comb<pruned children...> with each child's tail and first index.
template <template <class...> class Comb, class Op, class Tail, class Keep, std::size_t First>
struct rebuild {
    static constexpr std::size_t n = Op::descriptor::size;
    static constexpr std::array<bool, n> tails = [] {
        if constexpr (is_sequential<typename Op::descriptor>) {
            return sequential_tails<Op>(Tail::value);
        } else {
            std::array<bool, n> t{};
            t.fill(branch_tail<Op, Tail::value>());
            return t;
        }
    }();
    static constexpr std::array<std::size_t, n + 1> firsts = [] {
        std::array<std::size_t, n> c = [&]<std::size_t... I>(std::index_sequence<I...>) {
            return std::array<std::size_t, n>{prunable_count<typename Op::template child<I>, tails[I]>()...};
        }(std::make_index_sequence<n>{});
        std::array<std::size_t, n + 1> f{};
        f[0] = First;
        for (std::size_t i = 0; i < n; ++i) f[i + 1] = f[i] + c[i];
        return f;
    }();
    template <std::size_t... I>
    static auto make(std::index_sequence<I...>)
        -> Comb<typename pruned<typename Op::template child<I>, tails[I], Keep, firsts[I]>::type...>;
    using type = decltype(make(std::make_index_sequence<n>{}));
};

template <class Keep, std::size_t Prunable>
constexpr bool keep_list_fits() {
    if constexpr (Keep::listed == std::size_t(-1)) {
        return true;
    } else {
        return check_keep_list_length<Keep::listed, Prunable>();
    }
}

template <class Body, shape In, class Keep>
struct structural_pruning {
    using op = typename Body::template op<In>;
    static constexpr std::size_t prunable = prunable_count<op, false>();
    static constexpr std::array<int, prunable> widths = [] {
        std::array<int, prunable> w{};
        std::size_t i = 0;
        collect_widths<op, false>(w, i);
        return w;
    }();
    static_assert(keep_list_fits<Keep, prunable>(), "archetype: structural pruning: see above");
    using body = typename pruned<op, false, Keep, 0>::type;
};

}  // namespace pruning_detail

template <class Body, shape In, class Keep>
using pruned_body_t = typename pruning_detail::structural_pruning<Body, In, Keep>::body;

template <class Net, class Keep>
using structurally_pruned_t = network<Net::input_shape, pruned_body_t<typename Net::body, Net::input_shape, Keep>>;

// The original widths of Net's prunable layers, in forward order.
template <class Net>
inline constexpr auto prunable_widths_v =
    pruning_detail::structural_pruning<typename Net::body, Net::input_shape, keep_ratio<std::ratio<1>>>::widths;

}  // namespace archetype
