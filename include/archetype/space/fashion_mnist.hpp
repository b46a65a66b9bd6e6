// archetype/space/fashion_mnist.hpp — a macro search space for 1×28×28 images (Fashion-MNIST, MNIST)
// sized for a small CPU: a candidate trains in seconds; networks from 0.13 M to 9.2 M MACs.
//
// Contract: `fashion_mnist_space` is a search_space on shape{1, 28, 28} with 10 classes. Every network
// of the space is, with trunk widths (C0, C1, C2) chosen by the decision "width":
//   stem    conv3×3 1→C0 (no bias) + BN + ReLU at 28×28
//   "down1" 28×28×C0 → 14×14×C1, one of the transitions below (stride 2)
//   "s1b1", "s1b2"  two blocks at 14×14×C1, each one of the blocks below (stride 1)
//   "down2" 14×14×C1 → 7×7×C2, a transition
//   "s2b1", "s2b2"  two blocks at 7×7×C2
//   "head"  "gap": global average pool + dense C2→10; "flat": flatten + dense C2·49→10 (dense with bias)
// width:       "w8" (8, 16, 32), "w12" (12, 24, 48), "w16" (16, 32, 64)
// transitions: "conv3"   conv3×3 stride 2 + BN + ReLU
//              "pool"    max pool 2×2, then conv3×3 + BN + ReLU (the classic CNN's downsampling)
//              "sep3"    depthwise-separable 3×3 stride 2 (dw + BN + ReLU, pw + BN + ReLU)
// blocks:      "skip"    identity (so each stage has depth 0, 1 or 2)
//              "conv3"   conv3×3 + BN + ReLU
//              "sep3"    depthwise-separable 3×3
//              "mb3"     MBConv k3 e3 (with its residual skip)
// 3 · 3 · 4² · 3 · 4² · 2 = 13,824 members. Designed for this library's kernels on a 2-core CPU:
// per MAC, depthwise convolutions train ~4× slower than dense 3×3 ones here, so MBConv appears in
// one variant (k3 e3, stride 1) only; kernel-5, expansion-6 and strided MBConv variants (slow to train
// and each 3 more convolution kernels to compile) are left out. Widths stay at or below 16-32-64, where
// networks of at most 5 M MACs are still deep (wider trunks exceed 5 M with two dense 3×3 blocks). Decisions keep their names across widths (the three
// width alternatives are one body each, with the same decision names), so a genotype is 8 indices and
// each block type is instantiated once per width and position. Block parameters are PyTorch-default
// initialised; all convolutions are bias-free. fashion_mnist_space_t<Classes, Widths...> is the same
// space over any list of fm::widths (tests use one width to keep compile time small).
#pragma once

#include "archetype/blocks/conv_bn.hpp"
#include "archetype/blocks/mbconv.hpp"
#include "archetype/blocks/separable.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/pool.hpp"
#include "archetype/space/search_space.hpp"

namespace archetype {

namespace fm {

// Trunk widths of one "width" alternative: stem C0, stage 1 C1, stage 2 C2.
template <fixed_string Label, int C0, int C1, int C2>
struct widths {
    static constexpr auto label = Label;
    static constexpr int stem = C0, stage1 = C1, stage2 = C2;
};

template <fixed_string Name, int C>
using transition = choice<Name,                                                  //
                          option<"conv3", conv_bn_relu<C, 3, 2>>,                //
                          option<"pool", sequential<max_pool<2>, conv_bn_relu<C, 3>>>,
                          option<"sep3", depthwise_separable<C, 3, 2>>>;

template <fixed_string Name, int C>
using block = choice<Name,                                     //
                     option<"skip", identity>,                 //
                     option<"conv3", conv_bn_relu<C, 3>>,      //
                     option<"sep3", depthwise_separable<C, 3>>,  //
                     option<"mb3", mbconv<C, 3, 1, 3, relu>>>;

template <int Classes>
using head = choice<"head", option<"gap", sequential<global_avg_pool, dense<Classes>>>,
                    option<"flat", sequential<flatten, dense<Classes>>>>;

template <int Classes, class W>
using body = option<W::label, sequential<conv_bn_relu<W::stem, 3>,                                     //
                                         transition<"down1", W::stage1>,                               //
                                         block<"s1b1", W::stage1>, block<"s1b2", W::stage1>,          //
                                         transition<"down2", W::stage2>,                               //
                                         block<"s2b1", W::stage2>, block<"s2b2", W::stage2>,          //
                                         head<Classes>>>;

}  // namespace fm

template <int Classes, class... Widths>
using fashion_mnist_space_t = search_space<shape{1, 28, 28}, choice<"width", fm::body<Classes, Widths>...>>;

using fashion_mnist_space = fashion_mnist_space_t<10, fm::widths<"w8", 8, 16, 32>, fm::widths<"w12", 12, 24, 48>,
                                                  fm::widths<"w16", 16, 32, 64>>;

}  // namespace archetype
