// Run-time-geometry convolutions and dyn_mbconv against their compile-time twins, and gradients.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "archetype/blocks/dyn_mbconv.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;

// Same seed, same layout: the twins get the same weights, so outputs must agree to rounding.
template <at::shape In, class D, class Twin>
void check_twin(std::size_t batch, bool training, float tol) {
    static_assert(D::cost_of(In) == Twin::cost_of(In) && D::output(In) == Twin::output(In));
    at::network<In, D> a{at::seed{9}};
    at::network<In, Twin> b{at::seed{9}};
    REQUIRE(a.params().size() == b.params().size());
    REQUIRE(a.state().size() == b.state().size());
    for (std::size_t i = 0; i < a.params().size(); ++i) REQUIRE(a.params()[i] == b.params()[i]);
    at::rng g{at::seed{4}};
    std::vector<float> x(batch * In.size());
    for (auto& v : x) v = g.uniform(-1.0f, 1.0f);
    const float* ya = a.forward_raw(x.data(), batch, training);
    const float* yb = b.forward_raw(x.data(), batch, training);
    const std::size_t ny = batch * at::network<In, D>::output_shape.size();
    double worst = 0;
    for (std::size_t i = 0; i < ny; ++i) worst = std::max(worst, double(std::abs(ya[i] - yb[i])));
    CHECK(worst < tol);
    std::vector<float> dy(ny), dxa(x.size()), dxb(x.size());
    for (auto& v : dy) v = g.uniform(-1.0f, 1.0f);
    a.backward_raw(dy.data(), dxa.data());
    b.backward_raw(dy.data(), dxb.data());
    double worst_dx = 0, worst_dw = 0;
    for (std::size_t i = 0; i < x.size(); ++i) worst_dx = std::max(worst_dx, double(std::abs(dxa[i] - dxb[i])));
    for (std::size_t i = 0; i < a.grads().size(); ++i)
        worst_dw = std::max(worst_dw, double(std::abs(a.grads()[i] - b.grads()[i])));
    CHECK(worst_dx < tol);
    CHECK(worst_dw < 10 * tol);  // summed over batch and positions
}

TEST_CASE("dyn convolutions equal their twins") {
    check_twin<at::shape{5, 6, 7}, at::dyn_pointwise<3>, at::conv2d<3, 1, 1, 0, 1, 1, false>>(2, false, 1e-5f);
    check_twin<at::shape{5, 6, 7}, at::dyn_pointwise<3, true>, at::conv2d<3, 1, 1, 0, 1, 1, true>>(2, false, 1e-5f);
    check_twin<at::shape{4, 5, 5}, at::dyn_expand<3>, at::conv2d_times<3, 1, 1, 0, 1, false>>(3, false, 1e-5f);
    check_twin<at::shape{3, 9, 8}, at::dyn_depthwise<3, 1>, at::depthwise_conv2d<3, 1, 1, 1, 1, false>>(2, false, 1e-5f);
    check_twin<at::shape{3, 9, 8}, at::dyn_depthwise<5, 2>, at::depthwise_conv2d<5, 2, 2, 1, 1, false>>(2, false, 1e-5f);
    check_twin<at::shape{2, 7, 7}, at::dyn_depthwise<7, 2>, at::depthwise_conv2d<7, 2, 3, 1, 1, false>>(2, false, 1e-5f);
    // kernel larger than the image: every tap near the border is padding
    check_twin<at::shape{2, 2, 3}, at::dyn_depthwise<7, 1>, at::depthwise_conv2d<7, 1, 3, 1, 1, false>>(2, false, 1e-5f);
    check_twin<at::shape{2, 1, 1}, at::dyn_depthwise<5, 2>, at::depthwise_conv2d<5, 2, 2, 1, 1, false>>(2, false, 1e-5f);
}

TEST_CASE("dyn_mbconv equals mbconv in training and inference, with and without the skip") {
    check_twin<at::shape{8, 6, 6}, at::dyn_mbconv<8, 5, 1, 4, at::hard_swish>, at::mbconv<8, 5, 1, 4, at::hard_swish>>(
        3, true, 1e-4f);
    check_twin<at::shape{8, 7, 7}, at::dyn_mbconv<12, 7, 2, 3, at::relu>, at::mbconv<12, 7, 2, 3, at::relu>>(2, false,
                                                                                                           1e-4f);
    check_twin<at::shape{6, 5, 5}, at::dyn_mbconv<6, 3, 1, 1>, at::mbconv<6, 3, 1, 1>>(2, true, 1e-4f);
}

TEST_CASE("dyn convolutions pass finite differences") {
    using namespace at::test;
    check_gradients<at::shape{3, 4, 5}, at::dyn_pointwise<4, true>>(2);
    check_gradients<at::shape{3, 6, 5}, at::dyn_depthwise<3, 2>>(2);
    check_gradients<at::shape{2, 5, 5}, at::dyn_depthwise<7, 1>>(2);
    // the block with tanh in place of its kinked activations (as tests/test_mbconv.cpp), eps 1e-3
    auto check = []<at::shape S, class D>(std::size_t batch) {
        const auto r = at::test::gradcheck<S, D>(batch, 1, true, 1e-3f);
        CHECK(r.max_input_error < 1e-3);
        CHECK(r.max_param_error < 1e-3);
    };
    check.operator()<at::shape{4, 5, 5}, at::dyn_mbconv<4, 5, 1, 3, at::tanh>>(3);  // skip
    check.operator()<at::shape{3, 5, 5}, at::dyn_mbconv<6, 7, 2, 2, at::tanh>>(2);  // stride 2, no skip
}
