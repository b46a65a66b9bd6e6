// archetype/blocks/resnext.hpp — `resnext_bottleneck<Out, Cardinality, GroupWidth, Stride = 1,
// Act = relu>`: the
// ResNeXt block (Xie et al.; torchvision's Bottleneck with groups and width_per_group).
//
// Contract: the ResNet bottleneck (blocks/resnet.hpp) whose 3×3 convolution is grouped:
//   conv1×1(W) BN Act  conv3×3(W, Stride, groups = Cardinality) BN Act  conv1×1(Out) BN
//   y = Act(body(x) + skip(x)),  W = Cardinality · GroupWidth
// with the same skip (identity, or conv1×1(Out, Stride) + BN when the shape changes), parameter layout
// and costs as resnet_bottleneck<Out, Stride, W, Cardinality, Act>; only the spelling differs. The paper's
// "32×4d" first stage is resnext_bottleneck<256, 32, 4>; each later stage doubles GroupWidth and Out
// (torchvision's resnext50_32x4d: W = 128, 256, 512, 1024 for Out = 256, 512, 1024, 2048).
#pragma once

#include <string>

#include "archetype/blocks/resnet.hpp"

namespace archetype {

template <int Out, int Cardinality, int GroupWidth, int Stride = 1, class Act = relu>
struct resnext_bottleneck
    : detail::resnet_unit<Out, Stride, Act,
                          detail::resnet_bottleneck_body<Out, Stride, Cardinality * GroupWidth, Cardinality, Act>> {
    static_assert(Out > 0 && Cardinality > 0 && GroupWidth > 0 && Stride > 0,
                  "archetype::resnext_bottleneck<Out, Cardinality, GroupWidth, Stride>: all must be positive");
    static std::string spelling() {
        return "archetype::resnext_bottleneck<" + spell_args(Out, Cardinality, GroupWidth, Stride) + ", " +
               Act::spelling() + ">";
    }
};

}  // namespace archetype
