// archetype/blocks/resnet.hpp — ResNet's residual blocks (He et al.; torchvision's BasicBlock and
// Bottleneck, "ResNet v1.5": the stride sits on the 3×3 convolution).
//
// Contract (convolutions without bias, "same" padding, BN after every convolution):
//   resnet_basic<Out, Stride = 1, Act = relu>
//       conv3×3(Out, Stride) BN Act  conv3×3(Out) BN
//   resnet_bottleneck<Out, Stride = 1, Mid = Out / 4, Groups = 1, Act = relu>
//       conv1×1(Mid) BN Act  conv3×3(Mid, Stride, Groups) BN Act  conv1×1(Out) BN
// then y = Act(body(x) + skip(x)) (Act is ReLU in ResNet; others for search spaces), where skip is
// identity_or_project<Out, Stride> (blocks/conv_bn.hpp): the identity when Stride == 1 and the input
// has Out channels, otherwise conv1×1(Out, Stride) + BN.
// Which skip is used is decided by the input shape alone, when the block is bound to it. Groups > 1 is
// ResNeXt's aggregated transform (blocks/resnext.hpp names it); Mid must then be divisible by Groups.
// Each block is `sequential<sum<body, skip>, Act>` (so its op, parameter layout and costs are those
// layers'); parameters come in torchvision's order: conv1, bn1, conv2, bn2[, conv3, bn3], then the
// projection's conv and BN when there is one. The blocks spell themselves by name.
#pragma once

#include <string>

#include "archetype/blocks/conv_bn.hpp"
#include "archetype/graph/branches.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/conv2d.hpp"

namespace archetype {

namespace detail {

template <int Out, int Stride, class Act, class Body>
using resnet_unit = sequential<sum<Body, identity_or_project<Out, Stride>>, Act>;

template <int Out, int Stride, class Act>
using resnet_basic_body = sequential<conv2d<Out, 3, Stride, 1, 1, 1, false>, batch_norm, Act,
                                     conv2d<Out, 3, 1, 1, 1, 1, false>, batch_norm>;

template <int Out, int Stride, int Mid, int Groups, class Act>
using resnet_bottleneck_body =
    sequential<conv2d<Mid, 1, 1, 0, 1, 1, false>, batch_norm, Act, conv2d<Mid, 3, Stride, 1, 1, Groups, false>,
               batch_norm, Act, conv2d<Out, 1, 1, 0, 1, 1, false>, batch_norm>;

}  // namespace detail

template <int Out, int Stride = 1, class Act = relu>
struct resnet_basic : detail::resnet_unit<Out, Stride, Act, detail::resnet_basic_body<Out, Stride, Act>> {
    static_assert(Out > 0 && Stride > 0, "archetype::resnet_basic<Out, Stride>: Out and Stride must be positive");
    static std::string spelling() {
        return "archetype::resnet_basic<" + spell_args(Out, Stride) + ", " + Act::spelling() + ">";
    }
};

template <int Out, int Stride = 1, int Mid = Out / 4, int Groups = 1, class Act = relu>
struct resnet_bottleneck
    : detail::resnet_unit<Out, Stride, Act, detail::resnet_bottleneck_body<Out, Stride, Mid, Groups, Act>> {
    static_assert(Out > 0 && Stride > 0 && Mid > 0 && Groups > 0,
                  "archetype::resnet_bottleneck<Out, Stride, Mid, Groups>: all must be positive");
    static_assert(Mid % Groups == 0, "archetype::resnet_bottleneck: Mid must be divisible by Groups");
    static std::string spelling() {
        return "archetype::resnet_bottleneck<" + spell_args(Out, Stride, Mid, Groups) + ", " + Act::spelling() + ">";
    }
};

}  // namespace archetype
