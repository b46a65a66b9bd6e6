// archetype/blocks/dyn_mbconv.hpp — `dyn_mbconv<Out, K, Stride, Expand, Act>`: mbconv built from the
// run-time-geometry convolutions of dyn_conv.hpp.
//
// Contract: the same block as mbconv<Out, K, Stride, Expand, Act> (blocks/mbconv.hpp) — the same
// leaves in the same order (dyn_expand, batch_norm, Act, dyn_depthwise, batch_norm, Act, dyn_pointwise,
// batch_norm; no expansion when Expand == 1), the same skip rule (Stride 1 and C == Out), hence the same
// shapes, costs, parameter and state layout and initialisation; its outputs equal mbconv's up to float
// rounding. Its convolutions compile once per translation unit instead of once per shape, which is what
// makes a space of hundreds of MBConv variants (space/once_for_all.hpp) compile in seconds. mbconv is
// its `twin`: codegen writes mbconv for it.
#pragma once

#include <string>
#include <type_traits>

#include "archetype/blocks/dyn_conv.hpp"
#include "archetype/blocks/mbconv.hpp"

namespace archetype {

template <int Out, int K, int Stride = 1, int Expand = 6, class Act = relu6>
struct dyn_mbconv {
    static_assert(Out > 0 && K > 0 && K % 2 == 1 && Stride > 0 && Expand > 0,
                  "archetype::dyn_mbconv<Out, K, Stride, Expand>: Out, Stride and Expand must be positive and K odd");
    using twin = mbconv<Out, K, Stride, Expand, Act>;
    using depthwise_then_project =
        sequential<dyn_depthwise<K, Stride>, batch_norm, Act, dyn_pointwise<Out>, batch_norm>;
    using expanded = sequential<dyn_expand<Expand>, batch_norm, Act, dyn_depthwise<K, Stride>, batch_norm, Act,
                                dyn_pointwise<Out>, batch_norm>;
    using body = std::conditional_t<Expand == 1, depthwise_then_project, expanded>;
    using with_skip = sum<identity, body>;

    static constexpr bool has_skip(shape in) { return twin::has_skip(in); }
    static constexpr shape output(shape in) { return body::output(in); }
    static constexpr shape expected_input(shape in) { return body::expected_input(in); }
    static constexpr cost cost_of(shape in) { return has_skip(in) ? with_skip::cost_of(in) : body::cost_of(in); }
    static std::string spelling() {
        return "archetype::dyn_mbconv<" + spell_args(Out, K, Stride, Expand) + ", " + Act::spelling() + ">";
    }

    template <shape In>
    using op = typename std::conditional_t<has_skip(In), with_skip, body>::template op<In>;
};

}  // namespace archetype
