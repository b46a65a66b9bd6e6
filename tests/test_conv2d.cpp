// conv2d and depthwise_conv2d: shapes and costs, expected_input, hand-computed outputs, the fast kernels
// against the plain reference loops (forward, input, weight and bias gradients) over a spread of
// geometries, finite differences, initialisation, threading and the dx == null path.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "archetype/graph/sequential.hpp"
#include "archetype/layers/conv2d.hpp"
#include "support/gradcheck.hpp"
#include "support/random_data.hpp"

namespace at = archetype;
using test_support::rel_error;
using test_support::uniform_vector;

// LeNet-5 on 1×28×28.
static_assert(at::conv2d<6, 5>::output(at::shape{1, 28, 28}) == at::shape{6, 24, 24});
static_assert(at::conv2d<6, 5>::cost_of(at::shape{1, 28, 28}) == at::cost{6 * 25 + 6, 86400, 6 * 24 * 24});
static_assert(at::conv2d<16, 5>::cost_of(at::shape{6, 12, 12}) == at::cost{16 * 6 * 25 + 16, 153600, 16 * 64});
// groups 2, stride 2, pad 1, dilation 2 (extent 5), no bias on 4×7×5: out 3×2
static_assert(at::conv2d<4, 3, 2, 1, 2, 2, false>::output(at::shape{4, 7, 5}) == at::shape{4, 3, 2});
static_assert(at::conv2d<4, 3, 2, 1, 2, 2, false>::cost_of(at::shape{4, 7, 5}) == at::cost{72, 72 * 6, 24});
static_assert(at::conv2d<2, 1, 3>::output(at::shape{3, 7, 5}) == at::shape{2, 3, 2});
static_assert(at::conv2d<3, 5, 1, 2>::output(at::shape{2, 7, 5}) == at::shape{3, 7, 5});
// depthwise, multiplier 2: 6 filters of 1×3×3
static_assert(at::depthwise_conv2d<3, 1, 1, 1, 2>::output(at::shape{3, 5, 5}) == at::shape{6, 5, 5});
static_assert(at::depthwise_conv2d<3, 1, 1, 1, 2>::cost_of(at::shape{3, 5, 5}) == at::cost{60, 54 * 25, 150});
static_assert(at::depthwise_conv2d<3, 2>::cost_of(at::shape{4, 7, 5}) == at::cost{40, 36 * 6, 4 * 3 * 2});

// expected_input: accepted shapes come back unchanged, others as the nearest accepted shape
static_assert(at::conv2d<6, 5>::expected_input(at::shape{1, 28, 28}) == at::shape{1, 28, 28});
static_assert(at::conv2d<4, 3, 1, 0, 1, 2>::expected_input(at::shape{3, 8, 8}) == at::shape{4, 8, 8});
static_assert(at::conv2d<6, 3, 1, 0, 1, 3>::expected_input(at::shape{7, 8, 8}) == at::shape{9, 8, 8});
static_assert(at::conv2d<6, 5>::expected_input(at::shape{1, 3, 4}) == at::shape{1, 5, 5});
static_assert(at::conv2d<6, 5, 1, 1>::expected_input(at::shape{1, 2, 4}) == at::shape{1, 3, 4});
static_assert(at::conv2d<2, 3, 1, 0, 2>::expected_input(at::shape{1, 4, 9}) == at::shape{1, 5, 9});
static_assert(at::conv2d<2, 3, 1, 2>::expected_input(at::shape{1, 1, 1}) == at::shape{1, 1, 1});
static_assert(at::depthwise_conv2d<5, 1, 1>::expected_input(at::shape{3, 2, 7}) == at::shape{3, 3, 7});
// in a sequential, the first rejecting layer is found (and check_input_shape stops compilation there)
static_assert(at::sequential<at::conv2d<4, 3>, at::conv2d<6, 3, 1, 0, 1, 3>>::first_mismatch(at::shape{1, 9, 9}) == 1);
static_assert(at::sequential<at::conv2d<4, 3>, at::conv2d<4, 8>>::first_mismatch(at::shape{1, 9, 9}) == 1);
static_assert(at::sequential<at::conv2d<4, 3>, at::conv2d<4, 5>>::first_mismatch(at::shape{1, 9, 9}) == 2);

