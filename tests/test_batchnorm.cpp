// batch_norm: costs and layout, forward values and running statistics computed by hand (training and
// inference, flat and spatial), gradients by hand and by finite differences, the single-value error,
// and thread independence.
#include <doctest/doctest.h>

#include <cmath>
#include <initializer_list>
#include <span>
#include <vector>

#include "archetype/graph/sequential.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/dense.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;

static_assert(at::batch_norm::output(at::shape{3, 5, 7}) == at::shape{3, 5, 7});
static_assert(at::batch_norm::cost_of(at::shape{3, 5, 7}) == at::cost{6, 0, 105});
static_assert(at::batch_norm::cost_of(at::shape{4, 1, 1}) == at::cost{8, 0, 4});
static_assert(at::network<at::shape{3, 5, 7}, at::batch_norm>::param_count == 6);
static_assert(at::network<at::shape{3, 5, 7}, at::batch_norm>::state_count == 6);
static_assert(at::batch_norm::op<at::shape{3, 5, 7}>::work_size(10) == 6);

namespace {

double bn(double x, double mean, double var, double gamma, double beta) {
    return gamma * (x - mean) / std::sqrt(var + 1e-5) + beta;
}

void set(std::span<float> dst, std::initializer_list<float> v) {
    REQUIRE(dst.size() == v.size());
    std::copy(v.begin(), v.end(), dst.begin());
}

}  // namespace

TEST_CASE("batch_norm starts as PyTorch: gamma 1, beta 0, running mean 0, running var 1") {
    at::network<at::shape{3, 2, 2}, at::batch_norm> net{at::seed{9}};
    CHECK(std::vector<float>(net.params().begin(), net.params().end()) == std::vector<float>{1, 1, 1, 0, 0, 0});
    CHECK(std::vector<float>(net.state().begin(), net.state().end()) == std::vector<float>{0, 0, 0, 1, 1, 1});
}

TEST_CASE("batch_norm on flat samples (BatchNorm1d): two training steps, then inference, by hand") {
    using net_t = at::network<at::shape{2, 1, 1}, at::batch_norm>;
    net_t net;
    set(net.params(), {2.0f, 1.0f, 0.5f, -1.0f});  // gamma {2, 1}, beta {0.5, −1}
    // batch of 4, layout [sample][channel]: channel 0 = {1, 2, 3, 6}, channel 1 = {−1, −1, 1, 1}
    const std::vector<float> x1{1, -1, 2, -1, 3, 1, 6, 1};
    const float* y = net.forward_raw(x1.data(), 4, true);
    for (int n = 0; n < 4; ++n) {
        // channel 0: mean 3, biased var 3.5; channel 1: mean 0, var 1
        CHECK(y[2 * n] == doctest::Approx(bn(x1[2 * n], 3, 3.5, 2, 0.5)).epsilon(1e-6));
        CHECK(y[2 * n + 1] == doctest::Approx(bn(x1[2 * n + 1], 0, 1, 1, -1)).epsilon(1e-6));
    }
    auto st = net.state();
    // running = 0.9 running + 0.1 batch, with unbiased variances 14/3 and 4/3
    CHECK(st[0] == doctest::Approx(0.3).epsilon(1e-7));
    CHECK(st[1] == doctest::Approx(0.0).epsilon(1e-7));
    CHECK(st[2] == doctest::Approx(0.9 + 0.1 * 14.0 / 3.0).epsilon(1e-7));
    CHECK(st[3] == doctest::Approx(0.9 + 0.1 * 4.0 / 3.0).epsilon(1e-7));

    // second step: channel 0 = {0, 0, 0, 4} (mean 1, var 3, unbiased 4); channel 1 constant 2 (var 0)
    const std::vector<float> x2{0, 2, 0, 2, 0, 2, 4, 2};
    y = net.forward_raw(x2.data(), 4, true);
    CHECK(y[0] == doctest::Approx(bn(0, 1, 3, 2, 0.5)).epsilon(1e-6));
    CHECK(y[6] == doctest::Approx(bn(4, 1, 3, 2, 0.5)).epsilon(1e-6));
    for (int n = 0; n < 4; ++n) CHECK(y[2 * n + 1] == -1.0f);  // x − mean = 0 exactly: y = beta
    CHECK(st[0] == doctest::Approx(0.9 * 0.3 + 0.1 * 1).epsilon(1e-7));                     // 0.37
    CHECK(st[1] == doctest::Approx(0.9 * 0.0 + 0.1 * 2).epsilon(1e-7));                     // 0.2
    CHECK(st[2] == doctest::Approx(0.9 * (0.9 + 0.1 * 14.0 / 3.0) + 0.1 * 4).epsilon(1e-7));  // 1.63
    CHECK(st[3] == doctest::Approx(0.9 * (0.9 + 0.1 * 4.0 / 3.0) + 0.1 * 0).epsilon(1e-7));   // 0.93

    // inference uses the running statistics and leaves them alone; a batch of 1 is fine
    const std::vector<float> state_before(st.begin(), st.end());
    const std::vector<float> x3{1.37f, -0.8f};
    y = net.forward_raw(x3.data(), 1, false);
    CHECK(y[0] == doctest::Approx(bn(1.37, 0.37, 1.63, 2, 0.5)).epsilon(1e-6));
    CHECK(y[1] == doctest::Approx(bn(-0.8, 0.2, 0.93, 1, -1)).epsilon(1e-6));
    CHECK(std::vector<float>(st.begin(), st.end()) == state_before);
}

