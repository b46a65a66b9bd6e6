// archetype/blocks/mbconv.hpp — `mbconv<Out, K, Stride, Expand, Act>`: the MobileNetV2 inverted
// residual block.
//
// Contract: with C input channels and hidden = Expand·C:
//   conv1×1 C→hidden + BN + Act            (left out when Expand == 1, as in MobileNetV2)
//   depthwise K×K (Stride, pad K/2) + BN + Act
//   conv1×1 hidden→Out + BN                (linear bottleneck)
// and y = x + body(x) when Stride == 1 and C == Out, else y = body(x). Convolutions have no bias. Act
// defaults to relu6 (MobileNetV2); NAS-Bench-Macro uses relu. Whether the skip exists depends only on
// the input shape, so it is decided when the block is bound to its input (op<In> is the op of
// `body` or of `sum<identity, body>`); costs come from those layers. Expand is an integer ratio.
#pragma once

#include <string>
#include <type_traits>

#include "archetype/blocks/conv_bn.hpp"
#include "archetype/graph/branches.hpp"

namespace archetype {

namespace detail {
template <int Out, int K, int Stride, int Expand, class Act>
struct mbconv_body {
    using depthwise_then_project = sequential<depthwise_conv2d<K, Stride, K / 2, 1, 1, false>, batch_norm, Act,
                                              conv2d<Out, 1, 1, 0, 1, 1, false>, batch_norm>;
    using expanded = sequential<conv2d_times<Expand, 1>, batch_norm, Act, depthwise_conv2d<K, Stride, K / 2, 1, 1, false>,
                                batch_norm, Act, conv2d<Out, 1, 1, 0, 1, 1, false>, batch_norm>;
    using type = std::conditional_t<Expand == 1, depthwise_then_project, expanded>;
};
}  // namespace detail

template <int Out, int K, int Stride = 1, int Expand = 6, class Act = relu6>
struct mbconv {
    static_assert(Out > 0 && K > 0 && K % 2 == 1 && Stride > 0 && Expand > 0,
                  "archetype::mbconv<Out, K, Stride, Expand>: Out, Stride and Expand must be positive and K odd");
    using body = typename detail::mbconv_body<Out, K, Stride, Expand, Act>::type;
    using with_skip = sum<identity, body>;

    static constexpr bool has_skip(shape in) { return Stride == 1 && in.c == Out; }
    static constexpr shape output(shape in) { return body::output(in); }
    static constexpr shape expected_input(shape in) { return body::expected_input(in); }
    static constexpr cost cost_of(shape in) { return has_skip(in) ? with_skip::cost_of(in) : body::cost_of(in); }
    static std::string spelling() {
        return "archetype::mbconv<" + spell_args(Out, K, Stride, Expand) + ", " + Act::spelling() + ">";
    }

    template <shape In>
    using op = typename std::conditional_t<has_skip(In), with_skip, body>::template op<In>;
};

}  // namespace archetype
