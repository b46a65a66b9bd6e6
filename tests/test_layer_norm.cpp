// layer_norm: costs by hand, a hand-computed forward that tells the token axis from the channel axis,
// and gradients against finite differences (tests/support/gradcheck.hpp, errors relative to the largest
// gradient entry, bound 5e-4) on sequences and on a feature map. PyTorch's values are in
// test_golden_attention.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "archetype/graph/network.hpp"
#include "archetype/layers/layer_norm.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;
using at::cost;
using at::shape;

// γ and β of 8 channels; no MACs; one output per input value
static_assert(at::layer_norm::cost_of(shape{8, 5, 1}) == cost{16, 0, 40});
static_assert(at::layer_norm::cost_of(shape{6, 4, 3}) == cost{12, 0, 72});
static_assert(at::layer_norm::output(shape{8, 5, 1}) == shape{8, 5, 1});
static_assert(at::network<shape{8, 5, 1}, at::layer_norm>::param_count == 16);

TEST_CASE("layer_norm normalises each token over its channels, then applies gamma and beta per channel") {
    // 2 channels × 3 tokens, stored [D][T]: tokens (1, 3), (10, 4), (-2, -2)
    at::network<shape{2, 3, 1}, at::layer_norm> net;
    auto p = net.params();
    REQUIRE(p.size() == 4);
    const float w[] = {2.0f, 1.0f, 0.5f, -1.0f};  // γ = (2, 1), β = (0.5, −1)
    std::copy(std::begin(w), std::end(w), p.begin());
    const std::vector<float> x = {1, 10, -2, 3, 4, -2};
    const float* y = net.forward_raw(x.data(), 1, false);
    // token 0: mean 2, var 1 -> x̂ = ∓1/√(1 + 1e-5); token 1: mean 7, var 9 -> x̂ = ±3/√(9 + 1e-5);
    // token 2: constant -> x̂ = 0, y = β
    const double s0 = 1.0 / std::sqrt(1.0 + 1e-5), s1 = 3.0 / std::sqrt(9.0 + 1e-5);
    CHECK(y[0] == doctest::Approx(2 * -s0 + 0.5).epsilon(1e-6));
    CHECK(y[1] == doctest::Approx(2 * s1 + 0.5).epsilon(1e-6));
    CHECK(y[2] == doctest::Approx(0.5).epsilon(1e-6));
    CHECK(y[3] == doctest::Approx(s0 - 1).epsilon(1e-6));
    CHECK(y[4] == doctest::Approx(-s1 - 1).epsilon(1e-6));
    CHECK(y[5] == doctest::Approx(-1.0).epsilon(1e-6));
}

TEST_CASE("layer_norm gradients agree with finite differences") {
    using at::test::check_gradients;
    constexpr double tol = 5e-4;  // measured: at most 7e-5
    check_gradients<shape{8, 5, 1}, at::layer_norm>(2, tol);
    check_gradients<shape{6, 4, 3}, at::layer_norm>(2, tol);  // 12 positions as tokens
    check_gradients<shape{5, 1, 1}, at::layer_norm>(3, tol);  // a flat vector: one token
}