TEST_CASE("spelling names every template argument") {
    CHECK(at::conv2d<6, 5>::spelling() == "archetype::conv2d<6, 5, 1, 0, 1, 1, true>");
    CHECK(at::conv2d<4, 3, 2, 1, 2, 2, false>::spelling() == "archetype::conv2d<4, 3, 2, 1, 2, 2, false>");
    CHECK(at::depthwise_conv2d<3, 1, 1, 1, 2>::spelling() == "archetype::depthwise_conv2d<3, 1, 1, 1, 2, true>");
}

namespace {

// Runs net on x (one batch) after setting its parameters to p; returns the output.
template <at::shape In, class D>
std::vector<float> run(const std::vector<float>& p, const std::vector<float>& x) {
    at::network<In, D> net;
    REQUIRE(net.params().size() == p.size());
    std::copy(p.begin(), p.end(), net.params().begin());
    const std::size_t n = x.size() / In.size(), ny = n * net.output_shape.size();
    const float* y = net.forward_raw(x.data(), n, false);
    return {y, y + ny};
}


// Forward, input gradient and parameter gradients of the layer against kernels::reference, batch n.
template <at::shape In, class D>
void check_against_reference(std::size_t n, std::uint64_t s = 1) {
    using net_t = at::network<In, D>;
    constexpr auto g = D::geometry(In);
    constexpr std::size_t nw = g.weight_count(), in = In.size(), out = net_t::output_shape.size();
    constexpr bool bias = net_t::param_count > nw;
    static_assert(net_t::param_count == nw + (bias ? std::size_t(g.out) : 0));
    net_t net{at::seed{s}};
    at::rng r(at::seed{s + 99});
    const auto x = uniform_vector(n * in, r), dy = uniform_vector(n * out, r);
    const float* w = net.params().data();
    const float* b = bias ? w + nw : nullptr;

    std::vector<float> y_ref(n * out), dx_ref(n * in), dw_ref(net_t::param_count);
    for (std::size_t i = 0; i < n; ++i) {
        at::kernels::reference::conv2d_forward(g, x.data() + i * in, w, b, y_ref.data() + i * out);
        at::kernels::reference::conv2d_backward(g, x.data() + i * in, w, dy.data() + i * out, dx_ref.data() + i * in,
                                                dw_ref.data(), bias ? dw_ref.data() + nw : nullptr);
    }
    const float* y = net.forward_raw(x.data(), n, true);
    CHECK(rel_error({y, y + n * out}, y_ref) < 5e-6);
    std::vector<float> dx(n * in, 123.0f);  // backward overwrites dx
    net.backward_raw(dy.data(), dx.data());
    CHECK(rel_error(dx, dx_ref) < 5e-6);
    CHECK(rel_error({net.grads().begin(), net.grads().end()}, dw_ref) < 5e-6);
}

}  // namespace

TEST_CASE("hand-computed outputs") {
    const std::vector<float> x9 = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // one channel, 3×3
    // 2×2 kernel, bias 0.5: y00 = 1·1 + 2·2 + 3·4 + 4·5 + 0.5
    CHECK(run<at::shape{1, 3, 3}, at::conv2d<1, 2>>({1, 2, 3, 4, 0.5f}, x9) ==
          std::vector<float>{37.5f, 47.5f, 67.5f, 77.5f});
    // 3×3 ones, stride 2, pad 1: sums of the clipped neighbourhoods of the four corners
    CHECK(run<at::shape{1, 3, 3}, at::conv2d<1, 3, 2, 1, 1, 1, false>>(std::vector<float>(9, 1.0f), x9) ==
          std::vector<float>{12, 16, 24, 28});
    // dilation 2: the 2×2 kernel reads the four corners
    CHECK(run<at::shape{1, 3, 3}, at::conv2d<1, 2, 1, 0, 2, 1, false>>({1, 2, 3, 4}, x9) == std::vector<float>{64});
    // two groups of 1×1: each output sees only its own channel
    CHECK(run<at::shape{2, 1, 2}, at::conv2d<2, 1, 1, 0, 1, 2, false>>({10, 100}, {1, 2, 3, 4}) ==
          std::vector<float>{10, 20, 300, 400});
    // depthwise, multiplier 2: outputs 2c and 2c+1 read channel c
    CHECK(run<at::shape{2, 1, 1}, at::depthwise_conv2d<1, 1, 0, 1, 2>>({1, 2, 3, 4, 0.25f, 0.5f, 0.75f, 1}, {1, 2}) ==
          std::vector<float>{1.25f, 2.5f, 6.75f, 9});
    // stride 3 on 1×4×4 with a 1×1 kernel picks rows/columns 0 and 3; batch of 2
    std::vector<float> x16(32);
    for (std::size_t i = 0; i < 32; ++i) x16[i] = float(i);
    CHECK(run<at::shape{1, 4, 4}, at::conv2d<1, 1, 3, 0, 1, 1, false>>({2}, x16) ==
          std::vector<float>{0, 6, 24, 30, 32, 38, 56, 62});
}

