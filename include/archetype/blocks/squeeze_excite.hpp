// archetype/blocks/squeeze_excite.hpp — `squeeze_excite<Squeeze, Gate = sigmoid, Act = relu>`: the
// squeeze-and-excitation block (Hu et al.; torchvision's SqueezeExcitation).
//
// Contract: takes {C, H, W} to {C, H, W}:
//   g = Gate(dense<C>(Act(dense<S>(global_avg_pool(x)))))      one gate per sample and channel
//   y = x · g, broadcast over H and W                           (excite<...>, layers/scale.hpp)
// with S = Squeeze::of(C) squeeze channels:
//   squeeze_to<S>               S fixed;
//   squeeze_by<D, RoundTo = 1>  S = C / D (integer division) rounded to a multiple of RoundTo as
//                               torchvision's _make_divisible (nearest multiple, at least RoundTo,
//                               and not below 90 % of C / D). squeeze_by<4, 8> with Gate = hard
//                               sigmoid is MobileNetV3's SE; squeeze_by<16> is the paper's r = 16.
// Both dense layers have a bias; on a {C, 1, 1} input they are torchvision's 1×1 convolutions fc1, fc2
// with the same parameter layout ([out][in] then bias). Parameters: fc1 weight, fc1 bias, fc2 weight,
// fc2 bias. Gate may be any {C, 1, 1} → {C, 1, 1} descriptor (sigmoid, a hard sigmoid, ...).
// op<In> is the op of excite<sequential<global_avg_pool, dense<S>, Act, dense<C>, Gate>> for C = In.c,
// so leaves and parameters are those layers'. cost_of is the sum of those layers' costs and excite's
// own; as the layers' types depend on C, it takes dense<1>'s cost times the output count (a dense
// layer's params, MACs and outputs are proportional to its outputs).
#pragma once

#include <algorithm>
#include <string>

#include "archetype/graph/sequential.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/pool.hpp"
#include "archetype/layers/scale.hpp"

namespace archetype {

// S = N squeeze channels whatever the input.
template <int N>
struct squeeze_to {
    static_assert(N > 0, "archetype::squeeze_to<N>: N must be positive");
    static constexpr int of(int) { return N; }
    static std::string spelling() { return "archetype::squeeze_to<" + spell_args(N) + ">"; }
};

// S = C / Divisor, made divisible by RoundTo as torchvision's _make_divisible.
template <int Divisor, int RoundTo = 1>
struct squeeze_by {
    static_assert(Divisor > 0 && RoundTo > 0, "archetype::squeeze_by<Divisor, RoundTo>: both must be positive");
    static constexpr int of(int c) {
        const int v = c / Divisor;
        int s = std::max(RoundTo, (v + RoundTo / 2) / RoundTo * RoundTo);
        if (10 * s < 9 * v) s += RoundTo;
        return s;
    }
    static std::string spelling() { return "archetype::squeeze_by<" + spell_args(Divisor, RoundTo) + ">"; }
};

template <class Squeeze, class Gate = sigmoid, class Act = relu>
struct squeeze_excite {
    // The composed descriptor for C input channels.
    template <int C>
    using body = excite<sequential<global_avg_pool, dense<Squeeze::of(C)>, Act, dense<C>, Gate>>;

    static constexpr shape output(shape in) { return in; }
    static constexpr shape expected_input(shape in) { return in; }
    static constexpr cost cost_of(shape in) {
        const auto c = std::size_t(in.c), s = std::size_t(Squeeze::of(in.c));
        const shape channels{in.c, 1, 1}, squeezed{int(s), 1, 1};
        auto times = [](cost u, std::size_t n) { return cost{u.params * n, u.macs * n, u.activations * n}; };
        return global_avg_pool::cost_of(in) + times(dense<1>::cost_of(channels), s) + Act::cost_of(squeezed) +
               times(dense<1>::cost_of(squeezed), c) + Gate::cost_of(channels) + excite<Gate>::own_cost(in);
    }
    static std::string spelling() {
        return "archetype::squeeze_excite<" + Squeeze::spelling() + ", " + Gate::spelling() + ", " +
               Act::spelling() + ">";
    }

    template <shape In>
    using op = typename body<In.c>::template op<In>;
};

}  // namespace archetype
