// max_pool, avg_pool and global_avg_pool: shapes and costs, expected_input, hand-computed outputs and
// gradients (ties, overlapping windows, padding), finite differences.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "archetype/graph/sequential.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/pool.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;

static_assert(at::max_pool<2>::output(at::shape{6, 24, 24}) == at::shape{6, 12, 12});
static_assert(at::max_pool<2>::cost_of(at::shape{6, 24, 24}) == at::cost{0, 0, 6 * 12 * 12});
static_assert(at::max_pool<3, 2, 1>::output(at::shape{2, 7, 5}) == at::shape{2, 4, 3});
static_assert(at::max_pool<2>::output(at::shape{1, 7, 5}) == at::shape{1, 3, 2});  // floor mode
static_assert(at::avg_pool<3, 3, 1, false>::output(at::shape{1, 7, 5}) == at::shape{1, 3, 2});
static_assert(at::avg_pool<3, 1, 1>::cost_of(at::shape{4, 7, 5}) == at::cost{0, 0, 4 * 7 * 5});
static_assert(at::global_avg_pool::output(at::shape{5, 3, 4}) == at::shape{5, 1, 1});
static_assert(at::global_avg_pool::cost_of(at::shape{5, 3, 4}) == at::cost{0, 0, 5});
static_assert(at::max_pool<2>::expected_input(at::shape{3, 8, 9}) == at::shape{3, 8, 9});
static_assert(at::max_pool<5>::expected_input(at::shape{1, 3, 7}) == at::shape{1, 5, 7});
static_assert(at::max_pool<4, 1, 1>::expected_input(at::shape{1, 1, 3}) == at::shape{1, 2, 3});
static_assert(at::avg_pool<5, 1, 2>::expected_input(at::shape{2, 1, 1}) == at::shape{2, 1, 1});

// LeNet-5's feature extractor on 1×28×28
using lenet_features = at::sequential<at::conv2d<6, 5>, at::max_pool<2>, at::conv2d<16, 5>, at::max_pool<2>>;
static_assert(lenet_features::output(at::shape{1, 28, 28}) == at::shape{16, 4, 4});
static_assert(lenet_features::cost_of(at::shape{1, 28, 28}) ==
              at::cost{156 + 2416, 86400 + 153600, 3456 + 864 + 1024 + 256});
static_assert(at::sequential<at::conv2d<4, 5>, at::max_pool<3>>::first_mismatch(at::shape{1, 6, 6}) == 1);

TEST_CASE("spelling names every template argument") {
    CHECK(at::max_pool<2>::spelling() == "archetype::max_pool<2, 2, 0>");
    CHECK(at::avg_pool<3, 1, 1>::spelling() == "archetype::avg_pool<3, 1, 1, true>");
    CHECK(at::avg_pool<3, 2, 1, false>::spelling() == "archetype::avg_pool<3, 2, 1, false>");
    CHECK(at::global_avg_pool::spelling() == "archetype::global_avg_pool");
}

namespace {

template <at::shape In, class D>
std::vector<float> forward(const std::vector<float>& x) {
    at::network<In, D> net;
    const std::size_t n = x.size() / In.size();
    const float* y = net.forward_raw(x.data(), n, false);
    return {y, y + n * net.output_shape.size()};
}

template <at::shape In, class D>
std::vector<float> input_gradient(const std::vector<float>& x, const std::vector<float>& dy) {
    at::network<In, D> net;
    net.forward_raw(x.data(), x.size() / In.size(), true);
    std::vector<float> dx(x.size(), 123.0f);  // backward overwrites dx
    net.backward_raw(dy.data(), dx.data());
    return dx;
}

// Central differences of Σ r·y for max pooling on distinct inputs spaced 0.05 apart, with eps = 0.01,
// so that no perturbation changes a window's maximum. Returns max |analytic − numeric| / max |analytic|.
template <at::shape In, class D>
double max_pool_fd_error(std::size_t n) {
    at::network<In, D> net;
    at::rng g(at::seed{5});
    std::vector<float> x(n * In.size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.05f * float(i) - 1.0f;
    g.shuffle(x.begin(), x.end());
    const std::size_t ny = n * net.output_shape.size();
    std::vector<float> r(ny);
    for (auto& v : r) v = g.uniform(-1.0f, 1.0f);
    auto loss = [&] {
        const float* y = net.forward_raw(x.data(), n, true);
        double l = 0;
        for (std::size_t i = 0; i < ny; ++i) l += double(r[i]) * y[i];
        return l;
    };
    loss();
    std::vector<float> dx(x.size());
    net.backward_raw(r.data(), dx.data());
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const float keep = x[i];
        const float eps = 0.01f;
        x[i] = keep + eps;
        const double lp = loss();
        x[i] = keep - eps;
        const double lm = loss();
        x[i] = keep;
        const double numeric = (lp - lm) / (double(keep + eps) - double(keep - eps));
        err = std::max(err, std::abs(numeric - dx[i]));
        scale = std::max(scale, double(std::abs(dx[i])));
    }
    return err / scale;
}

}  // namespace

