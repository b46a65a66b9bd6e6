// archetype/layers/layers.hpp — umbrella header of layers/: every layer descriptor (dense, conv2d, pooling,
// activations, normalization, attention, ...).
#pragma once

#include "archetype/layers/activation.hpp"
#include "archetype/layers/attention.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/channel_shuffle.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/gelu.hpp"
#include "archetype/layers/identity.hpp"
#include "archetype/layers/layer.hpp"
#include "archetype/layers/layer_norm.hpp"
#include "archetype/layers/pool.hpp"
#include "archetype/layers/scale.hpp"
