// archetype/blocks/blocks.hpp — umbrella header of blocks/: named building blocks (conv-BN, ResNet,
// ResNeXt, separable, MBConv, ShuffleNet, SE, transformer) and the classic reference networks.
#pragma once

#include "archetype/blocks/classic_nets.hpp"
#include "archetype/blocks/conv_bn.hpp"
#include "archetype/blocks/dyn_conv.hpp"
#include "archetype/blocks/dyn_mbconv.hpp"
#include "archetype/blocks/mbconv.hpp"
#include "archetype/blocks/mbconv_runtime.hpp"
#include "archetype/blocks/resnet.hpp"
#include "archetype/blocks/resnext.hpp"
#include "archetype/blocks/separable.hpp"
#include "archetype/blocks/shufflenet.hpp"
#include "archetype/blocks/squeeze_excite.hpp"
#include "archetype/blocks/transformer.hpp"