TEST_CASE("max pooling: hand-computed outputs") {
    const std::vector<float> x = {1, 5, 2, 0, 3, 4, 9, 8, -1, -2, 7, 6, -3, -4, 5, 10};
    CHECK(forward<at::shape{1, 4, 4}, at::max_pool<2>>(x) == std::vector<float>{5, 9, -1, 10});
    // padding is −∞, not 0: with all-negative input every window still gives an input value
    const std::vector<float> neg = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
    CHECK(forward<at::shape{1, 3, 3}, at::max_pool<3, 2, 1>>(neg) == std::vector<float>{-1, -2, -4, -5});
    // floor mode: the last row and column of 1×3×3 fall out with K = 2; two channels, batch 2
    const std::vector<float> x2 = {1, 2, 0, 3, 4, 0, 9, 9, 9, 5, 6, 0, 7, 8, 0, 9, 9, 9,
                                   -1, -2, 0, -3, -4, 0, 9, 9, 9, 0, 0, 0, 0, -1, 0, 9, 9, 9};
    CHECK(forward<at::shape{2, 3, 3}, at::max_pool<2>>(x2) == std::vector<float>{4, 8, -1, 0});
    // a NaN wins its window (PyTorch)
    const auto y = forward<at::shape{1, 2, 2}, at::max_pool<2>>({1, std::nanf(""), 3, 2});
    CHECK(std::isnan(y[0]));
}

TEST_CASE("max pooling: the gradient goes to the first maximum of each window") {
    // all equal: the first element takes it
    CHECK(input_gradient<at::shape{1, 2, 2}, at::max_pool<2>>({7, 7, 7, 7}, {3}) == std::vector<float>{3, 0, 0, 0});
    // a tie between (0, 1) and (1, 0): row-major order picks (0, 1)
    CHECK(input_gradient<at::shape{1, 2, 2}, at::max_pool<2>>({0, 5, 5, 1}, {3}) == std::vector<float>{0, 3, 0, 0});
    // overlapping windows (stride 1) that share their maximum add up
    CHECK(input_gradient<at::shape{1, 2, 3}, at::max_pool<2, 1>>({0, 9, 1, 2, 3, 4}, {1, 10}) ==
          std::vector<float>{0, 11, 0, 0, 0, 0});
    // with padding, a window's maximum may sit at its edge; elements no window picks get 0
    CHECK(input_gradient<at::shape{1, 3, 3}, at::max_pool<3, 2, 1>>({-1, -2, -3, -4, -5, -6, -7, -8, -9},
                                                                     {1, 2, 3, 4}) ==
          std::vector<float>{1, 2, 0, 3, 4, 0, 0, 0, 0});
}

TEST_CASE("max pooling: gradients agree with finite differences") {
    CHECK(max_pool_fd_error<at::shape{3, 7, 5}, at::max_pool<2>>(1) < 1e-4);
    CHECK(max_pool_fd_error<at::shape{3, 7, 5}, at::max_pool<3, 2, 1>>(3) < 1e-4);
    CHECK(max_pool_fd_error<at::shape{2, 7, 5}, at::max_pool<3, 1>>(3) < 1e-4);
    CHECK(max_pool_fd_error<at::shape{2, 7, 5}, at::max_pool<5, 3, 2>>(3) < 1e-4);
    CHECK(max_pool_fd_error<at::shape{2, 7, 5}, at::max_pool<1, 2>>(3) < 1e-4);
}

