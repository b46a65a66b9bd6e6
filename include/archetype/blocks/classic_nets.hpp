// archetype/blocks/classic_nets.hpp — the fixed reference networks the examples, benchmarks and tests
// compare against, defined once.
//
// Contract: each is a sequential body; wrap it as network<shape{1, 28, 28}, Body> for Fashion-MNIST.
//   lenet5     LeNet-5 as commonly run on 28×28 inputs: conv 6@5×5 → ReLU → max-pool 2 → conv 16@5×5 →
//              ReLU → max-pool 2 → dense 120 → ReLU → dense 84 → ReLU → dense 10 (ReLU and max pooling
//              in place of the original's tanh and subsampling; no padding). 44,426 parameters and
//              about 0.28 M MACs on 1×28×28.
//   small_cnn  a hand-designed CNN: three conv 3×3 (no bias) → batch norm → ReLU stages of 16, 32 and 64
//              channels, max-pool 2 after the first two, then dense 10; the baseline for pruning.
#pragma once

#include "archetype/graph/sequential.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/identity.hpp"
#include "archetype/layers/pool.hpp"

namespace archetype {

using lenet5 = sequential<conv2d<6, 5>, relu, max_pool<2>,   //
                          conv2d<16, 5>, relu, max_pool<2>,  //
                          flatten, dense<120>, relu, dense<84>, relu, dense<10>>;

using small_cnn = sequential<conv2d<16, 3, 1, 1, 1, 1, false>, batch_norm, relu, max_pool<2>,  //
                             conv2d<32, 3, 1, 1, 1, 1, false>, batch_norm, relu, max_pool<2>,  //
                             conv2d<64, 3, 1, 1, 1, 1, false>, batch_norm, relu,               //
                             flatten, dense<10>>;

}  // namespace archetype
