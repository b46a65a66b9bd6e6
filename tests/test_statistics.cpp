// estimate/statistics.hpp: ranks with ties, Pearson and Spearman against hand-computed values, MAPE,
// and the least-squares model on noiseless data with features of very different scales.
#include <doctest/doctest.h>

#include <cmath>

#include "archetype/estimate/statistics.hpp"

namespace at = archetype;

TEST_CASE("ranks give ties the mean of the ranks they span") {
    CHECK(at::ranks({10, 30, 20, 30, 5}) == std::vector<double>{2, 4.5, 3, 4.5, 1});
    CHECK(at::ranks({7, 7, 7}) == std::vector<double>{2, 2, 2});
}

TEST_CASE("Spearman and Pearson against hand computation") {
    // ranks of b: 1, 2, 3.5, 5, 3.5; deviations from 3: (-2,-1,0,1,2) and (-2,-1,0.5,2,0.5)
    // Σ products 8, Σ squares 10 and 9.5: rho = 8 / √95
    CHECK(at::spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}) == doctest::Approx(8 / std::sqrt(95.0)).epsilon(1e-14));
    CHECK(at::spearman({1, 2, 3, 4}, {10, 100, 1000, 10000}) == doctest::Approx(1.0));  // monotone, not linear
    CHECK(at::pearson({1, 2, 3, 4}, {10, 100, 1000, 10000}) < 0.9);
    CHECK(at::spearman({1, 2, 3}, {3, 2, 1}) == doctest::Approx(-1.0));
    CHECK(std::isnan(at::pearson({1, 2, 3}, {4, 4, 4})));
    CHECK_THROWS_WITH_AS(at::spearman({1, 2}, {1, 2, 3}), doctest::Contains("2 and 3 values"), at::error);
    CHECK_THROWS_WITH_AS(at::spearman({1, NAN}, {1, 2}), doctest::Contains("not finite"), at::error);
}

TEST_CASE("MAPE is a fraction and refuses a zero truth") {
    CHECK(at::mape({100, 200}, {110, 180}) == doctest::Approx((0.1 + 0.1) / 2));
    CHECK_THROWS_WITH_AS(at::mape({0, 1}, {1, 1}), doctest::Contains("true value 0 is 0"), at::error);
}

TEST_CASE("least squares recovers a noiseless linear law across feature scales and drops a collinear feature") {
    // y = 3 + 2e-9·x1 + 5·x2, x1 ~ 1e9, x2 ~ 1; x3 = 2·x2 is collinear and x4 constant.
    std::vector<std::vector<double>> rows;
    std::vector<double> y;
    for (int i = 0; i < 12; ++i) {
        const double x1 = 1e9 * (1 + (i * 7 % 11)), x2 = 0.5 * (i % 5) - 1;
        rows.push_back({x1, x2, 2 * x2, 4.0});
        y.push_back(3 + 2e-9 * x1 + 5 * x2);
    }
    at::linear_model m;
    m.fit(rows, y);
    CHECK(m.predict({3e9, 0.25, 0.5, 4.0}) == doctest::Approx(3 + 6 + 1.25).epsilon(1e-12));
    for (std::size_t i = 0; i < rows.size(); ++i) CHECK(m.predict(rows[i]) == doctest::Approx(y[i]).epsilon(1e-12));
    CHECK_THROWS_WITH_AS(m.predict({1.0}), doctest::Contains("got 1 features"), at::error);
    at::linear_model small;
    CHECK_THROWS_WITH_AS(small.fit({{1, 2}, {3, 4}}, {1, 2}), doctest::Contains("at least 3"), at::error);
    CHECK_THROWS_WITH_AS(small.predict({1, 2}), doctest::Contains("before fit"), at::error);
}

TEST_CASE("least squares minimizes the squared error on noisy data (normal equations hold)") {
    // y = 1 + 2x + noise: the residuals of the fit are orthogonal to the intercept and to x.
    const std::vector<double> x{0, 1, 2, 3, 4, 5}, y{1.3, 2.9, 5.2, 6.8, 9.4, 10.9};
    std::vector<std::vector<double>> rows;
    for (double v : x) rows.push_back({v});
    at::linear_model m;
    m.fit(rows, y);
    double r_sum = 0, rx_sum = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double r = y[i] - m.predict({x[i]});
        r_sum += r;
        rx_sum += r * x[i];
    }
    CHECK(std::fabs(r_sum) < 1e-12);
    CHECK(std::fabs(rx_sum) < 1e-12);
}

TEST_CASE("weighted least squares: weighted normal equations hold, equal weights change nothing") {
    // y = 1 + 2x + noise, weights 1/y² (least relative error): Σ w r = Σ w r x = 0 for the residuals r.
    const std::vector<double> x{0, 1, 2, 3, 4, 5}, y{1.3, 2.9, 5.2, 6.8, 9.4, 10.9};
    std::vector<std::vector<double>> rows;
    std::vector<double> w, ones(x.size(), 7.0);
    for (std::size_t i = 0; i < x.size(); ++i) {
        rows.push_back({x[i]});
        w.push_back(1 / (y[i] * y[i]));
    }
    at::linear_model weighted, plain, equal;
    weighted.fit(rows, y, w);
    plain.fit(rows, y);
    equal.fit(rows, y, ones);
    double wr = 0, wrx = 0, plain_wr = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double r = y[i] - weighted.predict({x[i]});
        wr += w[i] * r;
        wrx += w[i] * r * x[i];
        plain_wr += w[i] * (y[i] - plain.predict({x[i]}));
        CHECK(equal.predict({x[i]}) == doctest::Approx(plain.predict({x[i]})).epsilon(1e-13));
    }
    CHECK(std::fabs(wr) < 1e-14);
    CHECK(std::fabs(wrx) < 1e-14);
    CHECK(std::fabs(plain_wr) > 1e-3);  // the unweighted fit does not satisfy them: the weights matter
    CHECK_THROWS_WITH_AS(weighted.fit(rows, y, {1.0, 2.0}), doctest::Contains("one weight per row"), at::error);
    w[2] = 0;
    CHECK_THROWS_WITH_AS(weighted.fit(rows, y, w), doctest::Contains("weight 2 is not a finite number > 0"), at::error);
}
