// archetype/blocks/shufflenet.hpp — `shufflenet_unit<Out, Groups, Stride = 1, FirstGroups = Groups,
// Mid = Out / 4, Act = relu>`: the ShuffleNet (v1) unit (Zhang et al. 2018, Fig. 2 b and c).
//
// Contract (convolutions without bias): the branch is
//   gconv1×1(Mid, groups FirstGroups) BN Act  channel_shuffle<Groups>
//   dw3×3(Stride, pad 1) BN  gconv1×1(B, groups Groups) BN
// and, for an input of C channels,
//   Stride == 1:  y = Act(branch(x) + x),                          B = Out, needs C == Out
//   Stride  > 1:  y = Act(concat(avg_pool<3, Stride, 1>(x), branch(x))),  B = Out − C, needs C < Out
// so the output has Out channels either way (Act is ReLU in ShuffleNet; Mid = Out / 4 as in the paper,
// also for Stride > 1). The paper leaves the first unit of stage 2 without group convolution on its
// first pointwise layer: FirstGroups = 1 there. C must be divisible by FirstGroups and B by Groups;
// expected_input names the nearest channel count that is. The shuffle sits where the paper draws it
// (Fig. 2): after the first pointwise layer's activation.
// op<In> is the op of sequential<sum<branch, identity>, Act> or sequential<concat<avg_pool, branch>,
// Act> for C = In.c, so leaves, parameters and per-leaf costs are those layers'. cost_of: as the
// stride > 1 unit's types depend on C through B, its cost is taken from the units with B = Groups and
// B = 2·Groups and extended linearly to B (exact: every term is affine in B).
#pragma once

#include <string>
#include <type_traits>

#include "archetype/graph/branches.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/channel_shuffle.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/pool.hpp"

namespace archetype {

namespace detail {
template <int Groups, int Stride, int FirstGroups, int Mid, class Act, int Branch>
using shufflenet_branch =
    sequential<conv2d<Mid, 1, 1, 0, 1, FirstGroups, false>, batch_norm, Act, channel_shuffle<Groups>,
               depthwise_conv2d<3, Stride, 1, 1, 1, false>, batch_norm, conv2d<Branch, 1, 1, 0, 1, Groups, false>,
               batch_norm>;
}  // namespace detail

template <int Out, int Groups, int Stride = 1, int FirstGroups = Groups, int Mid = Out / 4, class Act = relu>
struct shufflenet_unit {
    static_assert(Out > 0 && Groups > 0 && Stride > 0 && FirstGroups > 0 && Mid > 0,
                  "archetype::shufflenet_unit<Out, Groups, Stride, FirstGroups, Mid>: all must be positive");
    static_assert(Mid % Groups == 0 && Mid % FirstGroups == 0,
                  "archetype::shufflenet_unit: Mid (default Out / 4) must be divisible by Groups and FirstGroups");

    // The whole unit for a branch of B output channels.
    template <int B>
    using with_branch = std::conditional_t<
        Stride == 1, sequential<sum<detail::shufflenet_branch<Groups, 1, FirstGroups, Mid, Act, B>, identity>, Act>,
        sequential<concat<avg_pool<3, Stride, 1>, detail::shufflenet_branch<Groups, Stride, FirstGroups, Mid, Act, B>>,
                   Act>>;

    static constexpr int branch_channels(int c) { return Stride == 1 ? Out : Out - c; }
    static constexpr bool accepts(int c) {
        const int b = branch_channels(c);
        return c > 0 && c % FirstGroups == 0 && b > 0 && b % Groups == 0 && (Stride > 1 || c == Out);
    }
    static constexpr shape expected_input(shape in) {
        for (int d = 0; d <= in.c + Out; ++d) {
            if (accepts(in.c - d)) return {in.c - d, in.h, in.w};
            if (accepts(in.c + d)) return {in.c + d, in.h, in.w};
        }
        return in;  // no channel count works: op<In> reports the mismatch
    }
    static constexpr shape output(shape in) {
        const shape o = with_branch<Groups>::output(in);
        return {Out, o.h, o.w};
    }
    static constexpr cost cost_of(shape in) {
        if constexpr (Stride == 1) {
            return with_branch<Out>::cost_of(in);
        } else {
            const long long b = branch_channels(in.c), g = Groups;
            if (b < g) return {};  // a rejected input: only reached while reporting the mismatch
            const cost lo = with_branch<Groups>::cost_of(in), hi = with_branch<2 * Groups>::cost_of(in);
            auto at_b = [&](std::size_t l, std::size_t h) {
                return std::size_t((long long)l + ((long long)h - (long long)l) * (b - g) / g);
            };
            return {at_b(lo.params, hi.params), at_b(lo.macs, hi.macs), at_b(lo.activations, hi.activations)};
        }
    }
    static std::string spelling() {
        return "archetype::shufflenet_unit<" + spell_args(Out, Groups, Stride, FirstGroups, Mid) + ", " +
               Act::spelling() + ">";
    }

    template <shape In>
    struct bind {
        static constexpr shape accepted = expected_input(In);
        static_assert(check_input_shape<0, In, accepted>(), "archetype: shufflenet_unit: see the mismatch above");
        using type = with_branch<branch_channels(accepted.c)>;
    };
    template <shape In>
    using op = typename bind<In>::type::template op<In>;
};

}  // namespace archetype
