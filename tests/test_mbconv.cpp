// Blocks: channel-following convolutions, conv/BN orders, identity_or_project and the MobileNetV2
// inverted residual (shapes, costs by hand from the PyTorch definition, the skip, gradients).
#include <doctest/doctest.h>

#include "archetype/blocks/mbconv.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;

// conv2d_times is exactly the conv with Out = Mult·C, for shapes and costs
static_assert(at::conv2d_times<3, 1>::output(at::shape{16, 8, 8}) == at::shape{48, 8, 8});
static_assert(at::conv2d_times<3, 1>::cost_of(at::shape{16, 8, 8}) ==
              at::conv2d<48, 1, 1, 0, 1, 1, false>::cost_of(at::shape{16, 8, 8}));
static_assert(at::conv2d_same<3, 2>::cost_of(at::shape{5, 7, 7}) ==
              at::conv2d<5, 3, 2, 1, 1, 1, false>::cost_of(at::shape{5, 7, 7}));
static_assert(at::conv2d_same<3, 2>::output(at::shape{5, 7, 7}) == at::shape{5, 4, 4});
static_assert(at::relu_conv_bn_same<3>::cost_of(at::shape{16, 32, 32}) ==
              at::cost{9 * 16 * 16 + 32, 9 * 16 * 16 * 1024, 3 * 16 * 1024});

// identity_or_project: identity only where stride and channels are unchanged
using iop = at::identity_or_project<64, 2>;
static_assert(iop::output(at::shape{32, 32, 32}) == at::shape{64, 16, 16});
static_assert(iop::cost_of(at::shape{32, 32, 32}).params == 32 * 64 + 2 * 64);
static_assert(iop::cost_of(at::shape{32, 32, 32}).macs == 32 * 64 * 256);
static_assert(at::identity_or_project<64>::cost_of(at::shape{64, 8, 8}) == at::cost{0, 0, 64 * 64});
static_assert(at::identity_or_project<64>::cost_of(at::shape{32, 8, 8}).params == 32 * 64 + 128);

// k3 e3, stride 1, 16 -> 16 on 8x8 (skip): hidden 48
using mb_skip = at::mbconv<16, 3, 1, 3, at::relu>;
static_assert(mb_skip::has_skip(at::shape{16, 8, 8}));
static_assert(mb_skip::cost_of(at::shape{16, 8, 8}).params == 16 * 48 + 96 + 48 * 9 + 96 + 48 * 16 + 32);
static_assert(mb_skip::cost_of(at::shape{16, 8, 8}).macs == (16 * 48 + 48 * 9 + 48 * 16) * 64);
static_assert(std::is_same_v<mb_skip::op<at::shape{16, 8, 8}>::descriptor, mb_skip::with_skip>);
// k5 e6, stride 2, 16 -> 32 on 8x8 (no skip): hidden 96, depthwise and projection at 4x4
using mb_down = at::mbconv<32, 5, 2>;
static_assert(!mb_down::has_skip(at::shape{16, 8, 8}));
static_assert(mb_down::output(at::shape{16, 8, 8}) == at::shape{32, 4, 4});
static_assert(mb_down::cost_of(at::shape{16, 8, 8}).params == 16 * 96 + 192 + 96 * 25 + 192 + 96 * 32 + 64);
static_assert(mb_down::cost_of(at::shape{16, 8, 8}).macs == 16 * 96 * 64 + 96 * 25 * 16 + 96 * 32 * 16);
static_assert(std::is_same_v<mb_down::op<at::shape{16, 8, 8}>::descriptor, mb_down::body>);
// stride 1 but channels change: no skip
static_assert(!at::mbconv<24, 3, 1>::has_skip(at::shape{16, 8, 8}));
// expand ratio 1 leaves out the expansion conv: depthwise (72 + 16) + project (64 + 16)
using mb_e1 = at::mbconv<8, 3, 1, 1>;
static_assert(mb_e1::body::size == 5);
static_assert(mb_e1::cost_of(at::shape{8, 4, 4}).params == 8 * 9 + 16 + 8 * 8 + 16);

TEST_CASE("the inverted residual adds its input exactly when stride is 1 and channels are unchanged") {
    constexpr at::shape in{4, 5, 5};
    using blk = at::mbconv<4, 3, 1, 2>;
    at::network<in, blk> with{at::seed{3}};
    at::network<in, blk::body> without{at::seed{3}};  // same layout: the skip has no parameters
    REQUIRE(with.params().size() == without.params().size());
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({2, 4, 5, 5});
    at::rng r{at::seed{8}};
    for (auto& v : x) v = r.uniform(-2.0f, 2.0f);
    const auto y = with.forward(x);
    const auto b = without.forward(x);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(y.data()[i] - b.data()[i] == doctest::Approx(x.data()[i]).epsilon(1e-6));
    // the body is not trivial: it changes its input
    double diff = 0;
    for (std::size_t i = 0; i < x.size(); ++i) diff += std::abs(b.data()[i]);
    CHECK(diff > 1.0);
}

TEST_CASE("gradients of inverted residuals agree with finite differences") {
    // tanh in place of the ReLUs: the block's structure is what is checked here (activations have their
    // own tests), and with ReLU kinks among a few hundred hidden values finite differences are off by
    // up to 0.1 at any eps. eps 1e-3; observed errors <= 5.1e-4 in training mode (batch statistics).
    auto check = []<at::shape S, class D>(std::size_t batch) {
        const auto r = at::test::gradcheck<S, D>(batch, 1, true, 1e-3f);
        CHECK(r.max_input_error < 1e-3);
        CHECK(r.max_param_error < 1e-3);
    };
    check.operator()<at::shape{4, 5, 5}, at::mbconv<4, 3, 1, 2, at::tanh>>(2);  // skip
    check.operator()<at::shape{3, 5, 5}, at::mbconv<6, 3, 2, 2, at::tanh>>(2);  // stride 2, no skip
    check.operator()<at::shape{3, 4, 4}, at::mbconv<3, 5, 1, 1, at::tanh>>(2);  // no expansion conv
    check.operator()<at::shape{3, 4, 4}, at::identity_or_project<5, 2>>(2);
}

TEST_CASE("blocks spell their own names") {
    CHECK(at::mbconv<16, 3, 1, 3, at::relu>::spelling() == "archetype::mbconv<16, 3, 1, 3, archetype::relu>");
    CHECK(at::relu_conv_bn_same<3>::spelling() == "archetype::relu_conv_bn_same<3, 1>");
    CHECK(iop::spelling() == "archetype::identity_or_project<64, 2>");
}