TEST_CASE("fast kernels agree with the reference loops") {
    check_against_reference<at::shape{1, 28, 28}, at::conv2d<6, 5>>(3);
    check_against_reference<at::shape{6, 12, 12}, at::conv2d<16, 5>>(1);
    check_against_reference<at::shape{3, 7, 5}, at::conv2d<5, 3>>(3);
    check_against_reference<at::shape{3, 7, 5}, at::conv2d<4, 3, 2, 1, 1, 1, false>>(3);
    check_against_reference<at::shape{4, 7, 5}, at::conv2d<6, 3, 3, 2, 2, 2>>(3);
    check_against_reference<at::shape{4, 7, 5}, at::conv2d<4, 5, 1, 2, 1, 2, false>>(1);
    check_against_reference<at::shape{2, 7, 5}, at::conv2d<3, 1>>(3);                 // pointwise, odd plane
    check_against_reference<at::shape{8, 4, 4}, at::conv2d<4, 1, 1, 0, 1, 2>>(3);     // pointwise, plane 16
    check_against_reference<at::shape{2, 7, 5}, at::conv2d<3, 1, 2, 1>>(3);           // 1×1 reading padding
    check_against_reference<at::shape{3, 2, 2}, at::conv2d<2, 3, 1, 2, 2>>(3);        // windows only in padding
    check_against_reference<at::shape{3, 7, 5}, at::depthwise_conv2d<3, 1, 1>>(3);
    check_against_reference<at::shape{3, 7, 5}, at::depthwise_conv2d<5, 2, 2, 1, 2, false>>(3);
    check_against_reference<at::shape{2, 9, 9}, at::depthwise_conv2d<3, 3, 0, 2, 1>>(3);
    check_against_reference<at::shape{20, 9, 11}, at::conv2d<36, 3, 1, 1>>(2);         // tiles and tails
}

TEST_CASE("gradients agree with finite differences") {
    using at::test::check_gradients;
    check_gradients<at::shape{1, 8, 8}, at::conv2d<2, 5>>(1, 1e-4);
    check_gradients<at::shape{3, 7, 5}, at::conv2d<4, 3, 2, 1>>(3, 1e-4);
    check_gradients<at::shape{4, 7, 5}, at::conv2d<4, 3, 2, 1, 2, 2, false>>(3, 1e-4);
    check_gradients<at::shape{2, 6, 7}, at::conv2d<2, 3, 3, 2, 1, 2>>(3, 1e-4);
    check_gradients<at::shape{2, 7, 5}, at::conv2d<3, 1>>(3, 1e-4);
    check_gradients<at::shape{3, 7, 5}, at::depthwise_conv2d<3, 1, 1>>(3, 1e-4);
    check_gradients<at::shape{2, 7, 5}, at::depthwise_conv2d<3, 2, 1, 2, 2>>(3, 1e-4);
}