TEST_CASE("average pooling: hand-computed outputs, with and without padded zeros in the divisor") {
    const std::vector<float> x = {1, 5, 2, 0, 3, 4, 9, 8, -1, -2, 7, 6, -3, -4, 5, 10};
    CHECK(forward<at::shape{1, 4, 4}, at::avg_pool<2>>(x) == std::vector<float>{3.25f, 4.75f, -2.5f, 7});
    const std::vector<float> ones(9, 1.0f);
    const auto inc = forward<at::shape{1, 3, 3}, at::avg_pool<3, 1, 1>>(ones);
    const float expect_inc[] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
    for (int i = 0; i < 9; ++i) CHECK(inc[i] == doctest::Approx(expect_inc[i] / 9.0f));
    CHECK(forward<at::shape{1, 3, 3}, at::avg_pool<3, 1, 1, false>>(ones) == ones);
    // 1×3×5 = 1..15, K 3, stride 2, pad 1: windows of 4, 6 and 4 inputs
    std::vector<float> x15(15);
    for (int i = 0; i < 15; ++i) x15[i] = float(i + 1);
    CHECK(forward<at::shape{1, 3, 5}, at::avg_pool<3, 2, 1, false>>(x15) ==
          std::vector<float>{4, 5.5f, 7, 9, 10.5f, 12});
    const auto y = forward<at::shape{1, 3, 5}, at::avg_pool<3, 2, 1>>(x15);
    const float sums[] = {16, 33, 28, 36, 63, 48};
    for (int i = 0; i < 6; ++i) CHECK(y[i] == doctest::Approx(sums[i] / 9.0f));
}

TEST_CASE("average pooling: gradients spread dy over the window by the same divisor") {
    // K 3, stride 2, pad 1 on 1×3×3: four overlapping windows of 4 inputs each, divided by 9 or by 4
    const std::vector<float> x(9, 0.0f), dy = {9, 18, 27, 36};
    CHECK(input_gradient<at::shape{1, 3, 3}, at::avg_pool<3, 2, 1>>(x, dy) ==
          std::vector<float>{1, 1 + 2, 2, 1 + 3, 1 + 2 + 3 + 4, 2 + 4, 3, 3 + 4, 4});
    CHECK(input_gradient<at::shape{1, 3, 3}, at::avg_pool<3, 2, 1, false>>(x, dy) ==
          std::vector<float>{2.25f, 2.25f + 4.5f, 4.5f, 2.25f + 6.75f, 2.25f + 4.5f + 6.75f + 9, 4.5f + 9, 6.75f,
                             6.75f + 9, 9});
}

TEST_CASE("global average pooling: hand-computed forward and backward") {
    const std::vector<float> x = {1, 2, 3, 4, 5, 6, 2, 2, 2, 2, 2, 2};
    CHECK(forward<at::shape{2, 2, 3}, at::global_avg_pool>(x) == std::vector<float>{3.5f, 2});
    CHECK(input_gradient<at::shape{2, 2, 3}, at::global_avg_pool>(x, {6, 12}) ==
          std::vector<float>{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2});
}

TEST_CASE("average pooling: gradients agree with finite differences") {
    using at::test::check_gradients;
    check_gradients<at::shape{3, 7, 5}, at::avg_pool<2>>(1, 1e-4);
    check_gradients<at::shape{3, 7, 5}, at::avg_pool<3, 2, 1>>(3, 1e-4);
    check_gradients<at::shape{2, 7, 5}, at::avg_pool<3, 1, 1, false>>(3, 1e-4);
    check_gradients<at::shape{2, 7, 5}, at::avg_pool<5, 3, 2, false>>(3, 1e-4);
    check_gradients<at::shape{3, 7, 5}, at::global_avg_pool>(3, 1e-4);
}