TEST_CASE("batch_norm on spatial samples normalises each channel over batch, height and width") {
    using net_t = at::network<at::shape{2, 1, 2}, at::batch_norm>;
    net_t net;
    // sample 0: channel 0 {1, 3}, channel 1 {0, 0}; sample 1: channel 0 {5, 7}, channel 1 {2, −2}
    const std::vector<float> x{1, 3, 0, 0, 5, 7, 2, -2};
    const float* y = net.forward_raw(x.data(), 2, true);
    // channel 0 = {1, 3, 5, 7}: mean 4, var 5 (unbiased 20/3); channel 1 = {0, 0, 2, −2}: mean 0, var 2 (8/3)
    const double mean[2] = {4, 0}, var[2] = {5, 2};
    for (int n = 0; n < 2; ++n)
        for (int c = 0; c < 2; ++c)
            for (int w = 0; w < 2; ++w) {
                const int i = n * 4 + c * 2 + w;
                CHECK(y[i] == doctest::Approx(bn(x[i], mean[c], var[c], 1, 0)).epsilon(1e-6));
            }
    auto st = net.state();
    CHECK(st[0] == doctest::Approx(0.4).epsilon(1e-7));
    CHECK(st[1] == doctest::Approx(0.0).epsilon(1e-7));
    CHECK(st[2] == doctest::Approx(0.9 + 0.1 * 20.0 / 3.0).epsilon(1e-7));
    CHECK(st[3] == doctest::Approx(0.9 + 0.1 * 8.0 / 3.0).epsilon(1e-7));
}

TEST_CASE("batch_norm gradients by hand: inference is affine, training goes through the batch statistics") {
    using net_t = at::network<at::shape{1, 1, 1}, at::batch_norm>;
    const std::vector<float> x{1, 2, 3, 6};  // mean 3, biased var 3.5
    const std::vector<float> dy{1, 0, 0, 0};
    std::vector<float> dx(4);
    const double inv_std = 1.0 / std::sqrt(3.5 + 1e-5);
    const double xhat0 = -2 * inv_std;

    SUBCASE("training") {
        net_t net;
        set(net.params(), {2.0f, 0.0f});
        net.forward_raw(x.data(), 4, true);
        net.backward_raw(dy.data(), dx.data());
        // dx_i = gamma·inv_std·(dy_i − Σdy/4 − xhat_i·Σ(dy·xhat)/4), Σdy = 1, Σ(dy·xhat) = xhat_0
        for (std::size_t i = 0; i < 4; ++i) {
            const double xhat = (x[i] - 3) * inv_std;
            CHECK(dx[i] == doctest::Approx(2 * inv_std * (dy[i] - 0.25 - xhat * xhat0 / 4)).epsilon(1e-6));
        }
        CHECK(net.grads()[0] == doctest::Approx(xhat0).epsilon(1e-6));  // dgamma = Σ dy·xhat
        CHECK(net.grads()[1] == 1.0f);                                  // dbeta = Σ dy
        // parameter gradients accumulate; dx may be skipped
        net.backward_raw(dy.data(), nullptr);
        CHECK(net.grads()[0] == doctest::Approx(2 * xhat0).epsilon(1e-6));
        CHECK(net.grads()[1] == 2.0f);
    }
    SUBCASE("inference") {
        net_t net;
        set(net.params(), {2.0f, 0.0f});
        set(net.state(), {0.5f, 4.0f});  // running mean 0.5, running var 4
        net.forward_raw(x.data(), 4, false);
        net.backward_raw(dy.data(), dx.data());
        const double s = 1.0 / std::sqrt(4 + 1e-5);
        for (std::size_t i = 0; i < 4; ++i) CHECK(dx[i] == doctest::Approx(2 * s * dy[i]).epsilon(1e-6));
        CHECK(net.grads()[0] == doctest::Approx((1 - 0.5) * s).epsilon(1e-6));
        CHECK(net.grads()[1] == 1.0f);
    }
}