TEST_CASE("initialisation draws PyTorch's bounds from the seed, weights first then bias") {
    using net_t = at::network<at::shape{4, 9, 9}, at::conv2d<6, 3, 1, 0, 1, 2>>;
    net_t net{at::seed{11}};
    const float bound = 1.0f / std::sqrt(float(2 * 3 * 3));  // fan_in = (4/2)·3·3
    at::rng g(at::seed{11});
    auto p = net.params();
    REQUIRE(p.size() == 6 * 2 * 9 + 6);
    float largest = 0;
    for (float v : p) {
        CHECK(v == g.uniform(-bound, bound));
        largest = std::max(largest, std::abs(v));
    }
    CHECK(largest <= bound);
    CHECK(largest > 0.9f * bound);
}

TEST_CASE("results do not depend on the thread count, and dx may be skipped") {
    using net_t = at::network<at::shape{4, 9, 7}, at::conv2d<6, 3, 2, 1, 1, 2>>;
    constexpr std::size_t n = 5;
    at::rng r(at::seed{3});
    const auto x = uniform_vector(n * 4 * 9 * 7, r), dy = uniform_vector(n * net_t::output_shape.size(), r);
    at::thread_pool pool(3);
    net_t serial{at::seed{4}}, threaded{at::seed{4}, &pool}, no_dx{at::seed{4}};
    const float* ys = serial.forward_raw(x.data(), n, true);
    const float* yt = threaded.forward_raw(x.data(), n, true);
    CHECK(std::equal(ys, ys + n * net_t::output_shape.size(), yt));
    std::vector<float> dxs(x.size()), dxt(x.size());
    serial.backward_raw(dy.data(), dxs.data());
    threaded.backward_raw(dy.data(), dxt.data());
    CHECK(dxs == dxt);
    CHECK(std::equal(serial.grads().begin(), serial.grads().end(), threaded.grads().begin()));
    no_dx.forward_raw(x.data(), n, true);
    no_dx.backward_raw(dy.data());
    CHECK(std::equal(serial.grads().begin(), serial.grads().end(), no_dx.grads().begin()));
    // a second backward adds the same gradient again
    const std::vector<float> once(serial.grads().begin(), serial.grads().end());
    serial.backward_raw(dy.data(), dxs.data());
    for (std::size_t i = 0; i < once.size(); ++i)
        CHECK(serial.grads()[i] == doctest::Approx(2 * once[i]).epsilon(1e-5));
}

namespace {

// The weight gradient over fixed sample groups (kernels/conv2d_weight_grad.hpp), through the layer: the
// same bits on 1, 2 and 3 threads, and within rounding of the one-chain kernel over the whole batch
// (conv2d_backward_weights, the layer's previous split of channels) and of the reference loops.
template <at::shape In, class D>
void check_grouped_weight_gradient(std::size_t n) {
    using net_t = at::network<In, D>;
    constexpr auto g = D::geometry(In);
    static_assert(at::kernels::conv2d_weight_grad_grouped<g>);
    constexpr std::size_t nw = g.weight_count(), in = In.size(), out = net_t::output_shape.size();
    constexpr bool bias = net_t::param_count > nw;
    CAPTURE(n);
    at::rng r(at::seed{n + 5});
    const auto x = uniform_vector(n * in, r), dy = uniform_vector(n * out, r);
    at::thread_pool two(2), three(3);
    net_t serial{at::seed{7}}, on_two{at::seed{7}, &two}, on_three{at::seed{7}, &three};
    std::vector<std::vector<float>> grads, dxs;
    for (net_t* net : {&serial, &on_two, &on_three}) {
        net->forward_raw(x.data(), n, true);
        dxs.emplace_back(n * in, 123.0f);  // with the input gradient (computed with the groups when fused)
        net->backward_raw(dy.data(), dxs.back().data());
        grads.emplace_back(net->grads().begin(), net->grads().end());
    }
    CHECK(grads[0] == grads[1]);
    CHECK(grads[0] == grads[2]);
    CHECK(dxs[0] == dxs[1]);
    CHECK(dxs[0] == dxs[2]);
    net_t no_dx{at::seed{7}, &two};  // without the input gradient: the same parameter gradients
    no_dx.forward_raw(x.data(), n, true);
    no_dx.backward_raw(dy.data());
    CHECK(std::equal(grads[0].begin(), grads[0].end(), no_dx.grads().begin()));

    std::vector<float> one_chain(net_t::param_count, 0.0f), ref(net_t::param_count, 0.0f), dx_ref(n * in);
    at::kernels::conv2d_backward_weights<g>(x.data(), dy.data(), n, one_chain.data(), bias ? one_chain.data() + nw : nullptr);
    const float* w = serial.params().data();
    for (std::size_t i = 0; i < n; ++i)
        at::kernels::reference::conv2d_backward(g, x.data() + i * in, w, dy.data() + i * out, dx_ref.data() + i * in,
                                                ref.data(), bias ? ref.data() + nw : nullptr);
    CHECK(rel_error(grads[0], one_chain) < 5e-6);
    CHECK(rel_error(grads[0], ref) < (n > 64 ? 2e-5 : 5e-6));  // the reference adds into dw in float
    CHECK(rel_error(dxs[0], dx_ref) < 5e-6);
    // more than one group whenever the batch has more than 16 samples, so the groups were really summed
    const std::size_t per = at::kernels::conv2d_weight_grad_group_size<g>(n);
    CHECK(per % 16 == 0);
    CHECK((n + per - 1) / per <= 8);
    if (n > 16) CHECK(per < n);
}

}  // namespace

