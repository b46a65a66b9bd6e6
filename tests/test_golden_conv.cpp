// Golden values: conv2d against PyTorch nn.Conv2d (tests/data/golden/conv, made by
// tests/reference/generate_golden.py; depthwise_conv2d is in test_golden_depthwise.cpp). Weights are
// [out][in/groups][k][k] then bias, as PyTorch's. y, dx, dweight and dbias must agree within 1e-4
// relative to the largest magnitude of each reference array. Cases cover kernel 1/2/3/5/7, stride
// 1/2/3 (with remainders), padding 0–3 (also a kernel larger than the input), dilation 1/2, groups
// 1/2/4, with and without bias, batch 1–4.
#include <doctest/doctest.h>

#include "archetype/layers/conv2d.hpp"
#include "support/golden.hpp"

namespace at = archetype;
using at::shape;
using at::test::check_golden_layer;

// conv2d<Out, K, Stride, Pad, Dil, Groups, Bias>
TEST_CASE("conv2d matches nn.Conv2d: kernel sizes, strides, padding") {
    check_golden_layer<shape{1, 5, 5}, at::conv2d<2, 1>>("conv/k1_c1_5x5_b1");
    check_golden_layer<shape{3, 7, 9}, at::conv2d<4, 3, 1, 1>>("conv/k3_p1_7x9_b2");
    check_golden_layer<shape{3, 7, 9}, at::conv2d<4, 3, 2, 1, 1, 1, false>>("conv/k3_s2_p1_nobias_7x9_b2");
    check_golden_layer<shape{2, 11, 6}, at::conv2d<3, 5, 1, 2>>("conv/k5_p2_11x6_b1");
    check_golden_layer<shape{2, 11, 6}, at::conv2d<3, 5, 3, 0>>("conv/k5_s3_11x6_b3");
    check_golden_layer<shape{1, 9, 9}, at::conv2d<2, 7, 1, 3>>("conv/k7_p3_9x9_b2");
    check_golden_layer<shape{3, 5, 5}, at::conv2d<2, 7, 1, 3>>("conv/k7_p3_5x5_b1");
    check_golden_layer<shape{2, 6, 8}, at::conv2d<3, 2, 2, 0>>("conv/k2_s2_6x8_b4");
}

TEST_CASE("conv2d matches nn.Conv2d: dilation and groups") {
    check_golden_layer<shape{3, 9, 7}, at::conv2d<2, 3, 1, 2, 2>>("conv/k3_d2_p2_9x7_b2");
    check_golden_layer<shape{2, 11, 8}, at::conv2d<3, 3, 2, 1, 2>>("conv/k3_s2_d2_p1_11x8_b1");
    check_golden_layer<shape{4, 6, 5}, at::conv2d<6, 3, 1, 1, 1, 2>>("conv/k3_p1_g2_6x5_b2");
    check_golden_layer<shape{4, 7, 6}, at::conv2d<8, 1, 1, 0, 1, 4, false>>("conv/k1_g4_nobias_7x6_b2");
    check_golden_layer<shape{8, 5, 7}, at::conv2d<4, 3, 2, 1, 1, 4>>("conv/k3_s2_p1_g4_5x7_b1");
    check_golden_layer<shape{6, 5, 5}, at::conv2d<6, 3, 1, 2, 2, 2>>("conv/k3_d2_p2_g2_5x5_b2");
    check_golden_layer<shape{2, 9, 10}, at::conv2d<4, 5, 3, 3, 1, 2, false>>("conv/k5_s3_p3_g2_nobias_9x10_b1");
}
