// Softmax cross-entropy: hand values, stability, gradient against finite differences, errors, accuracy.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "archetype/core/rng.hpp"
#include "archetype/train/loss.hpp"

namespace at = archetype;

TEST_CASE("cross-entropy of hand-computed cases, mean over the batch, gradient (softmax - onehot)/n") {
    SUBCASE("two equal logits") {
        const float x[] = {0.0f, 0.0f};
        const int y[] = {0};
        float d[2];
        CHECK(at::cross_entropy(x, y, 1, 2, d) == doctest::Approx(std::log(2.0)).epsilon(1e-12));
        CHECK(d[0] == doctest::Approx(-0.5).epsilon(1e-7));
        CHECK(d[1] == doctest::Approx(0.5).epsilon(1e-7));
    }
    SUBCASE("a batch of two rows") {
        const float x[] = {1, 2, 3, 1, 1, 1};
        const int y[] = {2, 0};
        float d[6];
        // row 0: log(e + e^2 + e^3) - 3; row 1: log 3
        const double l0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0, l1 = std::log(3.0);
        CHECK(at::cross_entropy(x, y, 2, 3, d) == doctest::Approx((l0 + l1) / 2).epsilon(1e-12));
        const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
        const double expected[] = {std::exp(1.0) / z / 2, std::exp(2.0) / z / 2, (std::exp(3.0) / z - 1) / 2,
                                   (1.0 / 3 - 1) / 2,     1.0 / 3 / 2,          1.0 / 3 / 2};
        for (int i = 0; i < 6; ++i) CHECK(d[i] == doctest::Approx(expected[i]).epsilon(1e-6));
        // each gradient row sums to zero
        CHECK(std::abs(d[0] + d[1] + d[2]) < 1e-7);
    }
}

TEST_CASE("cross-entropy is stable for large logits and invariant to shifting a row") {
    const float big[] = {1000.0f, 0.0f};
    const int one[] = {1};
    CHECK(at::cross_entropy(big, one, 1, 2) == doctest::Approx(1000.0).epsilon(1e-12));
    const float x[] = {1, 2, 3}, shifted[] = {10001, 10002, 10003};
    const int y[] = {0};
    float d1[3], d2[3];
    CHECK(std::abs(at::cross_entropy(x, y, 1, 3, d1) - at::cross_entropy(shifted, y, 1, 3, d2)) < 1e-12);
    for (int i = 0; i < 3; ++i) CHECK(d1[i] == d2[i]);
}

TEST_CASE("the gradient agrees with central differences of the mean loss") {
    constexpr std::size_t n = 4, k = 5;
    at::rng g(at::seed{3});
    std::vector<float> x(n * k), d(n * k);
    for (auto& v : x) v = g.uniform(-3.0f, 3.0f);
    const int y[n] = {0, 4, 2, 2};
    at::cross_entropy(x.data(), y, n, k, d.data());
    const float eps = 1e-2f;
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const float keep = x[i];
        x[i] = keep + eps;
        const double lp = at::cross_entropy(x.data(), y, n, k);
        x[i] = keep - eps;
        const double lm = at::cross_entropy(x.data(), y, n, k);
        x[i] = keep;
        const double h = double(keep + eps) - double(keep - eps);  // the step actually taken in float
        worst = std::max(worst, std::abs((lp - lm) / h - double(d[i])));
    }
    CHECK(worst < 2e-6);  // O(eps²) truncation of the central difference (seen: 4e-7)
}

