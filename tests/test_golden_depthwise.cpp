// Golden values: depthwise_conv2d against PyTorch nn.Conv2d(C, C·M, K, ..., groups=C)
// (tests/data/golden/depthwise, made by tests/reference/generate_golden.py). Weights are [C·M][1][K][K]
// then bias, as PyTorch's; output channel o filters input channel o / M. y, dx, dweight and dbias must
// agree within 1e-4 relative to the largest magnitude of each reference array. Cases cover kernel
// 1/3/5/7, stride 1/2/3, padding 0–3, dilation 1/2, multiplier 1/2, with and without bias, batch 1–3.
#include <doctest/doctest.h>

#include "archetype/layers/conv2d.hpp"
#include "support/golden.hpp"

namespace at = archetype;
using at::shape;
using at::test::check_golden_layer;

// depthwise_conv2d<K, Stride, Pad, Dil, Multiplier, Bias> == nn.Conv2d(C, C·M, K, ..., groups=C)
TEST_CASE("depthwise_conv2d matches nn.Conv2d with groups = channels") {
    check_golden_layer<shape{3, 7, 9}, at::depthwise_conv2d<3, 1, 1>>("depthwise/k3_p1_m1_7x9_b2");
    check_golden_layer<shape{4, 8, 7}, at::depthwise_conv2d<3, 2, 1, 1, 2>>("depthwise/k3_s2_p1_m2_8x7_b1");
    check_golden_layer<shape{2, 11, 6}, at::depthwise_conv2d<5, 1, 2, 1, 1, false>>(
        "depthwise/k5_p2_m1_nobias_11x6_b2");
    check_golden_layer<shape{3, 9, 9}, at::depthwise_conv2d<3, 1, 2, 2, 2>>("depthwise/k3_d2_p2_m2_9x9_b3");
    check_golden_layer<shape{2, 6, 6}, at::depthwise_conv2d<7, 3, 3>>("depthwise/k7_s3_p3_m1_6x6_b1");
    check_golden_layer<shape{2, 5, 5}, at::depthwise_conv2d<1, 2, 0, 1, 2, false>>(
        "depthwise/k1_s2_m2_nobias_5x5_b2");
}