TEST_CASE("batch_norm refuses to train on one value per channel, as PyTorch does") {
    at::network<at::shape{3, 1, 1}, at::batch_norm> flat;
    const std::vector<float> x{1, 2, 3, 4, 5, 6};
    CHECK_THROWS_WITH_AS(flat.forward_raw(x.data(), 1, true),
                         doctest::Contains("more than 1 value per channel when training"), at::error);
    CHECK_THROWS_WITH_AS(flat.forward_raw(x.data(), 1, true), doctest::Contains("at least 2 samples"), at::error);
    CHECK_NOTHROW(flat.forward_raw(x.data(), 1, false));
    CHECK_NOTHROW(flat.forward_raw(x.data(), 2, true));
    at::network<at::shape{3, 2, 1}, at::batch_norm> spatial;  // 2 values per channel in one sample
    CHECK_NOTHROW(spatial.forward_raw(x.data(), 1, true));
}

TEST_CASE("batch_norm gradients agree with finite differences in training and inference") {
    using namespace at::test;
    // Errors are relative to the largest gradient entry; observed ≤ 2e-4 (eps 1e-2). A flat batch of 2
    // is left out on purpose: there each normalised value is ±1 up to eps, so the input gradient is ~0
    // and finite differences measure only rounding.
    constexpr double tol = 5e-4;
    check_gradients<at::shape{3, 5, 7}, at::batch_norm>(1, tol, true, 1);
    check_gradients<at::shape{3, 5, 7}, at::batch_norm>(3, tol, true, 2);
    check_gradients<at::shape{4, 1, 1}, at::batch_norm>(3, tol, true, 3);
    check_gradients<at::shape{4, 1, 1}, at::batch_norm>(7, tol, true, 4);
    check_gradients<at::shape{3, 5, 7}, at::batch_norm>(1, tol, false, 5);
    check_gradients<at::shape{3, 5, 7}, at::batch_norm>(3, tol, false, 6);
    check_gradients<at::shape{4, 1, 1}, at::batch_norm>(1, tol, false, 7);
    check_gradients<at::shape{4, 1, 1}, at::batch_norm>(3, tol, false, 8);
    // through a preceding layer, so the dense weights see the batch-statistics gradient (eps 1e-3:
    // the dense outputs are small, and BN divides by their spread)
    const auto r = gradcheck<at::shape{6, 1, 1}, at::sequential<at::dense<4>, at::batch_norm, at::tanh>>(3, 9, true,
                                                                                                        1e-3f);
    CHECK(r.max_input_error < tol);
    CHECK(r.max_param_error < tol);
}

TEST_CASE("batch_norm gives the same bits with and without threads") {
    using net_t = at::network<at::shape{8, 9, 11}, at::batch_norm>;
    const std::size_t batch = 6, size = batch * 8 * 9 * 11;  // above parallel_threshold: threads run
    static_assert(6 * 8 * 9 * 11 >= at::batch_norm::parallel_threshold);
    at::rng g(at::seed{3});
    std::vector<float> x(size), dy(size), dxs(size), dxt(size);
    for (auto& v : x) v = g.uniform(-2.0f, 3.0f);
    for (auto& v : dy) v = g.uniform(-1.0f, 1.0f);
    at::thread_pool pool(3);
    net_t serial, threaded(at::seed{}, &pool);
    for (bool training : {true, false}) {
        CAPTURE(training);
        const float* ys = serial.forward_raw(x.data(), batch, training);
        const float* yt = threaded.forward_raw(x.data(), batch, training);
        CHECK(std::equal(ys, ys + size, yt));
        serial.backward_raw(dy.data(), dxs.data());
        threaded.backward_raw(dy.data(), dxt.data());
        CHECK(dxs == dxt);
        CHECK(std::equal(serial.grads().begin(), serial.grads().end(), threaded.grads().begin()));
        CHECK(std::equal(serial.state().begin(), serial.state().end(), threaded.state().begin()));
    }
}

TEST_CASE("batch_norm spelling") { CHECK(at::batch_norm::spelling() == "archetype::batch_norm"); }
