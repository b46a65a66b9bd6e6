// Pruning schedules: one-shot, iterative and AGP values and update steps against hand computation, and
// their argument errors.
#include <doctest/doctest.h>

#include <cmath>

#include "archetype/compress/pruning_schedule.hpp"

namespace at = archetype;
namespace pr = archetype::pruning;

TEST_CASE("AGP: s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3 at t0 + j dt, constant between, clamped outside") {
    const auto s = pr::sparsity_schedule::gradual(0.0, 0.8, 10, 4, 5);  // updates at 10, 15, 20, 25, 30
    // by hand: 0.8 − 0.8·(3/4)³ = 0.4625, 0.8 − 0.8·(1/2)³ = 0.7, 0.8 − 0.8·(1/4)³ = 0.7875
    const double eps = 1e-12;
    CHECK(std::fabs(s.sparsity(0) - 0.0) < eps);
    CHECK(std::fabs(s.sparsity(10) - 0.0) < eps);
    CHECK(std::fabs(s.sparsity(15) - 0.4625) < eps);
    CHECK(std::fabs(s.sparsity(19) - 0.4625) < eps);
    CHECK(std::fabs(s.sparsity(20) - 0.7) < eps);
    CHECK(std::fabs(s.sparsity(25) - 0.7875) < eps);
    CHECK(std::fabs(s.sparsity(30) - 0.8) < eps);
    CHECK(std::fabs(s.sparsity(1000) - 0.8) < eps);
    for (std::size_t t = 0; t < 40; ++t) CHECK(s.updates_at(t) == (t >= 10 && t <= 30 && t % 5 == 0));
    CHECK(s.last_update() == 30);

    const auto si = pr::sparsity_schedule::gradual(0.2, 0.8, 0, 4, 1);
    // 0.8 − 0.6·(3/4)³ = 0.546875; before t0 (none here) and at t0 it is s_i
    CHECK(std::fabs(si.sparsity(0) - 0.2) < eps);
    CHECK(std::fabs(si.sparsity(1) - 0.546875) < eps);
    CHECK(std::fabs(si.sparsity(4) - 0.8) < eps);
    const auto late = pr::sparsity_schedule::gradual(0.2, 0.8, 3, 4, 1);
    CHECK(std::fabs(late.sparsity(2) - 0.2) < eps);
    CHECK_FALSE(late.updates_at(2));
}

TEST_CASE("iterative: k updates of equal increments; one-shot: one update") {
    const auto s = pr::sparsity_schedule::iterative(0.6, 3, 100, 10);  // 0.2 at 100, 0.4 at 110, 0.6 at 120
    const double eps = 1e-12;
    CHECK(s.sparsity(99) == 0.0);
    CHECK(std::fabs(s.sparsity(100) - 0.2) < eps);
    CHECK(std::fabs(s.sparsity(115) - 0.4) < eps);
    CHECK(std::fabs(s.sparsity(120) - 0.6) < eps);
    CHECK(std::fabs(s.sparsity(5000) - 0.6) < eps);
    for (std::size_t t = 90; t < 140; ++t) CHECK(s.updates_at(t) == (t == 100 || t == 110 || t == 120));
    CHECK(s.last_update() == 120);

    const auto o = pr::sparsity_schedule::one_shot(0.5, 7);
    CHECK(o.sparsity(6) == 0.0);
    CHECK(o.sparsity(7) == 0.5);
    CHECK(o.sparsity(8) == 0.5);
    for (std::size_t t = 0; t < 20; ++t) CHECK(o.updates_at(t) == (t == 7));
}

TEST_CASE("invalid schedule arguments throw, naming the argument") {
    using sch = pr::sparsity_schedule;
    CHECK_THROWS_WITH_AS(sch::one_shot(1.0), doctest::Contains("outside [0, 1)"), at::error);
    CHECK_THROWS_WITH_AS(sch::one_shot(-0.1), doctest::Contains("outside [0, 1)"), at::error);
    CHECK_THROWS_WITH_AS(sch::one_shot(std::nan("")), doctest::Contains("outside [0, 1)"), at::error);
    CHECK_THROWS_WITH_AS(sch::iterative(0.5, 0), doctest::Contains("k (the number of pruning steps) is 0"), at::error);
    CHECK_THROWS_WITH_AS(sch::iterative(0.5, 2, 0, 0), doctest::Contains("every"), at::error);
    CHECK_THROWS_WITH_AS(sch::gradual(0.5, 0.4, 0, 2, 1), doctest::Contains("s_i must be <= s_f"), at::error);
    CHECK_THROWS_WITH_AS(sch::gradual(0.0, 1.0, 0, 2, 1), doctest::Contains("final sparsity s_f"), at::error);
    CHECK_THROWS_WITH_AS(sch::gradual(0.0, 0.5, 0, 0, 1), doctest::Contains("n (the number"), at::error);
    CHECK_THROWS_WITH_AS(sch::gradual(0.0, 0.5, 0, 2, 0), doctest::Contains("dt"), at::error);
}
