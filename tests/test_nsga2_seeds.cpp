// NSGA-II with an initial population given (seeds): the first ask holds the seeds in order, then
// distinct uniform samples; an extreme seed stays on the front (elitism); bad seeds are errors; no
// seeds gives the unseeded first ask.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "archetype/search/nsga2.hpp"
#include "support/synthetic_spaces.hpp"

namespace at = archetype;
using at::direction;

namespace {
using space20 = synthetic::digits_space<20>;  // 4^20 genotypes
using g20 = space20::genotype;
// Objectives: fitness (max) and cost (min) of synthetic_spaces.hpp; cost 0 only at all zeros.
at::evaluation two_objectives(const g20& g) { return {{synthetic::fitness(g), synthetic::cost(g)}, 0.0, {}}; }
g20 filled(std::uint8_t v) {
    g20 g{};
    std::fill(g.begin(), g.end(), v);
    return g;
}
}  // namespace

TEST_CASE("nsga2 seeds: the first ask is the seeds in order, then distinct uniform samples") {
    const at::nsga2_options o{.population = 10, .budget = 100};
    const std::vector<g20> seeds{filled(0), filled(3), filled(1)};
    at::nsga2<space20> seeded(o, at::seed{3}, seeds), plain(o, at::seed{3});
    const auto first = seeded.ask();
    REQUIRE(first.size() == 10);
    CHECK(std::equal(seeds.begin(), seeds.end(), first.begin()));
    CHECK(std::set<g20>(first.begin(), first.end()).size() == 10);
    // Without seeds the first ask is the unseeded strategy's (10 uniform samples from the same rng).
    at::nsga2<space20> empty_seeds(o, at::seed{3}, {});
    CHECK(empty_seeds.ask() == plain.ask());
}

TEST_CASE("nsga2 seeds: an extreme seed stays on the front, which random starts do not reach") {
    const at::nsga2_options o{.population = 12, .budget = 12 * 6};
    at::nsga2<space20> seeded(o, at::seed{8}, {filled(0)}), plain(o, at::seed{8});
    seeded.run(two_objectives);
    plain.run(two_objectives);
    auto min_cost = [](const at::nsga2<space20>& s) {
        double m = 1e9;
        for (std::size_t i : s.pareto_front()) m = std::min(m, s.history()[i].result.objectives[1]);
        return m;
    };
    CHECK(min_cost(seeded) == 0.0);  // all zeros: cost 0, kept as the front's extreme
    CHECK(min_cost(plain) > 0.0);    // 72 evaluations in 4^20 do not find it
    CHECK(seeded.history().front().genotype == filled(0));
}

TEST_CASE("nsga2 seeds: more seeds than the population, or a seed outside the space, is an error") {
    const at::nsga2_options o{.population = 2, .budget = 10};
    CHECK_THROWS_WITH_AS(at::nsga2<space20>(o, at::seed{1}, {filled(0), filled(1), filled(2)}),
                         doctest::Contains("at most population"), at::error);
    CHECK_THROWS_AS(at::nsga2<space20>(o, at::seed{1}, {filled(7)}), at::error);
}
