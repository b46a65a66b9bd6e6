// Golden values: relu, relu6, hard_swish, sigmoid, tanh, hard_sigmoid against PyTorch's nn.ReLU, ReLU6,
// Hardswish, Sigmoid, Tanh, Hardsigmoid (tests/data/golden/activation, made by tests/reference/generate_golden.py). y and dx
// must agree within 1e-4 relative to the largest magnitude of the reference. Random inputs span
// [-5, 8] (every region of every function) and stay 0.01 away from kinks; the *_kinks cases put inputs
// exactly on them, where PyTorch's conventions are relu' = 0 at 0, relu6' = 0 at 0 and 6 and
// hardswish' = -1/2 at -3 (hardswish at exactly +3 is not tested: PyTorch 1.13 answers 3/2 or 1 there
// depending on whether its scalar or vectorised loop handles the element).
#include <doctest/doctest.h>

#include "archetype/layers/activation.hpp"
#include "support/golden.hpp"

namespace at = archetype;
using at::shape;
using at::test::check_golden_layer;

TEST_CASE("relu matches nn.ReLU") {
    check_golden_layer<shape{3, 5, 7}, at::relu>("activation/relu_3x5x7_b2");
    check_golden_layer<shape{10, 1, 1}, at::relu>("activation/relu_flat10_b3");
    check_golden_layer<shape{2, 1, 1}, at::relu>("activation/relu_kinks");
}

TEST_CASE("relu6 matches nn.ReLU6") {
    check_golden_layer<shape{3, 5, 7}, at::relu6>("activation/relu6_3x5x7_b2");
    check_golden_layer<shape{10, 1, 1}, at::relu6>("activation/relu6_flat10_b3");
    check_golden_layer<shape{4, 1, 1}, at::relu6>("activation/relu6_kinks");
}

TEST_CASE("hard_swish matches nn.Hardswish") {
    check_golden_layer<shape{3, 5, 7}, at::hard_swish>("activation/hard_swish_3x5x7_b2");
    check_golden_layer<shape{10, 1, 1}, at::hard_swish>("activation/hard_swish_flat10_b3");
    check_golden_layer<shape{4, 1, 1}, at::hard_swish>("activation/hard_swish_kinks");
}

TEST_CASE("sigmoid matches nn.Sigmoid") {
    check_golden_layer<shape{3, 5, 7}, at::sigmoid>("activation/sigmoid_3x5x7_b2");
    check_golden_layer<shape{10, 1, 1}, at::sigmoid>("activation/sigmoid_flat10_b3");
}

TEST_CASE("tanh matches nn.Tanh") {
    check_golden_layer<shape{3, 5, 7}, at::tanh>("activation/tanh_3x5x7_b2");
    check_golden_layer<shape{10, 1, 1}, at::tanh>("activation/tanh_flat10_b3");
}

TEST_CASE("hard_sigmoid matches nn.Hardsigmoid") {
    check_golden_layer<shape{3, 5, 7}, at::hard_sigmoid>("activation/hard_sigmoid_3x5x7_b2");
    check_golden_layer<shape{10, 1, 1}, at::hard_sigmoid>("activation/hard_sigmoid_flat10_b3");
    check_golden_layer<shape{4, 1, 1}, at::hard_sigmoid>("activation/hard_sigmoid_kinks");
}
