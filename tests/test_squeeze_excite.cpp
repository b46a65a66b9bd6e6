// excite<Gate> and squeeze_excite<Squeeze, Gate, Act>: squeeze-channel rules (torchvision's
// _make_divisible), shapes, hand-computed costs and their agreement with the composed type, a
// hand-worked forward, gradients of both paths against finite differences, parameter gradients
// without an input gradient, thread-count independence and spellings.
#include <doctest/doctest.h>

#include <cmath>
#include <type_traits>
#include <vector>

#include "archetype/blocks/squeeze_excite.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/identity.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;
using at::shape;

namespace {
// PyTorch's Hardsigmoid, relu6(x + 3) / 6, gradient 1/6 on (−3, 3): a gate MobileNetV3 uses.
struct hard_sigmoid_fn {
    static float f(float x) { return std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
    static float grad(float x, float, float dy) { return (x > -3.0f && x < 3.0f) ? dy / 6.0f : 0.0f; }
};
struct test_hard_sigmoid : at::detail::activation_layer<test_hard_sigmoid, hard_sigmoid_fn> {
    static std::string spelling() { return "test_hard_sigmoid"; }
};
}  // namespace

// torchvision MobileNetV3-Large: _make_divisible(expanded // 4, 8) for 72, 120, 480, 672, 960 channels.
static_assert(at::squeeze_by<4, 8>::of(72) == 24);   // 18 -> 16 is below 90 % of 18: 24
static_assert(at::squeeze_by<4, 8>::of(120) == 32);
static_assert(at::squeeze_by<4, 8>::of(480) == 120);
static_assert(at::squeeze_by<4, 8>::of(672) == 168);
static_assert(at::squeeze_by<4, 8>::of(16) == 8);    // at least RoundTo
static_assert(at::squeeze_by<16>::of(64) == 4);
static_assert(at::squeeze_by<16>::of(8) == 1);       // at least one channel
static_assert(at::squeeze_to<3>::of(100) == 3);

using se_t = at::squeeze_excite<at::squeeze_by<2>>;  // C = 8 -> S = 4
static_assert(se_t::output(shape{8, 5, 5}) == shape{8, 5, 5});
// gap 8 acts; dense 8->4: 36 params, 32 MACs, 4 acts; relu 4; dense 4->8: 40 params, 32 MACs, 8 acts;
// sigmoid 8; product 200
static_assert(se_t::cost_of(shape{8, 5, 5}) == at::cost{76, 64, 8 + 4 + 4 + 8 + 8 + 200});
static_assert(se_t::cost_of(shape{8, 5, 5}) ==
              at::excite<at::sequential<at::global_avg_pool, at::dense<4>, at::relu, at::dense<8>, at::sigmoid>>::
                  cost_of(shape{8, 5, 5}));
static_assert(at::network<shape{8, 5, 5}, se_t>::param_count == 76);
// MobileNetV3's SE on 72 channels: 72*24 + 24 + 24*72 + 72 params
using se_v3 = at::squeeze_excite<at::squeeze_by<4, 8>, test_hard_sigmoid>;
static_assert(se_v3::cost_of(shape{72, 7, 7}).params == 72 * 24 + 24 + 24 * 72 + 72);
static_assert(se_v3::cost_of(shape{72, 7, 7}) ==
              at::excite<at::sequential<at::global_avg_pool, at::dense<24>, at::relu, at::dense<72>,
                                        test_hard_sigmoid>>::cost_of(shape{72, 7, 7}));
// excite on its own: the gate's cost plus the product
using gap_gate = at::excite<at::global_avg_pool>;
static_assert(gap_gate::cost_of(shape{3, 4, 2}) == at::cost{0, 0, 3 + 24});

TEST_CASE("excite multiplies each channel by its gate: y = x * mean(x) with a pooling gate") {
    at::network<shape{2, 1, 3}, gap_gate> net;
    const std::vector<float> x = {1, 2, 3, -1, 0, 4, /* sample 2 */ 2, 2, 2, 3, -3, 6};
    const float* y = net.forward_raw(x.data(), 2, true);
    const std::vector<float> want = {2, 4, 6, -1, 0, 4, 4, 4, 4, 6, -6, 12};  // means 2, 1; 2, 2
    for (std::size_t i = 0; i < want.size(); ++i) CHECK(y[i] == doctest::Approx(want[i]).epsilon(1e-6));
    // d/dx of x·mean(x) with dy = 1 everywhere: mean + Σx / 3 = 2·mean per element
    const std::vector<float> dy(12, 1.0f);
    std::vector<float> dx(12);
    net.backward_raw(dy.data(), dx.data());
    const std::vector<float> want_dx = {4, 4, 4, 2, 2, 2, 4, 4, 4, 4, 4, 4};
    for (std::size_t i = 0; i < want_dx.size(); ++i) CHECK(dx[i] == doctest::Approx(want_dx[i]).epsilon(1e-6));
}

TEST_CASE("squeeze_excite computes sigmoid(fc2(relu(fc1(mean)))) * x with torchvision's parameter order") {
    using se1 = at::squeeze_excite<at::squeeze_to<1>>;
    at::network<shape{2, 1, 2}, se1> net;
    auto p = net.params();
    REQUIRE(p.size() == 2 + 1 + 2 + 2);
    const float w[] = {0.5f, -1.0f, 0.25f, /* fc2 */ 1.0f, -2.0f, 0.0f, 1.0f};
    std::copy(std::begin(w), std::end(w), p.begin());
    const std::vector<float> x = {1, 3, -2, 0};  // channel means 2 and -1
    const float* y = net.forward_raw(x.data(), 1, false);
    const double z = 0.5 * 2 + 1.0 + 0.25;  // relu(fc1) = 2.25
    const double g0 = 1 / (1 + std::exp(-z)), g1 = 1 / (1 + std::exp(-(-2 * z + 1)));
    const double want[] = {1 * g0, 3 * g0, -2 * g1, 0};
    for (std::size_t i = 0; i < 4; ++i) CHECK(y[i] == doctest::Approx(want[i]).epsilon(1e-6));
}

TEST_CASE("gradients of excite and squeeze_excite agree with finite differences") {
    using namespace at::test;
    // eps 1e-2; errors relative to the largest gradient entry, observed over seeds 1-3: <= 4e-5 for
    // excite and SE alone, <= 3.2e-4 (parameters) behind conv + BN in training mode.
    // the gate sees x through a dense layer: both paths of x carry gradient
    check_gradients<shape{4, 3, 3}, at::excite<at::sequential<at::flatten, at::dense<4>, at::sigmoid>>>(2, 2e-4);
    check_gradients<shape{6, 5, 5}, at::squeeze_excite<at::squeeze_by<2>>>(2, 2e-4);
    check_gradients<shape{8, 6, 6}, at::squeeze_excite<at::squeeze_to<3>, test_hard_sigmoid, at::relu6>>(2, 2e-4);
    // SE after a convolution and BN in training mode, as inside MBConv
    check_gradients<shape{4, 5, 5}, at::sequential<at::conv2d<6, 3, 1, 1>, at::batch_norm,
                                                   at::squeeze_excite<at::squeeze_by<2>>>>(2, 1e-3);
}

TEST_CASE("excite accumulates the same parameter gradients when no input gradient is asked for") {
    using net_t = at::network<shape{6, 4, 4}, at::squeeze_excite<at::squeeze_by<2>>>;
    net_t net{at::seed{4}};
    at::rng g(at::seed{5});
    std::vector<float> x(3 * 96), dy(3 * 96), dx(3 * 96);
    for (auto& v : x) v = g.uniform(-1.0f, 1.0f);
    for (auto& v : dy) v = g.uniform(-1.0f, 1.0f);
    net.forward_raw(x.data(), 3, true);
    net.backward_raw(dy.data(), dx.data());
    const std::vector<float> with_dx(net.grads().begin(), net.grads().end());
    net.zero_grad();
    net.backward_raw(dy.data(), nullptr);
    CHECK(std::vector<float>(net.grads().begin(), net.grads().end()) == with_dx);
}

TEST_CASE("squeeze_excite gives bitwise the same results on 1 and 2 threads") {
    using net_t = at::network<shape{16, 32, 32}, at::squeeze_excite<at::squeeze_by<4>>>;  // above thresholds
    at::thread_pool pool(2);
    net_t serial{at::seed{2}}, threaded{at::seed{2}, &pool};
    at::rng g(at::seed{3});
    std::vector<float> x(2 * 16 * 32 * 32), dy(x.size()), dx1(x.size()), dx2(x.size());
    for (auto& v : x) v = g.uniform(-1.0f, 1.0f);
    for (auto& v : dy) v = g.uniform(-1.0f, 1.0f);
    const float* y1 = serial.forward_raw(x.data(), 2, true);
    const float* y2 = threaded.forward_raw(x.data(), 2, true);
    CHECK(std::equal(y1, y1 + x.size(), y2));
    serial.backward_raw(dy.data(), dx1.data());
    threaded.backward_raw(dy.data(), dx2.data());
    CHECK(dx1 == dx2);
    CHECK(std::equal(serial.grads().begin(), serial.grads().end(), threaded.grads().begin()));
}

// The spelling is the C++ text of the very type.
#define CHECK_SPELLING(T, ...)                      \
    static_assert(std::is_same_v<T, __VA_ARGS__>); \
    CHECK(T::spelling() == #__VA_ARGS__)

TEST_CASE("squeeze_excite and excite spell themselves as C++") {
    CHECK_SPELLING(se_t, archetype::squeeze_excite<archetype::squeeze_by<2, 1>, archetype::sigmoid, archetype::relu>);
    using se5 = at::squeeze_excite<at::squeeze_to<5>, at::sigmoid, at::relu6>;
    CHECK_SPELLING(se5, archetype::squeeze_excite<archetype::squeeze_to<5>, archetype::sigmoid, archetype::relu6>);
    CHECK_SPELLING(gap_gate, archetype::excite<archetype::global_avg_pool>);
}
