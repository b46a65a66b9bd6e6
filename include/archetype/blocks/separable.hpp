// archetype/blocks/separable.hpp — `depthwise_separable<Out, K = 3, Stride = 1, Act = relu>`: MobileNet's
// depthwise-separable convolution (Howard et al. 2017).
//
// Contract: dw K×K (Stride, padding K/2, no bias) BN Act, then pw conv1×1(Out, no bias) BN Act. Any input
// channel count; output {Out, ⌊(H + 2⌊K/2⌋ − K)/Stride⌋ + 1, same for W}. Act is relu (MobileNet v1) or
// relu6 (Keras' MobileNet). A sequential of those layers (same op, parameter layout and costs) that
// spells itself by name.
#pragma once

#include <string>

#include "archetype/graph/sequential.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/conv2d.hpp"

namespace archetype {

template <int Out, int K = 3, int Stride = 1, class Act = relu>
struct depthwise_separable : sequential<depthwise_conv2d<K, Stride, K / 2, 1, 1, false>, batch_norm, Act,
                                        conv2d<Out, 1, 1, 0, 1, 1, false>, batch_norm, Act> {
    static_assert(Out > 0 && K > 0 && Stride > 0,
                  "archetype::depthwise_separable<Out, K, Stride>: Out, K and Stride must be positive");
    static std::string spelling() {
        return "archetype::depthwise_separable<" + spell_args(Out, K, Stride) + ", " + Act::spelling() + ">";
    }
};

}  // namespace archetype
