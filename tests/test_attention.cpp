// multi_head_attention: costs by hand, shapes, two hand-computed attentions (uniform attention with
// Q = K = 0; a one-channel softmax with known weights), equivariance under a permutation of the tokens,
// and gradients against finite differences (errors relative to the largest gradient entry, bound 5e-4).
// PyTorch's values are in test_golden_attention.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "archetype/graph/network.hpp"
#include "archetype/layers/attention.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;
using at::cost;
using at::shape;

// D = 8, T = 5, H = 2: params 4·64 + 4·8 = 288; MACs 4·5·64 (projections) + 2·25·8 (QᵀK, PV) = 1680
static_assert(at::multi_head_attention<2>::cost_of(shape{8, 5, 1}) == cost{288, 1680, 40});
static_assert(at::multi_head_attention<4, false>::cost_of(shape{8, 5, 1}) == cost{256, 1680, 40});
// D = 16, T = 10: 4·256 + 64 = 1088 params; 4·10·256 + 2·100·16 = 13440 MACs
static_assert(at::multi_head_attention<4>::cost_of(shape{16, 10, 1}) == cost{1088, 13440, 160});
// a feature map {6, 3, 4} is 12 tokens of width 6: 4·36 + 24 params, 4·12·36 + 2·144·6 MACs
static_assert(at::multi_head_attention<3>::cost_of(shape{6, 3, 4}) == cost{168, 1728 + 1728, 72});
static_assert(at::multi_head_attention<2>::output(shape{8, 5, 1}) == shape{8, 5, 1});
// the width is rounded up to a multiple of the heads: a sequential reports the mismatch
static_assert(at::multi_head_attention<2>::expected_input(shape{7, 5, 1}) == shape{8, 5, 1});
static_assert(at::multi_head_attention<4>::expected_input(shape{2, 5, 1}) == shape{4, 5, 1});
static_assert(at::network<shape{8, 5, 1}, at::multi_head_attention<2>>::param_count == 288);
static_assert(at::network<shape{8, 5, 1}, at::multi_head_attention<2, false>>::param_count == 256);

TEST_CASE("with Q = K = 0 every token attends uniformly: y = W_out · mean_t(V) + b_out") {
    // D = 2, one head, T = 3. W_in: Q and K rows 0, V = [[1, 2], [0, 1]], b_v = (1, −1); W_out = [[1, 0], [1, 1]],
    // b_out = (0, 0.5)
    at::network<shape{2, 3, 1}, at::multi_head_attention<1>> net;
    auto p = net.params();
    REQUIRE(p.size() == 4 * 4 + 4 * 2);
    std::fill(p.begin(), p.end(), 0.0f);
    p[8] = 1, p[9] = 2, p[10] = 0, p[11] = 1;  // W_in rows 4, 5 (V)
    p[12 + 4] = 1, p[12 + 5] = -1;             // b_in of V
    p[18] = 1, p[19] = 0, p[20] = 1, p[21] = 1;  // W_out
    p[22] = 0, p[23] = 0.5f;                     // b_out
    const std::vector<float> x = {1, 2, 6, -1, 0, 4};  // channel 0: 1 2 6, channel 1: −1 0 4
    const float* y = net.forward_raw(x.data(), 1, false);
    // mean x = (3, 1); V = (3 + 2 + 1, 1 − 1) = (6, 0); y = (6, 6 + 0 + 0.5) for every token
    for (int t = 0; t < 3; ++t) {
        CHECK(y[t] == doctest::Approx(6.0).epsilon(1e-6));
        CHECK(y[3 + t] == doctest::Approx(6.5).epsilon(1e-6));
    }
}

TEST_CASE("one channel, two tokens: the softmax weights are those computed by hand") {
    // D = 1, H = 1: q = ln2·x, k = x, v = x, scale 1. x = (1, 2): scores (ln2·[1 2], ln2·[2 4]) ->
    // weights (1/3, 2/3) and (1/5, 4/5) -> o = (5/3, 9/5); y = 2·o − 1
    at::network<shape{1, 2, 1}, at::multi_head_attention<1>> net;
    auto p = net.params();
    REQUIRE(p.size() == 8);
    const float w[] = {0.69314718f, 1, 1, 0, 0, 0, 2, -1};
    std::copy(std::begin(w), std::end(w), p.begin());
    const std::vector<float> x = {1, 2};
    const float* y = net.forward_raw(x.data(), 1, false);
    CHECK(y[0] == doctest::Approx(2.0 * 5 / 3 - 1).epsilon(1e-6));
    CHECK(y[1] == doctest::Approx(2.0 * 9 / 5 - 1).epsilon(1e-6));
}

TEST_CASE("without positions, permuting the tokens permutes the outputs") {
    constexpr int d = 8, t = 5;
    at::network<shape{d, t, 1}, at::multi_head_attention<2>> net{at::seed{4}};
    at::rng g(at::seed{9});
    std::vector<float> x(d * t), xp(d * t);
    for (auto& v : x) v = g.uniform(-1.0f, 1.0f);
    const int perm[t] = {3, 0, 4, 1, 2};
    for (int c = 0; c < d; ++c)
        for (int i = 0; i < t; ++i) xp[c * t + i] = x[c * t + perm[i]];
    const float* y0 = net.forward_raw(x.data(), 1, false);
    const std::vector<float> y(y0, y0 + d * t);
    const float* yp = net.forward_raw(xp.data(), 1, false);
    double worst = 0, largest = 0;
    for (int c = 0; c < d; ++c)
        for (int i = 0; i < t; ++i) {
            worst = std::max(worst, double(std::abs(yp[c * t + i] - y[c * t + perm[i]])));
            largest = std::max(largest, double(std::abs(y[c * t + i])));
        }
    CHECK(worst <= 1e-5 * largest);  // only the summation order differs
    CHECK(largest > 0.05);
}

TEST_CASE("multi_head_attention gradients agree with finite differences") {
    using at::test::check_gradients;
    constexpr double tol = 5e-4;  // measured: at most 7e-5
    check_gradients<shape{8, 5, 1}, at::multi_head_attention<2>>(2, tol);
    check_gradients<shape{8, 5, 1}, at::multi_head_attention<4, false>>(2, tol);
    check_gradients<shape{6, 2, 3}, at::multi_head_attention<3>>(1, tol);
    check_gradients<shape{4, 1, 1}, at::multi_head_attention<1>>(2, tol);  // one token
}
