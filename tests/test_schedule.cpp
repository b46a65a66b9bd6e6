// Learning-rate schedules against hand-computed values (StepLR, CosineAnnealingLR closed form, LinearLR warmup).
#include <doctest/doctest.h>

#include <cmath>

#include "archetype/train/schedule.hpp"

namespace at = archetype;

TEST_CASE("constant and step schedules") {
    const auto c = at::schedule::constant();
    CHECK(c.lr(0, 0.1f) == 0.1f);
    CHECK(c.lr(50, 0.1f) == 0.1f);
    const auto s = at::schedule::step(2, 0.5f);
    const double expected[] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125};
    for (int e = 0; e < 7; ++e) CHECK(s.lr(e, 0.1f) == doctest::Approx(expected[e]).epsilon(1e-7));
}

TEST_CASE("cosine annealing follows the closed form from base to eta_min over t_max epochs") {
    const auto s = at::schedule::cosine(4);
    const double expected[] = {0.1, 0.1 * (1 + std::sqrt(0.5)) / 2, 0.05, 0.1 * (1 - std::sqrt(0.5)) / 2, 0.0};
    for (int e = 0; e < 5; ++e) CHECK(s.lr(e, 0.1f) == doctest::Approx(expected[e]).epsilon(1e-6));
    const auto m = at::schedule::cosine(4, 0.01f);
    CHECK(m.lr(0, 0.1f) == doctest::Approx(0.1).epsilon(1e-7));
    CHECK(m.lr(2, 0.1f) == doctest::Approx(0.055).epsilon(1e-6));
    CHECK(m.lr(4, 0.1f) == doctest::Approx(0.01).epsilon(1e-6));
    CHECK(m.lr(6, 0.1f) == doctest::Approx(0.055).epsilon(1e-6));  // the closed form rises past t_max
}

TEST_CASE("linear warmup multiplies the schedule from `start` up to 1") {
    const auto w = at::schedule::constant().with_warmup(2, 0.25f);
    CHECK(w.lr(0, 1.0f) == doctest::Approx(0.25).epsilon(1e-7));
    CHECK(w.lr(1, 1.0f) == doctest::Approx(0.625).epsilon(1e-7));
    CHECK(w.lr(2, 1.0f) == 1.0f);
    CHECK(w.lr(9, 1.0f) == 1.0f);
    const auto wc = at::schedule::cosine(4).with_warmup(2, 0.5f);
    CHECK(wc.lr(1, 0.1f) == doctest::Approx(0.1 * (1 + std::sqrt(0.5)) / 2 * 0.75).epsilon(1e-6));
    CHECK(at::schedule::step(3).with_warmup(1).lr(0, 0.3f) == doctest::Approx(0.1).epsilon(1e-6));
}

TEST_CASE("invalid schedules throw at construction; describe() names the form") {
    CHECK_THROWS_WITH_AS(at::schedule::step(0), doctest::Contains("step_size"), at::error);
    CHECK_THROWS_WITH_AS(at::schedule::cosine(0), doctest::Contains("t_max"), at::error);
    CHECK_THROWS_AS(at::schedule::step(1, -0.5f), at::error);
    CHECK_THROWS_AS(at::schedule::constant().with_warmup(2, 0.0f), at::error);
    CHECK_THROWS_WITH_AS(at::schedule::constant().lr(-1, 0.1f), doctest::Contains("negative"), at::error);
    CHECK(at::schedule::cosine(10, 0.001f).with_warmup(2, 0.5f).describe() ==
          "cosine(t_max=10, eta_min=0.001) with warmup(2, start=0.5)");
    CHECK(at::schedule::step(5, 0.1f).describe() == "step(step_size=5, gamma=0.1)");
}
