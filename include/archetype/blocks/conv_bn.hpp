// archetype/blocks/conv_bn.hpp — convolution + batch norm (+ ReLU) building blocks, and convolutions
// whose output channels follow their input's.
//
// Contract: all convolutions here have no bias and "same" padding K/2 (odd K keeps H and W at stride
// 1; stride s gives ⌊(H − 1)/s⌋ + 1 as PyTorch with padding K/2).
//   conv2d_times<Mult, K, Stride, Pad, Dil, Bias>  conv2d with Out = Mult × input channels, bound when the
//                                                  input shape is known (op<In> is conv2d<In.c·Mult, ...>'s
//                                                  op, so per-leaf costs are the conv's own). Its cost_of
//                                                  is conv2d<1, ...>'s scaled by the channel count: a
//                                                  dense (Groups = 1) conv's params, MACs and outputs are
//                                                  linear in Out.
//   conv2d_same<K, Stride>                         conv2d_times<1, K, Stride>
//   conv_bn<Out, K, Stride>, conv_bn_relu<...>, relu_conv_bn<...>   the named orders of conv, BN, ReLU
//   conv_bn_same<K, Stride>, conv_bn_relu_same<...>, relu_conv_bn_same<...>   the same, Out = input channels
//   identity_or_project<Out, Stride>               identity when Stride == 1 and the input has Out channels,
//                                                  otherwise conv_bn<Out, 1, Stride> (a 1×1 projection).
// The named blocks are sequentials (same op, same parameter layout) that spell themselves by name.
#pragma once

#include <string>
#include <type_traits>

#include "archetype/graph/sequential.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/identity.hpp"

namespace archetype {

template <int Mult, int K, int Stride = 1, int Pad = K / 2, int Dil = 1, bool Bias = false>
struct conv2d_times {
    static_assert(Mult > 0, "archetype::conv2d_times<Mult, ...>: Mult must be positive");
    using unit = conv2d<1, K, Stride, Pad, Dil, 1, Bias>;  // one output channel

    static constexpr int out_channels(shape in) { return in.c * Mult; }
    static constexpr shape output(shape in) {
        const shape o = unit::output(in);
        return {out_channels(in), o.h, o.w};
    }
    static constexpr shape expected_input(shape in) { return unit::expected_input(in); }
    static constexpr cost cost_of(shape in) {
        const cost u = unit::cost_of(in);
        const auto m = std::size_t(out_channels(in));
        return {u.params * m, u.macs * m, u.activations * m};
    }
    static std::string spelling() {
        return "archetype::conv2d_times<" + spell_args(Mult, K, Stride, Pad, Dil, Bias) + ">";
    }

    template <shape In>
    using op = typename conv2d<out_channels(In), K, Stride, Pad, Dil, 1, Bias>::template op<In>;
};

template <int K, int Stride = 1>
using conv2d_same = conv2d_times<1, K, Stride>;

namespace detail {
inline std::string spell_block(const char* name, std::string args) {
    return std::string("archetype::") + name + "<" + args + ">";
}
}  // namespace detail

template <int Out, int K, int Stride = 1>
struct conv_bn : sequential<conv2d<Out, K, Stride, K / 2, 1, 1, false>, batch_norm> {
    static std::string spelling() { return detail::spell_block("conv_bn", spell_args(Out, K, Stride)); }
};
template <int Out, int K, int Stride = 1>
struct conv_bn_relu : sequential<conv2d<Out, K, Stride, K / 2, 1, 1, false>, batch_norm, relu> {
    static std::string spelling() { return detail::spell_block("conv_bn_relu", spell_args(Out, K, Stride)); }
};
template <int Out, int K, int Stride = 1>
struct relu_conv_bn : sequential<relu, conv2d<Out, K, Stride, K / 2, 1, 1, false>, batch_norm> {
    static std::string spelling() { return detail::spell_block("relu_conv_bn", spell_args(Out, K, Stride)); }
};

template <int K, int Stride = 1>
struct conv_bn_same : sequential<conv2d_same<K, Stride>, batch_norm> {
    static std::string spelling() { return detail::spell_block("conv_bn_same", spell_args(K, Stride)); }
};
template <int K, int Stride = 1>
struct conv_bn_relu_same : sequential<conv2d_same<K, Stride>, batch_norm, relu> {
    static std::string spelling() { return detail::spell_block("conv_bn_relu_same", spell_args(K, Stride)); }
};
template <int K, int Stride = 1>
struct relu_conv_bn_same : sequential<relu, conv2d_same<K, Stride>, batch_norm> {
    static std::string spelling() { return detail::spell_block("relu_conv_bn_same", spell_args(K, Stride)); }
};

template <int Out, int Stride = 1>
struct identity_or_project {
    static_assert(Out > 0 && Stride > 0, "archetype::identity_or_project<Out, Stride>: Out and Stride must be positive");
    using project = conv_bn<Out, 1, Stride>;

    static constexpr bool is_identity(shape in) { return Stride == 1 && in.c == Out; }
    static constexpr shape output(shape in) { return is_identity(in) ? in : project::output(in); }
    static constexpr shape expected_input(shape in) { return is_identity(in) ? in : project::expected_input(in); }
    static constexpr cost cost_of(shape in) { return is_identity(in) ? identity::cost_of(in) : project::cost_of(in); }
    static std::string spelling() { return detail::spell_block("identity_or_project", spell_args(Out, Stride)); }

    template <shape In>
    using op = typename std::conditional_t<is_identity(In), identity, project>::template op<In>;
};

}  // namespace archetype
