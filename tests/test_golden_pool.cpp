// Golden values: max_pool, avg_pool and global_avg_pool against PyTorch nn.MaxPool2d, nn.AvgPool2d
// (count_include_pad true and false) and nn.AdaptiveAvgPool2d(1) (tests/data/golden/pool, made by
// tests/reference/generate_golden.py). y and dx must agree within 1e-4 relative to the largest
// magnitude of the reference. Strides and sizes leave remainders (rows and columns no window reaches);
// channel 0 of every random input is entirely negative, so a max window overlapping the padding must
// ignore the padding (PyTorch pads with -inf). Random inputs have no ties; the max_ties cases draw
// from {-2, -1, 0, 1}, where PyTorch keeps the first maximum of the window in row-major order and
// sends the whole gradient to it.
#include <doctest/doctest.h>

#include "archetype/layers/pool.hpp"
#include "support/golden.hpp"

namespace at = archetype;
using at::shape;
using at::test::check_golden_layer;

TEST_CASE("max_pool matches nn.MaxPool2d") {
    check_golden_layer<shape{2, 7, 9}, at::max_pool<2>>("pool/max_k2_7x9_b2");
    check_golden_layer<shape{3, 5, 5}, at::max_pool<3, 2, 1>>("pool/max_k3_s2_p1_5x5_b1");
    check_golden_layer<shape{2, 11, 6}, at::max_pool<3, 3>>("pool/max_k3_s3_11x6_b3");
    check_golden_layer<shape{1, 9, 9}, at::max_pool<5, 2, 2>>("pool/max_k5_s2_p2_9x9_b1");
    check_golden_layer<shape{2, 6, 7}, at::max_pool<3, 1, 1>>("pool/max_k3_s1_p1_6x7_b2");
    check_golden_layer<shape{2, 5, 4}, at::max_pool<2, 1>>("pool/max_k2_s1_5x4_b2");
}

TEST_CASE("max_pool breaks ties as nn.MaxPool2d: the first maximum in the window wins") {
    check_golden_layer<shape{2, 5, 6}, at::max_pool<3, 1, 1>>("pool/max_ties_k3_s1_p1_5x6_b2");
    check_golden_layer<shape{2, 6, 6}, at::max_pool<2, 2>>("pool/max_ties_k2_s2_6x6_b1");
}

TEST_CASE("avg_pool matches nn.AvgPool2d, counting the padding or not") {
    check_golden_layer<shape{2, 7, 9}, at::avg_pool<2>>("pool/avg_k2_7x9_b2");
    check_golden_layer<shape{3, 5, 5}, at::avg_pool<3, 2, 1, true>>("pool/avg_k3_s2_p1_incl_5x5_b1");
    check_golden_layer<shape{3, 5, 5}, at::avg_pool<3, 2, 1, false>>("pool/avg_k3_s2_p1_excl_5x5_b1");
    check_golden_layer<shape{2, 11, 6}, at::avg_pool<3, 3>>("pool/avg_k3_s3_11x6_b3");
    check_golden_layer<shape{1, 9, 9}, at::avg_pool<5, 2, 2, true>>("pool/avg_k5_s2_p2_incl_9x9_b1");
    check_golden_layer<shape{1, 9, 9}, at::avg_pool<5, 2, 2, false>>("pool/avg_k5_s2_p2_excl_9x9_b1");
    check_golden_layer<shape{2, 6, 7}, at::avg_pool<3, 1, 1, false>>("pool/avg_k3_s1_p1_excl_6x7_b2");
}

TEST_CASE("global_avg_pool matches nn.AdaptiveAvgPool2d(1)") {
    check_golden_layer<shape{3, 7, 9}, at::global_avg_pool>("pool/gap_7x9_b2");
    check_golden_layer<shape{4, 1, 1}, at::global_avg_pool>("pool/gap_1x1_b1");
    check_golden_layer<shape{5, 11, 6}, at::global_avg_pool>("pool/gap_11x6_b3");
}