TEST_CASE("horizontal_sums: sum j is the sum of vector j") {
    namespace cd = at::kernels::conv_detail;
    constexpr int n = cd::lanes;
    at::rng r(at::seed{2});
    std::vector<float> v(n * n), sums(n);
    for (int j = 0; j < n; ++j)
        for (int l = 0; l < n; ++l) v[std::size_t(j * n + l)] = float(j + 1) * 100.0f + r.uniform(-1.0f, 1.0f);
    cd::horizontal_sums(v.data(), sums.data());
    for (int j = 0; j < n; ++j) {
        double ref = 0;
        for (int l = 0; l < n; ++l) ref += v[std::size_t(j * n + l)];
        CHECK(sums[std::size_t(j)] == doctest::Approx(ref).epsilon(1e-6));
    }
}

TEST_CASE("weight gradients over fixed sample groups: the same bits for any thread count") {
    // both methods are exercised below: LeNet's conv1 (and two others) without im2col, conv2 with it
    namespace cd = at::kernels::conv_detail;
    CHECK(cd::wgrad_implicit<at::conv2d<6, 5>::geometry(at::shape{1, 28, 28})>::wins);
    CHECK(cd::wgrad_implicit<at::conv2d<4, 3, 1, 1, 1, 2>::geometry(at::shape{4, 16, 16})>::wins);
    CHECK_FALSE(cd::wgrad_implicit<at::conv2d<16, 5>::geometry(at::shape{6, 12, 12})>::wins);
    CHECK_FALSE(cd::wgrad_implicit<at::conv2d<6, 3, 2, 1, 1, 2, false>::geometry(at::shape{4, 7, 5})>::wins);
    for (std::size_t n : {1, 16, 37, 64, 200}) {
        check_grouped_weight_gradient<at::shape{1, 28, 28}, at::conv2d<6, 5>>(n);   // LeNet conv1
        check_grouped_weight_gradient<at::shape{6, 12, 12}, at::conv2d<16, 5>>(n);  // LeNet conv2
    }
    // groups, padding, stride, dilation and rows that are not a multiple of the vector width; no bias; some
    // of these (LeNet's conv1 too) take the implicit path, without im2col (wgrad_implicit)
    check_grouped_weight_gradient<at::shape{4, 7, 5}, at::conv2d<6, 3, 2, 1, 1, 2, false>>(37);
    check_grouped_weight_gradient<at::shape{3, 9, 11}, at::conv2d<5, 3, 1, 1>>(41);
    check_grouped_weight_gradient<at::shape{4, 16, 16}, at::conv2d<4, 3, 1, 1, 1, 2>>(33);
    check_grouped_weight_gradient<at::shape{2, 12, 20}, at::conv2d<3, 5, 1, 0, 2>>(20);  // dilated
}