TEST_CASE("label smoothing: hand values, the plain loss at 0, central differences, the range") {
    const float x[] = {1, 2, 3};
    const int y[] = {2};
    float d[3], d0[3], plain[3];
    const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0), eps = 0.3;
    // target (1 − ε)·onehot + ε/3: loss = log z − Σ t_j x_j
    const double t[] = {eps / 3, eps / 3, 1 - eps + eps / 3};
    CHECK(at::cross_entropy(x, y, 1, 3, d, 0.3f) ==
          doctest::Approx(std::log(z) - (t[0] * 1 + t[1] * 2 + t[2] * 3)).epsilon(1e-7));
    for (int j = 0; j < 3; ++j) CHECK(d[j] == doctest::Approx(std::exp(j + 1.0) / z - t[j]).epsilon(1e-6));
    // ε = 0 is bit for bit the one-hot loss
    CHECK(at::cross_entropy(x, y, 1, 3, d0, 0.0f) == at::cross_entropy(x, y, 1, 3, plain));
    for (int j = 0; j < 3; ++j) CHECK(d0[j] == plain[j]);

    constexpr std::size_t n = 3, k = 10;
    at::rng g(at::seed{5});
    std::vector<float> v(n * k), dv(n * k);
    for (auto& e : v) e = g.uniform(-4.0f, 4.0f);
    const int labels[n] = {9, 0, 4};
    at::cross_entropy(v.data(), labels, n, k, dv.data(), 0.1f);
    double worst = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const float keep = v[i], h = 1e-2f;
        v[i] = keep + h;
        const double lp = at::cross_entropy(v.data(), labels, n, k, nullptr, 0.1f);
        v[i] = keep - h;
        const double lm = at::cross_entropy(v.data(), labels, n, k, nullptr, 0.1f);
        v[i] = keep;
        worst = std::max(worst, std::abs((lp - lm) / (double(keep + h) - double(keep - h)) - double(dv[i])));
    }
    CHECK(worst < 2e-6);

    CHECK_THROWS_WITH_AS(at::cross_entropy(x, y, 1, 3, nullptr, 1.0f), doctest::Contains("label smoothing 1"),
                         at::error);
    CHECK_THROWS_WITH_AS(at::cross_entropy(x, y, 1, 3, nullptr, -0.1f), doctest::Contains("[0, 1)"), at::error);
    CHECK_THROWS_AS(at::cross_entropy(x, y, 1, 3, nullptr, std::numeric_limits<float>::quiet_NaN()), at::error);
}

TEST_CASE("a label outside [0, k) names the sample and the fix") {
    const float x[] = {0, 0, 0, 0, 0, 0};
    const int bad[] = {1, 3};
    CHECK_THROWS_WITH_AS(at::cross_entropy(x, bad, 2, 3), doctest::Contains("label 3 of sample 1"), at::error);
    CHECK_THROWS_WITH_AS(at::cross_entropy(x, bad, 2, 3), doctest::Contains("outputs"), at::error);
    const int negative[] = {-1, 0};
    CHECK_THROWS_WITH_AS(at::cross_entropy(x, negative, 2, 3), doctest::Contains("sample 0"), at::error);
}

TEST_CASE("a non-finite loss names the sample and suggests a lower learning rate") {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    const int y[] = {0, 1};
    const float with_nan[] = {0, 1, 2, nan};
    CHECK_THROWS_WITH_AS(at::cross_entropy(with_nan, y, 2, 2), doctest::Contains("sample 1"), at::error);
    CHECK_THROWS_WITH_AS(at::cross_entropy(with_nan, y, 2, 2), doctest::Contains("lower the learning rate"),
                         at::error);
    const float with_inf[] = {inf, 0, 0, 0};
    CHECK_THROWS_WITH_AS(at::cross_entropy(with_inf, y, 2, 2), doctest::Contains("sample 0"), at::error);
}

TEST_CASE("the span overload checks that logits split into rows") {
    std::vector<float> x(7, 0.0f);
    std::vector<int> y = {0, 1};
    CHECK_THROWS_AS(at::cross_entropy(x, y), at::error);
    x.resize(6);
    CHECK(at::cross_entropy(x, y) == doctest::Approx(std::log(3.0)).epsilon(1e-12));
}

TEST_CASE("argmax takes the first maximum; accuracy counts matches") {
    const float row[] = {1, 3, 3, 2};
    CHECK(at::argmax(row, 4) == 1);
    const float nan_first[] = {std::numeric_limits<float>::quiet_NaN(), -1, 5, 5};
    CHECK(at::argmax(nan_first, 4) == 2);
    const float x[] = {0.1f, 0.9f, 0.8f, 0.2f, 0.3f, 0.7f};
    const int y[] = {1, 1, 1};
    CHECK(at::count_correct(x, y, 3, 2) == 2);
    CHECK(at::accuracy(x, y, 3, 2) == doctest::Approx(2.0 / 3.0));
}

TEST_CASE("softmax rows sum to one and keep the order of the logits") {
    const float x[] = {-1, 0, 2, 500, 500, 499};
    float p[6];
    at::kernels::softmax_forward(x, p, 2, 3);
    CHECK(p[0] + p[1] + p[2] == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(p[3] + p[4] + p[5] == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(p[2] == doctest::Approx(std::exp(2.0) / (std::exp(-1.0) + 1 + std::exp(2.0))).epsilon(1e-6));
    CHECK(p[3] == p[4]);
    CHECK(p[5] == doctest::Approx(std::exp(-1.0) / (2 + std::exp(-1.0))).epsilon(1e-6));
}
